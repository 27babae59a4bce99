// API mode (Z.AI's official API with a pool of keys): answers, reasoning, tool calls, finish
// reasons, request mapping, refusals, and business error codes (2.4) with their retry rules.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCompletion, assertError, assertSchema, assertStreamChunks, assertStreamText } from './assertions.mjs';
import { expected, stopCases } from './oracle.mjs';
import { API_KEYS, API_MODEL, chatBody, chatEntries, startStack } from './stack.mjs';
import { presets } from '../fake-upstream/server.mjs';
import { promptFor } from '../fake-upstream/streams.mjs';

const T = { timeout: 60_000 };
const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('API mode (three keys)', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'api', settings: { MAX_ATTEMPTS: 3 } });
  });
  after(() => s?.stop());

  const body = (text, extra = {}) => chatBody(text, { model: API_MODEL, ...extra });
  async function tagged(tag, extra = {}) {
    const r = await s.chat(body(tag, extra));
    return { r, ups: chatEntries(s, tag) };
  }

  test('non-streaming answer; the upstream request carries a pool key and the model', T, async () => {
    const exp = await expected('api', 'answer_only', 'json');
    const { data, response } = await s.client.chat.completions
      .create({ model: API_MODEL, messages: [{ role: 'user', content: 'api-plain' }] })
      .withResponse();
    assertCompletion(data, { model: API_MODEL, ...exp });
    assert.ok(response.headers.get('x-request-id'));
    const [up] = chatEntries(s, 'api-plain');
    assert.ok(API_KEYS.includes(up.credential), 'a configured key');
    assert.equal(up.body.model, API_MODEL);
    assert.notEqual(up.body.stream, true);
  });

  for (const name of ['answer_only', 'reasoning', 'sensitive', 'length']) {
    test(`case ${name}: streaming and not, finish_reason mapped`, T, async () => {
      const ns = await s.chat(body(promptFor(name)));
      assert.equal(ns.status, 200, ns.text);
      assertCompletion(ns.json, { model: API_MODEL, ...(await expected('api', name, 'json')) });
      const exp = await expected('api', name, 'sse');
      const st = await s.chat({ ...body(promptFor(name)), stream: true });
      assertStreamText(st, { model: API_MODEL, ...exp });
      const withUsage = await s.chat({ ...body(promptFor(name)), stream: true, stream_options: { include_usage: true } });
      assertStreamText(withUsage, { model: API_MODEL, ...exp }, { includeUsage: true });
    });
  }

  test('streaming through the openai client', T, async () => {
    const exp = await expected('api', 'reasoning');
    const stream = await s.client.chat.completions.create({
      model: API_MODEL,
      messages: [{ role: 'user', content: promptFor('reasoning') }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    assertStreamChunks(chunks, { model: API_MODEL, ...exp }, { includeUsage: true });
  });

  test('tools are passed upstream; tool calls come back whole', T, async () => {
    const extra = { tools: [WEATHER_TOOL], tool_choice: 'auto' };
    const ns = await tagged(promptFor('tool_call', 'tools-ns'), extra);
    assert.equal(ns.r.status, 200, ns.r.text);
    const exp = await expected('api', 'tool_call', 'json');
    assertCompletion(ns.r.json, { model: API_MODEL, ...exp, content: undefined });
    assert.ok([null, ''].includes(ns.r.json.choices[0].message.content));
    assert.deepEqual(ns.ups[0].body.tools, [WEATHER_TOOL]);
    assert.equal(ns.ups[0].body.tool_choice, 'auto');
    const st = await s.chat({ ...body(promptFor('tool_call', 'tools-st')), ...extra, stream: true });
    assertStreamText(st, { model: API_MODEL, ...(await expected('api', 'tool_call')), content: '' });
  });

  test('request mapping: first stop word, max_completion_tokens, thinking, response_format', T, async () => {
    const [[single, cutSingle], , [several, cutSeveral]] = stopCases(await expected('api', 'answer_only'));
    const a = await tagged('map-a', { stop: several, max_completion_tokens: 55, reasoning_effort: 'none' });
    assertCompletion(a.r.json, { model: API_MODEL, content: cutSeveral, finishReason: 'stop' });
    const up = a.ups[0].body;
    assert.deepEqual([].concat(up.stop), [several[0]], 'only the first stop word goes upstream');
    assert.equal(up.max_tokens, 55);
    assert.equal(up.max_completion_tokens, undefined);
    assert.deepEqual(up.thinking, { type: 'disabled' });
    const b = await tagged('map-b', { thinking: { type: 'enabled' }, response_format: { type: 'json_object' }, temperature: 0.2 });
    assert.equal(b.r.status, 200, b.r.text);
    assert.deepEqual(b.ups[0].body.thinking, { type: 'enabled' });
    assert.deepEqual(b.ups[0].body.response_format, { type: 'json_object' });
    assert.equal(b.ups[0].body.temperature, 0.2);
    const st = await s.chat({ ...body('map-c'), stop: single, stream: true });
    assertStreamText(st, { model: API_MODEL, content: cutSingle, finishReason: 'stop' });
  });

  test('fields API mode cannot serve: 400 unsupported_value naming the field', T, async () => {
    const cases = [
      [{ tools: [WEATHER_TOOL], tool_choice: 'required' }, 'tool_choice'],
      [{ n: 2 }, 'n'],
      [{ logprobs: true }, 'logprobs'],
    ];
    for (const [extra, param] of cases) {
      assertError(await s.chat(body('api-refused', extra)), {
        status: 400,
        type: 'invalid_request_error',
        code: 'unsupported_value',
        param,
      });
    }
    assert.equal(chatEntries(s, 'api-refused').length, 0);
  });

  test('json_schema is emulated (JSON_SCHEMA=emulate): json_object upstream, the schema an instruction, the answer checked', T, async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } } };
    const good = await tagged('schema-ok', { response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } });
    // The fake's default answer is prose, not JSON: the proxy says so instead of passing it on.
    assertError(good.r, { status: 502, code: 'upstream_bad_response' });
    const up = good.ups[0].body;
    assert.deepEqual(up.response_format, { type: 'json_object' });
    const instruction = up.messages.find((m) => m.role === 'system' && m.content.includes('JSON Schema'));
    assert.ok(instruction?.content.includes(JSON.stringify(schema)), JSON.stringify(up.messages));
  });

  test('/v1/models lists the API table', T, async () => {
    const r = await s.request('/v1/models');
    assert.equal(r.status, 200);
    assertSchema('ListModelsResponse', r.json);
    const ids = r.json.data.map((m) => m.id);
    for (const id of ['glm-4.5', 'glm-4.5-air', 'glm-4.6']) assert.ok(ids.includes(id), id);
    assert.ok(r.json.data.every((m) => m.owned_by === 'z-ai'));
    // The Anthropic SDK's models.list() reads the same answer.
    for (const m of r.json.data) {
      assert.equal(m.type, 'model');
      assert.equal(m.display_name, m.id);
      assert.match(m.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    assert.equal(r.json.has_more, false);
    assert.equal(r.json.first_id, ids[0]);
    assert.equal(r.json.last_id, ids.at(-1));
  });

  test('1302 (concurrency) is retried on another key', T, async () => {
    s.fake.script({ times: 1, route: 'api_chat', ...presets.apiError(1302, 429) });
    const { r, ups } = await tagged('biz-1302');
    assertCompletion(r.json, { model: API_MODEL, ...(await expected('api', 'answer_only', 'json')) });
    assert.deepEqual(ups.map((e) => e.status), [429, 200]);
    assert.notEqual(ups[0].credential, ups[1].credential);
  });

  test('1301 (unsafe content) is 400 content_filter and never retried', T, async () => {
    s.fake.script({ text: 'biz-1301', ...presets.apiError(1301, 400) });
    const { r, ups } = await tagged('biz-1301');
    assertError(r, { status: 400, type: 'invalid_request_error', code: 'content_filter' });
    assert.equal(ups.length, 1);
  });

  test('1261 (prompt too long) is 400 context_length_exceeded, not retried', T, async () => {
    s.fake.script({ text: 'biz-1261', ...presets.apiError(1261, 400) });
    const { r, ups } = await tagged('biz-1261');
    assertError(r, { status: 400, code: 'context_length_exceeded' });
    assert.equal(ups.length, 1);
  });

  test('an unlisted model is passed through; upstream 1211 becomes 404 model_not_found', T, async () => {
    const { r, ups } = await tagged('biz-1211', { model: 'glm-9-imaginary' });
    assertError(r, { status: 404, type: 'invalid_request_error', code: 'model_not_found' });
    assert.equal(ups.length, 1);
    assert.equal(ups[0].body.model, 'glm-9-imaginary');
    assert.equal(ups[0].status, 400);
  });

  test('a 200 answer that is not the API\'s JSON: 502 upstream_bad_response', T, async () => {
    s.fake.script({ text: 'garbage-body', route: 'api_chat', status: 200, body: '<html>maintenance</html>' });
    const { r } = await tagged('garbage-body');
    const e = assertError(r, { status: 502, type: 'upstream_error', code: 'upstream_bad_response' });
    assert.ok(!e.message.includes('<html>'), 'no raw upstream HTML');
  });

  test('overload (1305) is retried', T, async () => {
    s.fake.script({ times: 1, route: 'api_chat', ...presets.apiError(1305, 503) });
    const { r, ups } = await tagged('biz-1305');
    assert.equal(r.status, 200, r.text);
    assert.equal(ups.length, 2);
  });

  // Last: it kills a key for the rest of the process.
  test('an invalid key (1000) is dropped and the request served by another', T, async () => {
    const victim = API_KEYS[0];
    s.fake.script({ credential: victim, route: 'api_chat', ...presets.apiError(1000, 401) });
    const used = [];
    for (let i = 0; i < 6; i++) {
      const { r, ups } = await tagged(`dead-key-${i}-`);
      assert.equal(r.status, 200, r.text);
      used.push(...ups.map((e) => e.credential));
    }
    assert.ok(used.filter((k) => k === victim).length <= 1, `the rejected key is not used again: ${used}`);
  });
});
