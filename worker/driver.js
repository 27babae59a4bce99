// The Worker host loop (docs/architecture.md): moves bytes between fetch events, upstream
// fetch() calls and the Wasm core. Every decision (routing, auth, translation, retries,
// timeouts, pool) is the core's; this file only performs the steps the core returns.
//
// One core instance (gateway + credential pool) lives per isolate and serves all its requests.
// Clocks: Date.now() for both `now` and `wall` (in Workers it advances with I/O only, which is
// all the core needs). A trap or exit inside the core discards the instance: the failing
// request gets the answer the core rendered for that case when the instance was created, the
// next request starts a fresh instance.
//
// State-store calls (STATE_STORE=durable_object) are jobs like token fetches: a POST of the
// operation's JSON to the Durable Object the core names, in waitUntil, reported back within the
// core's timeout whatever the object does (docs/architecture.md §6.1). A request waits for one
// only as long as the core's own deadline says.
//
// createHandler() takes the compiled module and the I/O it may use, so tests run this very
// loop under Node (tests/wasm/driver.test.mjs); worker/index.js wires the Worker's.

import { Action, Core, NetError } from './core.js';

// Gateway deadlines (token fetch backoff) further away than this are left to a later request:
// work kept alive by waitUntil() ends about 30 s after the response.
const TIMER_HORIZON_MS = 25_000;
const RELEASE_INPUT_ABOVE = 1 << 20;  // after a body this large, the core may shrink its input

const now = () => Date.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const EMPTY = new Uint8Array(0);

