// Load runs on the generator core (CPU 1): wrk closed-loop for saturation, bench/tools/loadgen
// open-loop at fixed rates and closed-loop for many slow streams. Each run is wrapped by
// measure(): CPU time of the proxy under test (process tree, utime+stime), busy fraction of
// both cores from /proc/stat, and validity (generator core at most GEN_BUSY_MAX busy).

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { requestBytes } from './contenders.mjs';
import { busyFraction, cpuSeconds, cpuTicksSeconds, cpuTimes, track, tree } from './procs.mjs';

export const GEN_CPU = 1;
export const GEN_BUSY_MAX = 0.9; // share of CPU 1 busy (/proc/stat)
export const FOREIGN_MAX = 0.25; // share of CPU 0 busy with other work than the proxy
export const LAG_MAX_US = 2000; // p99 of how late the open-loop generator sent

// Why a run cannot be trusted, or null. /proc/stat on this kind of VM under-reports short
// bursts of I/O-bound work, so its busy shares only catch CPU-bound neighbours; the
// generator's own lag behind its schedule catches a starved generator.
export function invalidReason(r) {
  const why = [];
  if (r.gen_core_busy > GEN_BUSY_MAX) why.push(`generator core ${Math.round(r.gen_core_busy * 100)} % busy`);
  const own = r.proxy_cpu_s != null && r.wall_s ? r.proxy_cpu_s / r.wall_s : 0;
  const foreign = (r.proxy_core_busy ?? 0) - own;
  if (foreign > FOREIGN_MAX) why.push(`other work on the proxy core (${Math.round(foreign * 100)} %)`);
  if (r.lag_us?.p99 > LAG_MAX_US) why.push(`generator ${(r.lag_us.p99 / 1000).toFixed(1)} ms behind schedule (p99)`);
  return why.length ? why.join(', ') : null;
}

// Runs a tool to completion on the generator's core. -> {stdout, stderr}
export function run(argv, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = execFile('taskset', ['-c', String(GEN_CPU), ...argv], { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${argv[0]} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
    track(path.basename(argv[0]), child, argv[0]);
  });
}

// Runs `fn` and reports what the proxy (pid, may be null) and the cores did meanwhile.
export async function measure(pid, fn) {
  const before = cpuTimes();
  const cpuBefore = pid ? cpuSeconds(pid) : 0;
  const ticks = () => (pid ? tree(pid).reduce((a, p) => a + cpuTicksSeconds(p), 0) : 0);
  const ticksBefore = ticks();
  const t0 = process.hrtime.bigint();
  const result = await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const after = cpuTimes();
  const proxyCpu = pid ? cpuSeconds(pid) - cpuBefore : null;
  const proxyTicks = pid ? ticks() - ticksBefore : null;
  const out = {
    ...result,
    wall_s: wall,
    proxy_cpu_s: proxyCpu,
    proxy_cpu_ticks_s: proxyTicks, // the same from utime + stime, 10 ms resolution: a cross-check
    proxy_core_busy: busyFraction(before, after, '0'),
    gen_core_busy: busyFraction(before, after, String(GEN_CPU)),
  };
  out.invalid = invalidReason(out);
  out.valid = out.invalid == null;
  return out;
}

function luaString(s) {
  return `[==[${s}]==]`;
}

// Closed loop: `conns` connections on one wrk thread for `seconds`.
export async function wrk(started, { conns, seconds, workDir }) {
  const r = started.request;
  const script = path.join(workDir, `wrk-${process.hrtime.bigint()}.lua`);
  const lines = [`wrk.method = "${r.method}"`, `wrk.body = ${luaString(r.body ?? '')}`];
  for (const [k, v] of Object.entries(r.headers)) lines.push(`wrk.headers[ ${luaString(k)} ] = ${luaString(v)}`);
  fs.writeFileSync(script, `${lines.join('\n')}\n`);
  const { stdout: out, stderr } = await run(
    ['wrk', '-t1', `-c${conns}`, `-d${seconds}s`, '--timeout', '5s', '--latency', '-s', script, `http://127.0.0.1:${r.port}${r.target}`],
    (seconds + 30) * 1000,
  );
  fs.rmSync(script, { force: true });
  if (stderr.trim()) throw new Error(`wrk: ${stderr.trim()}`); // e.g. a script error: wrk would go on with GETs
  const num = (re) => Number(re.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = sock ? sock.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0;
  const requests = num(/(\d+) requests in/);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests,
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    socket_errors: socketErrors,
    errors: num(/Non-2xx or 3xx responses: (\d+)/) + socketErrors,
    lat_p50_ms: wrkMs(/50%\s+([\d.]+)(us|ms|s)/.exec(out)),
    lat_p99_ms: wrkMs(/99%\s+([\d.]+)(us|ms|s)/.exec(out)),
    raw: out,
  };
}

function wrkMs(m) {
  if (!m) return null;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

// bench/tools/loadgen with started.request (and started.extraRequests, round-robin); opts: {rate} or {concurrency}, seconds, warmup, drain, maxConns.
export async function loadgen(started, { bin, rate, concurrency, seconds, warmup, drain = 10, maxConns, workDir }) {
  const files = [started.request, ...(started.extraRequests ?? [])].map((r, i) => {
    const file = path.join(workDir, `req-${process.hrtime.bigint()}-${i}.http`);
    fs.writeFileSync(file, requestBytes(r));
    return file;
  });
  const argv = [bin, '--port', String(started.request.port), '--duration', String(seconds), '--warmup', String(warmup), '--drain', String(drain)];
  for (const f of files) argv.push('--request', f);
  if (rate) argv.push('--rate', String(rate));
  else argv.push('--concurrency', String(concurrency));
  if (maxConns) argv.push('--max-conns', String(maxConns));
  for (const e of started.expect) argv.push('--expect', e);
  const { stdout: out } = await run(argv, (seconds + drain + 30) * 1000);
  for (const f of files) fs.rmSync(f, { force: true });
  return JSON.parse(out);
}
