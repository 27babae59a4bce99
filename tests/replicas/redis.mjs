// Debian's redis-server for the replica tests: started on a free port of 127.0.0.1 with no
// persistence, in a temporary folder of its own; readiness polled with a deadline (a PING
// answered); stopped by its own PID (SIGTERM, or SIGKILL for the fault test) and restartable on
// the same port. A missing redis-server is an error, never a skip.
//
//   const redis = await startRedis({password})
//   redis.port, redis.pid, redis.url(password = the server's), redis.kill(sig), redis.restart(),
//   redis.stop(), redis.log()

import { after } from 'node:test';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../e2e/util.mjs';

const START_TIMEOUT_MS = 20_000;
const live = new Set();

after(async () => {
  await Promise.all([...live].map((r) => r.stop()));
});
process.once('exit', () => {
  for (const r of live) r.killNow();
});

// One PING over a fresh connection: resolves with the first reply line, or null when the
// connection is refused, reset or silent for a second.
function ping(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    const done = (v) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), 1000);
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (c) => {
      text += c.toString('latin1');
      const nl = text.indexOf('\r\n');
      if (nl >= 0) done(text.slice(0, nl));
    });
    sock.once('error', () => done(null));
    sock.once('close', () => done(text || null));
  });
}

const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startRedis({ password } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zproxy-replicas-redis-'));
  const port = await freePort();
  const logFile = path.join(dir, 'redis.log');
  let child = null;
  let exited = null;

  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
    '--logfile', logFile, '--daemonize', 'no'];
  if (password) args.push('--requirepass', password);

  const running = () => !!child && child.exitCode === null && child.signalCode === null;

  async function launch() {
    child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
    });
    if (child.pid === undefined) {
      // The spawn failed (ENOENT: not installed); the error event says why.
      const err = await new Promise((resolve) => child.once('error', resolve));
      child = null;
      throw new Error(`cannot start redis-server (apt-get install redis-server): ${err.message}`);
    }
    const end = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (!running()) {
        throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}) before serving:\n${stderr}${log()}`);
      }
      const reply = await ping(port);
      // +PONG, or -NOAUTH when a password is required: either way it serves.
      if (reply && /^(\+PONG|-NOAUTH)/.test(reply)) return;
      if (Date.now() >= end) {
        throw new Error(`redis-server did not answer PING on port ${port} within ${START_TIMEOUT_MS} ms (last: ${reply}):\n${log()}`);
      }
      await tick(25);
    }
  }

  function log() {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  }

  const redis = {
    port,
    dir,
    get pid() {
      return child?.pid;
    },
    get running() {
      return running();
    },
    url: (pw = password) => (pw ? `redis://:${encodeURIComponent(pw)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`),
    log,
    // Sends `sig` to the server's own PID and waits until it has exited.
    async kill(sig = 'SIGKILL', timeoutMs = 10_000) {
      if (!running()) return exited;
      process.kill(child.pid, sig);
      let timer;
      const late = new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs, 'late');
      });
      const r = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (r === 'late') {
        process.kill(child.pid, 'SIGKILL');
        return exited;
      }
      return r;
    },
    // A new server on the same port (and password), empty: nothing was persisted.
    async restart() {
      if (running()) throw new Error('redis-server is still running');
      await launch();
    },
    killNow() {
      if (running()) child.kill('SIGKILL');
    },
    async stop() {
      await redis.kill('SIGTERM');
      live.delete(redis);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(redis);
  try {
    await launch();
  } catch (err) {
    await redis.stop();
    throw err;
  }
  return redis;
}
