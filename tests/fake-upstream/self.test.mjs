// Self-test of the fake upstream: every route and every scripted behaviour, with raw HTTP.
// Run: node --test tests/fake-upstream/

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { API_MODELS, MODEL_LIMITS, VISION_MODELS, WEB_RESULTS, limitRefusal, presets, startFake, tokenizerCount } from './server.mjs';
import { caseFor, directiveFor, generatedReasoning, generatedToolCallId, loadStream, promptFor, splitEvents } from './streams.mjs';
import { makeTestPki } from './tls.mjs';

async function poll(what, fn, timeoutMs = 5000, intervalMs = 20) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

const chatBody = (text, extra = {}) => JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: text }], ...extra });

describe('fake upstream', () => {
  let fake;
  let token;
  const guestChat = (text, credential = token, init = {}) =>
    fetch(`${fake.url}/api/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
      body: chatBody(text),
      ...init,
    });
  const apiChat = (text, extra = {}, key = 'key-a') =>
    fetch(`${fake.url}/api/paas/v4/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: chatBody(text, extra),
    });

  before(async () => {
    fake = await startFake();
    token = (await (await fetch(`${fake.url}/api/v1/auths/`)).json()).token;
  });
  after(() => fake.close());

  test('selection table and splitting', async () => {
    assert.equal(caseFor({ messages: [{ role: 'user', content: 'hello' }] }), 'answer_only');
    assert.equal(caseFor({ messages: [{ role: 'user', content: '#fixture:thinking more' }] }), 'thinking');
    assert.equal(
      caseFor({ messages: [{ role: 'user', content: '#fixture:x' }, { role: 'assistant', content: 'y' }, { role: 'user', content: [{ type: 'text', text: '#fixture:thinking' }] }] }),
      'thinking',
    );
    assert.equal(promptFor('thinking', 'abc'), '#fixture:thinking abc');
    const { bytes } = await loadStream('guest', 'thinking', 'sse');
    const pieces = splitEvents(bytes);
    assert.equal(pieces.length, 17);
    assert.deepEqual(Buffer.concat(pieces), bytes);
    const crlf = Buffer.from('data: a\r\n\r\ndata: b\n\ntail');
    assert.deepEqual(splitEvents(crlf).map(String), ['data: a\r\n\r\n', 'data: b\n\n', 'tail']);
  });

  test('a directive may start any line of any text part of the last user message', () => {
    const reminder = { type: 'text', text: '<system-reminder>\nsomething\n</system-reminder>' };
    const body = { messages: [{ role: 'user', content: [reminder, { type: 'text', text: '#fixture:thinking  the rest ' }] }] };
    assert.equal(caseFor(body), 'thinking');
    assert.deepEqual(directiveFor(body), { name: 'thinking', arg: 'the rest' });
    assert.equal(caseFor({ messages: [{ role: 'user', content: 'intro\n#fixture:reasoning x' }] }), 'reasoning');
    assert.equal(caseFor({ messages: [{ role: 'user', content: 'not #fixture:reasoning here' }] }), 'answer_only');
    assert.deepEqual(directiveFor({ messages: [{ role: 'user', content: `${reminder.text}#fixture:call_tool Read {"a":1}` }] }), {
      name: 'call_tool',
      arg: 'Read {"a":1}',
    });
    assert.equal(caseFor({ messages: [{ role: 'user', content: '#fixture:a' }, { role: 'user', content: [reminder] }] }), 'answer_only');
  });

  test('guest auth issues unique tokens with the documented fields', async () => {
    const a = await (await fetch(`${fake.url}/api/v1/auths/`)).json();
    const b = await (await fetch(`${fake.url}/api/v1/auths/`)).json();
    for (const k of ['id', 'email', 'name', 'role', 'token', 'token_type']) assert.ok(k in a, k);
    assert.equal(a.role, 'guest');
    assert.equal(a.token_type, 'Bearer');
    assert.notEqual(a.token, b.token);
    assert.equal(a.token.split('.').length, 3);
  });

  test('guest chat replays the recording byte for byte', async () => {
    for (const [text, name] of [['Hello', 'answer_only'], [promptFor('thinking'), 'thinking']]) {
      const res = await guestChat(text);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type'), /^text\/event-stream/);
      const got = Buffer.from(await res.arrayBuffer());
      const { bytes } = await loadStream('guest', name, 'sse');
      assert.deepEqual(got, bytes);
      const entry = fake.log.at(-1);
      assert.equal(entry.case, name);
      assert.equal(entry.credential, token);
      assert.equal(entry.status, 200);
      assert.equal(entry.body.messages[0].content, text);
      assert.ok(entry.finished);
      assert.equal(entry.hungUp, false);
      assert.equal(entry.bytesAccepted, bytes.length);
    }
  });

  test('guest chat refuses unknown or missing tokens; unknown case is a loud 500', async () => {
    assert.equal((await guestChat('hi', 'not-issued')).status, 401);
    const res = await fetch(`${fake.url}/api/chat/completions`, { method: 'POST', body: chatBody('hi') });
    assert.equal(res.status, 401);
    const bad = await guestChat(promptFor('no_such_case'));
    assert.equal(bad.status, 500);
    assert.match(await bad.text(), /unknown guest case \\"no_such_case\\"/);
  });

  test('API mode: stream, JSON, models, unknown model -> 1211', async () => {
    const s = await apiChat(promptFor('reasoning'), { stream: true });
    assert.equal(s.status, 200);
    assert.deepEqual(Buffer.from(await s.arrayBuffer()), (await loadStream('api', 'reasoning', 'sse')).bytes);
    const j = await apiChat('plain');
    assert.equal(j.status, 200);
    assert.match(j.headers.get('content-type'), /application\/json/);
    assert.deepEqual(Buffer.from(await j.arrayBuffer()), (await loadStream('api', 'answer_only', 'json')).bytes);
    const u = await apiChat('x', { model: 'glm-unknown' });
    assert.equal(u.status, 400);
    assert.deepEqual(await u.json(), { error: { code: '1211', message: 'Unknown Model, please check the model code.' } });
    const m = await (await fetch(`${fake.url}/api/paas/v4/models`, { headers: { authorization: 'Bearer k' } })).json();
    assert.equal(m.object, 'list');
    assert.ok(m.data.some((x) => x.id === 'glm-4.6'));
    const g = await (await fetch(`${fake.url}/api/models`, { headers: { authorization: `Bearer ${token}` } })).json();
    assert.ok(g.data.some((x) => x.id === '0727-360B-API'));
    const nokey = await fetch(`${fake.url}/api/paas/v4/chat/completions`, { method: 'POST', body: chatBody('x') });
    assert.equal(nokey.status, 401);
  });

  test('API mode: each model\'s limits refused with 1210 (max_tokens, thinking, efforts, images)', async () => {
    fake.clear();
    const image = { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } };
    const withImage = (model, extra = {}) =>
      JSON.stringify({ model, messages: [{ role: 'user', content: [{ type: 'text', text: 'look' }, image] }], ...extra });
    const post = (body) =>
      fetch(`${fake.url}/api/paas/v4/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer key-a', 'content-type': 'application/json' },
        body,
      });
    const refused = async (res, reason) => {
      assert.equal(res.status, 400, reason);
      const { error } = await res.json();
      assert.equal(error.code, '1210', reason);
      assert.match(error.message, /^Invalid API parameter/);
      assert.equal(fake.log.at(-1).refused, reason);
    };
    const served = async (res, what) => {
      assert.equal(res.status, 200, `${what}: ${res.status}`);
      await res.arrayBuffer();
      assert.equal(fake.log.at(-1).refused, null, what);
    };

    assert.deepEqual(API_MODELS, ['glm-4.5', 'glm-4.5-air', 'glm-4.5v', 'glm-4.6', 'glm-4.6v', 'glm-4.7', 'glm-5', 'glm-5.3', 'glm-5v-turbo']);
    assert.deepEqual(VISION_MODELS, ['glm-4.5v', 'glm-4.6v', 'glm-5v-turbo']);
    const maxOut = Object.fromEntries(API_MODELS.map((m) => [m, MODEL_LIMITS[m].maxTokens]));
    assert.deepEqual(maxOut, {
      'glm-4.5': 98304, 'glm-4.5-air': 98304, 'glm-4.5v': 16384, 'glm-4.6': 131072, 'glm-4.6v': 32768,
      'glm-4.7': 131072, 'glm-5': 131072, 'glm-5.3': 131072, 'glm-5v-turbo': 32768,
    });
    // max_tokens: at the limit served, one above refused (stream and JSON alike)
    for (const model of API_MODELS) {
      await served(await apiChat('x', { model, max_tokens: maxOut[model] }), `${model} at its limit`);
      await refused(await apiChat('x', { model, max_tokens: maxOut[model] + 1 }), 'max_tokens');
    }
    await refused(await apiChat('x', { model: 'glm-4.5v', max_tokens: 128000, stream: true }), 'max_tokens');
    // thinking: only glm-5.3 must think
    await refused(await apiChat('x', { model: 'glm-5.3', thinking: { type: 'disabled' } }), 'thinking');
    await served(await apiChat('x', { model: 'glm-5.3', thinking: { type: 'enabled' } }), 'glm-5.3 thinking on');
    await served(await apiChat('x', { model: 'glm-4.6', thinking: { type: 'disabled' } }), 'glm-4.6 thinking off');
    // reasoning_effort: glm-5.3 takes low/high/max only; models without efforts ignore it
    for (const effort of ['low', 'high', 'max']) await served(await apiChat('x', { model: 'glm-5.3', reasoning_effort: effort }), effort);
    for (const effort of ['none', 'minimal', 'medium', 'xhigh']) await refused(await apiChat('x', { model: 'glm-5.3', reasoning_effort: effort }), 'reasoning_effort');
    await served(await apiChat('x', { model: 'glm-4.7', reasoning_effort: 'medium' }), 'glm-4.7 ignores efforts');
    await served(await apiChat('x', { model: 'glm-5.3', stream: true }), 'glm-5.3 without effort');
    // images: vision models only
    for (const model of VISION_MODELS) await served(await post(withImage(model)), `${model} reads images`);
    for (const model of ['glm-4.6', 'glm-4.7', 'glm-5.3']) await refused(await post(withImage(model, { stream: true })), 'image');
    assert.equal(limitRefusal({ model: 'glm-4.6', messages: [{ role: 'user', content: [{ type: 'image', source: {} }] }] })?.reason, 'image');
    // a text-only content array is no image
    await served(await post(JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] })), 'text parts');
    // the order of checks: max_tokens first
    assert.equal(limitRefusal({ model: 'glm-5.3', max_tokens: 1e6, thinking: { type: 'disabled' } }).reason, 'max_tokens');
    assert.equal(limitRefusal({ model: 'glm-unknown', max_tokens: 1e9 }), null);
    // a rule's answer comes before the limits
    fake.script({ times: 1, model: 'glm-4.5v', status: 200, body: { ok: 1 } });
    assert.deepEqual(await (await apiChat('x', { model: 'glm-4.5v', max_tokens: 1e6 })).json(), { ok: 1 });
  });

  test('API mode: modelLimits option replaces the table; false turns the checks off', async () => {
    const open = await startFake({ modelLimits: false });
    const tight = await startFake({ modelLimits: { 'glm-4.6': { maxTokens: 10, thinking: 'optional', efforts: ['low'], vision: false } } });
    try {
      const post = (f, extra) =>
        fetch(`${f.url}/api/paas/v4/chat/completions`, {
          method: 'POST',
          headers: { authorization: 'Bearer key-a', 'content-type': 'application/json' },
          body: chatBody('x', extra),
        });
      assert.equal((await post(open, { model: 'glm-4.5v', max_tokens: 1e6 })).status, 200);
      assert.equal((await post(open, { model: 'glm-5.3', thinking: { type: 'disabled' }, reasoning_effort: 'medium' })).status, 200);
      assert.equal((await post(open, { model: 'glm-nope' })).status, 400, 'unknown models still 1211');
      assert.equal((await post(tight, { max_tokens: 11 })).status, 400);
      assert.equal((await post(tight, { max_tokens: 10, reasoning_effort: 'low' })).status, 200);
      assert.equal((await post(tight, { reasoning_effort: 'high' })).status, 400);
      assert.equal((await post(tight, { model: 'glm-4.5v', max_tokens: 1e6 })).status, 200, 'a model outside the table is not checked');
    } finally {
      await open.close();
      await tight.close();
    }
  });

  test('API mode: overload of one model (HTTP 503, 1305, 1312) by rule; model lists match any', async () => {
    fake.clear();
    fake.script([
      { route: 'api_chat', model: 'glm-4.7', status: 503 },
      { route: 'api_chat', model: ['glm-4.6', 'glm-4.5'], times: 2, ...presets.apiError(1305) },
      { route: 'api_chat', model: 'glm-5', times: 1, ...presets.apiError(1312, 429) },
    ]);
    for (let i = 0; i < 2; i++) assert.equal((await apiChat('x', { model: 'glm-4.7' })).status, 503);
    const a = await apiChat('x', { model: 'glm-4.6' });
    assert.equal(a.status, 429);
    assert.deepEqual(await a.json(), { error: { code: '1305', message: 'The service may be temporarily overloaded, please try again later.' } });
    assert.equal((await apiChat('x', { model: 'glm-4.5', stream: true })).status, 429);
    assert.equal((await apiChat('x', { model: 'glm-4.6' })).status, 200, 'the model list rule served its two');
    const b = await apiChat('x', { model: 'glm-5' });
    assert.equal(b.status, 429);
    assert.equal((await b.json()).error.code, '1312');
    assert.equal((await apiChat('x', { model: 'glm-5' })).status, 200);
    assert.equal((await apiChat('x', { model: 'glm-4.5-air' })).status, 200, 'other models unaffected');
    assert.deepEqual(fake.log.slice(-8).map((e) => [e.body.model, e.status]), [
      ['glm-4.7', 503], ['glm-4.7', 503], ['glm-4.6', 429], ['glm-4.5', 429], ['glm-4.6', 200], ['glm-5', 429], ['glm-5', 200], ['glm-4.5-air', 200],
    ]);
    fake.clear();
  });

  test('API tokenizer: logged, default count, scripted count and failures', async () => {
    fake.clear();
    const tokenize = (body, key = 'key-a') =>
      fetch(`${fake.url}/api/paas/v4/tokenizer`, {
        method: 'POST',
        headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const body = { model: 'glm-4.6', messages: [{ role: 'user', content: 'count me' }], tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] };
    const res = await tokenize(body);
    assert.equal(res.status, 200);
    const json = await res.json();
    assert.equal(json.usage.prompt_tokens, tokenizerCount(body));
    assert.equal(json.usage.prompt_tokens, Math.ceil(JSON.stringify({ messages: body.messages, tools: body.tools }).length / 4));
    const entry = fake.entries('api_tokenizer').at(-1);
    assert.equal(entry.path, '/api/paas/v4/tokenizer');
    assert.equal(entry.credential, 'key-a');
    assert.deepEqual(entry.body, body);
    assert.equal(entry.status, 200);

    fake.script({ route: 'api_tokenizer', times: 1, promptTokens: 123 });
    assert.deepEqual((await (await tokenize(body)).json()).usage, { prompt_tokens: 123 });
    fake.script({ route: 'api_tokenizer', times: 1, ...presets.serverError() });
    assert.equal((await tokenize(body)).status, 500);
    fake.script({ route: 'api_tokenizer', times: 1, status: 200, body: { usage: {} } });
    assert.deepEqual(await (await tokenize(body)).json(), { usage: {} });
    // a rule without a route leaves the tokenizer alone
    fake.script({ times: 1, ...presets.busy() });
    assert.equal((await tokenize(body)).status, 200);
    fake.clear();

    const glm5 = await tokenize({ ...body, model: 'glm-5' });
    assert.equal(glm5.status, 400);
    assert.equal((await glm5.json()).error.code, '1211');
    assert.equal((await tokenize({ model: 'glm-4.5' })).status, 400);
    assert.equal((await tokenize(body, null)).status, 401);
    assert.equal(fake.entries('api_tokenizer').length, 8);
  });

  test('generated call_tool case: a tool call, then the tool result echoed (stream and JSON)', async () => {
    fake.clear();
    const prompt = '#fixture:call_tool Read {"file_path":"/tmp/some dir/token.txt"}';
    const user = { role: 'user', content: [{ type: 'text', text: '<system-reminder>\nx\n</system-reminder>' }, { type: 'text', text: prompt }] };
    const post = (messages, extra = {}) =>
      fetch(`${fake.url}/api/paas/v4/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer key-a', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'glm-5', messages, ...extra }),
      });
    const chunks = (text) =>
      text
        .split('\n\n')
        .filter(Boolean)
        .map((e) => e.replace(/^data: /, ''))
        .filter((d) => d !== '[DONE]')
        .map((d) => JSON.parse(d));

    const first = await post([{ role: 'system', content: 's' }, user], { stream: true });
    assert.equal(first.status, 200);
    const text1 = await first.text();
    assert.ok(text1.endsWith('data: [DONE]\n\n'));
    const c1 = chunks(text1);
    const calls = c1.flatMap((c) => c.choices[0].delta.tool_calls ?? []);
    assert.equal(calls.length, 2, 'arguments in two fragments');
    assert.equal(calls[0].id, generatedToolCallId('Read'));
    assert.match(calls[0].id, /^[A-Za-z0-9_-]{1,64}$/);
    assert.equal(calls[0].function.name, 'Read');
    assert.deepEqual(JSON.parse(calls.map((c) => c.function.arguments).join('')), { file_path: '/tmp/some dir/token.txt' });
    assert.equal(c1.at(-1).choices[0].finish_reason, 'tool_calls');
    assert.equal(c1.at(-1).model, 'glm-5');
    assert.ok(c1.at(-1).usage);
    let entry = fake.log.at(-1);
    assert.equal(entry.case, 'call_tool');
    assert.equal(entry.file, null);
    assert.equal(entry.plan.type, 'tool_call');

    const history = [
      { role: 'system', content: 's' },
      user,
      { role: 'assistant', content: '', tool_calls: [{ id: calls[0].id, type: 'function', function: { name: 'Read', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: calls[0].id, content: '1\tsecret tok-123\n' },
    ];
    const second = await post(history, { stream: true });
    const c2 = chunks(await second.text());
    assert.equal(c2.map((c) => c.choices[0].delta.content ?? '').join(''), 'Tool result: 1\tsecret tok-123\n');
    assert.equal(c2.at(-1).choices[0].finish_reason, 'stop');
    entry = fake.log.at(-1);
    assert.deepEqual(entry.plan, { type: 'text', text: 'Tool result: 1\tsecret tok-123\n' });

    // a user message after the tool message does not hide the result; JSON answers alike
    const j = await (await post([...history, { role: 'user', content: prompt }])).json();
    assert.equal(j.choices[0].message.content, 'Tool result: 1\tsecret tok-123\n');
    const j1 = await (await post([user])).json();
    assert.equal(j1.choices[0].finish_reason, 'tool_calls');
    assert.equal(j1.choices[0].message.tool_calls[0].function.arguments, '{"file_path":"/tmp/some dir/token.txt"}');

    const bad = await post([{ role: 'user', content: '#fixture:call_tool Read not-json' }], { stream: true });
    assert.equal(bad.status, 500);
    assert.match(await bad.text(), /unknown api case/);
  });

  test('generated call_tool_thinking case: reasoning, then the call (Codex exec_command shape); then the echo', async () => {
    fake.clear();
    const args = { cmd: 'cat token.txt' };
    const prompt = promptFor('call_tool_thinking', `exec_command ${JSON.stringify(args)}`);
    // What a proxy makes of Codex's first request: developer messages as system, the
    // environment context and the prompt as two user messages.
    const head = [
      { role: 'system', content: 'You are a coding agent running in the Codex CLI.' },
      { role: 'user', content: [{ type: 'text', text: '<environment_context>\n  <cwd>/w</cwd>\n</environment_context>' }] },
      { role: 'user', content: [{ type: 'text', text: prompt }] },
    ];
    const post = (messages, extra = {}) =>
      fetch(`${fake.url}/api/paas/v4/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer key-a', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'glm-4.6', messages, tools: [{ type: 'function', function: { name: 'exec_command', parameters: {} } }], tool_stream: true, ...extra }),
      });
    const chunks = (text) =>
      text
        .split('\n\n')
        .filter(Boolean)
        .map((e) => e.replace(/^data: /, ''))
        .filter((d) => d !== '[DONE]')
        .map((d) => JSON.parse(d));

    const first = await post(head, { stream: true });
    assert.equal(first.status, 200);
    const c1 = chunks(await first.text());
    const deltas = c1.map((c) => c.choices[0].delta);
    const reasoningAt = deltas.map((d, i) => (d.reasoning_content ? i : -1)).filter((i) => i >= 0);
    const callAt = deltas.map((d, i) => (d.tool_calls ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(reasoningAt, [0, 1], 'two reasoning pieces first');
    assert.deepEqual(callAt, [2, 3], 'then the call in two fragments');
    assert.equal(deltas.map((d) => d.reasoning_content ?? '').join(''), generatedReasoning('exec_command'));
    const calls = deltas.flatMap((d) => d.tool_calls ?? []);
    assert.equal(calls[0].id, generatedToolCallId('exec_command'));
    assert.equal(calls[0].function.name, 'exec_command');
    assert.deepEqual(JSON.parse(calls.map((c) => c.function.arguments).join('')), args);
    assert.equal(c1.at(-1).choices[0].finish_reason, 'tool_calls');
    let entry = fake.log.at(-1);
    assert.equal(entry.case, 'call_tool_thinking');
    assert.deepEqual(entry.plan, { type: 'tool_call', name: 'exec_command', args: JSON.stringify(args), id: calls[0].id, reasoning: generatedReasoning('exec_command') });

    const output = 'Chunk ID: 1a2b3c\nWall time: 0.0000 seconds\nProcess exited with code 0\nOriginal token count: 4\nOutput:\nsecret tok-xyz\n';
    const history = [
      ...head,
      {
        role: 'assistant',
        content: '',
        reasoning_content: generatedReasoning('exec_command'),
        tool_calls: [{ id: calls[0].id, type: 'function', function: { name: 'exec_command', arguments: JSON.stringify(args) } }],
      },
      { role: 'tool', tool_call_id: calls[0].id, content: output },
    ];
    const c2 = chunks(await (await post(history, { stream: true })).text());
    assert.equal(c2.map((c) => c.choices[0].delta.content ?? '').join(''), `Tool result: ${output}`);
    assert.ok(c2.every((c) => !c.choices[0].delta.reasoning_content), 'no reasoning in the echo');
    entry = fake.log.at(-1);
    assert.deepEqual(entry.plan, { type: 'text', text: `Tool result: ${output}` });

    // non-streaming: reasoning_content on the message
    const j = await (await post(head)).json();
    assert.equal(j.choices[0].message.reasoning_content, generatedReasoning('exec_command'));
    assert.equal(j.choices[0].message.tool_calls[0].function.name, 'exec_command');
    // plain call_tool has no reasoning
    const plain = chunks(await (await post([{ role: 'user', content: promptFor('call_tool', 'exec_command {"cmd":"ls"}') }], { stream: true })).text());
    assert.ok(plain.every((c) => !c.choices[0].delta.reasoning_content));
    assert.equal(fake.log.at(-1).plan.reasoning, undefined);
  });

  test('rules: per credential (persistent) and for the next N requests', async () => {
    fake.clear();
    const [perToken] = fake.script({ credential: token, ...presets.unauthorized() });
    for (let i = 0; i < 3; i++) assert.equal((await guestChat('hi')).status, 401);
    assert.equal(perToken.matched, 3);
    fake.clear();
    assert.equal((await guestChat('hi')).status, 200);

    fake.script({ times: 2, ...presets.busy() });
    assert.equal((await guestChat('hi')).status, 429);
    assert.equal((await guestChat('hi')).status, 429);
    assert.equal((await guestChat('hi')).status, 200);

    fake.script({ times: 1, ...presets.firewall() });
    const fw = await guestChat('hi');
    assert.equal(fw.status, 405);
    assert.match(fw.headers.get('content-type'), /text\/html/);
    assert.match(await fw.text(), /<html>/);

    fake.script({ times: 1, route: 'api_chat', ...presets.apiError(1302) });
    const busy = await apiChat('x');
    assert.equal(busy.status, 429);
    assert.equal((await busy.json()).error.code, '1302');

    fake.script({ times: 1, text: 'only-me', ...presets.apiError(1301, 400) });
    assert.equal((await apiChat('not this one')).status, 200);
    assert.equal((await apiChat('yes only-me')).status, 400);

    fake.script({ times: 1, model: 'glm-4.5', ...presets.signature() });
    assert.equal((await apiChat('x')).status, 200);
    assert.equal((await apiChat('x', { model: 'glm-4.5' })).status, 400);
    assert.equal(fake.rules.every((r) => r.matched === r.times), true);
  });

  test('rules: auth endpoint failures, then recovery', async () => {
    fake.clear();
    fake.script([
      { route: 'auth', times: 1, ...presets.firewall() },
      { route: 'auth', times: 1, status: 200, body: '<html>not json</html>' },
      { route: 'auth', times: 1, status: 200, body: { id: 'x', role: 'guest' } },
    ]);
    assert.equal((await fetch(`${fake.url}/api/v1/auths/`)).status, 405);
    assert.equal(await (await fetch(`${fake.url}/api/v1/auths/`)).text(), '<html>not json</html>');
    assert.equal((await (await fetch(`${fake.url}/api/v1/auths/`)).json()).token, undefined);
    const ok = await (await fetch(`${fake.url}/api/v1/auths/`)).json();
    assert.equal(typeof ok.token, 'string');
    assert.deepEqual(fake.entries('auth').slice(-4).map((e) => e.status), [405, 200, 200, 200]);
    assert.equal(fake.entries('auth').at(-1).issuedToken, ok.token);
  });

  test('error frame mid-stream (guest and API)', async () => {
    fake.clear();
    fake.script({ times: 1, errorAfterEvents: 2 });
    const text = await (await guestChat('hi')).text();
    const events = text.split('\n\n').filter(Boolean);
    assert.equal(events.length, 3);
    assert.match(events[2], /"error": \{"detail"/);
    assert.doesNotMatch(text, /"done": true/);
    assert.equal(fake.log.at(-1).errorSent, true);

    fake.script({ times: 1, route: 'api_chat', errorAfterEvents: 1, errorFrame: { error: { code: '1305', message: 'overloaded' } } });
    const api = await (await apiChat('hi', { stream: true })).text();
    assert.equal(api.split('\n\n').filter(Boolean).length, 2);
    assert.ok(api.endsWith('data: {"error":{"code":"1305","message":"overloaded"}}\n\n'));
  });

  test('web search: Z.AI\'s tool shape gets results, stream and not; another shape 1214', async () => {
    const tool = { type: 'web_search', web_search: { enable: true, search_engine: 'search_pro_jina', search_result: true } };
    const streamed = await (await apiChat('hi', { stream: true, tools: [tool] })).text();
    const first = JSON.parse(streamed.split('\n\n')[0].slice(6));
    assert.deepEqual(first.web_search, WEB_RESULTS);
    const whole = await (await apiChat('hi', { tools: [tool] })).json();
    assert.deepEqual(whole.web_search, WEB_RESULTS);
    const plain = await (await apiChat('hi', {})).json();
    assert.equal(plain.web_search, undefined);
    const openai = await apiChat('hi', { tools: [{ type: 'web_search' }] });
    assert.equal(openai.status, 400);
    assert.equal((await openai.json()).error.code, '1214');
  });

  test('slow drip and slow first byte', async () => {
    fake.clear();
    fake.script({ times: 1, dripMs: 80, headerDelayMs: 150 });
    const t0 = Date.now();
    const res = await guestChat('hi');
    assert.ok(Date.now() - t0 >= 140, 'status line waited');
    const arrivals = [];
    for await (const chunk of res.body) arrivals.push([Date.now(), chunk.length]);
    assert.ok(arrivals.length >= 4, `events arrived separately (${arrivals.length})`);
    assert.ok(arrivals.at(-1)[0] - arrivals[0][0] >= 3 * 80 * 0.8, 'drip spaced the events');
  });

  test('one pause after N events', async () => {
    fake.clear();
    fake.script({ times: 1, pauseAfterEvents: 1, pauseMs: 300 });
    const res = await guestChat('hi');
    const arrivals = [];
    for await (const chunk of res.body) arrivals.push([Date.now(), chunk.toString()]);
    const firstAt = arrivals[0][0];
    const lateIdx = arrivals.findIndex(([t]) => t - firstAt >= 250);
    assert.ok(lateIdx > 0, 'a gap of the pause');
    const before = arrivals.slice(0, lateIdx).map(([, t]) => t).join('');
    assert.equal(before.split('\n\n').filter(Boolean).length, 1, 'one event before the pause');
  });

  test('fragmented writes deliver the same bytes in many small reads', async () => {
    fake.clear();
    fake.script({ times: 1, fragmentBytes: 3 });
    const expected = (await loadStream('guest', 'thinking', 'sse')).bytes;
    const { body, reads } = await new Promise((resolve, reject) => {
      const req = http.request(`${fake.url}/api/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        const parts = [];
        res.on('data', (c) => parts.push(c));
        res.on('end', () => resolve({ body: Buffer.concat(parts), reads: parts.length }));
      });
      req.on('error', reject);
      req.end(chatBody(promptFor('thinking')));
    });
    assert.deepEqual(body, expected);
    assert.ok(reads > 17 * 2, `${reads} reads for 17 events`);
  });

  test('connection cut mid-stream: destroy and clean end without end marker', async () => {
    fake.clear();
    fake.script({ times: 1, cutAfterEvents: 2 });
    const res = await guestChat('hi');
    assert.equal(res.status, 200);
    await assert.rejects(res.text(), /terminated|other side closed|socket/i);
    assert.equal(fake.log.at(-1).cut, true);
    assert.equal(fake.log.at(-1).hungUp, false);

    fake.script({ times: 1, cutAfterEvents: 1, cutMode: 'end' });
    const text = await (await guestChat('hi')).text();
    assert.equal(text.split('\n\n').filter(Boolean).length, 1);

    fake.script({ times: 1, cutAfterEvents: 0, cutMode: 'end' });
    assert.equal(await (await guestChat('hi')).text(), '');

    fake.script({ times: 1, route: 'api_chat', cutAfterEvents: 0 });
    const half = await apiChat('hi');
    assert.equal(half.status, 200);
    await assert.rejects(half.text());
  });

  test('client hang-up is logged with its time', async () => {
    fake.clear();
    fake.script({ times: 1, dripMs: 200 });
    const ctl = new AbortController();
    const res = await guestChat('hi', token, { signal: ctl.signal });
    const reader = res.body.getReader();
    await reader.read();
    const t = Date.now();
    ctl.abort();
    const entry = fake.log.at(-1);
    await poll('hang-up in the log', () => entry.hungUp);
    assert.ok(entry.hungUpAt - t < 2000);
    assert.equal(entry.finished, false);
  });

  test('huge stream honours backpressure and counts accepted bytes', async () => {
    fake.clear();
    const total = 50 * 1024 * 1024;
    fake.script({ times: 1, hugeBytes: total });
    const sock = net.connect(fake.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const body = chatBody('huge');
    sock.write(
      `POST /api/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    let received = 0;
    await new Promise((resolve) => {
      const onData = (c) => {
        received += c.length;
        if (received >= 64 * 1024) {
          sock.off('data', onData);
          sock.pause();
          resolve();
        }
      };
      sock.on('data', onData);
    });
    const entry = fake.log.at(-1);
    // Stable: no growth over 10 consecutive polls (the socket buffers are full).
    let last = -1;
    let same = 0;
    await poll('accepted bytes to settle', () => {
      same = entry.bytesAccepted === last ? same + 1 : 0;
      last = entry.bytesAccepted;
      return same >= 10;
    }, 20000, 50);
    assert.ok(entry.bytesAccepted < total / 4, `accepted ${entry.bytesAccepted} of ${total}`);
    assert.ok(entry.bytesOffered - entry.bytesAccepted < 1 << 20, 'nothing piles up in the fake');
    sock.destroy();
    await poll('hang-up', () => entry.hungUp);
  });

  test('control API: script, log, reset over HTTP', async () => {
    fake.reset();
    const r = await fetch(`${fake.url}/__control/script`, {
      method: 'POST',
      body: JSON.stringify([{ times: 1, ...presets.busy() }, { route: 'auth', times: 1, status: 500, body: 'down' }]),
    });
    assert.deepEqual(await r.json(), { ok: true, rules: 2 });
    assert.equal((await guestChat('logged')).status, 429);
    assert.equal((await fetch(`${fake.url}/api/v1/auths/`)).status, 500);
    const log = await (await fetch(`${fake.url}/__control/log`)).json();
    assert.equal(log.length, 2);
    const [chat, auth] = log;
    assert.equal(chat.path, '/api/chat/completions');
    assert.equal(chat.method, 'POST');
    assert.equal(chat.route, 'guest_chat');
    assert.equal(chat.credential, token);
    assert.equal(chat.status, 429);
    assert.equal(chat.body.messages[0].content, 'logged');
    assert.equal(typeof chat.time, 'number');
    assert.equal(chat.hungUp, false);
    assert.equal(auth.status, 500);
    await fetch(`${fake.url}/__control/script`, { method: 'DELETE' });
    assert.equal(fake.rules.length, 0);
    await fetch(`${fake.url}/__control/script`, { method: 'POST', body: '{"reset":true}' });
    await fetch(`${fake.url}/__control/reset`, { method: 'POST' });
    assert.deepEqual(await (await fetch(`${fake.url}/__control/log`)).json(), []);
  });
});

describe('fake upstream over TLS', () => {
  let pki;
  let good;
  let wrong;
  before(async () => {
    pki = makeTestPki();
    good = await startFake({ tls: pki.good });
    wrong = await startFake({ tls: pki.wrong });
  });
  after(async () => {
    await good?.close();
    await wrong?.close();
    pki?.cleanup();
  });

  const get = (url) =>
    new Promise((resolve, reject) => {
      https
        .get(url, { ca: pki.ca }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode, text }));
        })
        .on('error', reject);
    });

  test('the test CA verifies localhost and 127.0.0.1; the wrong-name certificate is refused', async () => {
    assert.match(good.url, /^https:\/\/localhost:\d+$/);
    const a = await get(`${good.url}/api/v1/auths/`);
    assert.equal(a.status, 200);
    const b = await get(`https://127.0.0.1:${good.port}/api/v1/auths/`);
    assert.equal(b.status, 200);
    await assert.rejects(get(`${wrong.url}/api/v1/auths/`), (err) => err.code === 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.equal(wrong.log.length, 0);
    await assert.rejects(
      new Promise((resolve, reject) => https.get(`${good.url}/api/v1/auths/`, resolve).on('error', reject)),
      /self[- ]signed|unable to (get|verify)/i,
    );
  });
});

describe('fake upstream as a process', () => {
  test('prints {"port":N} first and stops on SIGTERM', async () => {
    const script = fileURLToPath(new URL('./server.mjs', import.meta.url));
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
      });
      const { port } = JSON.parse(line);
      assert.ok(Number.isInteger(port) && port > 0);
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/auths/`);
      assert.equal(res.status, 200);
      const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
