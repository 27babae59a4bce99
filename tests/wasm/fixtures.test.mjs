// Golden fixtures through the exact .wasm the Worker ships (build-wasm/zproxy.wasm), driven via
// its extern "C" boundary: whole, at every split point, and one byte at a time.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Core } from '../../worker/core.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const wasmPath = join(root, 'build-wasm', 'zproxy.wasm');

function fixtures() {
  const out = [];
  for (const mode of ['guest', 'api']) {
    const dir = join(root, 'tests', 'fixtures', mode);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const d = join(dir, name);
      if (existsSync(join(d, 'options.json'))) out.push(d);
    }
  }
  return out;
}

test('golden fixtures through the Worker wasm', () => {
  assert.ok(existsSync(wasmPath), `${wasmPath} missing: run scripts/build-wasm.sh`);
  const core = new Core(new WebAssembly.Module(readFileSync(wasmPath)));
  const h = core.newGateway({}, Date.now(), Date.now());
  const dirs = fixtures();
  assert.ok(dirs.length > 0, 'no fixtures found');
  for (const d of dirs) {
    const options = readFileSync(join(d, 'options.json'), 'utf8');
    const up = existsSync(join(d, 'upstream.sse')) ? 'upstream.sse' : 'upstream.json';
    const bytes = readFileSync(join(d, up));
    const expected = readFileSync(join(d, 'expected.out'));
    const run = (cuts) => Buffer.from(core.fixtureRun(h, options, bytes, cuts));
    assert.deepEqual(run([]), expected, `${d}: whole`);
    for (let cut = 1; cut < bytes.length; cut++) {
      const got = run([cut]);
      if (!got.equals(expected)) assert.fail(`${d}: split at ${cut}\n${got}\n---\n${expected}`);
    }
    const every = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    assert.deepEqual(run(every), expected, `${d}: one byte at a time`);
  }
});