function stringEnv(env) {
  const out = {};
  for (const [k, v] of Object.entries(env ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

async function readCapped(response, cap) {
  const reader = response.body?.getReader();
  if (!reader) return EMPTY;
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
  if (parts.length === 1 && parts[0].length === length) return parts[0];
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

// The Worker's call of a state-store object: a fresh stub per call (a stub belongs to the
// request that made it, and a job may outlive that request).
function objectFetch(env, name, body, signal) {
  const ns = env.ZP_STATE;
  if (!ns) throw new Error('no ZP_STATE binding');
  return ns.get(ns.idFromName(name)).fetch('https://zp-state/op', { method: 'POST', body, signal });
}

// One store call within `timeoutMs`, whatever the object does: [status, reply text], or
// [0, 'timeout' | 'error'].
async function callStore(storeFetch, env, name, body, timeoutMs) {
  const abort = new AbortController();
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => {
      abort.abort();
      resolve([0, 'timeout']);
    }, Math.max(0, timeoutMs));
  });
  const work = (async () => {
    const r = await storeFetch(env, name, body, abort.signal);
    return [r.status, await r.text()];
  })().catch(() => [0, abort.signal.aborted ? 'timeout' : 'error']);
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

// createHandler(wasmModule, { fetch, storeFetch, log, count, onCore }) -> async (request, env,
// ctx) => Response. storeFetch(env, objectName, body, signal) -> Response performs store calls
// (default: the ZP_STATE binding). `count` and `onCore` are for tests: crossings counted, the
// core instance shown.
export function createHandler(wasmModule, io = {}) {
  const doFetch = io.fetch ?? ((url, init) => fetch(url, init));
  const storeFetch = io.storeFetch ?? objectFetch;
  const log = io.log ?? ((line) => console.log(line));
  let isolate = null;    // the Shared instance of this isolate
  let fallback = null;   // the core-rendered answer for a failed core, from the last instance

  // The core instance and what the requests of this isolate share around it.
  class Shared {
    constructor(env) {
      this.env = env;  // bindings (ZP_STATE): the same for every request of the isolate
      this.core = new Core(wasmModule, stringEnv(env), now(), now(), { count: io.count });
      fallback = this.core.fallback();
      io.onCore?.(this.core);  // tests: the instance behind this isolate
      this.waiters = new Set();  // resolvers of exchanges in Action.Wait
      this.changes = 0;          // polls that reported a change: exchanges compare it
      this.nextDeadline = -1;    // the gateway's, from the last poll
      this.timerAt = Infinity;   // the gateway deadline a timer is already set for
    }

    // Takes what the gateway has for the host: log lines out, waiting exchanges woken on a
    // change, jobs started (in waitUntil), a timer for the next deadline.
    poll(ctx) {
      const p = this.core.poll(now());
      for (const line of p.logs.split('\n')) if (line) log(line);
      if (p.changed) {
        this.changes++;
        const ws = [...this.waiters];
        this.waiters.clear();
        for (const w of ws) w();
      }
      for (const job of p.jobs) {
        ctx.waitUntil(job.kind === 'store' ? this.runStore(job, ctx) : this.runJob(job, ctx));
      }
      this.nextDeadline = p.deadline;
      const due = p.deadline;
      if (due >= 0 && due < this.timerAt && due - now() <= TIMER_HORIZON_MS) {
        this.timerAt = due;
        ctx.waitUntil(sleep(due - now()).then(() => {
          if (this.timerAt === due) this.timerAt = Infinity;
          if (this === isolate) this.poll(ctx);
        }));
      }
    }

    async runJob(job, ctx) {
      let status = 0;
      let body = EMPTY;
      try {
        const r = await doFetch(job.url, { method: job.method, headers: job.headers,
                                           body: job.method === 'GET' ? undefined : job.body,
                                           signal: AbortSignal.timeout(job.timeout_ms) });
        body = await readCapped(r, job.max_body_bytes);
        status = r.status;
      } catch {
        status = 0;
        body = EMPTY;
      }
      this.report(job, status, body, ctx);
    }

    async runStore(job, ctx) {
      const [status, reply] = await callStore(storeFetch, this.env, job.object, job.body, job.timeout_ms);
      this.report(job, status, reply, ctx);
    }

    report(job, status, body, ctx) {
      if (this !== isolate) return;
      try {
        this.core.jobDone(job.id, status, body, now(), now());
        this.poll(ctx);
      } catch (e) {
        discard(this, e);
      }
    }

    // Resolves on the next change or at `deadline` (ms, -1 = none), whichever is first.
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
    log(JSON.stringify({ ts: new Date().toISOString(), level: 'error', event: 'core_trap',
                         request_id: null, message: String(e?.message ?? e) }));
  }

  // Drives one exchange through the core's steps. Once finished, the exchange is gone: nothing
  // may touch it again (every await is followed by a `finished` check).
  class Driver {
    constructor(st, id, request, ctx) {
      Object.assign(this, { st, id, request, ctx, core: st.core });
      this.abort = null;     // AbortController of the running upstream fetch
      this.attempt = 0;      // the attempt the running fetch belongs to
      this.pending = null;   // promise of the upstream's next event
      this.reader = null;    // upstream body reader once the head arrived
      this.cur = null;       // the last step
      this.seen = st.changes;
      this.finished = false;
    }

    // Every step goes through here: kept, its poll done, and the upstream call that has no
    // future under it (another attempt, a wait, the end) aborted.
    apply(step) {
      if (step === null) throw new Error('the exchange is gone');
      this.cur = step;
      this.seen = this.st.changes;
      if (step.poll) this.st.poll(this.ctx);
      if (this.abort && (step.action !== Action.ReadUpstream || step.attempt !== this.attempt)) {
        this.stopUpstream();
      }
    }

    stopUpstream() {
      this.abort?.abort();
      this.abort = null;
      this.pending = null;
      this.reader = null;
    }

    // Awaits `promise` until the exchange's deadline: { value }, or null when the deadline came.
    async race(promise) {
      const d = this.cur.deadline;
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
      const limit = this.core.bodyLimit ?? Infinity;
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
          this.apply(this.core.onBodyTooLarge(this.id, now()));
          return;
        }
        parts.push(chunk.value);
      }
      this.apply(this.core.onBody(this.id, concat(parts, total), now()));
      if (total > RELEASE_INPUT_ABOVE) this.core.releaseInput();
    }

    // The Fetch API reports no separate "connected" event: the attempt counts as connected at
    // once, so the core's first-byte timeout covers connecting too.
    startFetch() {
      this.stopUpstream();
      this.attempt = this.cur.attempt;
      const req = this.core.beginFetch(this.id);
      if (!req) throw new Error('a fetch step without a request');
      this.abort = new AbortController();
      const init = { method: req.method, headers: req.headers, signal: this.abort.signal };
      if (req.method !== 'GET' && req.method !== 'HEAD') init.body = req.body;
      this.pending = Promise.resolve()
        .then(() => doFetch(req.url, init))
        .then((response) => ({ response }), () => ({ error: NetError.Connect }));
      this.apply(this.core.onConnected(this.id, now()));
    }

    async readUpstream() {
      if (!this.pending && this.reader) {
        this.pending = this.reader.read().then((chunk) => ({ chunk }), () => ({ error: NetError.Reset }));
      }
      const got = this.pending ? await this.race(this.pending) : null;
      if (this.finished) return;
      const { core, id } = this;
      if (!got) {
        this.apply(core.onTimer(id, now()));
        return;
      }
      this.pending = null;
      const ev = got.value;
      if (ev.error !== undefined) {
        this.reader = null;
        this.apply(core.onError(id, ev.error, now()));
      } else if (ev.response) {
        this.reader = ev.response.body?.getReader() ?? null;
        this.apply(core.onHead(id, ev.response.status, now()));
        if (!this.reader && this.cur.action === Action.ReadUpstream) this.apply(core.onEnd(id, now()));
      } else if (ev.chunk.done) {
        this.reader = null;
        this.apply(core.onEnd(id, now()));
      } else {
        this.apply(core.onData(id, ev.chunk.value, now()));
      }
    }

    // Until the exchange's deadline, the gateway's next deadline (a token fetch falls due: this
    // request keeps the isolate busy, so it drives the pool), or a change since its last step.
    async wait() {
      const { st } = this;
      if (st.changes === this.seen) {
        const mine = this.cur.deadline;
        const pool = st.nextDeadline;
        await st.waitChange(mine < 0 ? pool : pool < 0 ? mine : Math.min(mine, pool));
        if (this.finished || st !== isolate) return;
        if (st.nextDeadline >= 0 && now() >= st.nextDeadline) st.poll(this.ctx);
      }
      if (!this.finished) this.apply(this.core.onTimer(this.id, now()));
    }

    // Performs the current step's action once.
    async step() {
      switch (this.cur.action) {
        case Action.ReadBody: await this.readBody(); break;
        case Action.Fetch: this.startFetch(); break;
        case Action.ReadUpstream: await this.readUpstream(); break;
        case Action.Wait: await this.wait(); break;
        default: break;
      }
      if (this.st !== isolate) throw new Replaced('the core instance was discarded meanwhile');
    }

    // The output the last step announced.
    takeOutput() {
      if (this.cur.outputBytes === 0) return EMPTY;
      this.cur.outputBytes = 0;
      return this.core.takeOutput(this.id);
    }

    finish() {
      if (this.finished) return;
      this.finished = true;
      this.stopUpstream();
      if (this.st !== isolate) return;
      this.core.finish(this.id, now(), now());
      this.st.poll(this.ctx);
    }

    clientGone() {
      if (this.finished || this.st !== isolate) return;
      this.apply(this.core.onClientGone(this.id, now()));
      this.finish();
    }

    // Unexpected failure: the instance is suspect, this exchange is abandoned.
    fail(e) {
      this.finished = true;
      this.stopUpstream();
      discard(this.st, e);
    }

    async untilHead() {
      while (!this.finished && !this.cur.headReady && this.cur.action !== Action.Finish) {
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
              const out = this.takeOutput();
              const done = this.cur.action === Action.Finish;
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

  // The core's own answer for a failed core, with a fresh request id.
  function internalError() {
    if (!fallback) return new Response(null, { status: 500 });
    const id = 'req_' + [...crypto.getRandomValues(new Uint8Array(12))]
      .map((b) => b.toString(16).padStart(2, '0')).join('');
    const headers = new Headers(fallback.headers);
    headers.set('x-request-id', id);
    return new Response(fallback.body, { status: fallback.status, headers });
  }

  return async function handle(request, env, ctx) {
    let st = null;
    let driver = null;
    try {
      st = isolate ??= new Shared(env);
      const url = new URL(request.url);
      const len = request.headers.get('content-length');
      const head = { method: request.method, target: url.pathname + url.search,
                     headers: [...request.headers], content_length: len === null ? -1 : Number(len) };
      const { id, step } = st.core.start(head, now(), now(), crypto.getRandomValues(new Uint8Array(32)));
      driver = new Driver(st, id, request, ctx);
      driver.apply(step);
      await driver.untilHead();
      if (driver.finished) return new Response(null, { status: 400 });  // the client left
      if (!driver.cur.headReady) throw new Error('exchange finished without an answer');
      const h = st.core.head(id);
      const headers = new Headers(h.headers);
      if (h.streaming) return new Response(driver.stream(), { status: h.status, headers });
      const body = driver.takeOutput();
      driver.finish();
      const nobody = h.status === 204 || h.status === 304 || request.method === 'HEAD';
      return new Response(nobody ? null : body, { status: h.status, headers });
    } catch (e) {
      if (driver) driver.fail(e);
      else if (st) discard(st, e);
      return internalError();
    }
  };
}
