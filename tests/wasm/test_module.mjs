// Typed wrapper over the test module build-wasm/zproxy_test.wasm (tests/wasm/fixture_boundary.cpp):
// golden-fixture replay and the translation benchmark, for tests/wasm/ and bench/. It imports
// what the shipped module imports (the two are built alike), so worker/core.js provides them.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { coreImports } from '../../worker/core.js';

const enc = new TextEncoder();

export const testModulePath =
  join(fileURLToPath(new URL('../..', import.meta.url)), 'build-wasm', 'zproxy_test.wasm');

export class TestModule {
  // path: the module file; one instance per TestModule (a failed call leaves it unusable).
  constructor(path = testModulePath) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), coreImports());
    this.x = instance.exports;
    if (this.x._initialize) this.x._initialize();
    this.out = this.x.zp_output_new();
  }

  #bytes() { return new Uint8Array(this.x.memory.buffer); }

  // Copies `data` (string or Uint8Array) into linear memory: [ptr, len], freed with free().
  put(data) {
    const b = typeof data === 'string' ? enc.encode(data) : data;
    const p = this.x.zp_alloc(b.length);
    if (p === 0) throw new Error(`test module out of memory (${b.length} bytes)`);
    this.#bytes().set(b, p);
    return [p, b.length];
  }
  free([p]) { this.x.zp_free(p); }

  // Options JSON + upstream bytes fed in slices cut at the ascending offsets `cuts` -> the
  // transcript (tests/support/fixture.h), as a Uint8Array.
  fixtureRun(options, bytes, cuts = []) {
    const opt = this.put(options);
    const data = this.put(bytes);
    const c = this.put(new Uint8Array(Uint32Array.from(cuts).buffer));
    try {
      const n = this.x.zp_fixture_run(this.out, ...opt, ...data, c[0], cuts.length);
      const p = this.x.zp_output_data(this.out);
      return this.#bytes().slice(p, p + n);
    } finally {
      for (const a of [opt, data, c]) this.free(a);
    }
  }

  // The benchmark export over bytes already placed with put(): the output byte count, or -1.
  fixtureBench(options, placed, readBytes) {
    const opt = this.put(options);
    try {
      return this.x.zp_fixture_bench(...opt, ...placed, readBytes);
    } finally {
      this.free(opt);
    }
  }
}
