// Anthropic-dialect helpers for the e2e suite: the pinned `@anthropic-ai/sdk` client, raw
// Messages requests, and a strict parser of Messages SSE bytes. Claude Code: anthropic_claude.mjs.

import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { CLIENT_KEY } from './stack.mjs';
import { freshFetch } from './util.mjs';

export const ANTHROPIC_VERSION = '2023-06-01';

// The SDK with the client key as x-api-key (default) or as a Bearer token (authToken), no
// retries, each request on a fresh connection.
export function anthropicClient(host, { apiKey = CLIENT_KEY, authToken, ...rest } = {}) {
  return new Anthropic({
    baseURL: host.url,
    ...(authToken !== undefined ? { apiKey: null, authToken } : { apiKey }),
    maxRetries: 0,
    timeout: 60_000,
    fetch: freshFetch,
    ...rest,
  });
}

// Headers Claude Code sends with every Messages request (tests/fixtures/claude_code/).
export function claudeHeaders(key = CLIENT_KEY, extra = {}) {
  return {
    'x-api-key': key,
    'anthropic-version': ANTHROPIC_VERSION,
    'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14',
    ...extra,
  };
}

// POST a Messages body (or any path) with x-api-key; -> {status, headers, text, json, res}.
// key null: no key header at all.
export async function anthropicRequest(host, urlPath, { method = 'POST', key = CLIENT_KEY, headers = {}, body, signal } = {}) {
  const h = { 'anthropic-version': ANTHROPIC_VERSION, ...headers };
  if (key !== null) h['x-api-key'] = key;
  let payload = body;
  if (body !== undefined && typeof body !== 'string') payload = JSON.stringify(body);
  if (body !== undefined) h['content-type'] ??= 'application/json';
  const res = await freshFetch(`${host.url}${urlPath}`, { method, headers: h, body: payload, signal: signal ?? AbortSignal.timeout(60_000) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json, res };
}

// Splits Messages SSE bytes into events, checking the exact framing of 7.5: every event is
// `event: <type>\ndata: <compact JSON>\n\n`, the JSON's `type` equals the event name, and nothing
// else appears (no comments, no ids, no CR). Throws on any deviation, naming the offset.
// -> [{event, data, raw}]
export function parseAnthropicSSE(text) {
  const events = [];
  let pos = 0;
  while (pos < text.length) {
    const end = text.indexOf('\n\n', pos);
    if (end < 0) throw new Error(`SSE: unterminated event at byte ${pos}: ${JSON.stringify(text.slice(pos, pos + 200))}`);
    const raw = text.slice(pos, end + 2);
    const m = /^event: ([a-z_]+)\ndata: (.*)\n\n$/s.exec(raw);
    if (!m || m[2].includes('\n')) throw new Error(`SSE: malformed event at byte ${pos}: ${JSON.stringify(raw.slice(0, 300))}`);
    let data;
    try {
      data = JSON.parse(m[2]);
    } catch {
      throw new Error(`SSE: data is not JSON at byte ${pos}: ${JSON.stringify(m[2].slice(0, 300))}`);
    }
    if (JSON.stringify(data) !== m[2]) throw new Error(`SSE: data is not compact JSON at byte ${pos}: ${m[2].slice(0, 300)}`);
    if (data?.type !== m[1]) throw new Error(`SSE: event "${m[1]}" carries type "${data?.type}"`);
    events.push({ event: m[1], data, raw });
    pos = end + 2;
  }
  return events;
}

// The text of all text blocks of a parsed stream, and the blocks rebuilt from it.
export function blocksOf(events) {
  const blocks = [];
  for (const { data } of events) {
    if (data.type === 'content_block_start') blocks[data.index] = { ...data.content_block, deltas: [] };
    if (data.type === 'content_block_delta') blocks[data.index].deltas.push(data.delta);
  }
  for (const b of blocks) {
    if (!b) continue;
    if (b.type === 'text') b.text = b.deltas.map((d) => d.text).join('');
    if (b.type === 'thinking') {
      b.thinking = b.deltas.filter((d) => d.type === 'thinking_delta').map((d) => d.thinking).join('');
      b.signature = b.deltas.filter((d) => d.type === 'signature_delta').map((d) => d.signature).join('');
    }
    if (b.type === 'tool_use') b.partial_json = b.deltas.map((d) => d.partial_json).join('');
  }
  return blocks;
}

const header = (headers, name) => (typeof headers.get === 'function' ? headers.get(name) : headers[name.toLowerCase()]);
const USAGE_KEYS = ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'];

function assertUsage(usage, where) {
  assert.ok(usage && typeof usage === 'object', `${where}: usage object`);
  for (const k of USAGE_KEYS) assert.ok(Number.isInteger(usage[k]) && usage[k] >= 0, `${where}: usage.${k} = ${usage[k]}`);
  assert.equal(usage.cache_creation_input_tokens, 0, `${where}: cache_creation_input_tokens`);
}

// The request id of an answer: `request-id` equals `X-Request-Id` (7.1).
export function assertAnthropicIds(headers) {
  const xid = header(headers, 'x-request-id');
  assert.ok(xid, 'X-Request-Id present');
  assert.equal(header(headers, 'request-id'), xid, 'request-id equals X-Request-Id');
  assert.ok(header(headers, 'access-control-allow-origin'), 'CORS headers present');
  return xid;
}

// An Anthropic-shape error (7.1, 7.6): {"type":"error","error":{type,message},"request_id"}.
// exp: status, type, message (RegExp or a prefix string), contains (substring). -> error object.
export function assertAnthropicError(r, { status, type, message, contains } = {}) {
  if (status !== undefined) assert.equal(r.status, status, `status ${r.status}, body: ${r.text}`);
  assert.match(header(r.headers, 'content-type') ?? '', /^application\/json/, `error content type, body: ${r.text}`);
  const body = r.json;
  assert.ok(body && typeof body === 'object', `JSON error body: ${r.text}`);
  assert.equal(body.type, 'error', `type "error" in ${r.text}`);
  assert.ok(body.error && typeof body.error === 'object', `error object in ${r.text}`);
  assert.equal(typeof body.error.type, 'string');
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0, 'message not empty');
  assert.equal(typeof body.request_id, 'string', `request_id in ${r.text}`);
  assert.equal(body.request_id, header(r.headers, 'x-request-id'), 'request_id is the X-Request-Id');
  if (type !== undefined) assert.equal(body.error.type, type, `error.type in ${r.text}`);
  if (message instanceof RegExp) assert.match(body.error.message, message);
  else if (message !== undefined) assert.ok(body.error.message.startsWith(message), `message starts "${message}": ${body.error.message}`);
  if (contains !== undefined) assert.ok(body.error.message.includes(contains), `message contains "${contains}": ${body.error.message}`);
  return body.error;
}

