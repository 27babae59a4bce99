// Cloudflare Worker host: moves bytes between fetch events, upstream fetch() calls and the Wasm
// core. Every decision (routing, auth, translation, retries, timeouts, pool) is the core's; this
// file only performs the actions the core asks for (the host loop in src/engine/gateway.h).
//
// One core instance (gateway + credential pool) lives per isolate and serves all its requests.
// Clocks: Date.now() for both `now` and `wall` (in Workers it advances with I/O only, which is
// all the core needs). A trap or exit inside the core discards the instance: the failing
// request gets 500 internal_error, the next one starts a fresh instance.

import wasmModule from '../build-wasm/zproxy.wasm';
import { Action, Core } from './core.js';

const MAX_TOKEN_ANSWER = 1 << 20;  // bytes read from a token endpoint answer
// Gateway deadlines (token fetch backoff) further away than this are left to a later request:
// work kept alive by waitUntil() ends about 30 s after the response.
const TIMER_HORIZON_MS = 25_000;
const NET_CONNECT = 0;  // NetError::kConnect
const NET_RESET = 1;    // NetError::kReset

let isolate = null;  // the Shared instance of this isolate

const now = () => Date.now();

function stringEnv(env) {
  const out = {};
  for (const [k, v] of Object.entries(env ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

// The core instance and what the requests of this isolate share around it.
class Shared {
  constructor(env) {
    this.core = new Core(wasmModule);
    this.x = this.core.x;
    this.h = this.core.newGateway(stringEnv(env), now(), now());
    this.version = this.x.zp_version(this.h);
    this.waiters = new Set();  // resolvers of exchanges in Action.Wait
    this.timerAt = Infinity;   // the gateway deadline a timer is already set for
    this.flushLogs();
  }

  flushLogs() {
    const text = this.core.takeLogs(this.h);
    for (const line of text.split('\n')) if (line) console.log(line);
  }

  // After every call into the core: logs out, waiting exchanges woken when the gateway's
  // version moved, due token fetches started (in waitUntil), a timer for the next due one.
  settle(ctx) {
    this.flushLogs();
    const v = this.x.zp_version(this.h);
    if (v !== this.version) {
      this.version = v;
      const ws = [...this.waiters];
      this.waiters.clear();
      for (const w of ws) w();
    }
    for (const job of this.core.takeJobs(this.h, now())) ctx.waitUntil(this.runJob(job, ctx));
    const due = this.x.zp_next_deadline(this.h, now());
    if (due >= 0 && due < this.timerAt && due - now() <= TIMER_HORIZON_MS) {
      this.timerAt = due;
      ctx.waitUntil(sleep(due - now()).then(() => {
        if (this.timerAt === due) this.timerAt = Infinity;
        if (this === isolate) this.settle(ctx);
      }));
    }
  }

  async runJob(job, ctx) {
    let status = 0;
    let body = new Uint8Array(0);
    try {
      const r = await fetch(job.url, { method: job.method, headers: job.headers,
                                       signal: AbortSignal.timeout(job.timeout_ms) });
      body = await readCapped(r, MAX_TOKEN_ANSWER);
      status = r.status;
    } catch {
      status = 0;
      body = new Uint8Array(0);
    }
    if (this !== isolate) return;
    try {
      this.core.onJobDone(this.h, job.id, status, body, now(), now());
      this.settle(ctx);
    } catch (e) {
      discard(this, e);
    }
  }

  // Resolves on the next version change or at `deadline` (ms, -1 = none), whichever is first.
  waitChange(deadline) {
    return new Promise((resolve) => {
      let timer = null;
      const done = () => {
        if (timer !== null) clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      this.waiters.add(done);
      if (deadline >= 0) timer = setTimeout(done, Math.max(0, deadline - now()));
    });
  }
}

// A trap (out of memory, abort, proc_exit) leaves an instance unusable: start afresh next time.
function discard(st, e) {
  if (isolate !== st) return;
  isolate = null;
  console.log(JSON.stringify({ ts: new Date().toISOString(), level: 'error', event: 'core_trap',
                               request_id: null, message: String(e?.message ?? e) }));
}

async function readCapped(response, cap) {
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const parts = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    total += value.length;
    if (total > cap) {
      await reader.cancel();
      break;
    }
  }
  return concat(parts, Math.min(total, cap));
}

function concat(parts, length) {
  const out = new Uint8Array(length);
  let off = 0;
  for (const p of parts) {
    if (off >= length) break;
    out.set(p.subarray(0, length - off), off);
    off += p.length;
  }
  return out;
}

class Replaced extends Error {}

// Drives one exchange through the core's actions. Once finished, the exchange is gone: nothing
// may touch it again (every await is followed by a `finished` check).
class Driver {
  constructor(st, ex, request, ctx) {
    Object.assign(this, { st, ex, request, ctx, core: st.core, x: st.core.x });
    this.abort = null;    // AbortController of the running upstream fetch
    this.pending = null;  // promise of the upstream's next event
    this.reader = null;   // upstream body reader once the head arrived
    this.seen = this.x.zp_version(st.h);  // the gateway version after this exchange's last step
    this.finished = false;
  }

  next() { return this.x.zp_next(this.ex); }

  stopUpstream() {
    this.abort?.abort();
    this.abort = null;
    this.pending = null;
    this.reader = null;
  }

  // Awaits `promise` until the exchange's deadline: { value }, or null when the deadline came.
  async race(promise) {
    const d = this.x.zp_deadline(this.ex);
    if (d < 0) return { value: await promise };
    let timer;
    const late = new Promise((resolve) => { timer = setTimeout(() => resolve(null), Math.max(0, d - now())); });
    try {
      return await Promise.race([promise.then((value) => ({ value })), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async readBody() {
    const limit = this.x.zp_body_limit(this.ex);
    const reader = this.request.body?.getReader();
    const parts = [];
    let total = 0;
    while (reader) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch {
        this.clientGone();  // the client went away while sending its body
        return;
      }
      if (this.finished) return;
      if (chunk.done) break;
      total += chunk.value.length;
      if (total > limit) {
        reader.cancel().catch(() => {});
        this.x.zp_on_body_too_large(this.ex, now());
        return;
      }
      parts.push(chunk.value);
    }
    this.core.onBody(this.ex, concat(parts, total), now());
  }

  // The Fetch API reports no separate "connected" event: the attempt counts as connected at
  // once, so the core's first-byte timeout covers connecting too.
  startFetch() {
    this.stopUpstream();
    const req = this.core.upstreamRequest(this.st.h, this.ex);
    this.abort = new AbortController();
    const init = { method: req.method, headers: req.headers, signal: this.abort.signal };
    if (req.method !== 'GET' && req.method !== 'HEAD') init.body = req.body;
    this.pending = fetch(req.url, init).then((response) => ({ response }), () => ({ error: NET_CONNECT }));
    this.x.zp_on_upstream_connected(this.ex, now());
  }

  async readUpstream() {
    if (!this.pending && this.reader) {
      this.pending = this.reader.read().then((chunk) => ({ chunk }), () => ({ error: NET_RESET }));
    }
    const got = this.pending ? await this.race(this.pending) : null;
    if (this.finished) return;
    if (!got) {
      this.x.zp_on_timer(this.ex, now());
      return;
    }
    this.pending = null;
    const ev = got.value;
    if (ev.error !== undefined) {
      this.reader = null;
      this.x.zp_on_upstream_error(this.ex, ev.error, now());
    } else if (ev.response) {
      this.reader = ev.response.body?.getReader() ?? null;
      this.x.zp_on_upstream_head(this.ex, ev.response.status, now());
      if (!this.reader) this.x.zp_on_upstream_end(this.ex, now());
    } else if (ev.chunk.done) {
      this.reader = null;
      this.x.zp_on_upstream_end(this.ex, now());
    } else {
      this.core.onData(this.ex, ev.chunk.value, now());
    }
  }

  // Until the exchange's deadline, the gateway's next deadline (a token fetch falls due: this
  // request keeps the isolate busy, so it drives the pool), or a version change since it decided
  // to wait.
  async wait() {
    const { x, st } = this;
    if (x.zp_version(st.h) === this.seen) {
      const mine = x.zp_deadline(this.ex);
      const pool = x.zp_next_deadline(st.h, now());
      await st.waitChange(mine < 0 ? pool : pool < 0 ? mine : Math.min(mine, pool));
      if (this.finished || st !== isolate) return;
      st.settle(this.ctx);
    }
    if (!this.finished) x.zp_on_timer(this.ex, now());
  }

  // Performs the current action once.
  async step() {
    switch (this.next()) {
      case Action.ReadBody: await this.readBody(); break;
      case Action.Fetch: this.startFetch(); break;
      case Action.ReadUpstream: await this.readUpstream(); break;
      case Action.Wait: await this.wait(); break;
      default: break;
    }
    if (this.st !== isolate) throw new Replaced('the core instance was discarded meanwhile');
    this.seen = this.x.zp_version(this.st.h);
    this.st.settle(this.ctx);
  }

  finish() {
    if (this.finished) return;
    this.finished = true;
    this.stopUpstream();
    if (this.st !== isolate) return;
    this.x.zp_finish(this.st.h, this.ex, now(), now());
    this.st.settle(this.ctx);
  }

  clientGone() {
    if (this.finished || this.st !== isolate) return;
    this.x.zp_on_client_gone(this.ex, now());
    this.finish();
  }

  // Unexpected failure: the instance is suspect, this exchange is abandoned.
  fail(e) {
    this.finished = true;
    this.stopUpstream();
    discard(this.st, e);
  }

  async untilHead() {
    while (!this.finished && !this.x.zp_head_ready(this.ex) && this.next() !== Action.Finish) {
      await this.step();
    }
  }

  // The streamed body: the core is pulled only when the client reads (backpressure); a client
  // that goes away cancels the stream, which aborts the upstream fetch.
  stream() {
    return new ReadableStream({
      pull: async (controller) => {
        try {
          while (!this.finished) {
            const out = this.core.takeOutput(this.st.h, this.ex);
            const done = this.next() === Action.Finish;
            if (out.length) controller.enqueue(out);
            if (done) {
              this.finish();
              controller.close();
              return;
            }
            if (out.length) return;
            await this.step();
          }
        } catch (e) {
          if (this.finished) return;  // cancelled meanwhile
          this.fail(e);
          controller.error(e);
        }
      },
      cancel: () => this.clientGone(),
    }, { highWaterMark: 0 });
  }
}

function internalError() {
  const id = 'req_' + [...crypto.getRandomValues(new Uint8Array(12))]
    .map((b) => b.toString(16).padStart(2, '0')).join('');
  const body = '{"error":{"message":"Internal error; the request was not processed",' +
               '"type":"server_error","param":null,"code":"internal_error"}}';
  return new Response(body, { status: 500, headers: {
    'content-type': 'application/json', 'access-control-allow-origin': '*',
    'access-control-expose-headers': 'X-Request-Id, Retry-After', 'x-request-id': id } });
}

export default {
  async fetch(request, env, ctx) {
    let st = null;
    let driver = null;
    try {
      st = isolate ??= new Shared(env);
      const url = new URL(request.url);
      const len = request.headers.get('content-length');
      const head = { method: request.method, target: url.pathname + url.search,
                     headers: [...request.headers], content_length: len === null ? -1 : Number(len) };
      const ex = st.core.start(st.h, head, now(), now(), crypto.getRandomValues(new Uint8Array(32)));
      driver = new Driver(st, ex, request, ctx);
      st.settle(ctx);
      await driver.untilHead();
      if (driver.finished) return new Response(null, { status: 400 });  // the client left
      if (!st.x.zp_head_ready(ex)) throw new Error('exchange finished without an answer');
      const h = st.core.head(st.h, ex);
      const headers = new Headers(h.headers);
      if (h.streaming) return new Response(driver.stream(), { status: h.status, headers });
      const body = st.core.takeOutput(st.h, ex);
      driver.finish();
      const nobody = h.status === 204 || h.status === 304 || request.method === 'HEAD';
      return new Response(nobody ? null : body, { status: h.status, headers });
    } catch (e) {
      if (driver) driver.fail(e);
      else if (st) discard(st, e);
      return internalError();
    }
  },
};
