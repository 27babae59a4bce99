// Stream-translation throughput of the Wasm build (build-wasm/zproxy.wasm, as the Worker ships
// it) through worker/core.js's Core.fixtureRun: the same synthetic streams and 16 KiB reads
// as bench/core_bench.cpp, whose `--dump=DIR` writes them. Checks that the output is byte for
// byte the native build's, then times whole runs.
//
//   node bench/wasm_bench.mjs --streams DIR [--wasm FILE] [--min-time SECONDS]
//
// Prints one JSON object: {"guest":{mb_per_s, wall_mb_per_s, runs, ...}, "api":{...}}.
// Throughput counts upstream bytes consumed per second of process CPU time (as Google
// Benchmark's bytes_per_second does by default), in MB of 10^6 bytes; each run includes copying the stream into linear memory and the
// output out of it (what the Worker does too).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Core } from '../worker/core.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const READ_BYTES = 16 << 10;

function args() {
  const out = { wasm: join(root, 'build-wasm', 'zproxy.wasm'), streams: null, minTime: 2 };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i += 2) {
    if (a[i] === '--wasm') out.wasm = a[i + 1];
    else if (a[i] === '--streams') out.streams = a[i + 1];
    else if (a[i] === '--min-time') out.minTime = Number(a[i + 1]);
    else throw new Error(`unknown option ${a[i]}`);
  }
  if (!out.streams) throw new Error('--streams DIR is required (bench/core_bench.cpp --dump=DIR)');
  return out;
}

function measure(core, h, name, dir, minTime) {
  const options = readFileSync(join(dir, `${name}.options.json`), 'utf8');
  const bytes = new Uint8Array(readFileSync(join(dir, `${name}.sse`)));
  const expected = readFileSync(join(dir, `${name}.expected`));
  const cuts = [];
  for (let c = READ_BYTES; c < bytes.length; c += READ_BYTES) cuts.push(c);
  const first = Buffer.from(core.fixtureRun(h, options, bytes, cuts));
  if (!first.equals(expected)) {
    throw new Error(`${name}: Wasm output (${first.length} bytes) differs from the native build's (${expected.length} bytes)`);
  }
  for (let i = 0; i < 3; ++i) core.fixtureRun(h, options, bytes, cuts); // warm-up
  let runs = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let elapsed = 0;
  while (elapsed < minTime || runs < 5) {
    core.fixtureRun(h, options, bytes, cuts);
    ++runs;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  return {
    mb_per_s: (bytes.length * runs) / cpu / 1e6,
    wall_mb_per_s: (bytes.length * runs) / elapsed / 1e6,
    runs,
    seconds: elapsed,
    cpu_seconds: cpu,
    input_bytes: bytes.length,
    output_bytes: first.length,
  };
}

const opt = args();
const core = new Core(new WebAssembly.Module(readFileSync(opt.wasm)));
const h = core.newGateway({}, Date.now(), Date.now());
const result = {};
for (const name of ['guest', 'api']) result[name] = measure(core, h, name, opt.streams, opt.minTime);
console.log(JSON.stringify(result));
