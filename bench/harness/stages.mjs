// The measuring stages. Each returns plain data for results.json; report.mjs turns that into
// RESULTS.md and the plots.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { ANSWER, CONTENDERS, WORKLOADS, probe, stopStarted } from './contenders.mjs';
import { GEN_CPU, loadgen, measure, wrk } from './load.mjs';
import { memoryKiB, sleep, track } from './procs.mjs';

const log = (...a) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);
export { log };

function execJson(argv, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = execFile('taskset', ['-c', '0', ...argv], { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${argv[0]}: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout));
      } catch (e) {
        reject(new Error(`${argv[0]}: unparsable output: ${stdout.slice(0, 500)}`));
      }
    });
    track(path.basename(argv[0]), child, argv[0]);
  });
}

// Core translation throughput, native (Google Benchmark) and Wasm (Node), both on CPU 0.
export async function coreStage(ctx, p) {
  const dir = path.join(ctx.runDir, 'streams');
  fs.mkdirSync(dir, { recursive: true });
  await execJson([ctx.coreBenchBin, `--dump=${dir}`], 60000);
  const gb = await execJson(
    [ctx.coreBenchBin, '--benchmark_format=json', `--benchmark_min_time=${p.coreMinTime}`, `--benchmark_repetitions=${p.coreReps}`],
    600000,
  );
  const native = {};
  for (const b of gb.benchmarks) {
    const name = b.run_name.replace(/^BM_/, '').replace(/Stream$/, '').toLowerCase();
    if (b.run_type === 'aggregate' && b.aggregate_name !== 'median') continue;
    if (b.error_occurred) throw new Error(`core bench ${b.name}: ${b.error_message}`);
    native[name] = { mb_per_s: b.bytes_per_second / 1e6, input_bytes: b.input_bytes, output_bytes: b.output_bytes };
  }
  let wasm = null;
  let wasmError = null;
  if (fs.existsSync(ctx.wasmFile)) {
    try {
      wasm = await execJson(['node', path.join(ctx.benchDir, 'wasm_bench.mjs'), '--streams', dir, '--wasm', ctx.wasmFile, '--min-time', String(p.wasmMinTime)], 600000);
    } catch (e) {
      wasmError = e.message;
    }
  } else {
    wasmError = `${ctx.wasmFile} missing`;
  }
  return { native, wasm, wasm_error: wasmError, context: gb.context };
}

// One contender on one workload: probe, saturation, then the fixed rates below saturation.
async function runContender(ctx, p, w, wid, c, up) {
  const res = { contender: c.id, workload: wid, rates: [] };
  let started;
  try {
    started = await c.start(ctx, w, up);
    const pr = await probe(started);
    res.probe = { status: pr.status, answer_ok: pr.status === 200 && pr.answer === ANSWER, answer: pr.answer, sample: pr.answer === ANSWER ? undefined : pr.sample };
    if (!res.probe.answer_ok) throw new Error(`${c.id}/${wid}: wrong answer: HTTP ${pr.status} ${pr.sample}`);
    const pid = started.proc?.pid ?? null;
    res.saturation = await measure(pid, () => wrk(started, { conns: p.satConns, seconds: p.satSeconds, workDir: ctx.runDir }));
    delete res.saturation.raw;
    const sat = res.saturation.rps;
    for (const rate of p.rates) {
      if (rate > p.rateCeiling * sat) {
        res.rates.push({ rate, skipped: `above ${p.rateCeiling}x saturation (${Math.round(sat)} req/s)` });
        continue;
      }
      const r = await measure(pid, () =>
        loadgen(started, { bin: ctx.loadgenBin, rate, seconds: p.rateSeconds, warmup: p.rateWarmup, workDir: ctx.runDir }),
      );
      r.cpu_us_per_req = pid && r.ok > 0 ? (r.proxy_cpu_s * 1e6) / r.ok : null;
      res.rates.push(r);
      log(`  ${c.id} ${wid} @${rate}/s: p50 ${ms(r.lat_us?.p50)} p99 ${ms(r.lat_us?.p99)} ms, cpu ${fmt(r.cpu_us_per_req)} us/req, errors ${r.errors_total}, gen core ${pct(r.gen_core_busy)}`);
    }
    log(`  ${c.id} ${wid}: saturation ${Math.round(sat)} req/s (errors ${res.saturation.errors}, proxy core ${pct(res.saturation.proxy_core_busy)}, gen core ${pct(res.saturation.gen_core_busy)})`);
  } catch (e) {
    res.error = e.message;
    log(`  ${c.id} ${wid}: FAILED: ${e.message.split('\n')[0]}`);
  } finally {
    await stopStarted(started);
  }
  return res;
}

export async function loadStage(ctx, p, up) {
  const out = [];
  for (const [wid, w] of Object.entries(WORKLOADS)) {
    log(`workload ${wid} (${w.label})`);
    for (const c of CONTENDERS) {
      if (!c.serves(w)) continue;
      out.push(await runContender(ctx, p, w, wid, c, up));
    }
  }
  return out;
}

