// Thin typed wrapper over the Wasm core's extern "C" boundary (worker/boundary.cpp): copies
// bytes in and out of linear memory. No protocol logic lives here.

const enc = new TextEncoder();
const dec = new TextDecoder();

export const Action = { ReadBody: 0, Fetch: 1, ReadUpstream: 2, Wait: 3, Finish: 4 };

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

export class Core {
  // wasmModule: a compiled WebAssembly.Module (Workers import it; Node compiles the file).
  constructor(wasmModule) {
    this.instance = new WebAssembly.Instance(wasmModule, coreImports());
    this.x = this.instance.exports;
    if (this.x._initialize) this.x._initialize();
  }

  bytes() { return new Uint8Array(this.x.memory.buffer); }

  // Copies `data` (string or Uint8Array) into fresh memory; returns [ptr, len].
  put(data) {
    const b = typeof data === 'string' ? enc.encode(data) : data;
    const p = this.x.zp_alloc(b.length);
    if (p === 0) throw new Error(`core out of memory (${b.length} bytes)`);
    this.bytes().set(b, p);
    return [p, b.length];
  }

  // Calls fn(ptr, len) with data copied in, freeing it afterwards.
  withBytes(data, fn) {
    const [p, n] = this.put(data);
    try { return fn(p, n); } finally { this.x.zp_free(p); }
  }

  scratchBytes(h, n) {
    if (n === 0) return new Uint8Array(0);
    const p = this.x.zp_scratch(h);
    return this.bytes().slice(p, p + n);
  }
  scratchText(h, n) { return n === 0 ? '' : dec.decode(this.scratchBytes(h, n)); }
  scratchJson(h, n) { return JSON.parse(this.scratchText(h, n)); }

  newGateway(env, now, wall) {
    return this.withBytes(JSON.stringify(env), (p, n) => this.x.zp_gateway_new(p, n, now, wall));
  }

  start(h, head, now, wall, entropy) {
    const [hp, hn] = this.put(JSON.stringify(head));
    const [ep, en] = this.put(entropy);
    try { return this.x.zp_start(h, hp, hn, now, wall, ep, en); } finally {
      this.x.zp_free(hp);
      this.x.zp_free(ep);
    }
  }

  // {method, url, headers: [[name, value]…], body: Uint8Array}
  upstreamRequest(h, ex) {
    const req = this.scratchJson(h, this.x.zp_upstream_request(h, ex));
    const p = this.x.zp_upstream_body(ex);
    req.body = this.bytes().slice(p, p + this.x.zp_upstream_body_len(ex));
    return req;
  }
  head(h, ex) { return this.scratchJson(h, this.x.zp_head(h, ex)); }
  takeOutput(h, ex) { return this.scratchBytes(h, this.x.zp_take_output(h, ex)); }
  takeJobs(h, now) { return this.scratchJson(h, this.x.zp_take_jobs(h, now)); }
  takeLogs(h) { return this.scratchText(h, this.x.zp_take_logs(h)); }
  onBody(ex, data, now) { this.withBytes(data, (p, n) => this.x.zp_on_body(ex, p, n, now)); }
  onData(ex, data, now) {
    this.withBytes(data, (p, n) => this.x.zp_on_upstream_data(ex, p, n, now));
  }
  onJobDone(h, id, status, body, now, wall) {
    this.withBytes(body, (p, n) => this.x.zp_on_job_done(h, id, status, p, n, now, wall));
  }
  // Test hook: a golden fixture through this module, cut at the given byte offsets.
  fixtureRun(h, options, bytes, cuts) {
    const [op, on] = this.put(options);
    const [bp, bn] = this.put(bytes);
    const [cp, cn] = this.put(new Uint8Array(new Uint32Array(cuts).buffer));
    try {
      return this.scratchBytes(h, this.x.zp_fixture_run(h, op, on, bp, bn, cp, cn / 4));
    } finally {
      this.x.zp_free(op);
      this.x.zp_free(bp);
      this.x.zp_free(cp);
    }
  }
  // Benchmark hook (bench/wasm_bench.mjs): the same translation with each read's output only
  // counted inside the module. `placed` is [ptr, len] from put(), reused across runs.
  // Returns the output's byte count (-1: bad options).
  fixtureBench(options, placed, readBytes) {
    const [p, n] = placed;
    return this.withBytes(options, (op, on) => this.x.zp_fixture_bench(op, on, p, n, readBytes));
  }
}
