// CPU per request of z-ai-proxy beside the nginx hop, in the two shapes the targets name, and
// the system calls behind it:
//   burst  closed loop, `burstConns` connections, every answer sent by the upstream in one
//          write (the canned nginx upstream); also over a TLS upstream (reported, not gated)
//   paced  open loop at fixed rates (the fixed-rate load of the load stage, repeated here)
// Each point is the median of `costReps` repetitions, the contenders interleaved (nginx,
// z-ai-proxy, nginx, ...) so that a slow phase of the machine hits both alike.

import path from 'node:path';

import { CONTENDERS, WORKLOADS, probe, stopStarted } from './contenders.mjs';
import { loadgen, measure } from './load.mjs';
import { log } from './stages.mjs';
import { countSyscalls } from './syscalls.mjs';

const PAIR = ['nginx', 'zproxy'];
const TLS_WORKLOADS = ['api_short', 'api_stream'];

function median(xs) {
  const v = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

async function startChecked(ctx, c, w, up) {
  const started = await c.start(ctx, w, up);
  const pr = await probe(started);
  if (pr.status !== 200 || pr.answer == null) {
    await stopStarted(started);
    throw new Error(`${c.id}: wrong answer: HTTP ${pr.status} ${pr.sample}`);
  }
  return started;
}

// One measured run of `load` against a fresh instance of contender `cid`.
async function oneRun(ctx, cid, w, up, load) {
  const c = CONTENDERS.find((x) => x.id === cid);
  let started;
  try {
    started = await startChecked(ctx, c, w, up);
    const pid = started.proc.pid;
    const r = await measure(pid, () => loadgen(started, { bin: ctx.loadgenBin, workDir: ctx.runDir, ...load }));
    r.cpu_us_per_req = r.ok > 0 ? (r.proxy_cpu_s * 1e6) / r.ok : null;
    return r;
  } finally {
    await stopStarted(started);
  }
}

// Interleaved repetitions of one load shape for the pair; {nginx: {...}, zproxy: {...}}.
async function pairRuns(ctx, p, w, up, load, what) {
  const runs = { nginx: [], zproxy: [] };
  for (let rep = 0; rep < p.costReps; ++rep) {
    for (const cid of PAIR) {
      try {
        runs[cid].push(await oneRun(ctx, cid, w, up, load));
      } catch (e) {
        runs[cid].push({ error: e.message });
        log(`  ${cid} ${what}: FAILED: ${e.message.split('\n')[0]}`);
      }
    }
  }
  const out = {};
  for (const cid of PAIR) {
    const ok = runs[cid].filter((r) => !r.error);
    out[cid] = {
      cpu_us_per_req: median(ok.map((r) => r.cpu_us_per_req)),
      cpu_us_per_req_all: ok.map((r) => r.cpu_us_per_req),
      added_p99_us: median(ok.map((r) => r.lat_us?.p99)),
      errors: runs[cid].reduce((a, r) => a + (r.error ? 1 : r.errors_total ?? 0), 0),
      invalid: runs[cid].map((r) => r.invalid).filter(Boolean),
      valid: runs[cid].every((r) => !r.error && r.valid !== false),
    };
  }
  const z = out.zproxy.cpu_us_per_req;
  const n = out.nginx.cpu_us_per_req;
  log(`  ${what}: nginx ${n?.toFixed(1)} (${out.nginx.cpu_us_per_req_all.map((x) => x.toFixed(1)).join(', ')}), z-ai-proxy ${z?.toFixed(1)} (${out.zproxy.cpu_us_per_req_all.map((x) => x.toFixed(1)).join(', ')}) CPU-us/req = ${z && n ? (z / n).toFixed(2) : '-'}x`);
  return out;
}

// System calls per request for each contender of the pair, one closed-loop run each.
async function syscallRuns(ctx, p, w, up, what) {
  const out = {};
  for (const cid of PAIR) {
    const c = CONTENDERS.find((x) => x.id === cid);
    let started;
    try {
      started = await startChecked(ctx, c, w, up);
      const file = path.join(ctx.runDir, `strace-${ctx.seq()}.txt`);
      const load = { bin: ctx.loadgenBin, workDir: ctx.runDir, concurrency: p.burstConns, warmup: 0 };
      // Warm first (upstream connections open, pools filled): a fresh nginx hop under strace
      // stalls after each connection's first request.
      await loadgen(started, { ...load, seconds: 0.5 });
      out[cid] = await countSyscalls(started.proc.pid, up.port, file, () => loadgen(started, { ...load, seconds: p.straceSeconds }));
      const s = out[cid];
      log(`  ${cid} ${what} syscalls/req: client r ${s.client_reads.toFixed(2)} w ${s.client_writes.toFixed(2)}, upstream r ${s.upstream_reads.toFixed(2)} w ${s.upstream_writes.toFixed(2)}, EAGAIN ${s.eagain.toFixed(2)}, log ${s.log_writes.toFixed(3)}, total ${s.total.toFixed(2)} (${s.requests} requests)`);
    } catch (e) {
      out[cid] = { error: e.message };
      log(`  ${cid} ${what} syscalls: FAILED: ${e.message.split('\n')[0]}`);
    } finally {
      await stopStarted(started);
    }
  }
  return out;
}

export async function burstStage(ctx, p, up, upTls) {
  const out = [];
  const cases = Object.keys(WORKLOADS).map((wid) => ({ wid, tls: false }));
  if (upTls) cases.push(...TLS_WORKLOADS.map((wid) => ({ wid, tls: true })));
  for (const { wid, tls } of cases) {
    const w = { ...WORKLOADS[wid], tls };
    const u = tls ? upTls : up;
    const what = `${wid}${tls ? ' (TLS upstream)' : ''} burst`;
    log(`${what}: ${p.burstConns} connections, ${p.costReps} interleaved repetitions`);
    const load = { concurrency: p.burstConns, seconds: p.burstSeconds, warmup: p.burstWarmup };
    const cpu = await pairRuns(ctx, p, w, u, load, what);
    const syscalls = await syscallRuns(ctx, p, w, u, what);
    out.push({ workload: wid, tls, cpu, syscalls });
  }
  return out;
}

export async function pacedStage(ctx, p, up) {
  const out = [];
  for (const wid of Object.keys(WORKLOADS)) {
    for (const rate of p.pacedRates) {
      const what = `${wid} paced @${rate}/s`;
      const load = { rate, seconds: p.pacedSeconds, warmup: p.pacedWarmup };
      out.push({ workload: wid, rate, cpu: await pairRuns(ctx, p, WORKLOADS[wid], up, load, what) });
    }
  }
  return out;
}
