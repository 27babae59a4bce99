// The Worker exactly as it ships, for tests that run it under Miniflare: the bundle
// `npx wrangler deploy --dry-run --outdir DIR` writes (wrangler.toml's entry, its modules and the
// Wasm core), and Miniflare options running it as a named Worker with the state store's Durable
// Object binding. Every process is started in its own group and stopped by its own PID.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../e2e/util.mjs';

const BUILD_TIMEOUT_MS = 180_000;

// The environment wrangler runs in offline (docs of the e2e harness: tests/e2e/hosts.mjs).
function wranglerEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(https?|all|no)_proxy$/i.test(k)) delete env[k];
  return {
    ...env,
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    XDG_CONFIG_HOME: path.join(REPO_ROOT, '.config'),
    ZPROXY_WASM_PREBUILT: '1',  // the caller built build-wasm/zproxy.wasm
  };
}

// Runs `npx wrangler deploy --dry-run --outdir DIR`; -> {dir, modules, compatibilityDate,
// remove()}. modules: Miniflare's module list (the entry first).
export async function buildBundle() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zp-bundle-'));
  const child = spawn('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', dir], {
    cwd: REPO_ROOT, env: wranglerEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(resolve, BUILD_TIMEOUT_MS, 'late'); });
  const result = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (result === 'late') {
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    await exited;
  }
  if (result === 'late' || result.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`wrangler deploy --dry-run failed (${JSON.stringify(result)}):\n${output}`);
  }
  const files = readdirSync(dir);
  const main = 'index.js';
  if (!files.includes(main)) throw new Error(`no ${main} in the bundle: ${files.join(' ')}`);
  const modules = [{ type: 'ESModule', path: path.join(dir, main) }];
  for (const f of files) {
    if (f !== main && f.endsWith('.js')) modules.push({ type: 'ESModule', path: path.join(dir, f) });
    if (f.endsWith('.wasm')) modules.push({ type: 'CompiledWasm', path: path.join(dir, f) });
  }
  if (!modules.some((m) => m.type === 'CompiledWasm')) throw new Error(`no Wasm module in the bundle: ${files.join(' ')}`);
  const toml = readFileSync(path.join(REPO_ROOT, 'wrangler.toml'), 'utf8');
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)[1];
  return { dir, modules, compatibilityDate, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// Miniflare options for one Worker of the bundle named `name`, with string `vars`. `objects`:
// the name of the Worker whose ZpState class the binding ZP_STATE uses (itself: it defines the
// objects).
export function workerOptions(bundle, name, vars, objects = name) {
  const binding = { className: 'ZpState', useSQLite: true };
  if (objects !== name) binding.scriptName = objects;
  return {
    name,
    modules: bundle.modules,
    modulesRoot: bundle.dir,
    compatibilityDate: bundle.compatibilityDate,
    bindings: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(v)])),
    durableObjects: { ZP_STATE: binding },
  };
}
