// Anthropic Messages (INTERFACE.md §7, scenarios 7.9): raw requests checked byte by byte, what
// went upstream checked in the fake's log, Claude Code's recorded requests replayed
// (tests/fixtures/claude_code/), and the pinned @anthropic-ai/sdk. Both hosts (E2E_HOST).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  anthropicClient,
  anthropicRequest,
  assertAnthropicError,
  assertAnthropicIds,
  assertMessage,
  assertMessagesStream,
  claudeHeaders,
  parseAnthropicSSE,
} from './anthropic.mjs';
import { parseMetrics, metricSum } from './metrics.mjs';
import { expected } from './oracle.mjs';
import { API_KEYS, CLIENT_KEY, chatEntries, startStack } from './stack.mjs';
import { REPO_ROOT } from './util.mjs';
import { presets } from '../fake-upstream/server.mjs';
import { generatedToolCallId, promptFor } from '../fake-upstream/streams.mjs';

const T = { timeout: 60_000 };
const BILLING = 'x-anthropic-billing-header: cc_version=2.1.332.9a2; cc_entrypoint=sdk-cli;';
const LONG_USER_ID = JSON.stringify({ device_id: 'd'.repeat(64), account_uuid: '', session_id: '0'.repeat(36) }).padEnd(140, ' ');
const TOOLS = [
  {
    name: 'get_weather',
    description: 'Current weather for a city',
    input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    cache_control: { type: 'ephemeral' },
  },
  {
    name: 'Read',
    description: 'Reads a file',
    input_schema: { type: 'object', properties: { file_path: { type: 'string' } }, required: ['file_path'], additionalProperties: false },
  },
  {
    name: 'Bash',
    description: 'Runs a command',
    input_schema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { command: { type: 'string' } } },
    cache_control: { type: 'ephemeral' },
  },
];

// A whole upstream SSE answer (the official API's framing) from chunk objects.
const apiChunk = (delta, extra = {}) => ({
  id: '20260313059999aaaabbbbccccdddd',
  created: 1773349999,
  model: 'glm-4.7',
  choices: [{ index: 0, delta: { role: 'assistant', ...delta }, ...extra }],
});
const sseBody = (chunks) => chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n';
const sseAnswer = (chunks) => ({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: sseBody(chunks) });
const usage = (p, c, cached = 0) => ({ prompt_tokens: p, completion_tokens: c, total_tokens: p + c, prompt_tokens_details: { cached_tokens: cached } });

const fixture = (name) => JSON.parse(readFileSync(path.join(REPO_ROOT, 'tests', 'fixtures', 'claude_code', `${name}.json`), 'utf8'));

// A recorded Claude Code request, ready to send: its headers minus transport ones, the client
// key in place of the redacted one.
function replayable(req, key = CLIENT_KEY) {
  const headers = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (['host', 'connection', 'content-length', 'accept-encoding', 'authorization'].includes(k)) continue;
    headers[k] = k === 'x-api-key' ? key : v;
  }
  if (req.headers.authorization) headers.authorization = `Bearer ${key}`;
  return { path: req.path, headers, body: req.body };
}

// Text of a chat message content (a string or text parts).
const textOf = (content) => (typeof content === 'string' ? content : (content ?? []).map((p) => p.text ?? '').join(''));

// Every text the upstream request carries (system, messages), for "nothing leaked" checks.
const upstreamText = (body) => JSON.stringify(body?.messages ?? []);

