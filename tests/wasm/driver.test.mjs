// The Worker's host loop (worker/driver.js) under Node, with the shipped module and a scripted
// upstream: the answer arrives intact, chunk by chunk, and each upstream chunk costs at most
// four crossings into the module. The crossings are printed so a change in them shows. Then
// its state-store calls: shared through objects, and never failing a request when they fail.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createHandler } from '../../worker/driver.js';
import { objectsInMemory } from './state_objects.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const wasmPath = join(root, 'build-wasm', 'zproxy.wasm');
const MAX_CROSSINGS_PER_CHUNK = 4;

function module() {
  assert.ok(existsSync(wasmPath), `${wasmPath} missing: run scripts/build-wasm.sh`);
  return new WebAssembly.Module(readFileSync(wasmPath));
}

const enc = new TextEncoder();
const sse = (obj) => enc.encode(`data: ${JSON.stringify(obj)}\n\n`);

// An API-mode upstream answer of `n` content deltas, one per chunk, then usage and [DONE].
function apiChunks(n) {
  const chunks = [];
  for (let i = 0; i < n; i++) {
    chunks.push(sse({ id: 'u', created: 1, model: 'glm-4.6',
                      choices: [{ index: 0, delta: { role: 'assistant', content: `w${i} ` } }] }));
  }
  chunks.push(sse({ id: 'u', created: 1, model: 'glm-4.6',
                    choices: [{ index: 0, finish_reason: 'stop', delta: {} }],
                    usage: { prompt_tokens: 3, completion_tokens: n, total_tokens: n + 3 } }));
  chunks.push(enc.encode('data: [DONE]\n\n'));
  return chunks;
}

// A fetch that answers from `chunks`, one chunk per read, and counts what the driver pulled.
function scriptedFetch(chunks, seen) {
  return async (url, init) => {
    seen.push({ url, body: init.body ? new TextDecoder().decode(init.body) : '' });
    let i = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (i < chunks.length) controller.enqueue(chunks[i++]);
        else controller.close();
      },
    }, { highWaterMark: 0 });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  };
}

const ctx = { waitUntil() {} };
const env = { API_KEY: 'sk-t', ZAI_API_KEYS: 'k1', ZAI_API_BASE_URL: 'http://127.0.0.1:9/v4' };
const chat = (stream) => new Request('http://proxy.test/v1/chat/completions', {
  method: 'POST',
  headers: { authorization: 'Bearer sk-t', 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'glm-4.6', stream, messages: [{ role: 'user', content: 'Hi' }] }),
});

// Runs one streamed request; returns the crossings before the first chunk, per chunk, and the
// body the client read.
async function crossings(n) {
  const seen = [];
  const logs = [];
  let core = null;
  const handle = createHandler(module(), {
    fetch: scriptedFetch(apiChunks(n), seen), log: (l) => logs.push(l), count: true,
    onCore: (c) => { core = c; },
  });
  const res = await handle(chat(true), env, ctx);
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  const pieces = [];
  const before = core.calls;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pieces.push(new TextDecoder().decode(value));
  }
  const streamed = core.calls - before;
  return { setup: before, streamed, pieces, seen, logs };
}

test('each upstream chunk costs at most four crossings into the module', async () => {
  const small = await crossings(8);
  const large = await crossings(208);
  // The difference of two runs that differ only in their chunk count: the per-chunk cost,
  // without the fixed cost of a request.
  const perChunk = (large.setup + large.streamed - small.setup - small.streamed) / 200;
  console.log(`crossings: ${small.setup + small.streamed} for 8 chunks, ` +
              `${large.setup + large.streamed} for 208; ${perChunk} per chunk`);
  assert.ok(perChunk <= MAX_CROSSINGS_PER_CHUNK, `${perChunk} crossings per upstream chunk`);
  const text = large.pieces.join('');
  for (let i = 0; i < 208; i++) assert.ok(text.includes(`"content":"w${i} "`), `delta ${i}`);
  assert.ok(text.endsWith('data: [DONE]\n\n'));
  assert.ok(large.pieces.length >= 200, `streamed in ${large.pieces.length} pieces`);
  assert.equal(large.seen.length, 1);
  assert.equal(JSON.parse(large.seen[0].body).stream, true);
  assert.ok(large.logs.some((l) => JSON.parse(l).event === 'request'), 'request log line');
});