// A non-streaming Messages answer (7.5). exp: model, content (blocks, compared deeply when
// given), stop_reason, stop_sequence, usage (subset). -> the message.
export function assertMessage(r, exp = {}) {
  assert.equal(r.status, 200, `status ${r.status}, body: ${r.text}`);
  assert.match(header(r.headers, 'content-type') ?? '', /^application\/json/);
  assertAnthropicIds(r.headers);
  const m = r.json;
  assert.match(m.id, /^msg_[A-Za-z0-9]{24}$/, `id ${m.id}`);
  assert.equal(m.type, 'message');
  assert.equal(m.role, 'assistant');
  assert.ok(Array.isArray(m.content), 'content array');
  assert.ok('stop_reason' in m && 'stop_sequence' in m, 'stop_reason and stop_sequence present');
  assertUsage(m.usage, 'message');
  if (exp.model !== undefined) assert.equal(m.model, exp.model, 'model echoed');
  if (exp.content !== undefined) assert.deepEqual(m.content, exp.content);
  if (exp.stop_reason !== undefined) assert.equal(m.stop_reason, exp.stop_reason);
  if (exp.stop_sequence !== undefined) assert.equal(m.stop_sequence, exp.stop_sequence);
  if (exp.usage) for (const [k, v] of Object.entries(exp.usage)) assert.equal(m.usage[k], v, `usage.${k}`);
  for (const b of m.content) {
    if (b.type === 'tool_use') assert.match(b.id, /^[A-Za-z0-9_-]{1,64}$/, `tool id ${b.id}`);
    if (b.type === 'thinking') assert.equal(b.signature, 'zproxy-unsigned');
  }
  return m;
}

