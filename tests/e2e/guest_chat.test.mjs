// Guest mode chat: non-streaming and streaming answers, reasoning_content (the default thinking
// mode), stop sequences, include_usage, models, per-mode refusals, 64 concurrent streams and
// cancellation of upstream when the client goes away.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import {
  assertCompletion,
  assertCors,
  assertError,
  assertRequestId,
  assertSchema,
  assertStreamChunks,
  assertStreamText,
} from './assertions.mjs';
import { expected, stopCases } from './oracle.mjs';
import { GUEST_MODEL, chatBody, chatEntries, startStack, waitPool } from './stack.mjs';
import { promptFor } from '../fake-upstream/streams.mjs';
import { freshFetch, waitFor } from './util.mjs';

const T = { timeout: 60_000 };
// Public name -> upstream id (docs/upstream.md §1.2).
const GUEST_TABLE = {
  'glm-4.5': '0727-360B-API',
  'glm-4.5-air': '0727-106B-API',
  'glm-4.5v': 'glm-4.5v',
  'glm-4.6': 'GLM-4-6-API-V1',
  'glm-4.7': 'glm-4.7',
  'glm-5': 'glm-5',
};

describe('guest mode chat', () => {
  let s;
  let answerOnly;
  let thinking;
  before(async () => {
    s = await startStack({ mode: 'guest' });
    answerOnly = await expected('guest', 'answer_only');
    thinking = await expected('guest', 'thinking');
    await waitPool(s, 1);
  });
  after(() => s?.stop());

  test('non-streaming answer through the openai client', T, async () => {
    const { data, response } = await s.client.chat.completions
      .create({ model: GUEST_MODEL, messages: [{ role: 'user', content: 'ns-plain: capital of France?' }] })
      .withResponse();
    assertCompletion(data, { model: GUEST_MODEL, ...answerOnly, reasoning: '', finishReason: 'stop' });
    assertCors(response.headers);
    assertRequestId(response.headers);
    const [up] = chatEntries(s, 'ns-plain');
    assert.equal(up.body.stream, true, 'upstream is always asked to stream');
    assert.equal(up.body.model, GUEST_TABLE[GUEST_MODEL]);
    assert.equal(up.body.features.enable_thinking, true, 'thinking on by default');
    assert.ok(s.fake.tokens().includes(up.credential), 'an issued guest token');
    assert.equal(JSON.stringify(up.body.messages).includes('ns-plain: capital of France?'), true);
  });

  test('every public model maps to its upstream id', T, async () => {
    for (const [pub, id] of Object.entries(GUEST_TABLE)) {
      const r = await s.chat(chatBody(`map-${pub}`, { model: pub }));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.model, pub, 'answer names the public model');
      assert.equal(chatEntries(s, `map-${pub}`)[0].body.model, id);
    }
  });

  test('non-streaming thinking answer: reasoning_content apart from content', T, async () => {
    const data = await s.client.chat.completions.create({
      model: GUEST_MODEL,
      messages: [{ role: 'user', content: promptFor('thinking') }],
    });
    assertCompletion(data, { model: GUEST_MODEL, ...thinking, finishReason: 'stop' });
  });

  test('streaming thinking answer: exact SSE framing, reasoning deltas, no usage chunk', T, async () => {
    const r = await s.chat({ ...chatBody(promptFor('thinking')), stream: true });
    const agg = assertStreamText(r, { model: GUEST_MODEL, ...thinking, finishReason: 'stop' });
    assert.equal(agg.usage, null);
  });

  test('streaming through the openai client', T, async () => {
    const { data: stream, response } = await s.client.chat.completions
      .create({ model: GUEST_MODEL, messages: [{ role: 'user', content: 'client stream' }], stream: true })
      .withResponse();
    assert.match(response.headers.get('content-type'), /^text\/event-stream/);
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    assertStreamChunks(chunks, { model: GUEST_MODEL, ...answerOnly, reasoning: '', finishReason: 'stop' });
  });

  test('include_usage: one usage chunk with choices [] right before [DONE], only when asked', T, async () => {
    const r = await s.chat({ ...chatBody(promptFor('thinking')), stream: true, stream_options: { include_usage: true } });
    assertStreamText(r, { model: GUEST_MODEL, ...thinking }, { includeUsage: true });
    const tail = r.text.split('\n\n').slice(-4);
    assert.match(tail[1], /^data: \{.*"choices":\[\].*\}$/, 'usage chunk is the last data chunk');
    assert.equal(tail[2], 'data: [DONE]');
    assert.equal(tail[3], '');
    const off = await s.chat({ ...chatBody('usage off'), stream: true, stream_options: { include_usage: false } });
    assertStreamText(off, { model: GUEST_MODEL, ...answerOnly }, { includeUsage: false });
  });

  test('stop sequences cut the output before the first match, also across deltas', T, async () => {
    for (const [stop, content] of stopCases(answerOnly)) {
      const ns = await s.chat(chatBody('stop-ns', { stop }));
      assert.equal(ns.status, 200, ns.text);
      assertCompletion(ns.json, { model: GUEST_MODEL, content, finishReason: 'stop' });
      const st = await s.chat({ ...chatBody('stop-st'), stop, stream: true });
      assertStreamText(st, { model: GUEST_MODEL, content, finishReason: 'stop' });
    }
  });

  test('a stop sequence cancels the upstream stream', T, async () => {
    // answer_only: the stop matches in the second content event, two events before the end.
    const [stop, content] = stopCases(answerOnly)[0];
    s.fake.script({ text: 'stop-cancel', dripMs: 400 });
    const r = await s.chat({ ...chatBody('stop-cancel'), stop, stream: true });
    assertStreamText(r, { model: GUEST_MODEL, content, finishReason: 'stop' });
    const [up] = chatEntries(s, 'stop-cancel');
    await waitFor('upstream hang-up after the stop sequence', () => up.hungUp, { timeoutMs: 2000 });
  });

  test('request fields are mapped upstream', T, async () => {
    const r = await s.chat(
      chatBody('mapped-fields', { temperature: 0.3, top_p: 0.9, max_tokens: 77, reasoning_effort: 'none', user: 'u-1' }),
    );
    assert.equal(r.status, 200, r.text);
    const [up] = chatEntries(s, 'mapped-fields');
    assert.equal(up.body.params.temperature, 0.3);
    assert.equal(up.body.params.top_p, 0.9);
    assert.equal(up.body.params.max_tokens, 77);
    assert.equal(up.body.features.enable_thinking, false, 'reasoning_effort none turns thinking off');
    const d = await s.chat(chatBody('thinking-off', { thinking: { type: 'disabled' } }));
    assert.equal(d.status, 200, d.text);
    assert.equal(chatEntries(s, 'thinking-off')[0].body.features.enable_thinking, false);
    const txt = await s.chat(chatBody('fmt-text', { response_format: { type: 'text' } }));
    assert.equal(txt.status, 200, txt.text);
    const parts = await s.chat({
      model: GUEST_MODEL,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'parts-' }, { type: 'text', text: 'text only' }] }],
    });
    assert.equal(parts.status, 200, parts.text);
    assert.ok(JSON.stringify(chatEntries(s, 'parts-')[0].body.messages).includes('text only'));
  });

  test('fields guest mode cannot serve are refused with 400 unsupported_value naming the field', T, async () => {
    const tool = { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } };
    const cases = [
      [{ tools: [tool] }, 'tools'],
      [{ tool_choice: 'auto' }, 'tool_choice'],
      [{ n: 2 }, 'n'],
      [{ logprobs: true }, 'logprobs'],
      [{ response_format: { type: 'json_object' } }, 'response_format'],
    ];
    for (const [extra, param] of cases) {
      const r = await s.chat(chatBody('refused', extra));
      assertError(r, { status: 400, type: 'invalid_request_error', code: 'unsupported_value', param });
    }
    const image = await s.chat({
      model: GUEST_MODEL,
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'refused' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
      ],
    });
    const e = assertError(image, { status: 400, type: 'invalid_request_error', code: 'unsupported_value' });
    assert.match(e.param ?? '', /messages|content|image/);
    assert.equal(chatEntries(s, 'refused').length, 0, 'nothing refused reached upstream');
  });

  test('missing or invalid fields and unknown models', T, async () => {
    assertError(await s.chat({ model: GUEST_MODEL }), {
      status: 400,
      type: 'invalid_request_error',
      code: 'missing_required_parameter',
      param: 'messages',
    });
    assertError(await s.chat({ messages: [{ role: 'user', content: 'no model' }] }), {
      status: 400,
      code: 'missing_required_parameter',
      param: 'model',
    });
    const invalid = [
      [{ model: GUEST_MODEL, messages: 'hello' }, 'messages'],
      [chatBody('bad-temperature', { temperature: 'hot' }), 'temperature'],
      [chatBody('five-stops', { stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop'],
    ];
    for (const [body, param] of invalid) {
      assertError(await s.chat(body), { status: 400, type: 'invalid_request_error', code: 'invalid_value', param });
    }
    const unknown = await s.chat(chatBody('unknown-model', { model: 'gpt-4o' }));
    const e = assertError(unknown, { status: 404, type: 'invalid_request_error', code: 'model_not_found' });
    assert.match(e.message, /gpt-4o/);
    assert.equal(chatEntries(s, 'unknown-model').length, 0, 'guest mode refuses unlisted models at once');
    const err = await s.client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
      .catch((x) => x);
    assert.ok(err instanceof OpenAI.NotFoundError, `openai client sees NotFoundError (${err})`);
    assert.equal(err.code, 'model_not_found');
  });

  test('/v1/models and /v1/models/{id} list the guest table', T, async () => {
    const list = await s.client.models.list();
    const ids = list.data.map((m) => m.id).sort();
    assert.deepEqual(ids, Object.keys(GUEST_TABLE).sort());
    const raw = await s.request('/v1/models');
    assertSchema('ListModelsResponse', raw.json);
    assert.equal(raw.json.object, 'list');
    for (const m of raw.json.data) {
      assert.equal(m.object, 'model');
      assert.equal(m.owned_by, 'z-ai');
      assert.ok(Number.isInteger(m.created));
    }
    assertCors(raw.headers);
    const one = await s.request(`/v1/models/${GUEST_MODEL}`);
    assert.equal(one.status, 200, one.text);
    assertSchema('Model', one.json);
    assert.equal(one.json.id, GUEST_MODEL);
    assert.equal(one.json.owned_by, 'z-ai');
    assertError(await s.request('/v1/models/no-such-model'), { status: 404, code: 'model_not_found' });
  });

  test('64 concurrent streams all complete correctly', { timeout: 120_000 }, async () => {
    const runs = Array.from({ length: 64 }, async (_, i) => {
      const name = i % 2 ? 'thinking' : 'answer_only';
      const r = await s.chat({ ...chatBody(promptFor(name, `conc-${i}-`)), stream: true });
      assertStreamText(r, { model: GUEST_MODEL, ...(i % 2 ? thinking : answerOnly), finishReason: 'stop' });
    });
    await Promise.all(runs);
    const ups = chatEntries(s, 'conc-');
    assert.equal(ups.length, 64, 'one upstream request each');
    assert.ok(ups.every((e) => e.status === 200 && e.finished && !e.hungUp));
  });

  test('a client that disconnects mid-stream cancels the upstream within 2 s', T, async () => {
    s.fake.script({ text: 'hang-up-tag', dripMs: 400 });
    const ctl = new AbortController();
    const res = await freshFetch(`${s.host.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.client.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...chatBody(promptFor('thinking', 'hang-up-tag')), stream: true }),
      signal: ctl.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    const first = await reader.read();
    assert.ok(!first.done && first.value.length > 0, 'stream committed');
    const t0 = Date.now();
    ctl.abort();
    const [up] = chatEntries(s, 'hang-up-tag');
    await waitFor('upstream hang-up', () => up.hungUp, { timeoutMs: 2000 });
    assert.ok(up.hungUpAt - t0 <= 2000, `hung up ${up.hungUpAt - t0} ms after the client`);
  });
});
