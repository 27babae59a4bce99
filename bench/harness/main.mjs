// The benchmark run: starts the fake upstreams on the generator core, runs the stages, writes
// results.json, RESULTS.md and the plots, and stops every process it started (also on error,
// SIGINT or SIGTERM, and after a watchdog time). Called by bench/run.sh.
//
//   node bench/harness/main.mjs --out DIR --zproxy BIN --loadgen BIN --paced BIN
//        --core-bench BIN --wasm FILE [--smoke] [--soak-seconds N] [--stages a,b,...]
//        [--md FILE] [--plot FILE] [--soak-plot FILE]
// Stages: core, load, burst, paced, state, rss, soak (default: all).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { nginxArgv, upstreamConf, writeConf } from './nginx.mjs';
import { freePort, liveCount, recordPidsIn, start, stopAll, waitForPort } from './procs.mjs';
import { writeReport } from './report.mjs';
import { burstStage, pacedStage } from './costs.mjs';
import { coreStage, loadStage, log, rssStage, soakStage } from './stages.mjs';
import { stateStage } from './state_stage.mjs';

const BENCH = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const GEN_CPU = 1;

const FULL = {
  satConns: 50,
  satSeconds: 10,
  rates: [250, 500, 1000, 2000, 4000],
  rateSeconds: 10,
  rateWarmup: 2,
  rateCeiling: 0.9, // fixed rates above this share of saturation are skipped
  headlineRate: 1000,
  targetRate: 2000,
  streams: 1000,
  streamChunks: 20,
  streamIntervalMs: 250,
  streamSeconds: 20,
  soakSeconds: 600,
  soakRate: 1000,
  soakSampleSeconds: 5,
  coreMinTime: 2,
  coreReps: 3,
  wasmMinTime: 5,
  burstConns: 32,
  burstSeconds: 6,
  burstWarmup: 1,
  straceSeconds: 3,
  costReps: 3,
  pacedRates: [1000, 2000, 4000],
  pacedSeconds: 6,
  pacedWarmup: 1,
  stateRate: 1000,
};

const SMOKE = {
  ...FULL,
  satConns: 16,
  satSeconds: 1,
  rates: [500],
  rateSeconds: 1.5,
  rateWarmup: 0.5,
  headlineRate: 500,
  streams: 100,
  streamChunks: 5,
  streamIntervalMs: 100,
  streamSeconds: 2,
  soakSeconds: 4,
  soakRate: 200,
  soakSampleSeconds: 0.5,
  coreMinTime: 0.05,
  coreReps: 1,
  wasmMinTime: 0.2,
  burstSeconds: 1,
  burstWarmup: 0.2,
  straceSeconds: 1,
  costReps: 1,
  pacedRates: [500],
  pacedSeconds: 1,
  pacedWarmup: 0.2,
  stateRate: 200,
};

function parseArgs() {
  const a = process.argv.slice(2);
  const o = { smoke: false, stages: ['core', 'load', 'burst', 'paced', 'state', 'rss', 'soak'] };
  for (let i = 0; i < a.length; ++i) {
    const k = a[i];
    const v = () => a[++i];
    if (k === '--smoke') o.smoke = true;
    else if (k === '--out') o.out = v();
    else if (k === '--zproxy') o.zproxy = v();
    else if (k === '--loadgen') o.loadgen = v();
    else if (k === '--paced') o.paced = v();
    else if (k === '--floor') o.floor = v();
    else if (k === '--core-bench') o.coreBench = v();
    else if (k === '--wasm') o.wasm = v();
    else if (k === '--soak-seconds') o.soakSeconds = Number(v());
    else if (k === '--streams') o.streams = Number(v());
    else if (k === '--stages') o.stages = v().split(',');
    else if (k === '--md') o.md = v();
    else if (k === '--plot') o.plot = v();
    else if (k === '--soak-plot') o.soakPlot = v();
    else throw new Error(`unknown option ${k}`);
  }
  for (const k of ['out', 'zproxy', 'loadgen', 'paced', 'floor', 'coreBench', 'wasm']) {
    if (!o[k]) throw new Error(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is required`);
  }
  return o;
}

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    return `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() || 'unavailable';
  }
}

function machine() {
  const lscpu = sh('lscpu', []);
  const field = (name) => new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(lscpu)?.[1] ?? '?';
  const pkg = (name) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(BENCH, 'node_modules', ...name.split('/'), 'package.json'), 'utf8')).version;
    } catch {
      return 'not installed';
    }
  };
  return {
    cpu: field('Model name'),
    cpus: os.cpus().length,
    mhz: field('CPU MHz'),
    mem_gib: (os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
    os: sh('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"']),
    node: process.version,
    nginx: sh('sh', ['-c', 'nginx -v 2>&1']).replace('nginx version: ', ''),
    wrk: sh('sh', ['-c', 'wrk -v 2>&1 | head -1']),
    gxx: sh('sh', ['-c', 'g++ --version | head -1']),
    portkey: pkg('@portkey-ai/gateway'),
    hono_node_server: pkg('@hono/node-server'),
    commit: sh('git', ['-C', BENCH, 'rev-parse', '--short', 'HEAD']),
    dirty: sh('git', ['-C', BENCH, 'status', '--porcelain', '--', '../src', '../native']) !== '',
    loadavg: os.loadavg().map((x) => x.toFixed(2)),
  };
}

