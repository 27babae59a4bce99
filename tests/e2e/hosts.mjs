// Runs the proxy under test on either host, behind one interface:
//   startHost(kind, settings) -> host {kind, url, port, pid, logs, lines, exited, stop(), rss()}
//   runNative(args, settings)  -> {code, signal, stdout, stderr, logs} (one-shot invocations)
// kind "native": build/z-ai-proxy (or $E2E_PROXY_BIN) with the settings as its environment;
// kind "worker": `npx wrangler dev` with one `--var NAME:VALUE` per setting, in its own
// process group. The kind under test comes from $E2E_HOST (default native). Every port is
// picked at run time; readiness is polled with a deadline; processes are stopped by their own
// PID / process group only.

import { after } from 'node:test';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT, freePort, freshFetch, rssBytes, waitFor } from './util.mjs';

export const HOST_KINDS = ['native', 'worker'];
export const HOST_KIND = process.env.E2E_HOST || 'native';
if (!HOST_KINDS.includes(HOST_KIND)) throw new Error(`E2E_HOST must be native or worker (got "${HOST_KIND}")`);

export const NATIVE_BIN = process.env.E2E_PROXY_BIN || path.join(REPO_ROOT, 'build', 'z-ai-proxy');
// Where `npx wrangler dev` runs (its wrangler.toml and node_modules).
export const WORKER_DIR = process.env.E2E_WORKER_DIR || REPO_ROOT;
const START_TIMEOUT_MS = {
  native: Number(process.env.E2E_START_TIMEOUT_MS) || 20_000,
  worker: Number(process.env.E2E_START_TIMEOUT_MS) || 180_000,
};

// The only way a case may be skipped, and only in lifecycle.test.mjs (support.test.mjs enforces
// both): docs/contract.md §11 lets these differ between hosts. Use as the options argument of
// test().
export function hostOnly(kind, reason) {
  return HOST_KIND === kind ? {} : { skip: `${kind} host only: ${reason}` };
}

export function requireNativeBinary() {
  if (!existsSync(NATIVE_BIN)) {
    const shown = path.relative(REPO_ROOT, NATIVE_BIN) || NATIVE_BIN;
    throw new Error(
      `${shown} not found — build it first ` +
        '(cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2)',
    );
  }
}

function requireWorkerSetup() {
  if (!existsSync(path.join(WORKER_DIR, 'wrangler.toml'))) {
    throw new Error('wrangler.toml not found — the Worker host is not set up yet');
  }
  if (!existsSync(path.join(WORKER_DIR, 'node_modules', '.bin', 'wrangler'))) {
    throw new Error('wrangler is not installed — run npm ci first');
  }
}

// The environment a native proxy starts from: nothing that could change its behaviour
// (settings, HTTPS_PROXY) leaks in from the developer's shell.
function nativeBaseEnv() {
  const env = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ']) if (process.env[k]) env[k] = process.env[k];
  return env;
}

// UPSTREAM_CA_FILE has no Worker equivalent on the edge (Cloudflare trusts the public CAs);
// locally, wrangler hands the certificates in NODE_EXTRA_CA_CERTS to workerd, which is how the
// same TLS cases run against `wrangler dev`.
function workerEnv(settings = {}) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  if (settings.UPSTREAM_CA_FILE) env.NODE_EXTRA_CA_CERTS = settings.UPSTREAM_CA_FILE;
  for (const k of Object.keys(env)) if (/^(https?|all|no)_proxy$/i.test(k)) delete env[k];
  return {
    ...env,
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    XDG_CONFIG_HOME: path.join(WORKER_DIR, '.config'),
    // Every instance runs wrangler.toml's [build] command: with the module already built (by
    // whoever runs the suite), that is a no-op instead of parallel builds in one folder.
    ZPROXY_WASM_PREBUILT: '1',
  };
}

// Settings as strings; an undefined value means "leave unset".
const stringify = (settings) =>
  Object.fromEntries(
    Object.entries(settings)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );

const live = new Set();
function killAllNow() {
  for (const h of live) h.killNow();
}
// A test that timed out never reaches its own stop(): whatever still runs when the file's tests
// are over is stopped here, so the file's process can exit.
after(async () => {
  await Promise.all([...live].map((h) => h.stop(5000)));
});
process.once('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    killAllNow();
    process.exit(130);
  });
}

function parseLine(line) {
  try {
    const v = JSON.parse(line);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  } catch {
    // not a JSON log line
  }
  return null;
}

