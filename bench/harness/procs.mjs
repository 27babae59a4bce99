// Processes the harness starts: each one pinned to a CPU with taskset, its output sent to a
// log file, its PID remembered so that stopAll() ends exactly what was started (and nothing
// else), also on SIGINT/SIGTERM or an error. Plus readers for /proc: CPU time and memory of a
// process tree, per-CPU busy time.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const live = new Map(); // pid -> {name, child}
const CLK_TCK = 100; // USER_HZ on Linux
let pidFile = null;

// Every process started is also recorded as "PID COMM" lines in `file`, so that bench/run.sh
// can stop survivors should this process die without cleaning up.
export function recordPidsIn(file) {
  pidFile = file;
  fs.writeFileSync(file, '');
}

export function start(name, cpu, argv, { env = {}, logDir, cwd } = {}) {
  const log = fs.openSync(path.join(logDir, `${name}.log`), 'a');
  const child = spawn('taskset', ['-c', String(cpu), ...argv], {
    env: { ...process.env, ...env },
    stdio: ['ignore', log, log],
    cwd,
  });
  fs.closeSync(log);
  const proc = { name, child, pid: child.pid, comm: path.basename(argv[0]).slice(0, 15), exited: null };
  child.on('exit', (code, signal) => {
    proc.exited = { code, signal };
    live.delete(child.pid);
  });
  live.set(child.pid, proc);
  if (pidFile && child.pid) fs.appendFileSync(pidFile, `${child.pid} ${proc.comm}\n`);
  return proc;
}

// Registers a child started elsewhere (execFile) so that stopAll() ends it too.
export function track(name, child, argv0) {
  if (!child.pid) return;
  const proc = { name, child, pid: child.pid, comm: path.basename(argv0).slice(0, 15), exited: null };
  child.on('exit', (code, signal) => {
    proc.exited = { code, signal };
    live.delete(child.pid);
  });
  live.set(child.pid, proc);
  if (pidFile) fs.appendFileSync(pidFile, `${child.pid} ${proc.comm}\n`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { sleep };

// Stops one process by PID: SIGTERM, then SIGKILL after `graceMs`. taskset execs the target,
// so the PID is the target's own.
export async function stop(proc, graceMs = 5000) {
  if (!proc || proc.exited) return;
  try {
    process.kill(proc.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t0 = Date.now();
  while (!proc.exited && Date.now() - t0 < graceMs) await sleep(20);
  if (!proc.exited) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {}
    while (!proc.exited && Date.now() - t0 < graceMs + 2000) await sleep(20);
  }
}

export async function stopAll() {
  await Promise.all([...live.values()].map((p) => stop(p, 3000)));
  if (pidFile) {
    const left = [...live.values()].map((p) => `${p.pid} ${p.comm}\n`).join('');
    fs.writeFileSync(pidFile, left); // what could not be stopped; normally nothing
  }
}

// Resolves once something accepts TCP connections on 127.0.0.1:port.
export async function waitForPort(port, proc, timeoutMs = 20000) {
  const t0 = Date.now();
  for (;;) {
    if (proc?.exited) throw new Error(`${proc.name} exited (${JSON.stringify(proc.exited)}) before listening`);
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${proc?.name ?? 'port'} ${port}: not listening after ${timeoutMs} ms`);
    await sleep(50);
  }
}

// A free loopback port (the kernel's pick; released at once, reused by the caller).
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function children(pid) {
  const out = [];
  let tasks = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      const list = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (list) out.push(...list.split(/\s+/).map(Number));
    } catch {}
  }
  return out;
}

// The PID and all its descendants.
export function tree(pid) {
  const all = [pid];
  for (let i = 0; i < all.length; ++i) all.push(...children(all[i]));
  return all;
}

// CPU time of the process tree in seconds: the sum of every live thread's run time from
// /proc/PID/task/TID/schedstat (nanoseconds), or utime + stime from /proc/PID/stat (all
// threads, dead ones included, 10 ms ticks) where schedstat is missing.
export function cpuSeconds(pid) {
  let total = 0;
  for (const p of tree(pid)) {
    let ns = null;
    try {
      ns = 0;
      for (const t of fs.readdirSync(`/proc/${p}/task`)) {
        ns += Number(fs.readFileSync(`/proc/${p}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      }
    } catch {
      ns = null;
    }
    total += ns != null && !Number.isNaN(ns) ? ns / 1e9 : cpuTicksSeconds(p);
  }
  return total;
}

// utime + stime of one process (all threads), in seconds.
export function cpuTicksSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
  } catch {
    return 0;
  }
}

// {rss, hwm} in KiB, summed over the process tree (VmRSS now; VmHWM: each process's peak).
export function memoryKiB(pid) {
  let rss = 0;
  let hwm = 0;
  for (const p of tree(pid)) {
    try {
      const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
      rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      hwm += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {}
  }
  return { rss, hwm };
}

// Per-CPU jiffies {busy, total} from /proc/stat.
export function cpuTimes() {
  const out = {};
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    const idle = v[3] + (v[4] ?? 0); // idle + iowait
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // without guest (already in user)
    out[m[1]] = { busy: total - idle, total };
  }
  return out;
}

// Busy fraction of `cpu` between two cpuTimes() snapshots.
export function busyFraction(before, after, cpu) {
  const b = before[cpu];
  const a = after[cpu];
  if (!a || !b || a.total === b.total) return 0;
  return (a.busy - b.busy) / (a.total - b.total);
}

export function liveCount() {
  return live.size;
}