describe('Messages, API mode', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'api', settings: { MAX_ATTEMPTS: 3, KEEPALIVE_S: 1 } });
  });
  after(() => s?.stop());

  const post = (body, opts = {}) => anthropicRequest(s.host, opts.path ?? '/v1/messages', { body, ...opts });
  const msg = (text, extra = {}) => ({ model: 'claude-sonnet-4-5-20250929', max_tokens: 1024, messages: [{ role: 'user', content: text }], ...extra });
  const ups = (tag) => chatEntries(s, tag);

  test('7.9.1 Claude Code first call: haiku, billing block, long user_id; exact stream order', T, async () => {
    const tag = 'cc-first-call';
    const body = {
      model: 'claude-haiku-4-5-20251001',
      max_tokens: 512,
      stream: true,
      system: [
        { type: 'text', text: BILLING },
        { type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } },
      ],
      metadata: { user_id: LONG_USER_ID },
      messages: [{ role: 'user', content: [{ type: 'text', text: tag }] }],
    };
    const r = await post(body, { path: '/v1/messages?beta=true', key: null, headers: claudeHeaders() });
    const exp = await expected('api', 'answer_only', 'sse');
    const { events } = assertMessagesStream(r, { model: 'claude-haiku-4-5-20251001', text: exp.content, kinds: ['text'], stop_reason: 'end_turn', stop_sequence: null });
    const order = events.map((e) => e.event).filter((e, i) => e !== 'ping' || i === 1);
    const deltas = order.filter((e) => e === 'content_block_delta').length;
    assert.ok(deltas >= 1);
    assert.deepEqual(order, [
      'message_start', 'ping', 'content_block_start', ...Array(deltas).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop',
    ]);
    const [up] = ups(tag);
    assert.ok(up, 'one upstream request');
    assert.equal(ups(tag).length, 1);
    assert.equal(up.body.model, 'glm-4.5-air');
    assert.equal(up.body.stream, true);
    assert.equal(up.body.thinking?.type, 'disabled', `thinking sent upstream: ${JSON.stringify(up.body.thinking)}`);
    assert.ok(!upstreamText(up.body).includes('x-anthropic-billing-header'), 'billing line dropped');
    assert.ok(upstreamText(up.body).includes('You are Claude Code.'), 'the rest of the system prompt kept');
    assert.equal(up.body.messages[0].role, 'system');
    assert.equal(typeof up.body.user_id, 'string', `user_id upstream: ${JSON.stringify(up.body.user_id)}`);
    assert.ok(up.body.user_id.length <= 128, 'user_id at most 128 chars');
    assert.equal(up.body.user_id, createHash('sha256').update(LONG_USER_ID).digest('hex'), 'a long user_id goes up as its SHA-256 hex');
    assert.ok(API_KEYS.includes(up.credential));
  });

  test('7.9.2 main turn: tools, adaptive thinking, effort, context_management', T, async () => {
    const tag = 'cc-main-turn';
    const r = await post(
      msg(tag, {
        stream: true,
        tools: TOOLS,
        thinking: { type: 'adaptive' },
        output_config: { effort: 'high' },
        context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
      }),
      { headers: claudeHeaders() },
    );
    assertMessagesStream(r, { model: 'claude-sonnet-4-5-20250929' });
    const [up] = ups(tag);
    assert.equal(up.body.model, 'glm-4.7');
    assert.deepEqual(
      up.body.tools,
      TOOLS.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.input_schema } })),
    );
    assert.equal(up.body.thinking?.type, 'enabled');
    assert.equal(up.body.reasoning_effort, 'high');
    assert.equal(up.body.tool_stream, true);
    assert.equal(up.body.context_management, undefined, 'context_management not forwarded');
  });

  test('7.9.3 Bearer key accepted; missing or wrong key 401 authentication_error', T, async () => {
    const ok = await post(msg('bearer-key'), { key: null, headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    assertMessage(ok, { model: 'claude-sonnet-4-5-20250929' });
    const none = await post(msg('no-key'), { key: null });
    assertAnthropicError(none, { status: 401, type: 'authentication_error' });
    const bad = await post(msg('bad-key'), { key: 'sk-wrong' });
    assertAnthropicError(bad, { status: 401, type: 'authentication_error' });
    // x-api-key is the identity when both come
    const both = await post(msg('both-keys'), { key: 'sk-wrong', headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    assertAnthropicError(both, { status: 401, type: 'authentication_error' });
    assert.equal(ups('no-key').length + ups('bad-key').length + ups('both-keys').length, 0);
  });

  test('7.9.4 non-stream: id, end_turn, usage with cached tokens', T, async () => {
    const tag = 'ns-usage';
    s.fake.script({
      text: tag,
      times: 1,
      status: 200,
      body: { id: 'x', created: 1, model: 'glm-4.7', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Fine.' } }], usage: usage(15, 9, 3) },
    });
    const r = await post(msg(tag));
    assertMessage(r, {
      model: 'claude-sonnet-4-5-20250929',
      content: [{ type: 'text', text: 'Fine.' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 9, cache_read_input_tokens: 3, cache_creation_input_tokens: 0 },
    });
    assert.notEqual(ups(tag)[0].body.stream, true);
  });

  test('7.9.5 tool argument fragments stream verbatim as input_json_delta', T, async () => {
    const tag = 'tool-fragments';
    s.fake.script({
      text: tag,
      times: 1,
      ...sseAnswer([
        apiChunk({ tool_calls: [{ id: 'call_abc123', index: 0, type: 'function', function: { name: 'get_weather', arguments: '{"city":' } }] }),
        apiChunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
        { ...apiChunk({ content: '' }, { finish_reason: 'tool_calls' }), usage: usage(20, 8) },
      ]),
    });
    const r = await post(msg(tag, { stream: true, tools: TOOLS }));
    const { blocks } = assertMessagesStream(r, { kinds: ['tool_use'], stop_reason: 'tool_use', stop_sequence: null });
    assert.equal(blocks[0].id, 'call_abc123', 'upstream tool id kept');
    assert.equal(blocks[0].name, 'get_weather');
    assert.deepEqual(blocks[0].deltas, [
      { type: 'input_json_delta', partial_json: '{"city":' },
      { type: 'input_json_delta', partial_json: '"Paris"}' },
    ]);
  });

  test('7.9.6 reasoning then content: a thinking block with one signature, then text', T, async () => {
    const exp = await expected('api', 'reasoning', 'sse');
    const r = await post(msg(promptFor('reasoning', 'thinking-on'), { stream: true, thinking: { type: 'enabled', budget_tokens: 2048 } }));
    const { blocks } = assertMessagesStream(r, { kinds: ['thinking', 'text'], text: exp.content, stop_reason: 'end_turn' });
    assert.equal(blocks[0].thinking, exp.reasoning);
    assert.equal(blocks[0].signature, 'zproxy-unsigned');
    assert.equal(ups('thinking-on')[0].body.thinking?.type, 'enabled');
  });

  test('7.9.7 no thinking field: upstream reasoning is not shown', T, async () => {
    const exp = await expected('api', 'reasoning', 'sse');
    const r = await post(msg(promptFor('reasoning', 'thinking-absent'), { stream: true }));
    assertMessagesStream(r, { kinds: ['text'], text: exp.content });
    assert.equal(ups('thinking-absent')[0].body.thinking?.type, 'disabled');
    const ns = await post(msg(promptFor('reasoning', 'thinking-absent-ns')));
    const m = assertMessage(ns);
    assert.deepEqual(m.content.map((b) => b.type), ['text']);
  });

  test('7.9.8 history with thinking, tool_use and tool_result maps to chat messages', T, async () => {
    const tag = 'history-map';
    const r = await post(
      msg(tag, {
        tools: TOOLS,
        messages: [
          { role: 'user', content: 'What is the weather in Paris?' },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'I should call the tool.', signature: 'zproxy-unsigned' },
              { type: 'text', text: 'Let me check.' },
              { type: 'tool_use', id: 'toolu_01abc', name: 'get_weather', input: { city: 'Paris' } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_01abc', content: [{ type: 'text', text: 'sunny' }, { type: 'text', text: '21C' }] },
              { type: 'text', text: tag },
            ],
          },
        ],
      }),
    );
    assertMessage(r);
    const [up] = ups(tag);
    const m = up.body.messages;
    assert.deepEqual(m.map((x) => x.role), ['user', 'assistant', 'tool', 'user']);
    assert.equal(textOf(m[1].content), 'Let me check.');
    assert.equal(m[1].reasoning_content, 'I should call the tool.');
    assert.deepEqual(m[1].tool_calls, [{ id: 'toolu_01abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);
    assert.equal(m[2].tool_call_id, 'toolu_01abc');
    assert.equal(textOf(m[2].content), 'sunny\n21C');
    assert.ok(JSON.stringify(m[3].content).includes(tag));
  });

  test('7.9.9 stop_sequences: the proxy cuts at END', T, async () => {
    const tag = 'stop-seq';
    const answer = sseAnswer([apiChunk({ content: 'abcE' }), apiChunk({ content: 'NDxyz' }), { ...apiChunk({ content: '' }, { finish_reason: 'stop' }), usage: usage(5, 3) }]);
    s.fake.script({ text: tag, times: 1, ...answer });
    const r = await post(msg(tag, { stream: true, stop_sequences: ['END'] }));
    assertMessagesStream(r, { text: 'abc', stop_reason: 'stop_sequence', stop_sequence: 'END' });
    assert.equal([].concat(ups(tag)[0].body.stop)[0], 'END', 'the stop string goes upstream too');
    s.fake.script({
      text: tag,
      times: 1,
      status: 200,
      body: { id: 'x', created: 1, model: 'glm-4.7', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'abcENDxyz' } }], usage: usage(5, 3) },
    });
    const ns = await post(msg(tag, { stop_sequences: ['END'] }));
    assertMessage(ns, { content: [{ type: 'text', text: 'abc' }], stop_reason: 'stop_sequence', stop_sequence: 'END' });
    const five = await post(msg(`${tag}-5`, { stop_sequences: ['a', 'b', 'c', 'd', 'e'] }));
    assertAnthropicError(five, { status: 400, type: 'invalid_request_error', message: 'stop_sequences' });
  });

  test('7.9.10 missing max_tokens is 400 naming it; max_tokens 0 answers locally', T, async () => {
    const tag = 'max-tokens';
    const body = msg(`${tag}-missing`);
    delete body.max_tokens;
    const r = await post(body);
    assertAnthropicError(r, { status: 400, type: 'invalid_request_error', message: 'max_tokens' });
    const zero = await post(msg(`${tag}-zero`, { max_tokens: 0 }));
    assertMessage(zero, { content: [], stop_reason: 'max_tokens' });
    assert.equal(ups(tag).length, 0, 'no upstream call');
  });

  test('7.9.12 a server tool is refused with the wording Claude Code recovers from', T, async () => {
    const r = await post(msg('server-tool', { tools: [...TOOLS, { type: 'web_search_20250305', name: 'web_search', max_uses: 5 }] }));
    assertAnthropicError(r, { status: 400, type: 'invalid_request_error', contains: "Input tag 'web_search_20250305'" });
    assert.equal(ups('server-tool').length, 0);
  });

  test('7.9.13 model names: CLAUDE_MODEL_MAP, [1m] suffix', T, async () => {
    for (const [model, upstream] of [
      ['claude-opus-4-1', 'glm-5'],
      ['claude-fable-5', 'glm-4.7'],
      ['claude-sonnet-4-5-20250929', 'glm-4.7'],
      ['claude-haiku-4-5-20251001', 'glm-4.5-air'],
      ['claude-opus-5-5', 'glm-5'],
      ['glm-5.3[1m]', 'glm-5.3'],
      ['glm-4.6', 'glm-4.6'],
    ]) {
      const tag = `model-map-${model}`;
      const r = await post(msg(tag, { model }));
      assertMessage(r, { model });
      assert.equal(ups(tag)[0]?.body.model, upstream, `${model} → ${upstream}`);
    }
  });

  test('7.9.14 upstream cut mid-stream: an error event ends the stream, never message_stop', T, async () => {
    const tag = 'cut-mid';
    s.fake.script({ text: tag, times: 1, cutAfterEvents: 2 });
    const r = await post(msg(tag, { stream: true }));
    assert.equal(r.status, 200);
    const events = parseAnthropicSSE(r.text);
    const names = events.map((e) => e.event);
    assert.equal(names[0], 'message_start');
    assert.equal(names.at(-1), 'error', `last event: ${names.join(' ')}`);
    assert.ok(!names.includes('message_stop') && !names.includes('message_delta'), names.join(' '));
    assert.ok(!names.includes('content_block_stop'), 'no content_block_stop after the failure');
    const err = events.at(-1).data;
    assert.equal(err.error.type, 'api_error');
    assert.equal(typeof err.error.message, 'string');
    assert.equal(err.request_id, r.headers.get('x-request-id'));
  });

  test('7.9.16 silent upstream: message_start and ping events as keep-alive, never a comment', T, async () => {
    // reasoning the client did not ask for is dropped and does not commit; then 3.5 s of silence
    const exp = await expected('api', 'reasoning', 'sse');
    s.fake.script({ text: 'silent-upstream', times: 1, pauseAfterEvents: 1, pauseMs: 3500 });
    const r = await post(msg(promptFor('reasoning', 'silent-upstream'), { stream: true }));
    assert.ok(!/^:/m.test(r.text), `no comment lines: ${r.text.slice(0, 400)}`);
    const { events } = assertMessagesStream(r, { kinds: ['text'], text: exp.content });
    const firstBlock = events.findIndex((e) => e.event === 'content_block_start');
    assert.ok(events.slice(1, firstBlock).filter((e) => e.event === 'ping').length >= 2, `pings before the content: ${events.map((e) => e.event).join(' ')}`);
  });

  test('7.9.17 finish reasons: sensitive → refusal, length → max_tokens', T, async () => {
    for (const [name, stop] of [['sensitive', 'refusal'], ['length', 'max_tokens']]) {
      const st = await post(msg(promptFor(name, 'finish'), { stream: true }));
      assertMessagesStream(st, { stop_reason: stop, stop_sequence: null });
      const ns = await post(msg(promptFor(name, 'finish-ns')));
      assertMessage(ns, { stop_reason: stop, stop_sequence: null });
    }
  });

  test('7.9.18 count_tokens through the Z.AI tokenizer; its failure falls back to the estimate', T, async () => {
    s.fake.script({ route: 'api_tokenizer', times: 1, promptTokens: 123 });
    const body = {
      model: 'claude-sonnet-4-5-20250929',
      system: [{ type: 'text', text: BILLING }, { type: 'text', text: 'You are terse.' }],
      messages: [{ role: 'user', content: 'Count these tokens please.' }],
      tools: [TOOLS[0]],
    };
    const before = s.fake.entries('api_tokenizer').length;
    const r = await post(body, { path: '/v1/messages/count_tokens?beta=true', headers: claudeHeaders() });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { input_tokens: 123 });
    assertAnthropicIds(r.headers);
    const calls = s.fake.entries('api_tokenizer').slice(before);
    assert.equal(calls.length, 1, 'one tokenizer call');
    const tk = calls[0];
    assert.ok(API_KEYS.includes(tk.credential));
    assert.equal(tk.body.model, 'glm-4.6', 'glm-4.7 is not a tokenizer model: glm-4.6 counts');
    assert.equal(tk.body.messages[0].role, 'system');
    assert.ok(!JSON.stringify(tk.body).includes('x-anthropic-billing-header'));
    assert.equal(tk.body.tools[0].function.name, 'get_weather');

    // the estimate: ⌈C/3⌉ + 4·M; C = "You are terse." (14) + "Count these tokens please." (26)
    // + name, description and compact schema of the tool
    const t = TOOLS[0];
    const c = 14 + 26 + t.name.length + t.description.length + JSON.stringify(t.input_schema).length;
    const estimate = Math.ceil(c / 3) + 4;
    s.fake.script({ route: 'api_tokenizer', times: 1, ...presets.serverError() });
    const fallback = await post(body, { path: '/v1/messages/count_tokens' });
    assert.equal(fallback.status, 200, fallback.text);
    assert.deepEqual(fallback.json, { input_tokens: estimate });
    assert.equal(s.fake.entries('api_tokenizer').length, before + 2, 'the failed tokenizer call was made');
    assert.equal(chatEntries(s, 'Count these tokens please.').length, 0, 'no chat call');
    const bad = await post({ model: 'claude-sonnet-4-5-20250929' }, { path: '/v1/messages/count_tokens' });
    assertAnthropicError(bad, { status: 400, type: 'invalid_request_error' });
  });

  test('7.9.19 route surface: GET is 405 Allow POST; batches 404; both in the Anthropic shape', T, async () => {
    const get = await anthropicRequest(s.host, '/v1/messages', { method: 'GET' });
    assertAnthropicError(get, { status: 405, type: 'invalid_request_error' });
    assert.equal(get.headers.get('allow'), 'POST');
    const batches = await post(msg('batches'), { path: '/v1/messages/batches' });
    assertAnthropicError(batches, { status: 404, type: 'not_found_error' });
    const badJson = await post('{"model":', { path: '/v1/messages' });
    assertAnthropicError(badJson, { status: 400, type: 'invalid_request_error' });
  });

  test('7.9.20 CORS preflight allows the Anthropic headers', T, async () => {
    const r = await anthropicRequest(s.host, '/v1/messages', {
      method: 'OPTIONS',
      key: null,
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-api-key, anthropic-version, anthropic-beta, content-type',
      },
    });
    assert.equal(r.status, 204);
    const allowed = (r.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of ['x-api-key', 'anthropic-version', 'anthropic-beta']) assert.ok(allowed.includes(h), `${h} in ${allowed}`);
    const answer = await post(msg('cors-expose'), { headers: { origin: 'https://app.example' } });
    assert.ok((answer.headers.get('access-control-expose-headers') ?? '').toLowerCase().includes('request-id'));
  });

  test('Claude Code recorded requests replay: first turn and tool round trip', T, async () => {
    const plain = replayable(fixture('plain').requests[0]);
    const r = await post(plain.body, { path: plain.path, key: null, headers: plain.headers });
    const exp = await expected('api', 'answer_only', 'sse');
    assertMessagesStream(r, { model: plain.body.model, text: exp.content, stop_reason: 'end_turn' });
    const up = s.fake.entries('api_chat').at(-1);
    assert.equal(up.body.model, 'glm-5', `${plain.body.model} → glm-5`);
    assert.equal(up.body.stream, true);
    assert.equal(up.body.tools.length, plain.body.tools.length, 'every tool passed (defer_loading ignored)');
    const read = up.body.tools.find((t) => t.function.name === 'Read');
    assert.deepEqual(read.function.parameters, plain.body.tools.find((t) => t.name === 'Read').input_schema);
    assert.equal(up.body.thinking?.type, 'enabled', 'adaptive thinking is on');
    assert.ok(up.body.user_id && up.body.user_id.length <= 128);
    assert.deepEqual(up.body.messages.map((m) => m.role), ['system', 'user', 'system'], 'the mid-conversation system message kept in place');
    assert.ok(!upstreamText(up.body).includes('x-anthropic-billing-header'));

    const bearer = replayable(fixture('plain_bearer').requests[0]);
    assert.ok(bearer.headers.authorization && !bearer.headers['x-api-key']);
    assertMessagesStream(await post(bearer.body, { path: bearer.path, key: null, headers: bearer.headers }));

    const second = replayable(fixture('tool_read').requests[1]);
    const r2 = await post(second.body, { path: second.path, key: null, headers: second.headers });
    assertMessagesStream(r2);
    const up2 = s.fake.entries('api_chat').at(-1);
    const roles = up2.body.messages.map((m) => m.role);
    assert.deepEqual(roles, ['system', 'user', 'system', 'assistant', 'tool']);
    const call = up2.body.messages[3].tool_calls[0];
    assert.equal(call.function.name, 'Read');
    assert.deepEqual(JSON.parse(call.function.arguments), { file_path: '/tmp/claude-code-fixture/work/token.txt' });
    assert.equal(up2.body.messages[4].tool_call_id, call.id);
    assert.ok(textOf(up2.body.messages[4].content).includes('tok-fixture-0000'));
  });

  test('7.9.22 @anthropic-ai/sdk: create, stream().finalMessage(), countTokens, x-api-key and Bearer', T, async () => {
    const exp = await expected('api', 'answer_only', 'sse');
    for (const client of [anthropicClient(s.host), anthropicClient(s.host, { authToken: CLIENT_KEY })]) {
      const created = await client.messages.create({ model: 'claude-sonnet-4-5-20250929', max_tokens: 256, messages: [{ role: 'user', content: 'sdk-create' }] });
      assert.match(created.id, /^msg_[A-Za-z0-9]{24}$/);
      assert.equal(created.model, 'claude-sonnet-4-5-20250929');
      assert.equal(created.content[0].text, (await expected('api', 'answer_only', 'json')).content);
      const stream = client.messages.stream({ model: 'claude-haiku-4-5-20251001', max_tokens: 256, messages: [{ role: 'user', content: 'sdk-stream' }] });
      let streamed = '';
      stream.on('text', (t) => (streamed += t));
      const final = await stream.finalMessage();
      assert.equal(final.content[0].text, exp.content);
      assert.equal(streamed, exp.content);
      assert.equal(final.stop_reason, 'end_turn');
      s.fake.script({ route: 'api_tokenizer', times: 1, promptTokens: 77 });
      const counted = await client.messages.countTokens({ model: 'claude-sonnet-4-5-20250929', messages: [{ role: 'user', content: 'sdk-count' }] });
      assert.equal(counted.input_tokens, 77);
    }
    const bad = anthropicClient(s.host, { apiKey: 'sk-wrong' });
    await assert.rejects(
      bad.messages.create({ model: 'claude-sonnet-4-5-20250929', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] }),
      (err) => err.status === 401 && err.error?.error?.type === 'authentication_error',
    );
  });

  test('@anthropic-ai/sdk tool round trip (streamed tool_use, then the tool_result)', T, async () => {
    const client = anthropicClient(s.host);
    const prompt = promptFor('call_tool', 'get_weather {"city":"Paris"}');
    const first = await client.messages
      .stream({ model: 'claude-sonnet-4-5-20250929', max_tokens: 256, tools: TOOLS, messages: [{ role: 'user', content: prompt }] })
      .finalMessage();
    assert.equal(first.stop_reason, 'tool_use');
    const use = first.content.find((b) => b.type === 'tool_use');
    assert.ok(use, JSON.stringify(first.content));
    assert.equal(use.id, generatedToolCallId('get_weather'));
    assert.equal(use.name, 'get_weather');
    assert.deepEqual(use.input, { city: 'Paris' });
    const second = await client.messages.create({
      model: 'claude-sonnet-4-5-20250929',
      max_tokens: 256,
      tools: TOOLS,
      messages: [
        { role: 'user', content: prompt },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny, 21C' }] },
      ],
    });
    assert.equal(second.stop_reason, 'end_turn');
    assert.equal(second.content.map((b) => b.text ?? '').join(''), 'Tool result: sunny, 21C');
    const up = s.fake.entries('api_chat').at(-1);
    assert.equal(up.body.messages.at(-1).role, 'tool');
    assert.equal(up.body.messages.at(-1).tool_call_id, use.id);
  });

  test('7.9.21 metrics count the messages and count_tokens routes', T, async () => {
    const r = await s.request('/metrics');
    assert.equal(r.status, 200);
    const m = parseMetrics(r.text);
    assert.ok(metricSum(m, 'zproxy_requests_total', { route: 'messages', status: '200' }) >= 1, 'messages 200 counted');
    assert.ok(metricSum(m, 'zproxy_requests_total', { route: 'count_tokens', status: '200' }) >= 1, 'count_tokens 200 counted');
    assert.ok(metricSum(m, 'zproxy_requests_total', { route: 'messages', status: '401' }) >= 1, 'messages 401 counted');
    assert.ok(metricSum(m, 'zproxy_count_tokens_total', { source: 'tokenizer' }) >= 1);
    assert.ok(metricSum(m, 'zproxy_count_tokens_total', { source: 'estimate' }) >= 1);
  });

  // Last: these leave the keys cooling down.
  test('7.9.15 upstream business errors: 1261 prompt too long, 1305 overloaded → 529, 1302 everywhere → 429', T, async () => {
    s.fake.script({ text: 'biz-1261', ...presets.apiError(1261, 400) });
    const long = await post(msg('biz-1261'));
    assertAnthropicError(long, { status: 400, type: 'invalid_request_error', message: 'prompt is too long' });

    s.fake.script({ text: 'biz-1305', ...presets.apiError(1305, 503) });
    const over = await post(msg('biz-1305', { stream: true }));
    assertAnthropicError(over, { status: 529, type: 'overloaded_error' });
    assert.equal(ups('biz-1305').length, 3, 'every attempt made');

    s.fake.script({ text: 'biz-1302', ...presets.apiError(1302, 429) });
    const busy = await post(msg('biz-1302'));
    assertAnthropicError(busy, { status: 429, type: 'rate_limit_error' });
    assert.match(busy.headers.get('retry-after') ?? '', /^\d+$/, 'Retry-After in whole seconds');
  });
});

