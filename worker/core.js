// Thin typed wrappers over the Wasm core's extern "C" boundary (worker/boundary.cpp): copies
// bytes in and out of linear memory and reads the Step the core leaves in its Wire (Core), or
// the store's reply block (StoreCore). No protocol logic lives here. With `{ count: true }`,
// `calls` counts the crossings (tests read it).

const enc = new TextEncoder();
const dec = new TextDecoder();

export const Action = { ReadBody: 0, Fetch: 1, ReadUpstream: 2, Wait: 3, Finish: 4 };
const Event = { Step: 0, Body: 1, BodyTooLarge: 2, Connected: 3, Head: 4, Data: 5, End: 6,
                Error: 7, Timer: 8, ClientGone: 9 };
export const NetError = { Connect: 0, Reset: 1 };

// Everything the standalone module may import. proc_exit (abort, failed allocation) throws, so
// the call into the core fails and the host discards the instance; fd_* only exist in builds
// with assertions and answer ENOSYS.
export function coreImports() {
  return {
    env: { emscripten_notify_memory_growth() {} },
    wasi_snapshot_preview1: {
      proc_exit(code) { throw new Error(`core exited with code ${code}`); },
      fd_write() { return 52; },
      fd_close() { return 52; },
      fd_seek() { return 52; },
    },
  };
}

// The step an event returned: read from the Wire, copied into plain JS values.
function readStep(view, wire, action) {
  return {
    action,
    headReady: view.getInt32(wire + 4, true) !== 0,
    poll: view.getInt32(wire + 8, true) !== 0,
    attempt: view.getUint32(wire + 12, true),
    outputBytes: view.getFloat64(wire + 16, true),
    deadline: view.getFloat64(wire + 24, true),  // -1: none
  };
}

// One gateway inside one module instance.
export class Core {
  // wasmModule: a compiled WebAssembly.Module (Workers import it; Node compiles the file).
  constructor(wasmModule, env, now, wall, { count = false } = {}) {
    const instance = new WebAssembly.Instance(wasmModule, coreImports());
    const raw = instance.exports;
    this.calls = 0;
    this.x = raw;
    if (count) {  // every function export counted: what the Worker pays per request and chunk
      this.x = {};
      for (const [name, value] of Object.entries(raw)) {
        this.x[name] = typeof value === 'function'
          ? (...args) => { this.calls++; return value(...args); } : value;
      }
    }
    this.memory = raw.memory;
    if (raw._initialize) raw._initialize();
    const b = typeof env === 'string' ? env : JSON.stringify(env ?? {});
    const [p, n] = this.#alloc(enc.encode(b));
    try { this.h = this.x.zp_gateway_new(p, n, now, wall); } finally { this.x.zp_free(p); }
    if (this.h === 0) throw new Error('core: no gateway');
    this.wire = this.h;  // the gateway's Wire sits at its address (worker/boundary.cpp)
    this.bodyLimit = this.#view().getFloat64(this.wire + 48, true);
    this.inPtr = 0;
    this.inCap = 0;
  }

  #bytes() { return new Uint8Array(this.memory.buffer); }
  #view() { return new DataView(this.memory.buffer); }

