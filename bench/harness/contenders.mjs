// What is measured: the workloads (one client request shape each, answered by the fake
// upstream with fixed bytes) and the contenders (the upstream itself as the floor, an nginx
// hop, z-ai-proxy, Portkey), each able to start in front of a given upstream and to say which
// raw HTTP request a client sends it and what a correct answer contains.

import fs from 'node:fs';
import path from 'node:path';

import { hopConf, nginxArgv, writeConf } from './nginx.mjs';
import { freePort, start, stop, waitForPort, sleep } from './procs.mjs';

export const ANSWER = 'Paris is the capital of France.';
export const CLIENT_KEY = 'sk-bench';
const UPSTREAM_KEY = 'zk-bench-upstream-key';
const PROXY_CPU = 0;

export const WORKLOADS = {
  api_short: { label: 'API mode, non-streaming', mode: 'api', stream: false, base: '/n/api/paas/v4' },
  api_stream: { label: 'API mode, streaming', mode: 'api', stream: true, base: '/s/api/paas/v4' },
  guest_stream: { label: 'guest mode, streaming', mode: 'guest', stream: true, base: '' },
};

export function clientBody(stream) {
  const body = { model: 'glm-4.6', messages: [{ role: 'user', content: 'What is the capital of France?' }] };
  if (stream) body.stream = true;
  return JSON.stringify(body);
}