// A complete Messages stream (7.5), byte-exact framing and event grammar: message_start, ping,
// blocks (one open at a time, indexes 0,1,2…, each start → deltas of its kind → stop; a thinking
// block has exactly one non-empty signature_delta, last), message_delta, message_stop, end.
// Keep-alive pings may appear between events after the first ping. exp: model, stop_reason,
// stop_sequence, text (all text blocks joined), kinds (block types in order), usage (subset of
// message_delta's). -> {events, blocks, start, delta}
export function assertMessagesStream(r, exp = {}) {
  assert.equal(r.status, 200, `status ${r.status}, body: ${r.text}`);
  assert.match(header(r.headers, 'content-type') ?? '', /^text\/event-stream/);
  assertAnthropicIds(r.headers);
  const events = parseAnthropicSSE(r.text);
  const names = events.map((e) => e.event);
  const shown = () => names.join(' ');
  assert.equal(names[0], 'message_start', `first event: ${shown()}`);
  assert.equal(names[1], 'ping', `second event: ${shown()}`);
  assert.equal(names.at(-1), 'message_stop', `last event: ${shown()}`);
  assert.equal(names.at(-2), 'message_delta', `event before message_stop: ${shown()}`);
  assert.ok(!names.includes('error'), `no error event: ${r.text.slice(-1000)}`);
  const start = events[0].data.message;
  assert.match(start.id, /^msg_[A-Za-z0-9]{24}$/, `id ${start.id}`);
  assert.equal(start.type, 'message');
  assert.equal(start.role, 'assistant');
  assert.deepEqual(start.content, []);
  assert.equal(start.stop_reason, null);
  assert.equal(start.stop_sequence, null);
  assertUsage(start.usage, 'message_start');
  assert.equal(start.usage.output_tokens, 0, 'message_start output_tokens');
  if (exp.model !== undefined) assert.equal(start.model, exp.model, 'model echoed');
  for (const e of events.filter((x) => x.event === 'ping')) assert.deepEqual(e.data, { type: 'ping' });

  let open = null;
  let next = 0;
  for (const { event, data } of events.slice(2, -2)) {
    if (event === 'ping') continue;
    if (event === 'content_block_start') {
      assert.equal(open, null, `block ${data.index} starts while ${open?.index} is open: ${shown()}`);
      assert.equal(data.index, next, `block index ${data.index}, expected ${next}`);
      const cb = data.content_block;
      if (cb.type === 'text') assert.deepEqual(cb, { type: 'text', text: '' });
      else if (cb.type === 'thinking') assert.deepEqual(cb, { type: 'thinking', thinking: '', signature: '' });
      else if (cb.type === 'tool_use') {
        assert.deepEqual(Object.keys(cb).sort(), ['id', 'input', 'name', 'type']);
        assert.match(cb.id, /^[A-Za-z0-9_-]{1,64}$/);
        assert.deepEqual(cb.input, {});
      } else assert.fail(`unknown block type ${cb.type}`);
      open = { index: data.index, type: cb.type, deltas: [] };
      next++;
    } else if (event === 'content_block_delta') {
      assert.ok(open && data.index === open.index, `delta for block ${data.index} outside it: ${shown()}`);
      const want = { text: ['text_delta'], thinking: ['thinking_delta', 'signature_delta'], tool_use: ['input_json_delta'] }[open.type];
      assert.ok(want.includes(data.delta.type), `${data.delta.type} in a ${open.type} block`);
      if (data.delta.type === 'text_delta') assert.ok(data.delta.text.length > 0, 'text_delta not empty');
      if (open.type === 'thinking' && open.deltas.some((d) => d.type === 'signature_delta')) assert.fail('delta after signature_delta');
      open.deltas.push(data.delta);
    } else if (event === 'content_block_stop') {
      assert.ok(open && data.index === open.index, `stop of block ${data.index} not open: ${shown()}`);
      assert.deepEqual(data, { type: 'content_block_stop', index: open.index });
      if (open.type === 'thinking') {
        const sigs = open.deltas.filter((d) => d.type === 'signature_delta');
        assert.equal(sigs.length, 1, 'exactly one signature_delta');
        assert.equal(sigs[0].signature, 'zproxy-unsigned');
      }
      if (open.type === 'tool_use') assert.ok(open.deltas.length >= 1, 'at least one input_json_delta');
      open = null;
    } else {
      assert.fail(`unexpected event ${event} inside the stream: ${shown()}`);
    }
  }
  assert.equal(open, null, 'every block closed');
  const delta = events.at(-2).data;
  assert.deepEqual(Object.keys(delta.delta).sort(), ['stop_reason', 'stop_sequence']);
  assertUsage(delta.usage, 'message_delta');
  assert.deepEqual(events.at(-1).data, { type: 'message_stop' });
  const blocks = blocksOf(events);
  if (exp.stop_reason !== undefined) assert.equal(delta.delta.stop_reason, exp.stop_reason, 'stop_reason');
  if (exp.stop_sequence !== undefined) assert.equal(delta.delta.stop_sequence, exp.stop_sequence, 'stop_sequence');
  if (exp.kinds !== undefined) assert.deepEqual(blocks.map((b) => b.type), exp.kinds, 'block kinds');
  if (exp.text !== undefined) {
    assert.equal(blocks.filter((b) => b.type === 'text').map((b) => b.text).join(''), exp.text, 'text');
  }
  if (exp.usage) for (const [k, v] of Object.entries(exp.usage)) assert.equal(delta.usage[k], v, `usage.${k}`);
  return { events, blocks, start, delta: delta.delta, usage: delta.usage };
}
