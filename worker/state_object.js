// The Durable Object behind STATE_STORE=durable_object (docs/architecture.md §6.1): one object
// named "pool" holds the credentials' shared health, one named "key:<name>" each client key's
// counters. It applies the operations the Worker's gateways send (POST, the operation's JSON)
// with the core's own semantics: the same Wasm module's zp_store, on the object's clock.
//
// State: the MemoryStore's dump, kept here as text and in the object's storage (SQLite-backed;
// wrangler.toml), loaded once before the first request and written after every operation that
// changed it, so a key's tokens_today survives a restart of the object. An object failing is
// never a request failing: the Worker's gateway then decides locally (docs/contract.md §14).
//
// ZP_STATE_FAULT (tests only): "throw" makes every request throw, "stall" answer only after
// five minutes.

import { StoreCore } from './core.js';

const STATE_KEY = 'state';
const JSON_HEADERS = { 'content-type': 'application/json' };
const STALL_MS = 300_000;

// The module instance of this isolate's objects; replaced after a failure inside it.
let shared = null;

export class StateObject {
  // ctx: the object's state ({storage, blockConcurrencyWhile}); io.log for tests.
  constructor(wasmModule, ctx, env, io = {}) {
    this.wasmModule = wasmModule;
    this.storage = ctx.storage;
    this.fault = typeof env?.ZP_STATE_FAULT === 'string' ? env.ZP_STATE_FAULT : '';
    this.log = io.log ?? ((line) => console.log(line));
    this.state = '';
    ctx.blockConcurrencyWhile(async () => {
      const saved = await this.storage.get(STATE_KEY);
      if (typeof saved === 'string') this.state = saved;
    });
  }

  async fetch(request) {
    if (this.fault === 'throw') throw new Error('ZP_STATE_FAULT=throw');
    if (this.fault === 'stall') await new Promise((resolve) => setTimeout(resolve, STALL_MS));
    const op = await request.text();
    let r;
    try {
      shared ??= new StoreCore(this.wasmModule);
      r = shared.apply(this.state, op, Date.now());
    } catch (e) {
      shared = null;
      this.warn('state_object_failed', String(e?.message ?? e));
      return new Response('{"error":"internal"}', { status: 500, headers: JSON_HEADERS });
    }
    if (r.unreadable) this.warn('state_object_unreadable', 'the stored state did not load; started empty');
    if (r.state !== this.state) {
      this.state = r.state;
      await this.storage.put(STATE_KEY, r.state);
    }
    const bad = r.reply.startsWith('{"error"');
    return new Response(r.reply, { status: bad ? 400 : 200, headers: JSON_HEADERS });
  }

  warn(event, message) {
    this.log(JSON.stringify({ ts: new Date().toISOString(), level: 'warn', event, request_id: null, message }));
  }
}
