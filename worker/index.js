// Cloudflare Worker host: moves bytes between fetch events, upstream fetch() calls and the Wasm
// core. Every decision (routing, auth, translation, retries, timeouts, pool) is the core's; this
// file only performs the actions the core asks for (see src/engine/gateway.h).

import wasmModule from '../build-wasm/zproxy.wasm';
import { Action, Core } from './core.js';

const MAX_TOKEN_ANSWER = 1 << 20;  // bytes read from a token endpoint answer
let isolate = null;                 // { core, h, waiters } shared by the requests of an isolate

const now = () => Date.now();

function stringEnv(env) {
  const out = {};
  for (const [k, v] of Object.entries(env ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

function ensureIsolate(env) {
  if (!isolate) {
    const core = new Core(wasmModule);
    const h = core.newGateway(stringEnv(env), now(), now());
    isolate = { core, h, waiters: new Set() };
    flushLogs(isolate);
  }
  return isolate;
}

function flushLogs(st) {
  const text = st.core.takeLogs(st.h);
  for (const line of text.split('\n')) if (line) console.log(line);
}

function notify(st) {
  const ws = [...st.waiters];
  st.waiters.clear();
  for (const w of ws) w();
}

// Resolves on the next pool change or at `deadline` (ms, -1 = none), whichever is first.
function waitChange(st, deadline) {
  return new Promise((resolve) => {
    let timer = null;
    const done = () => { if (timer) clearTimeout(timer); st.waiters.delete(done); resolve(); };
    st.waiters.add(done);
    if (deadline >= 0) timer = setTimeout(done, Math.max(0, deadline - now()));
  });
}

async function readCapped(response, cap) {
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const parts = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > cap) { await reader.cancel(); break; }
    parts.push(value);
  }
  const out = new Uint8Array(Math.min(total, cap));
  let off = 0;
  for (const p of parts) { out.set(p.subarray(0, out.length - off), off); off += p.length; }
  return out;
}

// Token fetches the core asks for; they outlive the request through waitUntil.
function runJobs(st, ctx) {
  for (const job of st.core.takeJobs(st.h, now())) {
    const work = (async () => {
      let status = 0;
      let body = new Uint8Array(0);
      try {
        const r = await fetch(job.url, { method: job.method, headers: job.headers });
        status = r.status;
        body = await readCapped(r, MAX_TOKEN_ANSWER);
      } catch { status = 0; }
      if (st !== isolate) return;
      st.core.onJobDone(st.h, job.id, status, body, now(), now());
      flushLogs(st);
      notify(st);
      runJobs(st, ctx);
    })();
    ctx.waitUntil(work);
  }
}

class Trap extends Error {}

// Drives one exchange through the core's actions.
class Driver {
  constructor(st, ex, request, ctx) {
    Object.assign(this, { st, ex, request, ctx, core: st.core, x: st.core.x });
    this.abort = null;        // AbortController of the running upstream fetch
    this.pending = null;      // promise of the response head or of the next body chunk
    this.reader = null;
    this.finished = false;
  }

  next() { return this.x.zp_next(this.ex); }

  stopUpstream() {
    if (this.abort) this.abort.abort();
    this.abort = null;
    this.pending = null;
    this.reader = null;
  }

  // Awaits `promise` or the exchange deadline; returns { value } or null on timeout.
  async race(promise) {
    const d = this.x.zp_deadline(this.ex);
    if (d < 0) return { value: await promise };
    let timer;
    const timeout = new Promise((r) => { timer = setTimeout(() => r(null), Math.max(0, d - now())); });
    try {
      return await Promise.race([promise.then((value) => ({ value })), timeout]);
    } finally { clearTimeout(timer); }
  }

  async readBody() {
    const limit = this.x.zp_body_limit(this.ex);
    const reader = this.request.body?.getReader();
    const parts = [];
    let total = 0;
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) {
        await reader.cancel();
        this.x.zp_on_body_too_large(this.ex, now());
        return;
      }
      parts.push(value);
    }
    const body = new Uint8Array(total);
    let off = 0;
    for (const p of parts) { body.set(p, off); off += p.length; }
    this.core.onBody(this.ex, body, now());
  }

  startFetch() {
    this.stopUpstream();
    const req = this.core.upstreamRequest(this.st.h, this.ex);
    const abort = new AbortController();
    this.abort = abort;
    this.x.zp_on_upstream_connected(this.ex, now());
    const init = { method: req.method, headers: req.headers, signal: abort.signal };
    if (req.method !== 'GET' && req.method !== 'HEAD') init.body = req.body;
    this.pending = fetch(req.url, init).then(
      (response) => ({ response }), () => ({ error: 0 }));
  }

  async readUpstream() {
    if (!this.pending && this.reader) {
      this.pending = this.reader.read().then((chunk) => ({ chunk }), () => ({ error: 1 }));
    }
    if (!this.pending) { this.x.zp_on_timer(this.ex, now()); return; }
    const got = await this.race(this.pending);
    if (!got) { this.x.zp_on_timer(this.ex, now()); return; }
    this.pending = null;
    const ev = got.value;
    if (ev.error !== undefined) {
      this.x.zp_on_upstream_error(this.ex, ev.error, now());
    } else if (ev.response) {
      this.reader = ev.response.body ? ev.response.body.getReader() : null;
      this.x.zp_on_upstream_head(this.ex, ev.response.status, now());
      if (!this.reader) this.x.zp_on_upstream_end(this.ex, now());
    } else if (ev.chunk.done) {
      this.reader = null;
      this.x.zp_on_upstream_end(this.ex, now());
    } else {
      this.core.onData(this.ex, ev.chunk.value, now());
    }
  }

  // Performs the current action once.
  async step() {
    switch (this.next()) {
      case Action.ReadBody: await this.readBody(); break;
      case Action.Fetch: this.startFetch(); break;
      case Action.ReadUpstream: await this.readUpstream(); break;
      case Action.Wait:
        await waitChange(this.st, this.x.zp_deadline(this.ex));
        this.x.zp_on_timer(this.ex, now());
        break;
      default: break;
    }
    if (this.st !== isolate) throw new Trap('core instance was replaced');
    flushLogs(this.st);
  }

  finish() {
    if (this.finished) return;
    this.finished = true;
    this.stopUpstream();
    if (this.st !== isolate) return;
    this.x.zp_finish(this.st.h, this.ex, now(), now());
    flushLogs(this.st);
    notify(this.st);
    runJobs(this.st, this.ctx);
  }

  clientGone() {
    if (this.finished || this.st !== isolate) return;
    this.x.zp_on_client_gone(this.ex, now());
    this.finish();
  }

  async untilHead() {
    while (!this.x.zp_head_ready(this.ex) && this.next() !== Action.Finish) await this.step();
  }

  // Streaming body: pulls the core only when the client reads (backpressure).
  stream() {
    return new ReadableStream({
      pull: async (controller) => {
        try {
          for (;;) {
            const out = this.core.takeOutput(this.st.h, this.ex);
            const done = this.next() === Action.Finish;
            if (out.length) controller.enqueue(out);
            if (done) { this.finish(); controller.close(); return; }
            if (out.length) return;
            await this.step();
          }
        } catch (e) {
          this.finished = true;
          onTrap(e);
          controller.error(e);
        }
      },
      cancel: () => this.clientGone(),
    }, { highWaterMark: 0 });
  }
}

