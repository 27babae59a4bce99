// The exact .wasm the Worker ships, through worker/core.js: what it imports and exports, that
// failures inside it surface as exceptions (the Worker then discards the instance), that byte
// transfer survives memory growth, and the answer it renders for its own failure.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Action, Core, coreImports } from '../../worker/core.js';

const wasmPath = join(fileURLToPath(new URL('../..', import.meta.url)), 'build-wasm', 'zproxy.wasm');
const enc = new TextEncoder();
const dec = new TextDecoder();
const MiB = 1 << 20;
const API_ENV = { API_KEY: 'sk-t', ZAI_API_KEYS: 'k1', ZAI_API_BASE_URL: 'http://127.0.0.1:9/v4' };

function module() {
  assert.ok(existsSync(wasmPath), `${wasmPath} missing: run scripts/build-wasm.sh`);
  return new WebAssembly.Module(readFileSync(wasmPath));
}

// One client request without upstream traffic: the steps worker/driver.js takes until the
// answer or the upstream fetch. -> {action, status, body, request}
function answer(core, method, target, body = '', headers = [['authorization', 'Bearer sk-t']]) {
  const bytes = enc.encode(body);
  let { id, step } = core.start({ method, target, headers, content_length: bytes.length }, 1, 0,
                                new Uint8Array(32));
  if (step.action === Action.ReadBody) {
    step = core.onBody(id, bytes, 2);
    if (bytes.length > MiB) core.inCap = 0;  // as the driver does: the core may shrink its input
  }
  const status = step.headReady ? core.head(id).status : 0;
  const out = step.outputBytes > 0 ? dec.decode(core.takeOutput(id)) : '';
  const request = step.action === Action.Fetch ? core.beginFetch(id) : null;
  core.finish(id, 3, 0);
  core.poll(3);
  return { action: step.action, status, body: out, request };
}

test('the module imports only what core.js provides, and exports the product alone', () => {
  const m = module();
  const provided = coreImports();
  for (const imp of WebAssembly.Module.imports(m)) {
    assert.equal(imp.kind, 'function', `${imp.module}.${imp.name}`);
    assert.equal(typeof provided[imp.module]?.[imp.name], 'function', `unprovided import ${imp.module}.${imp.name}`);
  }
  const exports = WebAssembly.Module.exports(m);
  const functions = exports.filter((e) => e.kind === 'function').map((e) => e.name);
  console.log(`zproxy.wasm exports ${functions.length} functions: ${functions.join(' ')}`);
  const names = new Set(exports.map((e) => e.name));
  for (const name of ['memory', '_initialize', 'zp_alloc', 'zp_free', 'zp_gateway_new', 'zp_input',
    'zp_start', 'zp_event', 'zp_begin_fetch', 'zp_head', 'zp_take_output', 'zp_finish', 'zp_poll',
    'zp_job_done', 'zp_fallback', 'zp_store']) {
    assert.ok(names.has(name), `export ${name}`);
  }
  // Crossings are the Worker's cost and exports its surface: test hooks live in zproxy_test.wasm.
  assert.ok(functions.length <= 20, `${functions.length} function exports`);
  for (const name of functions) assert.doesNotMatch(name, /fixture|test|transcript|bench/i, name);
});

test('proc_exit throws instead of returning into the core', () => {
  assert.throws(() => coreImports().wasi_snapshot_preview1.proc_exit(1), /core exited with code 1/);
});

test('a trap surfaces as an exception; a fresh instance of the same module serves', () => {
  const m = module();
  const broken = new Core(m, { API_KEY: 'sk-t' }, 0, 0);
  // A gateway handle far beyond the module's memory (96 MiB at most): out-of-bounds access.
  assert.throws(() => broken.x.zp_event(0x7ffffff0, 1, 0, 0, 0, 1),
                { name: 'RuntimeError', message: /out of bounds/ });
  const core = new Core(m, { API_KEY: 'sk-t' }, 0, 0);
  assert.equal(answer(core, 'GET', '/healthz').status, 200);
});

test('bytes cross intact while linear memory grows', () => {
  const core = new Core(module(), API_ENV, 0, 0);
  const before = core.memory.buffer.byteLength;
  const text = 'ünïcødé ✓ '.repeat(300_000);  // ~4 MB: the module has to grow its memory
  const body = JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: text }] });
  const r = answer(core, 'POST', '/v1/chat/completions', body);
  assert.ok(core.memory.buffer.byteLength > before, 'memory grew');
  assert.equal(r.action, Action.Fetch);
  assert.equal(r.request.url, 'http://127.0.0.1:9/v4/chat/completions');
  assert.equal(JSON.parse(dec.decode(r.request.body)).messages[0].content, text);
  const missing = answer(core, 'GET', '/v1/nothing-here');
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body).error.code, 'not_found');
});

// MAX_BODY_BYTES is the same 8 MiB on both hosts, so every body up to it must fit in the 96 MiB
// the module may grow to, whatever its shape, and again and again in one instance (one Core is
// one instance with one gateway).
test('bodies up to MAX_BODY_BYTES fit in the module memory, whatever their shape', () => {
  const core = new Core(module(), API_ENV, 0, 0);
  assert.equal(core.bodyLimit, 8 * MiB);
  const head = '{"model":"glm-4.6","messages":[{"role":"user","content":"hi"}],"x":[';
  const fill = (item) => head + item.repeat(Math.floor((8 * MiB - head.length - 4) / item.length)) + '0]}';
  const shapes = [
    ['one long message', JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: 'x'.repeat(8 * MiB - 64) }] }), 'fetch'],
    ['escapes everywhere', JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: '"\n\u0001'.repeat(Math.floor((8 * MiB - 64) / 12)) }] }), 'fetch'],
    ['tiny numbers', fill('1,'), 413],
    ['empty objects', fill('{},'), 413],
    ['empty strings', fill('"",'), 413],
  ];
  for (let round = 0; round < 2; ++round) {
    for (const [name, body, want] of shapes) {
      assert.ok(body.length <= 8 * MiB, `${name}: ${body.length} bytes`);
      const r = answer(core, 'POST', '/v1/chat/completions', body);
      if (want === 'fetch') {
        assert.equal(r.action, Action.Fetch, `${name}: ${r.body.slice(0, 200)}`);
        assert.equal(JSON.parse(dec.decode(r.request.body)).messages[0].content, JSON.parse(body).messages[0].content, name);
      } else {
        assert.equal(r.status, want, name);
        assert.equal(JSON.parse(r.body).error.code, 'request_too_large', name);
      }
    }
  }
  assert.ok(core.memory.buffer.byteLength <= 96 * MiB);
  assert.equal(answer(core, 'GET', '/healthz').status, 200);
});

test('fallback() is the internal_error answer, with CORS for any origin', () => {
  const f = new Core(module(), API_ENV, 0, 0).fallback();
  assert.equal(f.status, 500);
  const error = JSON.parse(f.body).error;
  assert.equal(error.code, 'internal_error');
  assert.equal(typeof error.message, 'string');
  const headers = new Headers(f.headers);
  assert.match(headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(headers.get('access-control-allow-origin'), '*');
  assert.ok(headers.get('access-control-expose-headers'), 'Access-Control-Expose-Headers');
  assert.equal(headers.get('x-request-id'), null);  // the Worker adds a fresh one per answer
});