describe('Messages, guest mode', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'guest' });
  });
  after(() => s?.stop());

  const post = (body, opts = {}) => anthropicRequest(s.host, opts.path ?? '/v1/messages', { body, ...opts });
  const msg = (content, extra = {}) => ({ model: 'claude-sonnet-4-5-20250929', max_tokens: 256, messages: [{ role: 'user', content }], ...extra });

  test('7.9.11 tools and images are refused, naming the field', T, async () => {
    const tools = await post(msg('guest-tools', { tools: TOOLS }), { headers: claudeHeaders() });
    const e = assertAnthropicError(tools, { status: 400, type: 'invalid_request_error' });
    assert.match(e.message, /\btools\b/, e.message);
    const image = await post(
      msg([{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }, { type: 'text', text: 'guest-image' }]),
    );
    const ie = assertAnthropicError(image, { status: 400, type: 'invalid_request_error' });
    assert.ok(ie.message.includes('messages.0.content.0'), ie.message);
    assert.equal(s.fake.entries('guest_chat').length, 0);
  });

  test('7.9.13 an unknown model is 404 not_found_error at once', T, async () => {
    const r = await post(msg('guest-gpt', { model: 'gpt-4o' }));
    assertAnthropicError(r, { status: 404, type: 'not_found_error' });
  });

  test('7.9.18 count_tokens estimates in guest mode, tools included', T, async () => {
    const body = { model: 'claude-haiku-4-5-20251001', system: 'You are terse.', messages: [{ role: 'user', content: 'Count these tokens please.' }] };
    const r = await post(body, { path: '/v1/messages/count_tokens' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { input_tokens: Math.ceil((14 + 26) / 3) + 4 });
    const withTools = await post({ ...body, tools: TOOLS }, { path: '/v1/messages/count_tokens' });
    assert.equal(withTools.status, 200, 'mode refusals do not apply to count_tokens');
    assert.ok(withTools.json.input_tokens > r.json.input_tokens);
    assert.equal(s.fake.entries('api_tokenizer').length, 0);
  });
});

describe('Messages, COUNT_TOKENS=off', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'api', settings: { COUNT_TOKENS: 'off' } });
  });
  after(() => s?.stop());

  test('7.9.18 count_tokens answers 404 not_found_error; messages still work', T, async () => {
    const body = { model: 'claude-sonnet-4-5-20250929', messages: [{ role: 'user', content: 'off' }] };
    const r = await anthropicRequest(s.host, '/v1/messages/count_tokens', { body });
    assertAnthropicError(r, { status: 404, type: 'not_found_error' });
    assert.equal(s.fake.entries('api_tokenizer').length, 0);
    assertMessage(await anthropicRequest(s.host, '/v1/messages', { body: { ...body, max_tokens: 64 } }));
  });
});