function onTrap(e) {
  // A trap (out of memory, abort) leaves the instance unusable: start afresh next time.
  console.log(JSON.stringify({ level: 'error', event: 'core_trap', request_id: null,
                               message: String(e && e.message || e) }));
  isolate = null;
}

function internalError() {
  const body = '{"error":{"message":"Internal error; the request was not processed",' +
               '"type":"server_error","param":null,"code":"internal_error"}}';
  return new Response(body, { status: 500, headers: { 'content-type': 'application/json',
                                                       'access-control-allow-origin': '*' } });
}

export default {
  async fetch(request, env, ctx) {
    let driver = null;
    try {
      const st = ensureIsolate(env);
      const url = new URL(request.url);
      const len = request.headers.get('content-length');
      const head = { method: request.method, target: url.pathname + url.search,
                     headers: [...request.headers], content_length: len === null ? -1 : Number(len) };
      const ex = st.core.start(st.h, head, now(), now(), crypto.getRandomValues(new Uint8Array(32)));
      runJobs(st, ctx);
      driver = new Driver(st, ex, request, ctx);
      await driver.untilHead();
      const h = st.core.head(st.h, ex);
      const headers = new Headers(h.headers);
      if (!h.streaming) {
        const body = st.core.takeOutput(st.h, ex);
        driver.finish();
        const nobody = h.status === 204 || h.status === 304 || request.method === 'HEAD';
        return new Response(nobody ? null : body, { status: h.status, headers });
      }
      return new Response(driver.stream(), { status: h.status, headers });
    } catch (e) {
      if (driver) driver.finished = true;
      onTrap(e);
      return internalError();
    }
  },
};