function makeHost(kind, child, port, settings) {
  const lines = []; // every output line, {stream, text}
  const logs = []; // the JSON objects among them (stderr only on the native host)
  const collect = (stream) => {
    createInterface({ input: child[stream] }).on('line', (text) => {
      lines.push({ stream, text });
      const obj = parseLine(text);
      if (obj && (kind === 'worker' || stream === 'stderr')) logs.push(obj);
    });
  };
  collect('stdout');
  collect('stderr');
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const host = {
    kind,
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    child,
    settings,
    lines,
    logs,
    exited,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    tail(n = 30) {
      return lines.slice(-n).map((l) => `  [${l.stream}] ${l.text}`).join('\n');
    },
    signal(sig) {
      if (!host.running) return;
      if (kind === 'worker') process.kill(-child.pid, sig);
      else child.kill(sig);
    },
    killNow() {
      try {
        if (kind === 'worker') process.kill(-child.pid, 'SIGKILL');
        else if (host.running) child.kill('SIGKILL');
      } catch {
        // already gone
      }
    },
    // Graceful stop (SIGTERM native, SIGINT to the wrangler group), SIGKILL after timeoutMs.
    async stop(timeoutMs = kind === 'worker' ? 10_000 : 15_000) {
      if (host.running) {
        try {
          host.signal(kind === 'worker' ? 'SIGINT' : 'SIGTERM');
        } catch {
          // already gone
        }
        let timer;
        const late = new Promise((resolve) => {
          timer = setTimeout(resolve, timeoutMs, 'late');
        });
        if ((await Promise.race([exited, late])) === 'late') host.killNow();
        clearTimeout(timer);
      }
      if (kind === 'worker') host.killNow(); // workerd may outlive the npx wrapper
      live.delete(host);
      return exited;
    },
    // Resident memory of the serving process (native host only; null otherwise).
    rss() {
      return kind === 'native' ? rssBytes(child.pid) : null;
    },
  };
  live.add(host);
  return host;
}

// wrangler reports a failed build and keeps running (waiting for a fix): that is fatal here.
const fatalLine = (host) => host.kind === 'worker' && host.lines.find((l) => /✘ \[ERROR\]/.test(l.text));

async function waitServing(host, timeoutMs) {
  let exit = null;
  host.exited.then((e) => {
    exit = e;
  });
  try {
    await waitFor(
      `${host.kind} host to answer GET /healthz`,
      async () => {
        if (exit || fatalLine(host)) return true;
        const res = await freshFetch(`${host.url}/healthz`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        return res.status === 200;
      },
      { timeoutMs, intervalMs: host.kind === 'worker' ? 200 : 25 },
    );
  } catch (err) {
    throw new Error(`${err.message}\n${host.tail()}`);
  }
  if (exit) {
    throw new Error(`${host.kind} host exited (code ${exit.code}, signal ${exit.signal}) before serving:\n${host.tail()}`);
  }
  if (fatalLine(host)) throw new Error(`wrangler dev failed:\n${host.tail()}`);
}

async function launchNative(settings, opts) {
  requireNativeBinary();
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const env = { ...nativeBaseEnv(), HOST: '127.0.0.1', PORT: String(port), ...stringify(settings) };
    // softFdLimit: start under that soft open-file limit (bash's ulimit, then exec: same PID).
    const child = opts.softFdLimit
      ? spawn('bash', ['-c', 'ulimit -Sn "$1" && exec "$0" "${@:2}"', NATIVE_BIN, String(opts.softFdLimit), ...(opts.args ?? [])], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(NATIVE_BIN, opts.args ?? [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const host = makeHost('native', child, port, env);
    try {
      await waitServing(host, opts.startTimeoutMs ?? START_TIMEOUT_MS.native);
      return host;
    } catch (err) {
      await host.stop(2000);
      // Another process may have taken the free port between the probe and the bind.
      if (attempt < 3 && /in use|EADDRINUSE/i.test(host.tail(5))) continue;
      throw err;
    }
  }
}

async function launchWorker(settings, opts) {
  requireWorkerSetup();
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const inspectorPort = await freePort();
    const args = ['wrangler', 'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
      '--show-interactive-dev-session=false'];
    if (opts.persistTo) args.push('--persist-to', opts.persistTo);
    for (const [k, v] of Object.entries(stringify(settings))) {
      if (k === 'PORT' || k === 'HOST' || k === 'UPSTREAM_CA_FILE') continue; // native only (see workerEnv)
      args.push('--var', `${k}:${v}`);
    }
    const child = spawn('npx', args, { cwd: WORKER_DIR, env: workerEnv(settings), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const host = makeHost('worker', child, port, settings);
    try {
      await waitServing(host, opts.startTimeoutMs ?? START_TIMEOUT_MS.worker);
      return host;
    } catch (err) {
      await host.stop(5000);
      // As for the native host: another process may have taken a probed port. wrangler also
      // sometimes reports a change under watch_dir right after its first build and restarts
      // workerd before the first one has let go of the port ("Address already in use").
      if (attempt < 3 && /Address already in use|EADDRINUSE/i.test(host.tail(200))) continue;
      throw err;
    }
  }
}

// Starts the proxy with `settings` (docs/contract.md §3 names) and waits until /healthz
// answers 200. Options: args (native command line), startTimeoutMs, softFdLimit (native),
// persistTo (worker: the folder of its local storage, Durable Objects included, instead of
// wrangler's default .wrangler/state).
export function startHost(kind = HOST_KIND, settings = {}, opts = {}) {
  return kind === 'worker' ? launchWorker(settings, opts) : launchNative(settings, opts);
}

// Runs the native binary to completion (--help, --version, --healthcheck, bad settings).
export async function runNative(args, settings = {}, { timeoutMs = 15_000 } = {}) {
  requireNativeBinary();
  const env = { ...nativeBaseEnv(), ...stringify(settings) };
  const child = spawn(NATIVE_BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await new Promise((resolve) => child.once('close', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  const logs = stderr.split('\n').filter(Boolean).map((l) => parseLine(l) ?? { unparsed: l });
  return { code, signal, stdout, stderr, logs };
}
