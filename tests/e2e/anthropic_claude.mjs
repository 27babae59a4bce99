// The pinned Claude Code CLI, run against a proxy (or the recorder's capture server).
//
// `@anthropic-ai/claude-code` is a thin npm wrapper (its `engines` asks for Node 22, which npm
// only warns about) whose postinstall copies the native binary of the platform
// optionalDependency (`@anthropic-ai/claude-code-linux-x64`, …) over its `bin/claude.exe`
// placeholder. The tests run that platform binary directly: no Node wrapper, no engine check,
// and it works even when install scripts were skipped. No dependency on the test harness, so
// tests/fixtures/claude_code/record.mjs can use it outside `node --test`.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

function platformKey() {
  if (process.platform === 'linux') {
    const glibc = process.report?.getReport?.().header?.glibcVersionRuntime;
    return `linux-${process.arch}${glibc === undefined ? '-musl' : ''}`;
  }
  return `${process.platform}-${process.arch}`;
}

// Absolute path of the pinned Claude Code native binary. Throws (never skips) when missing.
export function claudeBinary() {
  const require = createRequire(import.meta.url);
  const pkg = `@anthropic-ai/claude-code-${platformKey()}`;
  let dir;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(`${pkg} is not installed: run npm ci (Claude Code ships its binary in that optional dependency)`);
  }
  const bin = path.join(dir, process.platform === 'win32' ? 'claude.exe' : 'claude');
  if (!existsSync(bin)) throw new Error(`${bin} not found: reinstall with npm ci`);
  return bin;
}

// The environment Claude Code runs with: nothing from the developer's shell but PATH and the
// locale; a throw-away HOME; no telemetry, error reporting, auto-update or other non-essential
// traffic (so no `HEAD /api/hello` probe either); no retries of its own (a proxy failure shows
// at once instead of after minutes of back-off). `key` goes out as x-api-key, `authToken` as
// `Authorization: Bearer`.
export function claudeEnv({ baseUrl, home, key, authToken, extra = {} }) {
  const env = {};
  for (const k of ['PATH', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR']) if (process.env[k]) env[k] = process.env[k];
  Object.assign(env, {
    HOME: home,
    ANTHROPIC_BASE_URL: baseUrl,
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CLAUDE_CODE_MAX_RETRIES: '0',
    NO_COLOR: '1',
  });
  if (key !== undefined) env.ANTHROPIC_API_KEY = key;
  if (authToken !== undefined) env.ANTHROPIC_AUTH_TOKEN = authToken;
  return { ...env, ...extra };
}

// Runs `claude -p <prompt> --output-format json` in `cwd` (default: a fresh temporary folder)
// with a temporary HOME whose ~/.claude/settings.json is `settings` (e.g. a permission rule
// granting Read: `--dangerously-skip-permissions` is refused as root). Killed by its own PID after
// timeoutMs. -> {code, signal, timedOut, stdout, stderr, json, cwd, elapsedMs}
export async function runClaude({
  baseUrl,
  prompt,
  key,
  authToken,
  settings = {},
  cwd,
  files = {},
  args = [],
  env: extraEnv = {},
  timeoutMs = 90_000,
}) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'zproxy-claude-'));
  const home = path.join(tmp, 'home');
  const work = cwd ?? path.join(tmp, 'work');
  mkdirSync(path.join(home, '.claude'), { recursive: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(path.join(home, '.claude', 'settings.json'), JSON.stringify(settings, null, 2));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(work, name), content);
  const env = claudeEnv({ baseUrl, home, key: authToken === undefined ? key : undefined, authToken, extra: extraEnv });
  const started = Date.now();
  const child = spawn(claudeBinary(), ['-p', prompt, '--output-format', 'json', ...args], {
    cwd: work,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  let json;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  const result = { code, signal, timedOut, stdout, stderr, json, cwd: work, elapsedMs: Date.now() - started };
  if (!cwd) result.cleanup = () => rmSync(tmp, { recursive: true, force: true });
  else result.cleanup = () => rmSync(home, { recursive: true, force: true });
  return result;
}

// One line describing a run, for assertion messages.
export function describeRun(run) {
  return (
    `claude exited code=${run.code} signal=${run.signal}${run.timedOut ? ' (killed: timeout)' : ''} after ${run.elapsedMs} ms\n` +
    `stdout: ${run.stdout.slice(0, 2000)}\nstderr: ${run.stderr.slice(0, 2000)}`
  );
}
