// The exact .wasm the Worker ships, through worker/core.js: what it imports, that failures
// inside it surface as exceptions (the Worker then discards the instance), and that byte
// transfer survives memory growth.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Action, Core, coreImports } from '../../worker/core.js';

const wasmPath = join(fileURLToPath(new URL('../..', import.meta.url)), 'build-wasm', 'zproxy.wasm');
const dec = new TextDecoder();

function module() {
  assert.ok(existsSync(wasmPath), `${wasmPath} missing: run scripts/build-wasm.sh`);
  return new WebAssembly.Module(readFileSync(wasmPath));
}

// One client request without upstream traffic; returns {action, status, body}.
function answer(core, h, method, target, body = '', headers = [['authorization', 'Bearer sk-t']]) {
  const ex = core.start(h, { method, target, headers, content_length: body.length }, 1, 0, new Uint8Array(32));
  if (core.x.zp_next(ex) === Action.ReadBody) core.onBody(ex, body, 2);
  const action = core.x.zp_next(ex);
  const status = core.x.zp_head_ready(ex) ? core.head(h, ex).status : 0;
  const out = dec.decode(core.takeOutput(h, ex));
  const request = action === Action.Fetch ? core.upstreamRequest(h, ex) : null;
  core.x.zp_finish(h, ex, 3, 0);
  return { action, status, body: out, request };
}

test('the module imports only what core.js provides, and exports the boundary', () => {
  const m = module();
  const provided = coreImports();
  for (const imp of WebAssembly.Module.imports(m)) {
    assert.equal(imp.kind, 'function', `${imp.module}.${imp.name}`);
    assert.equal(typeof provided[imp.module]?.[imp.name], 'function', `unprovided import ${imp.module}.${imp.name}`);
  }
  const exports = new Set(WebAssembly.Module.exports(m).map((e) => e.name));
  for (const name of ['memory', '_initialize', 'zp_alloc', 'zp_gateway_new', 'zp_start', 'zp_next', 'zp_finish',
    'zp_upstream_request', 'zp_upstream_body', 'zp_upstream_body_len', 'zp_take_jobs', 'zp_on_job_done']) {
    assert.ok(exports.has(name), `export ${name}`);
  }
});

test('proc_exit throws instead of returning into the core', () => {
  assert.throws(() => coreImports().wasi_snapshot_preview1.proc_exit(1), /core exited with code 1/);
});

test('a trap surfaces as an exception; a fresh instance of the same module serves', () => {
  const m = module();
  const broken = new Core(m);
  assert.throws(() => broken.x.zp_next(0x7ffffff0), WebAssembly.RuntimeError);
  const core = new Core(m);
  const h = core.newGateway({ API_KEY: 'sk-t' }, 0, 0);
  assert.deepEqual(answer(core, h, 'GET', '/healthz').status, 200);
});

test('bytes cross intact while linear memory grows', () => {
  const core = new Core(module());
  const h = core.newGateway({ API_KEY: 'sk-t', ZAI_API_KEYS: 'k1', ZAI_API_BASE_URL: 'http://127.0.0.1:9/v4' }, 0, 0);
  const before = core.x.memory.buffer.byteLength;
  const text = 'ünïcødé ✓ '.repeat(300_000);  // ~4 MB: the module has to grow its memory
  const body = JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: text }] });
  const r = answer(core, h, 'POST', '/v1/chat/completions', body);
  assert.ok(core.x.memory.buffer.byteLength > before, 'memory grew');
  assert.equal(r.action, Action.Fetch);
  assert.equal(r.request.url, 'http://127.0.0.1:9/v4/chat/completions');
  assert.equal(JSON.parse(dec.decode(r.request.body)).messages[0].content, text);
  const missing = answer(core, h, 'GET', '/v1/nothing-here');
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body).error.code, 'not_found');
});

// MAX_BODY_BYTES is the same 8 MiB on both hosts, so every body up to it must fit in the 96 MiB
// the module may grow to, whatever its shape, and again and again in one instance.
test('bodies up to MAX_BODY_BYTES fit in the module memory, whatever their shape', () => {
  const MiB = 1 << 20;
  const core = new Core(module());
  const h = core.newGateway({ API_KEY: 'sk-t', ZAI_API_KEYS: 'k1', ZAI_API_BASE_URL: 'http://127.0.0.1:9/v4' }, 0, 0);
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
      const r = answer(core, h, 'POST', '/v1/chat/completions', body);
      if (want === 'fetch') {
        assert.equal(r.action, Action.Fetch, `${name}: ${r.body.slice(0, 200)}`);
        assert.equal(JSON.parse(dec.decode(r.request.body)).messages[0].content, JSON.parse(body).messages[0].content, name);
      } else {
        assert.equal(r.status, want, name);
        assert.equal(JSON.parse(r.body).error.code, 'request_too_large', name);
      }
    }
  }
  assert.ok(core.x.memory.buffer.byteLength <= 96 * MiB);
  assert.equal(answer(core, h, 'GET', '/healthz').status, 200);
});
