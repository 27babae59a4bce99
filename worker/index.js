// Cloudflare Worker entry: the Wasm core (built by scripts/build-wasm.sh) behind the host loop
// of worker/driver.js.

import wasmModule from '../build-wasm/zproxy.wasm';
import { createHandler } from './driver.js';

const handle = createHandler(wasmModule);

export default {
  fetch(request, env, ctx) {
    return handle(request, env, ctx);
  },
};