// Peak RSS idle and with `p.streams` concurrent slow streams from the paced upstream.
export async function rssStage(ctx, p, paced) {
  const cases = [
    ['nginx', 'api_stream'],
    ['zproxy', 'api_stream'],
    ['zproxy', 'guest_stream'],
    ['portkey', 'api_stream'],
  ];
  const out = [];
  for (const [cid, wid] of cases) {
    const c = CONTENDERS.find((x) => x.id === cid);
    const w = { ...WORKLOADS[wid], base: '/api/paas/v4' };
    const res = { contender: cid, workload: wid, streams: p.streams };
    let started;
    try {
      started = await c.start(ctx, w, paced);
      started.expect = ['word ', w.mode === 'guest' && cid === 'nginx' ? '"phase": "done"' : 'data: [DONE]'];
      await sleep(500);
      res.idle_hwm_kib = memoryKiB(started.proc.pid).hwm;
      const samples = [];
      const sampler = setInterval(() => samples.push(memoryKiB(started.proc.pid).rss), 200);
      const r = await measure(started.proc.pid, () =>
        loadgen(started, { bin: ctx.loadgenBin, concurrency: p.streams, seconds: p.streamSeconds, warmup: Math.min(1, p.streamSeconds / 4), maxConns: p.streams, workDir: ctx.runDir, drain: 30 }),
      ).finally(() => clearInterval(sampler));
      res.load = pick(r, ['ok', 'errors_total', 'errors', 'first_error', 'max_inflight', 'ttfb_us', 'lat_us', 'lag_us', 'wall_s', 'proxy_cpu_s', 'proxy_core_busy', 'gen_core_busy', 'invalid', 'valid']);
      res.peak_hwm_kib = memoryKiB(started.proc.pid).hwm;
      res.peak_rss_sampled_kib = Math.max(0, ...samples);
      log(`  ${cid} ${wid}: idle ${mb(res.idle_hwm_kib)} MB, ${p.streams} streams ${mb(res.peak_hwm_kib)} MB peak, ok ${r.ok}, errors ${r.errors_total}, max in flight ${r.max_inflight}`);
    } catch (e) {
      res.error = e.message;
      log(`  ${cid} ${wid}: FAILED: ${e.message.split('\n')[0]}`);
    } finally {
      await stopStarted(started);
    }
    out.push(res);
  }
  return out;
}

// Steady open-loop load on z-ai-proxy (API mode: streaming and non-streaming requests
// alternating) for p.soakSeconds, RSS sampled every p.soakSampleSeconds.
export async function soakStage(ctx, p, up) {
  const c = CONTENDERS.find((x) => x.id === 'zproxy');
  const w = { ...WORKLOADS.api_stream, base: '/api/paas/v4' };
  const res = { seconds: p.soakSeconds, rate: p.soakRate, samples: [] };
  let started;
  try {
    started = await c.start(ctx, w, up);
    const short = { ...started.request, body: started.request.body.replace(',"stream":true', '') };
    started.extraRequests = [short];
    started.expect = ['of France.'];
    const pid = started.proc.pid;
    const t0 = Date.now();
    const sample = () => res.samples.push({ t_s: (Date.now() - t0) / 1000, rss_kib: memoryKiB(pid).rss });
    sample();
    const timer = setInterval(sample, p.soakSampleSeconds * 1000);
    const r = await measure(pid, () =>
      loadgen(started, { bin: ctx.loadgenBin, rate: p.soakRate, seconds: p.soakSeconds, warmup: Math.min(5, p.soakSeconds / 4), workDir: ctx.runDir }),
    ).finally(() => clearInterval(timer));
    sample();
    res.load = pick(r, ['ok', 'errors_total', 'first_error', 'max_inflight', 'lat_us', 'lag_us', 'wall_s', 'proxy_cpu_s', 'proxy_core_busy', 'gen_core_busy', 'invalid', 'valid']);
    res.load.cpu_us_per_req = r.ok ? (r.proxy_cpu_s * 1e6) / r.ok : null;
    res.hwm_kib = memoryKiB(pid).hwm;
    log(`  soak: ${r.ok} requests, errors ${r.errors_total}, RSS ${mb(res.samples[0].rss_kib)} -> ${mb(res.samples.at(-1).rss_kib)} MB`);
  } catch (e) {
    res.error = e.message;
    log(`  soak FAILED: ${e.message.split('\n')[0]}`);
  } finally {
    await stopStarted(started);
  }
  return res;
}

const pick = (o, keys) => Object.fromEntries(keys.map((k) => [k, o[k]]));
const ms = (us) => (us == null ? '-' : (us / 1000).toFixed(2));
const fmt = (x) => (x == null ? '-' : x.toFixed(1));
const pct = (x) => `${Math.round((x ?? 0) * 100)}%`;
const mb = (kib) => ((kib * 1024) / 1e6).toFixed(1);
export { GEN_CPU };
