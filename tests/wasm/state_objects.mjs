// State-store Durable Objects under Node, for tests: worker/state_object.js over an in-memory
// storage, and a storeFetch (worker/driver.js) that routes each call to the object it names, as
// the ZP_STATE binding does in workerd.

import { StateObject } from '../../worker/state_object.js';

// An object's `ctx`: storage in a Map (`saved`, counting `puts`); blockConcurrencyWhile runs its
// callback and `ready` is what requests wait for, as workerd makes them wait.
export function objectState(saved = new Map()) {
  let ready = Promise.resolve();
  const ctx = {
    saved,
    puts: 0,
    storage: {
      get: async (k) => saved.get(k),
      put: async (k, v) => {
        ctx.puts++;
        saved.set(k, v);
      },
    },
    blockConcurrencyWhile(fn) {
      ready = fn();
      return ready;
    },
    get ready() { return ready; },
  };
  return ctx;
}

// One POST of `op` (an object or JSON text) to `obj` -> {status, json}.
export async function callObject(obj, ctx, op) {
  await ctx.ready;
  const body = typeof op === 'string' ? op : JSON.stringify(op);
  const res = await obj.fetch(new Request('https://zp-state/op', { method: 'POST', body }));
  return { status: res.status, json: await res.json() };
}

// Objects by name, created on first call. -> {storeFetch, calls: [{name, op}], objects}
export function objectsInMemory(wasmModule, env = {}) {
  const objects = new Map();
  const calls = [];
  const storeFetch = async (_env, name, body, signal) => {
    calls.push({ name, op: JSON.parse(body) });
    let o = objects.get(name);
    if (!o) {
      const ctx = objectState();
      o = { ctx, obj: new StateObject(wasmModule, ctx, env, { log: () => {} }) };
      objects.set(name, o);
    }
    await o.ctx.ready;
    return o.obj.fetch(new Request('https://zp-state/op', { method: 'POST', body, signal }));
  };
  return { storeFetch, calls, objects };
}
