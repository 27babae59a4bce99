// CPU time of the Wasm core per request, measured through worker/core.js exactly as the Worker
// drives it: one gateway with a guest token, then N streamed chat requests, each fed a recorded
// upstream answer one SSE event per chunk (as a slow upstream delivers it). Only the calls into
// the core (copies in and out of linear memory included) are timed, not the loop around them;
// the process CPU time per request (loop included) and the calls into the module one request
// takes (each a JS-to-Wasm crossing) are reported too.
//
//   node tests/wasm/bench.mjs [requests=1000] [fixture=guest/thinking_answer]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { Action, Core } from '../../worker/core.js';

const enc = new TextEncoder();
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

const mod = new WebAssembly.Module(readFileSync(join(root, 'build-wasm', 'zproxy.wasm')));
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
const token = enc.encode(JSON.stringify({
  id: 'bench', token: 'eyJhbGciOiJFUzI1NiJ9.eyJpZCI6ImJlbmNoIn0.c2lnbmF0dXJl', role: 'guest' }));

// The gateway's work for the host: log lines dropped, token fetches answered at once.
function poll(core) {
  for (;;) {
    const p = core.poll(clock);
    if (p.jobs.length === 0) return;
    for (const job of p.jobs) core.jobDone(job.id, 200, token, clock, Date.now());
  }
}

function newCore(count) {
  const core = new Core(mod, env, clock, Date.now(), { count });
  poll(core);
  return core;
}

const body = enc.encode(JSON.stringify({
  model: options.model ?? 'glm-4.6', stream: options.stream !== false,
  messages: [{ role: 'system', content: 'You are a helpful assistant.' },
             { role: 'user', content: 'Say hello in one short sentence, please.' }],
}));
const head = { method: 'POST', target: '/v1/chat/completions', content_length: body.length,
               headers: [['host', 'proxy.example'], ['authorization', 'Bearer sk-bench'],
                         ['content-type', 'application/json'], ['user-agent', 'bench/1.0'],
                         ['content-length', String(body.length)]] };
const entropy = new Uint8Array(32);

// One request, stepped as worker/driver.js steps it; returns the client bytes.
function oneRequest(core) {
  let out = 0;
  let headSent = false;
  let id = 0;
  let step = null;
  const act = (s) => {
    step = s;
    if (step.poll) timed(() => poll(core));
    if (step.headReady && !headSent) headSent = !!timed(() => core.head(id));
    if (step.outputBytes > 0) out += timed(() => core.takeOutput(id)).length;
  };
  ({ id, step } = timed(() => core.start(head, ++clock, Date.now(), entropy)));
  act(step);
  if (step.action !== Action.ReadBody) throw new Error('expected ReadBody');
  act(timed(() => core.onBody(id, body, ++clock)));
  if (step.action !== Action.Fetch) throw new Error('expected Fetch');
  timed(() => core.beginFetch(id));
  act(timed(() => core.onConnected(id, ++clock)));
  act(timed(() => core.onHead(id, 200, ++clock)));
  for (const ev of events) {
    if (step.action !== Action.ReadUpstream) break;
    act(timed(() => core.onData(id, ev, ++clock)));
  }
  if (step.action === Action.ReadUpstream) act(timed(() => core.onEnd(id, ++clock)));
  if (step.action !== Action.Finish) throw new Error('expected Finish');
  timed(() => core.finish(id, ++clock, Date.now()));
  timed(() => poll(core));
  return out;
}

// Crossings into the module for one request, counted apart (counting wraps every export).
const counted = newCore(true);
const calls0 = counted.calls;
oneRequest(counted);
const crossings = counted.calls - calls0;

const core = newCore(false);
const warm = Math.min(200, runs);
for (let i = 0; i < warm; i++) oneRequest(core);
spent = 0;
let bytes = 0;
const per = [];
const cpu0 = process.cpuUsage();
for (let i = 0; i < runs; i++) {
  const before = spent;
  bytes += oneRequest(core);
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
  wasm_crossings_per_request: crossings,
  wasm_memory_mib: (core.memory.buffer.byteLength / 1048576).toFixed(1),
}));
