// Anthropic-dialect helpers for the e2e suite: the pinned `@anthropic-ai/sdk` client, raw
// Messages requests, and a strict parser of Messages SSE bytes. Claude Code: anthropic_claude.mjs.

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
