// Cloudflare Worker entry: the Wasm core (built by scripts/build-wasm.sh) behind the host loop
// of worker/driver.js, and the Durable Object class of the shared state store
// (worker/state_object.js; binding ZP_STATE in wrangler.toml), which runs the same module.

import { DurableObject } from 'cloudflare:workers';
import wasmModule from '../build-wasm/zproxy.wasm';
import { createHandler } from './driver.js';
import { StateObject } from './state_object.js';

const handle = createHandler(wasmModule);

export default {
  fetch(request, env, ctx) {
    return handle(request, env, ctx);
  },
};

export class ZpState extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.impl = new StateObject(wasmModule, ctx, env);
  }

  fetch(request) {
    return this.impl.fetch(request);
  }
}