  #alloc(b) {
    const p = this.x.zp_alloc(b.length);
    if (p === 0) throw new Error(`core out of memory (${b.length} bytes)`);
    this.#bytes().set(b, p);
    return [p, b.length];
  }

  // After a large body: lets the core give its grown input buffer back on the next input.
  releaseInput() { this.inCap = 0; }

  // Copies `parts` (strings or Uint8Arrays) one after another into the input buffer; returns
  // the length.
  #input(...given) {
    const parts = given.map((p) => (typeof p === 'string' ? enc.encode(p) : p));
    const n = parts.reduce((s, p) => s + p.length, 0);
    if (n > this.inCap) {
      this.inPtr = this.x.zp_input(this.h, n);
      this.inCap = this.#view().getUint32(this.wire + 56, true);
    }
    const mem = this.#bytes();
    let off = this.inPtr;
    for (const p of parts) {
      mem.set(p, off);
      off += p.length;
    }
    return n;
  }

  #out() {
    const v = this.#view();
    const p = v.getUint32(this.wire + 32, true);
    const n = v.getUint32(this.wire + 36, true);
    return this.#bytes().slice(p, p + n);
  }
  #outText() { return dec.decode(this.#out()); }
  #outJson() {
    const t = this.#outText();
    return t ? JSON.parse(t) : null;
  }
  #step(action) { return readStep(this.#view(), this.wire, action); }

  // entropy: 32 random bytes or more. -> { id, step }
  start(head, now, wall, entropy) {
    const hb = enc.encode(JSON.stringify(head));
    this.#input(hb, entropy);
    const id = this.x.zp_start(this.h, hb.length, entropy.length, now, wall);
    return { id, step: this.#step(this.#view().getInt32(this.wire, true)) };
  }

  #event(id, kind, arg, n, now) {
    const action = this.x.zp_event(this.h, id, kind, arg, n, now);
    return action < 0 ? null : this.#step(action);
  }
  step(id) { return this.#event(id, Event.Step, 0, 0, 0); }
  onBody(id, data, now) { return this.#event(id, Event.Body, 0, this.#input(data), now); }
  onBodyTooLarge(id, now) { return this.#event(id, Event.BodyTooLarge, 0, 0, now); }
  onConnected(id, now) { return this.#event(id, Event.Connected, 0, 0, now); }
  onHead(id, status, now) { return this.#event(id, Event.Head, status, 0, now); }
  onData(id, data, now) { return this.#event(id, Event.Data, 0, this.#input(data), now); }
  onEnd(id, now) { return this.#event(id, Event.End, 0, 0, now); }
  onError(id, kind, now) { return this.#event(id, Event.Error, kind, 0, now); }
  onTimer(id, now) { return this.#event(id, Event.Timer, 0, 0, now); }
  onClientGone(id, now) { return this.#event(id, Event.ClientGone, 0, 0, now); }

  // {method, url, headers: [[name, value]…], body: Uint8Array}, or null when no fetch was due.
  beginFetch(id) {
    const n = this.x.zp_begin_fetch(this.h, id);
    if (n === 0) return null;
    const req = this.#outJson();
    const v = this.#view();
    const p = v.getUint32(this.wire + 40, true);
    req.body = this.#bytes().slice(p, p + v.getUint32(this.wire + 44, true));
    return req;
  }
  head(id) { this.x.zp_head(this.h, id); return this.#outJson(); }
  takeOutput(id) {
    this.x.zp_take_output(this.h, id);
    return this.#out();
  }
  finish(id, now, wall) { this.x.zp_finish(this.h, id, now, wall); }

  // {changed, deadline (-1: none), logs, jobs}: a job is {id, kind: 'http', timeout_ms,
  // max_body_bytes, method, url, headers, body} or {id, kind: 'store', timeout_ms, object,
  // body} (a call of the Durable Object named `object` with the operation's JSON `body`).
  poll(now) { this.x.zp_poll(this.h, now); return this.#outJson(); }
  // An http job: its status (0: no answer) and body. A store job: the object's status and
  // reply, or 0 and 'timeout' | 'error'.
  jobDone(id, status, body, now, wall) {
    this.x.zp_job_done(this.h, id, status, this.#input(body), now, wall);
  }
  // {status, headers, body}: the answer for when this instance fails.
  fallback() { this.x.zp_fallback(this.h); return this.#outJson(); }
}

// The state store's side of the module (zp_store), for the Durable Object of
// worker/state_object.js: one instance serves every object of an isolate, since a call carries
// the object's whole state in and out (the state is a few hundred bytes of JSON).
export class StoreCore {
  constructor(wasmModule) {
    const instance = new WebAssembly.Instance(wasmModule, coreImports());
    this.x = instance.exports;
    this.memory = this.x.memory;
    if (this.x._initialize) this.x._initialize();
  }

  // Applies the operation `op` (JSON text) to `state` (the object's state as zp_store last
  // returned it; '' for a new object) at `now` (Unix ms). -> {reply, state, unreadable}: the
  // reply's JSON, the state after the operation and whether the given state failed to load.
  // Throws when the module fails (the caller then discards this instance).
  apply(state, op, now) {
    const s = enc.encode(state);
    const o = enc.encode(op);
    const p = this.x.zp_alloc(s.length + o.length);
    if (p === 0) throw new Error(`core out of memory (${s.length + o.length} bytes)`);
    let bytes = new Uint8Array(this.memory.buffer);
    bytes.set(s, p);
    bytes.set(o, p + s.length);
    const out = this.x.zp_store(p, s.length, o.length, now);
    this.x.zp_free(p);
    if (out === 0) throw new Error('core out of memory (store reply)');
    bytes = new Uint8Array(this.memory.buffer);
    const v = new DataView(this.memory.buffer);
    const replyLen = v.getUint32(out, true);
    const stateLen = v.getUint32(out + 4, true);
    const flags = v.getUint32(out + 8, true);
    const at = out + 12;
    const result = {
      reply: dec.decode(bytes.subarray(at, at + replyLen)),
      state: dec.decode(bytes.subarray(at + replyLen, at + replyLen + stateLen)),
      unreadable: (flags & 1) !== 0,
    };
    this.x.zp_free(out);
    return result;
  }
}