// A self-signed certificate for 127.0.0.1 (the TLS upstream); null when openssl fails.
function selfSigned(dir) {
  const cert = path.join(dir, 'upstream-cert.pem');
  const key = path.join(dir, 'upstream-key.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    return { cert, key };
  } catch {
    return null;
  }
}

async function startUpstreams(ctx, p) {
  const port = await freePort();
  const prefix = path.join(ctx.runDir, 'upstream');
  fs.mkdirSync(prefix, { recursive: true });
  const pair = selfSigned(prefix);
  const tls = pair ? { ...pair, port: await freePort() } : null;
  const conf = writeConf(prefix, upstreamConf(prefix, port, tls));
  const proc = start('upstream-nginx', GEN_CPU, nginxArgv(prefix, conf), { logDir: ctx.logDir });
  await waitForPort(port, proc);
  if (tls) await waitForPort(tls.port, proc);
  const pacedPort = await freePort();
  const paced = start(
    'upstream-paced',
    GEN_CPU,
    [ctx.pacedBin, '--port', String(pacedPort), '--chunks', String(p.streamChunks), '--interval-ms', String(p.streamIntervalMs)],
    { logDir: ctx.logDir },
  );
  await waitForPort(pacedPort, paced);
  return {
    canned: { port, proc },
    cannedTls: tls ? { port: tls.port, proc, tls } : null,
    paced: { port: pacedPort, proc: paced },
  };
}

async function main() {
  const o = parseArgs();
  const p = { ...(o.smoke ? SMOKE : FULL) };
  if (o.soakSeconds > 0) p.soakSeconds = o.soakSeconds;
  if (o.streams > 0) p.streams = o.streams;
  const runDir = path.resolve(o.out);
  fs.rmSync(runDir, { recursive: true, force: true });
  const logDir = path.join(runDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  recordPidsIn(path.join(runDir, 'pids'));
  let seq = 0;
  const ctx = {
    runDir,
    logDir,
    benchDir: BENCH,
    zproxyBin: path.resolve(o.zproxy),
    loadgenBin: path.resolve(o.loadgen),
    pacedBin: path.resolve(o.paced),
    floorBin: path.resolve(o.floor),
    coreBenchBin: path.resolve(o.coreBench),
    wasmFile: path.resolve(o.wasm),
    seq: () => ++seq,
  };
  const results = { mode: o.smoke ? 'smoke' : 'full', params: p, started: new Date().toISOString(), machine: machine() };
  log(`${results.mode} run; load average ${results.machine.loadavg.join(' ')}; output in ${runDir}`);
  if (o.stages.includes('core')) {
    log('core translation throughput');
    try {
      results.core = await coreStage(ctx, p);
    } catch (e) {
      results.core = { error: e.message };
      log(`  core FAILED: ${e.message.split('\n')[0]}`);
    }
  }
  const up = await startUpstreams(ctx, p);
  if (o.stages.includes('load')) results.load = await loadStage(ctx, p, up.canned);
  if (o.stages.includes('burst')) results.burst = await burstStage(ctx, p, up.canned, up.cannedTls);
  if (o.stages.includes('paced')) results.paced = await pacedStage(ctx, p, up.canned);
  if (o.stages.includes('state')) {
    log(`state store: a limited key, memory vs redis, @${p.stateRate}/s`);
    results.state = await stateStage(ctx, p, up.canned);
  }
  if (o.stages.includes('rss')) {
    log(`memory with ${p.streams} concurrent slow streams`);
    results.rss = await rssStage(ctx, p, up.paced);
  }
  if (o.stages.includes('soak')) {
    log(`soak: ${p.soakSeconds} s at ${p.soakRate} req/s`);
    results.soak = await soakStage(ctx, p, up.canned);
  }
  results.finished = new Date().toISOString();
  results.machine.loadavg_end = os.loadavg().map((x) => x.toFixed(2));
  await stopAll();
  fs.writeFileSync(path.join(runDir, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  const report = writeReport(results, {
    md: o.md ?? path.join(runDir, 'RESULTS.md'),
    plot: o.plot ?? path.join(runDir, 'latency_vs_rate.png'),
    soakPlot: o.soakPlot ?? path.join(runDir, 'soak_rss.png'),
    workDir: runDir,
  });
  log(`wrote ${report.md}, ${report.plot ?? '(no plot)'}; ${report.failures} failure(s)`);
  return report.failures === 0 ? 0 : 1;
}

const watchdogS = Number(process.env.BENCH_WATCHDOG_S ?? 0);
let watchdog;
if (watchdogS > 0) {
  watchdog = setTimeout(async () => {
    console.error(`bench: watchdog: still running after ${watchdogS} s, stopping`);
    await stopAll();
    process.exit(3);
  }, watchdogS * 1000);
  watchdog.unref();
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    console.error(`bench: ${sig}: stopping ${liveCount()} process(es)`);
    await stopAll();
    process.exit(130);
  });
}

main()
  .then((rc) => process.exit(rc))
  .catch(async (e) => {
    console.error(`bench: ${e.stack ?? e.message}`);
    await stopAll();
    process.exit(1);
  });