// Raw HTTP/1.1 request bytes (keep-alive).
export function httpRequest(port, method, target, headers, body) {
  const lines = [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`;
}

// The upstream path and headers a proxy would use, sent by a client straight to the upstream.
function upstreamRequest(w, port) {
  const body = clientBody(w.stream);
  const accept = w.stream ? 'text/event-stream' : 'application/json';
  const headers = { 'Content-Type': 'application/json', Accept: accept, Authorization: `Bearer ${UPSTREAM_KEY}` };
  const target = w.mode === 'guest' ? '/api/chat/completions' : `${w.base}/chat/completions`;
  return { port, method: 'POST', target, headers, body };
}

// Markers every correct response body contains (loadgen --expect).
function expectFor(w, openaiFraming) {
  if (!w.stream) return [ANSWER];
  return [' of France.', openaiFraming ? 'data: [DONE]' : '"phase": "done"'];
}

const floor = {
  id: 'floor',
  label: 'upstream (floor)',
  proxy: false,
  serves: () => true,
  async start(ctx, w, up) {
    return { proc: null, request: upstreamRequest(w, up.port), expect: expectFor(w, w.mode === 'api'), framing: framing(w, w.mode === 'api') };
  },
};

const nginx = {
  id: 'nginx',
  label: 'nginx hop',
  proxy: true,
  serves: () => true,
  async start(ctx, w, up) {
    const port = await freePort();
    const prefix = path.join(ctx.runDir, `hop-${ctx.seq()}`);
    const conf = writeConf(prefix, hopConf(prefix, port, up.port, !!up.tls));
    const proc = start('nginx-hop', PROXY_CPU, nginxArgv(prefix, conf), { logDir: ctx.logDir });
    await waitForPort(port, proc);
    return { proc, port, request: { ...upstreamRequest(w, port) }, expect: expectFor(w, w.mode === 'api'), framing: framing(w, w.mode === 'api') };
  },
};

const zproxy = {
  id: 'zproxy',
  label: 'z-ai-proxy',
  proxy: true,
  serves: () => true,
  async start(ctx, w, up) {
    const port = await freePort();
    const env = { PORT: String(port), HOST: '127.0.0.1', API_KEY: CLIENT_KEY, SHUTDOWN_GRACE_S: '1' };
    if (w.mode === 'api') {
      Object.assign(env, { UPSTREAM_MODE: 'api', ZAI_API_KEYS: 'k1', ZAI_API_BASE_URL: `${scheme(up)}://127.0.0.1:${up.port}${w.base}` });
    } else {
      Object.assign(env, { UPSTREAM_MODE: 'guest', ZAI_BASE_URL: `${scheme(up)}://127.0.0.1:${up.port}`, TOKEN_POOL_SIZE: '4' });
    }
    if (up.tls) env.UPSTREAM_CA_FILE = up.tls.cert;
    Object.assign(env, w.env ?? {});  // a stage's own settings (the state stage's store)
    const proc = start(`z-ai-proxy-${w.mode}`, PROXY_CPU, [ctx.zproxyBin], { env, logDir: ctx.logDir });
    await waitForPort(port, proc);
    await waitReady(port, proc);
    const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${CLIENT_KEY}` };
    return {
      proc,
      port,
      request: { port, method: 'POST', target: '/v1/chat/completions', headers, body: clientBody(w.stream) },
      expect: expectFor(w, true),
      framing: framing(w, true),
    };
  },
};

// Portkey 1.15.2 as its docs run it in production: `NODE_ENV=production node
// build/start-server.js` (one process; here with --headless: no console UI). Provider
// `openai` with the upstream as custom host, the upstream key passed through.
const portkey = {
  id: 'portkey',
  label: 'Portkey gateway',
  proxy: true,
  serves: (w) => w.mode === 'api',
  async start(ctx, w, up) {
    const port = await freePort();
    const entry = path.join(ctx.benchDir, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');
    if (!fs.existsSync(entry)) throw new Error(`${entry} missing: npm ci in bench/`);
    const env = { NODE_ENV: 'production', PORT: String(port) };
    const proc = start('portkey', PROXY_CPU, ['node', entry, `--port=${port}`, '--headless'], { env, logDir: ctx.logDir });
    await waitForPort(port, proc);
    const headers = {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${UPSTREAM_KEY}`,
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `http://127.0.0.1:${up.port}${w.base || '/api/paas/v4'}`,
    };
    return {
      proc,
      port,
      request: { port, method: 'POST', target: '/v1/chat/completions', headers, body: clientBody(w.stream) },
      expect: expectFor(w, true),
      framing: framing(w, true),
    };
  },
};

export const CONTENDERS = [floor, nginx, zproxy, portkey];

// An upstream ({port, tls}) is plain HTTP unless `tls` ({cert}) is set.
function scheme(up) {
  return up.tls ? 'https' : 'http';
}

function framing(w, openai) {
  if (!w.stream) return 'json';
  return openai ? 'openai-sse' : 'guest-sse';
}

// z-ai-proxy is ready once /readyz says a credential is usable (guest mode fetches tokens).
async function waitReady(port, proc, timeoutMs = 15000) {
  const t0 = Date.now();
  for (;;) {
    if (proc.exited) throw new Error(`${proc.name} exited (${JSON.stringify(proc.exited)})`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {}
    if (Date.now() - t0 > timeoutMs) throw new Error(`${proc.name}: /readyz not 200 after ${timeoutMs} ms`);
    await sleep(50);
  }
}

// The answer text a client reads from `body`, per framing; null when the body is incomplete.
export function answerOf(framingKind, body) {
  if (framingKind === 'json') {
    try {
      return JSON.parse(body).choices?.[0]?.message?.content ?? null;
    } catch {
      return null;
    }
  }
  let text = '';
  let ended = false;
  for (const line of body.split('\n')) {
    if (!line.startsWith('data: ')) continue;
    const data = line.slice(6).trim();
    if (data === '[DONE]') {
      ended = true;
      continue;
    }
    let ev;
    try {
      ev = JSON.parse(data);
    } catch {
      return null;
    }
    if (framingKind === 'openai-sse') text += ev.choices?.[0]?.delta?.content ?? '';
    else {
      const d = ev.data ?? ev;
      text += d.delta_content ?? '';
      if (d.phase === 'done') ended = true;
    }
  }
  return ended ? text : null;
}

// One request through the contender with fetch: {status, answer, bytes}.
export async function probe(started) {
  const r = started.request;
  const res = await fetch(`http://127.0.0.1:${r.port}${r.target}`, {
    method: r.method,
    headers: r.headers,
    body: r.body,
    signal: AbortSignal.timeout(10000),
  });
  const body = await res.text();
  return { status: res.status, answer: answerOf(started.framing, body), bytes: body.length, sample: body.slice(0, 300) };
}

export async function stopStarted(started) {
  if (started?.proc) await stop(started.proc);
}

export function requestBytes(r) {
  return httpRequest(r.port, r.method, r.target, r.headers, r.body);
}
