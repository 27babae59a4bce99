// Stream-translation throughput of the Wasm build: the same synthetic streams and 16 KiB reads
// as bench/core_bench.cpp, whose `--dump=DIR` writes them, and the same work per run. It runs
// in the test module (build-wasm/zproxy_test.wasm: the shipped module's core, flags and libc,
// plus the fixture hooks of tests/wasm/fixture_boundary.cpp, which the shipped module lacks).
//
//   node bench/wasm_bench.mjs --streams DIR [--wasm FILE] [--min-time SECONDS] [--with-fixture-run]
//
// First, correctness: the stream through fixtureRun (the golden-fixture export, cut at the same
// 16 KiB offsets) must give byte for byte the native build's output, and the timed export
// below must count exactly as many output bytes.
//
// What is timed, on each side, per run (one whole stream):
//   native (core_bench.cpp, Google Benchmark CPU time): parse the fixture options into a
//     Translator; for each 16 KiB slice of the stream (a view into memory), feed() it, take the
//     emitter's output (a std::string) and add its size to a counter; finish(), transcript(),
//     count it. The output is discarded.
//   Wasm (here, process CPU time): one call into the export zp_fixture_bench through
//     TestModule.fixtureBench (tests/wasm/test_module.mjs), which does exactly the above inside
//     the module; the options (about 120 bytes) are copied into linear memory per run, the
//     2 MiB stream once before timing (native also has it in memory before timing).
// Neither side copies output to a host or socket, so the ratio compares the core's code alone.
// The Worker additionally copies each upstream read into linear memory and each read's output
// out to JavaScript (worker/core.js); that is a few memcpy's per 16 KiB read.
// --with-fixture-run also times fixtureRun as a whole (output concatenated to about 4 MB in the
// module, then copied out to JavaScript): reported as fixture_run_mb_per_s.
//
// Prints one JSON object: {"guest":{mb_per_s, wall_mb_per_s, runs, ...}, "api":{...},
// "guestmessages":{...}, "apimessages":{...}} (the last two: the same streams written in the
// Messages dialect).
// Throughput counts upstream bytes consumed per second of process CPU time (as Google
// Benchmark's bytes_per_second does by default), in MB of 10^6 bytes.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { TestModule, testModulePath } from '../tests/wasm/test_module.mjs';

const READ_BYTES = 16 << 10;

function args() {
  const out = { wasm: testModulePath, streams: null, minTime: 2, withFixtureRun: false };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i += 2) {
    if (a[i] === '--with-fixture-run') {
      out.withFixtureRun = true;
      --i;
    } else if (a[i] === '--wasm') out.wasm = a[i + 1];
    else if (a[i] === '--streams') out.streams = a[i + 1];
    else if (a[i] === '--min-time') out.minTime = Number(a[i + 1]);
    else throw new Error(`unknown option ${a[i]}`);
  }
  if (!out.streams) throw new Error('--streams DIR is required (bench/core_bench.cpp --dump=DIR)');
  return out;
}

// Runs fn until minTime seconds (and at least 5 runs) have passed, after 3 warm-up runs.
function timeRuns(fn, inputBytes, minTime) {
  for (let i = 0; i < 3; ++i) fn();
  let runs = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let elapsed = 0;
  while (elapsed < minTime || runs < 5) {
    fn();
    ++runs;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  return {
    mb_per_s: (inputBytes * runs) / cpu / 1e6,
    wall_mb_per_s: (inputBytes * runs) / elapsed / 1e6,
    runs,
    seconds: elapsed,
    cpu_seconds: cpu,
  };
}

function measure(m, name, dir, minTime, withFixtureRun) {
  const options = readFileSync(join(dir, `${name}.options.json`), 'utf8');
  const bytes = new Uint8Array(readFileSync(join(dir, `${name}.sse`)));
  const expected = readFileSync(join(dir, `${name}.expected`));
  const cuts = [];
  for (let c = READ_BYTES; c < bytes.length; c += READ_BYTES) cuts.push(c);
  const first = Buffer.from(m.fixtureRun(options, bytes, cuts));
  if (!first.equals(expected)) {
    throw new Error(`${name}: Wasm output (${first.length} bytes) differs from the native build's (${expected.length} bytes)`);
  }
  const placed = m.put(bytes);
  try {
    const bench = () => {
      const n = m.fixtureBench(options, placed, READ_BYTES);
      if (n !== expected.length) throw new Error(`${name}: zp_fixture_bench counted ${n} output bytes, expected ${expected.length}`);
    };
    const result = { ...timeRuns(bench, bytes.length, minTime), input_bytes: bytes.length, output_bytes: first.length };
    if (withFixtureRun) {
      result.fixture_run_mb_per_s = timeRuns(() => m.fixtureRun(options, bytes, cuts), bytes.length, minTime).mb_per_s;
    }
    return result;
  } finally {
    m.free(placed);
  }
}

const opt = args();
const m = new TestModule(opt.wasm);
const result = {};
for (const name of ['guest', 'api', 'guestmessages', 'apimessages', 'guestresponses', 'apiresponses']) result[name] = measure(m, name, opt.streams, opt.minTime, opt.withFixtureRun);
console.log(JSON.stringify(result));
