// The pinned Codex CLI (`@openai/codex`), run against a proxy (or the recorder's capture server).
//
// `@openai/codex` is a small Node launcher (bin/codex.js) that picks the native binary of its
// platform optionalDependency (`@openai/codex-linux-x64` is `@openai/codex@<v>-linux-x64`) and
// execs it: `vendor/<target triple>/bin/codex`, a static musl build on Linux. The tests run that
// binary directly: no Node launcher, no install scripts. No dependency on the test harness, so
// tests/fixtures/codex/record.mjs can use it outside `node --test`.
//
// Each run gets a throw-away CODEX_HOME whose config.toml names one provider, `zproxy`, with
// `wire_api = "responses"` and the server's `/v1` base URL (Codex appends `/responses`), its
// key in the environment variable ZPROXY_API_KEY (sent as `Authorization: Bearer`), no retries
// of its own (a proxy failure shows at once), no telemetry, analytics, feedback, update check
// or history, and the `danger-full-access` sandbox with approvals `never`: the run is
// unattended, and as root in a container Codex's own sandbox (bubblewrap) cannot start.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export const CODEX_PROVIDER = 'zproxy';
export const CODEX_KEY_ENV = 'ZPROXY_API_KEY';

const TARGETS = {
  'linux-x64': ['@openai/codex-linux-x64', 'x86_64-unknown-linux-musl'],
  'linux-arm64': ['@openai/codex-linux-arm64', 'aarch64-unknown-linux-musl'],
  'darwin-x64': ['@openai/codex-darwin-x64', 'x86_64-apple-darwin'],
  'darwin-arm64': ['@openai/codex-darwin-arm64', 'aarch64-apple-darwin'],
};

// Absolute path of the pinned Codex native binary. Throws (never skips) when missing.
export function codexBinary() {
  const target = TARGETS[`${process.platform}-${process.arch}`];
  if (!target) throw new Error(`no Codex binary for ${process.platform}-${process.arch}`);
  const [pkg, triple] = target;
  const require = createRequire(import.meta.url);
  let dir;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(`${pkg} is not installed: run npm ci (Codex ships its binary in that optional dependency)`);
  }
  const bin = path.join(dir, 'vendor', triple, 'bin', 'codex');
  if (!existsSync(bin)) throw new Error(`${bin} not found: reinstall with npm ci`);
  return bin;
}

// The pinned version (package.json's devDependencies).
export function pinnedCodexVersion() {
  const require = createRequire(import.meta.url);
  return JSON.parse(readFileSync(require.resolve('@openai/codex/package.json'), 'utf8')).version;
}

const toml = (v) => JSON.stringify(v); // TOML basic strings share JSON's escapes for our values

// config.toml for a run against `baseUrl` (the server's origin; Codex is given `<baseUrl>/v1`).
export function codexConfig({ baseUrl, model = 'glm-4.6', extra = '', requestMaxRetries = 0, streamMaxRetries = 0 }) {
  return `# Written by tests/e2e/codex_cli.mjs for one run.
model = ${toml(model)}
model_provider = ${toml(CODEX_PROVIDER)}
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false
${extra}
[model_providers.${CODEX_PROVIDER}]
name = "z-ai-proxy"
base_url = ${toml(`${baseUrl}/v1`)}
env_key = ${toml(CODEX_KEY_ENV)}
wire_api = "responses"
request_max_retries = ${requestMaxRetries}
stream_max_retries = ${streamMaxRetries}
stream_idle_timeout_ms = 60000

[analytics]
enabled = false

[feedback]
enabled = false

[otel]
exporter = "none"

[history]
persistence = "none"
`;
}

// The environment Codex runs with: nothing from the developer's shell but PATH and the locale;
// a throw-away HOME and CODEX_HOME; the key in CODEX_KEY_ENV.
export function codexEnv({ home, codexHome, key, extra = {} }) {
  const env = {};
  for (const k of ['PATH', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR']) if (process.env[k]) env[k] = process.env[k];
  Object.assign(env, { HOME: home, CODEX_HOME: codexHome, NO_COLOR: '1', RUST_LOG: 'error' });
  if (key !== undefined) env[CODEX_KEY_ENV] = key;
  return { ...env, ...extra };
}

// Runs `codex exec --json <prompt>` in `cwd` (default: a fresh temporary folder) with a
// temporary HOME and CODEX_HOME (config.toml from codexConfig). Killed by its own PID after
// timeoutMs: Codex retries a refused connection for ever, so the bound is what ends a run
// against a dead server. -> {code, signal, timedOut, stdout, stderr, events (the JSONL lines),
// lastMessage (the -o file), cwd, elapsedMs, cleanup()}
export async function runCodex({
  baseUrl,
  prompt,
  key,
  model,
  cwd,
  files = {},
  config,
  configExtra = '',
  retries = {},
  args = [],
  env: extraEnv = {},
  timeoutMs = 90_000,
}) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'zproxy-codex-'));
  const home = path.join(tmp, 'home');
  const codexHome = path.join(tmp, 'codex-home');
  const work = cwd ?? path.join(tmp, 'work');
  for (const d of [home, codexHome, work]) mkdirSync(d, { recursive: true });
  writeFileSync(path.join(codexHome, 'config.toml'), config ?? codexConfig({ baseUrl, model, extra: configExtra, ...retries }));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(work, name), content);
  const lastFile = path.join(tmp, 'last-message.txt');
  const argv = ['exec', '--json', '--skip-git-repo-check', '--ephemeral', '--color', 'never', '-C', work, '-o', lastFile, ...args, prompt];
  const started = Date.now();
  const child = spawn(codexBinary(), argv, { cwd: work, env: codexEnv({ home, codexHome, key, extra: extraEnv }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const [code, signal] = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve([c, s]));
  }).finally(() => clearTimeout(timer));
  const events = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line));
    } catch {
      // not an event line
    }
  }
  let lastMessage = null;
  try {
    lastMessage = readFileSync(lastFile, 'utf8');
  } catch {
    // no final message
  }
  return {
    code,
    signal,
    timedOut,
    stdout,
    stderr,
    events,
    lastMessage,
    argv,
    cwd: work,
    elapsedMs: Date.now() - started,
    cleanup: () => rmSync(tmp, { recursive: true, force: true }),
  };
}

// The text of the run's final agent message, from its JSONL events (or the -o file).
export function finalAgentText(run) {
  const msgs = run.events.filter((e) => e.type === 'item.completed' && e.item?.type === 'agent_message');
  return msgs.at(-1)?.item?.text ?? run.lastMessage;
}

// One block describing a run, for assertion messages.
export function describeRun(run) {
  return (
    `codex exited code=${run.code} signal=${run.signal}${run.timedOut ? ' (killed: timeout)' : ''} after ${run.elapsedMs} ms\n` +
    `stdout: ${run.stdout.slice(0, 3000)}\nstderr: ${run.stderr.slice(-3000)}`
  );
}
