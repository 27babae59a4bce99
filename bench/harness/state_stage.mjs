// What a shared state store costs a request: z-ai-proxy in API mode (non-streaming) serving a
// client key with a limit (so every request is admitted through the store and settled into
// it), with STATE_STORE=memory and with STATE_STORE=redis against Debian's redis-server, at a
// fixed open-loop rate. Runs are interleaved (memory, redis, memory, ...) and each figure is
// the median of `costReps`. Reported: the proxy's added CPU per request (target <= 20 us), the
// redis-server's own CPU per request beside it, and the added p99 latency (target <= +0.3 ms).

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { CLIENT_KEY, CONTENDERS, WORKLOADS, probe, stopStarted } from './contenders.mjs';
import { GEN_CPU, loadgen, measure, run } from './load.mjs';
import { cpuSeconds, freePort, start, stop, waitForPort } from './procs.mjs';
import { log } from './stages.mjs';

function median(xs) {
  const v = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// redis-server on the generator's core, no persistence, its own directory.
async function startRedis(ctx) {
  const port = await freePort();
  const dir = path.join(ctx.runDir, `redis-${ctx.seq()}`);
  fs.mkdirSync(dir, { recursive: true });
  const argv = ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const proc = start('redis-server', GEN_CPU, argv, { logDir: ctx.logDir });
  await waitForPort(port, proc);
  return { proc, port };
}

// The limited key every request presents: a limit so high it never refuses.
function stateEnv(backend, redisPort) {
  const keys = [{ name: 'bench', key_sha256: createHash('sha256').update(CLIENT_KEY).digest('hex'), rpm: 1_000_000_000 }];
  const env = { API_KEY: '', CLIENT_KEYS: JSON.stringify(keys), STATE_STORE: backend };
  if (backend === 'redis') env.REDIS_URL = `redis://127.0.0.1:${redisPort}`;
  return env;
}

async function oneRun(ctx, p, backend, redis, up) {
  const c = CONTENDERS.find((x) => x.id === 'zproxy');
  const w = { ...WORKLOADS.api_short, env: stateEnv(backend, redis.port) };
  let started;
  try {
    started = await c.start(ctx, w, up);
    const pr = await probe(started);
    if (pr.status !== 200 || pr.answer == null) throw new Error(`wrong answer: HTTP ${pr.status} ${pr.sample}`);
    const redisBefore = cpuSeconds(redis.proc.pid);
    const r = await measure(started.proc.pid, () =>
      loadgen(started, { bin: ctx.loadgenBin, rate: p.stateRate, seconds: p.rateSeconds, warmup: p.rateWarmup, workDir: ctx.runDir }),
    );
    const redisCpu = cpuSeconds(redis.proc.pid) - redisBefore;
    r.cpu_us_per_req = r.ok > 0 ? (r.proxy_cpu_s * 1e6) / r.ok : null;
    r.redis_us_per_req = backend === 'redis' && r.ok > 0 ? (redisCpu * 1e6) / r.ok : null;
    return r;
  } finally {
    await stopStarted(started);
  }
}

export async function stateStage(ctx, p, up) {
  const redis = await startRedis(ctx);
  const runs = { memory: [], redis: [] };
  try {
    for (let rep = 0; rep < p.costReps; ++rep) {
      for (const backend of ['memory', 'redis']) {
        try {
          runs[backend].push(await oneRun(ctx, p, backend, redis, up));
        } catch (e) {
          runs[backend].push({ error: e.message });
          log(`  state ${backend}: FAILED: ${e.message.split('\n')[0]}`);
        }
      }
    }
  } finally {
    await stop(redis.proc);
  }
  const out = { rate: p.stateRate };
  // The floor: what one bare loopback round trip per request costs a client on this machine
  // at the same rate (an echo server on the generator's core, the client on the proxy's).
  try {
    const count = Math.max(200, Math.round(p.stateRate * p.rateSeconds / 2));
    const argv = [ctx.floorBin, '--rate', String(p.stateRate), '--count', String(count), '--reps', String(p.costReps)];
    out.floor = JSON.parse((await run(argv, 600_000)).stdout);
  } catch (e) {
    out.floor = { error: e.message };
    log(`  round-trip floor FAILED: ${e.message.split('\n')[0]}`);
  }
  for (const backend of ['memory', 'redis']) {
    const ok = runs[backend].filter((r) => !r.error);
    out[backend] = {
      cpu_us_per_req: median(ok.map((r) => r.cpu_us_per_req)),
      cpu_us_per_req_all: ok.map((r) => r.cpu_us_per_req),
      p99_us: median(ok.map((r) => r.lat_us?.p99)),
      redis_us_per_req: median(ok.map((r) => r.redis_us_per_req)),
      errors: runs[backend].reduce((a, r) => a + (r.error ? 1 : r.errors_total ?? 0), 0),
      invalid: runs[backend].map((r) => r.invalid ?? r.error).filter(Boolean),
      valid: runs[backend].length > 0 && runs[backend].every((r) => !r.error && r.valid !== false),
    };
  }
  const m = out.memory;
  const r = out.redis;
  out.added_cpu_us = m.cpu_us_per_req != null && r.cpu_us_per_req != null ? r.cpu_us_per_req - m.cpu_us_per_req : null;
  out.added_p99_us = m.p99_us != null && r.p99_us != null ? r.p99_us - m.p99_us : null;
  log(
    `  state @${p.stateRate}/s: memory ${m.cpu_us_per_req?.toFixed(1)} us/req (${m.cpu_us_per_req_all.map((x) => x.toFixed(1)).join(', ')}), ` +
      `redis ${r.cpu_us_per_req?.toFixed(1)} (${r.cpu_us_per_req_all.map((x) => x.toFixed(1)).join(', ')}), ` +
      `added ${out.added_cpu_us?.toFixed(1)} us, redis-server ${r.redis_us_per_req?.toFixed(1)} us/req, ` +
      `added p99 ${out.added_p99_us == null ? '-' : (out.added_p99_us / 1000).toFixed(2)} ms, errors ${m.errors + r.errors}; ` +
      `a bare loopback round trip adds ${out.floor?.added_us ?? '-'} us`,
  );
  return out;
}