test('a non-streamed answer and a failed core go through the same loop', async () => {
  const seen = [];
  const body = JSON.stringify({ id: 'u', created: 1, model: 'glm-4.6',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Paris' } }],
    usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } });
  const handle = createHandler(module(), {
    fetch: async (url, init) => { seen.push(url); return new Response(body, { status: 200 }); },
    log: () => {},
  });
  const res = await handle(chat(false), env, ctx);
  assert.equal(res.status, 200);
  assert.equal((await res.json()).choices[0].message.content, 'Paris');
  assert.equal(seen.length, 1);

  // A core that traps (here: an event aimed at a handle far outside its memory) answers with
  // the 500 the core rendered when the instance was created; the next request gets a fresh one.
  const cores = [];
  const trapping = createHandler(module(), {
    fetch: async () => new Response(body, { status: 200 }),
    log: () => {}, count: true,
    onCore: (c) => {
      cores.push(c);
      if (cores.length > 1) return;
      const event = c.x.zp_event;
      c.x.zp_event = (h, id, kind, ...rest) => event(kind === 5 ? 0x7ffffff0 : h, id, kind, ...rest);
    },
  });
  const failed = await trapping(chat(false), env, ctx);
  assert.equal(failed.status, 500);
  assert.equal((await failed.json()).error.code, 'internal_error');
  assert.equal(failed.headers.get('access-control-expose-headers'), 'X-Request-Id, Retry-After');
  assert.equal(failed.headers.get('access-control-allow-origin'), '*');
  assert.match(failed.headers.get('x-request-id'), /^req_[0-9a-f]{24}$/);
  const next = await trapping(chat(false), env, ctx);
  assert.equal(next.status, 200);
  assert.equal(cores.length, 2, 'a fresh instance served the next request');
});

// --- The state store (STATE_STORE=durable_object) -------------------------------------------
// Two handlers are two isolates; their store calls reach one set of objects (worker/state_object.js
// running this same module), as two Workers bound to one Durable Object class do.

const TEAM_KEY = 'sk-team-a-0000000000000001';
const sha = (k) => createHash('sha256').update(k).digest('hex');
const storeEnv = (extra = {}) => ({
  ZAI_API_KEYS: 'k1', ZAI_API_BASE_URL: 'http://127.0.0.1:9/v4', STATE_STORE: 'durable_object',
  CLIENT_KEYS: JSON.stringify([{ name: 'team-a', key_sha256: sha(TEAM_KEY), rpm: 3 }]), ...extra,
});
const ANSWER = JSON.stringify({ id: 'u', created: 1, model: 'glm-4.6',
  choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'ok' } }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } });
const teamChat = () => new Request('http://proxy.test/v1/chat/completions', {
  method: 'POST',
  headers: { authorization: `Bearer ${TEAM_KEY}`, 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: 'Hi' }] }),
});
const teamUsage = () => new Request('http://proxy.test/v1/usage', { headers: { authorization: `Bearer ${TEAM_KEY}` } });

function storeHandler(storeFetch, logs = []) {
  return createHandler(module(), {
    fetch: async () => new Response(ANSWER, { status: 200, headers: { 'content-type': 'application/json' } }),
    storeFetch, log: (l) => logs.push(l),
  });
}

test('two isolates share a key\'s rpm through the objects; memory keeps it per isolate', async () => {
  const { storeFetch, calls } = objectsInMemory(module());
  const shared = [storeHandler(storeFetch), storeHandler(storeFetch)];
  const statuses = [];
  for (let i = 0; i < 6; i++) statuses.push((await shared[i % 2](teamChat(), storeEnv(), ctx)).status);
  assert.deepEqual(statuses.filter((s) => s === 200).length, 3, `statuses ${statuses}`);
  assert.ok(statuses.filter((s) => s === 429).length === 3, `statuses ${statuses}`);
  assert.ok(calls.some((c) => c.name === 'key:team-a' && c.op.op === 'admit'), JSON.stringify(calls.map((c) => c.op.op)));
  const usage = await (await shared[0](teamUsage(), storeEnv(), ctx)).json();
  assert.equal(usage.source, 'store', JSON.stringify(usage));
  assert.equal(usage.usage.requests_this_window, 3, JSON.stringify(usage));

  const local = [storeHandler(storeFetch), storeHandler(storeFetch)];
  const env = storeEnv({ STATE_STORE: 'memory' });
  let admitted = 0;
  for (let i = 0; i < 6; i++) admitted += (await local[i % 2](teamChat(), env, ctx)).status === 200 ? 1 : 0;
  assert.equal(admitted, 6, 'memory: each isolate admits its own 3');
});

test('a store call that stalls, throws or answers badly never fails a request', async () => {
  const TIMEOUT_MS = 300;
  const ways = {
    stall: (_e, _n, _b, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
    hang: () => new Promise(() => {}),  // ignores the abort too
    throw: () => { throw new Error('object exploded'); },
    status500: async () => new Response('{"error":"internal"}', { status: 500 }),
    garbage: async () => new Response('not json', { status: 200 }),
  };
  for (const [name, storeFetch] of Object.entries(ways)) {
    const logs = [];
    const handle = storeHandler(storeFetch, logs);
    const env = storeEnv({ STATE_STORE_TIMEOUT_MS: String(TIMEOUT_MS) });
    const t0 = Date.now();
    const res = await handle(teamChat(), env, ctx);
    const ms = Date.now() - t0;
    assert.equal(res.status, 200, `${name}: ${await res.text()}`);
    assert.ok(ms < TIMEOUT_MS + 5000, `${name}: answered after ${ms} ms`);
    const usage = await (await handle(teamUsage(), env, ctx)).json();
    assert.equal(usage.source, 'local', `${name}: ${JSON.stringify(usage)}`);
    assert.ok(logs.some((l) => JSON.parse(l).event === 'state_store_down'), `${name}: state_store_down logged`);
  }
});
