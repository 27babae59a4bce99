// System calls per request, counted with strace attached to a contender's process tree during
// a closed-loop run. Deterministic where CPU time is noisy: how many reads and writes a request
// costs on each side, apart from what finds nothing (EAGAIN) and from the log writes.
//
// Each system call is sorted by what it touched (strace -yy names a socket's endpoints):
//   client_reads / client_writes      sockets whose peer is not the upstream, that moved bytes
//   upstream_reads / upstream_writes  sockets whose peer port is the upstream's
//   eagain                            reads and writes that found nothing (EAGAIN)
//   log_writes                        writes to anything that is not a socket (log files)
//   other                             everything else, by name (epoll_wait, epoll_ctl, ...)

import { spawn } from 'node:child_process';
import fs from 'node:fs';

import { sleep, track, tree } from './procs.mjs';

const READS = new Set(['read', 'readv', 'recvfrom', 'recvmsg', 'recv', 'recvmmsg']);
const WRITES = new Set(['write', 'writev', 'sendto', 'sendmsg', 'send', 'sendmmsg', 'sendfile']);

// Counts from an strace -yy output file (lines may start with a PID).
export function parseStrace(text, upstreamPort) {
  const c = { client_reads: 0, client_writes: 0, upstream_reads: 0, upstream_writes: 0, eagain: 0, log_writes: 0, other: {} };
  const pending = new Map(); // pid -> the unfinished call's beginning
  for (let line of text.split('\n')) {
    const pidMatch = /^(\d+)\s+/.exec(line);
    const pid = pidMatch ? pidMatch[1] : '';
    if (pidMatch) line = line.slice(pidMatch[0].length);
    if (line.endsWith('<unfinished ...>')) {
      pending.set(pid, line);
      continue;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(line);
    if (resumed) {
      line = (pending.get(pid) ?? `${resumed[1]}(`).replace('<unfinished ...>', '') + resumed[2];
      pending.delete(pid);
    }
    const m = /^(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(.*)$/.exec(line);
    if (!m) continue;
    const [, name, args, ret, rest] = m;
    const isRead = READS.has(name);
    const isWrite = WRITES.has(name);
    if (!isRead && !isWrite) {
      c.other[name] = (c.other[name] ?? 0) + 1;
      continue;
    }
    if (ret === '-1' && /EAGAIN|EWOULDBLOCK/.test(rest)) {
      c.eagain += 1;
      continue;
    }
    const fd = /^\d+<((?:TCP|UDP|UNIX)[^\]]*\]|[^>]*)>/.exec(args)?.[1] ?? '';
    const socket = /^(TCP|TCPv6|UNIX|UDP)/.test(fd) || fd.startsWith('socket:');
    if (!socket) {
      if (isWrite) c.log_writes += 1;
      else c.other[name] = (c.other[name] ?? 0) + 1;
      continue;
    }
    const peer = /->[^\]]*:(\d+)\]/.exec(fd)?.[1];
    const upstream = Number(peer) === upstreamPort;
    if (isRead) c[upstream ? 'upstream_reads' : 'client_reads'] += 1;
    else c[upstream ? 'upstream_writes' : 'client_writes'] += 1;
  }
  return c;
}

// Attaches strace to every thread of `pid`'s process tree, runs `fn`, detaches, and returns the
// counts divided by the requests `fn` reports ({ok}).
export async function countSyscalls(pid, upstreamPort, file, fn) {
  // Every thread of every process, without -f: nginx under `strace -f` stalls after each
  // connection's first request.
  const argv = ['-yy', '-s', '0', '-o', file];
  const pids = tree(pid).flatMap((p) => {
    try {
      return fs.readdirSync(`/proc/${p}/task`);
    } catch {
      return [];
    }
  });
  for (const p of pids) argv.push('-p', String(p));
  const child = spawn('strace', argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  track('strace', child, 'strace');
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // Attached once strace said so for every process (and its threads), or after 5 s.
  for (let i = 0; i < 100 && (err.match(/attached/g) ?? []).length < pids.length; ++i) await sleep(50);
  await sleep(200);
  const result = await fn();
  child.kill('SIGINT');
  await exited;
  if (!fs.existsSync(file)) throw new Error(`strace wrote nothing: ${err.trim()}`);
  const counts = parseStrace(fs.readFileSync(file, 'utf8'), upstreamPort);
  fs.rmSync(file, { force: true });
  const n = result.ok || 1;
  const per = (x) => x / n;
  const other = Object.fromEntries(Object.entries(counts.other).map(([k, v]) => [k, per(v)]));
  const total = Object.values(counts.other).reduce((a, b) => a + b, 0) +
    counts.client_reads + counts.client_writes + counts.upstream_reads + counts.upstream_writes + counts.eagain + counts.log_writes;
  return {
    requests: result.ok,
    client_reads: per(counts.client_reads),
    client_writes: per(counts.client_writes),
    upstream_reads: per(counts.upstream_reads),
    upstream_writes: per(counts.upstream_writes),
    eagain: per(counts.eagain),
    log_writes: per(counts.log_writes),
    other,
    total: per(total),
  };
}
