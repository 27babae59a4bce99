// CPU time of the Wasm core per request, measured through worker/core.js exactly as the Worker
// drives it: one gateway with a guest token, then N streamed chat requests, each fed a recorded
// upstream answer one SSE event per chunk (as a slow upstream delivers it). Only the calls into
// the core (copies in and out of linear memory included) are timed, not the loop around them;
// the process CPU time per request (loop included) is reported too.
//
//   node tests/wasm/bench.mjs [requests=1000] [fixture=guest/thinking_answer]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { Action, Core } from '../../worker/core.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const runs = Number(process.argv[2] ?? 1000);
const fixture = process.argv[3] ?? 'guest/thinking_answer';
const dir = join(root, 'tests', 'fixtures', fixture);
const options = JSON.parse(readFileSync(join(dir, 'options.json'), 'utf8'));
const upstream = readFileSync(join(dir, options.stream === false ? 'upstream.json' : 'upstream.sse'));
const events = [];  // one chunk per SSE event (blank-line separated)
for (let i = 0; i < upstream.length;) {
  const end = upstream.indexOf('\n\n', i);
  const stop = end < 0 ? upstream.length : end + 2;
  events.push(upstream.subarray(i, stop));
  i = stop;
}

const core = new Core(new WebAssembly.Module(readFileSync(join(root, 'build-wasm', 'zproxy.wasm'))));
const { x } = core;
let spent = 0;  // ms inside core calls
const timed = (fn) => {
  const t0 = performance.now();
  const r = fn();
  spent += performance.now() - t0;
  return r;
};

let clock = 1;  // ms, advanced by hand: the core sees a steady 1 ms per step
const mode = options.shape?.startsWith('api') ? 'api' : 'guest';
const env = { API_KEY: 'sk-bench', ZAI_BASE_URL: 'http://127.0.0.1:9', TOKEN_POOL_SIZE: '1',
              ZAI_API_BASE_URL: 'http://127.0.0.1:9/api/paas/v4' };
if (mode === 'api') env.ZAI_API_KEYS = 'k1';
const h = core.newGateway(env, clock, Date.now());
for (const job of core.takeJobs(h, clock)) {
  const token = 'eyJhbGciOiJFUzI1NiJ9.eyJpZCI6ImJlbmNoIn0.c2lnbmF0dXJl';
  core.onJobDone(h, job.id, 200, JSON.stringify({ id: 'bench', token, role: 'guest' }), clock, Date.now());
}
core.takeLogs(h);

const body = JSON.stringify({
  model: options.model ?? 'glm-4.6', stream: options.stream !== false,
  messages: [{ role: 'system', content: 'You are a helpful assistant.' },
             { role: 'user', content: 'Say hello in one short sentence, please.' }],
});
const head = { method: 'POST', target: '/v1/chat/completions', content_length: body.length,
               headers: [['host', 'proxy.example'], ['authorization', 'Bearer sk-bench'],
                         ['content-type', 'application/json'], ['user-agent', 'bench/1.0'],
                         ['content-length', String(body.length)]] };
const entropy = new Uint8Array(32);

function oneRequest() {
  let out = 0;
  let headSent = false;
  const drain = () => {
    if (!headSent && timed(() => x.zp_head_ready(ex))) headSent = !!timed(() => core.head(h, ex));
    out += timed(() => core.takeOutput(h, ex)).length;
  };
  const ex = timed(() => core.start(h, head, ++clock, Date.now(), entropy));
  if (timed(() => x.zp_next(ex)) !== Action.ReadBody) throw new Error('expected ReadBody');
  timed(() => core.onBody(ex, body, ++clock));
  if (timed(() => x.zp_next(ex)) !== Action.Fetch) throw new Error('expected Fetch');
  timed(() => core.upstreamRequest(h, ex));
  timed(() => x.zp_on_upstream_connected(ex, ++clock));
  timed(() => x.zp_on_upstream_head(ex, 200, ++clock));
  for (const ev of events) {
    timed(() => core.onData(ex, ev, ++clock));
    drain();
  }
  timed(() => x.zp_on_upstream_end(ex, ++clock));
  drain();
  if (timed(() => x.zp_next(ex)) !== Action.Finish) throw new Error('expected Finish');
  timed(() => x.zp_finish(h, ex, ++clock, Date.now()));
  timed(() => core.takeLogs(h));
  return out;
}

const warm = Math.min(200, runs);
for (let i = 0; i < warm; i++) oneRequest();
spent = 0;
let bytes = 0;
const per = [];
const cpu0 = process.cpuUsage();
for (let i = 0; i < runs; i++) {
  const before = spent;
  bytes += oneRequest();
  per.push(spent - before);
}
const cpu = process.cpuUsage(cpu0);
per.sort((a, b) => a - b);
const us = (ms) => (ms * 1000).toFixed(1);
console.log(JSON.stringify({
  fixture, requests: runs, upstream_bytes: upstream.length, upstream_chunks: events.length,
  client_bytes_per_request: bytes / runs,
  // Wall time inside core calls (a busy machine inflates the mean and tail; p50 is robust).
  core_us_per_request: { min: us(per[0]), p50: us(per[runs >> 1]), mean: us(spent / runs), p99: us(per[Math.floor(runs * 0.99)]) },
  // Process CPU time (user + system) per request, the loop around the calls included.
  process_cpu_us_per_request: ((cpu.user + cpu.system) / runs).toFixed(1),
  wasm_memory_mib: (x.memory.buffer.byteLength / 1048576).toFixed(1),
}));
