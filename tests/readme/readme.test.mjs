// The README's own commands, run as written: the fake upstream started the way "Trying it
// without Z.AI" says, `scripts/run.sh` with that section's settings (guest and API), then the
// curl and OpenAI SDK examples of "Run it", and in API mode the Claude Code command and the
// Anthropic SDK example; also the --hash-key line of "Client keys for teams". The only edits
// are the ones the README asks the reader to make: the fake's port N, and a free port instead
// of 3000 (PORT) so the test never collides with a server already running here. Claude Code
// runs as the pinned npm package's binary (on PATH as `claude`, as a global install puts it)
// with a throw-away HOME and its telemetry and update checks off, since this machine is offline.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';

import { claudeBinary, claudeEnv } from '../e2e/anthropic_claude.mjs';
import { codexBinary } from '../e2e/codex_cli.mjs';
import { freePort, waitFor } from '../e2e/util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const T = { timeout: 300_000 };

// Fenced blocks of the README with their language tag, in order.
function blocks() {
  const out = [];
  const re = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let m; (m = re.exec(README)); ) out.push({ lang: m[1], text: m[2] });
  return out;
}

function block(pred, what) {
  const found = blocks().filter(pred);
  assert.equal(found.length, 1, `exactly one README block with ${what}`);
  return found[0].text;
}

// Shell lines of a block, continuation lines joined, comments dropped.
function commands(text) {
  return text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'));
}

const children = new Set();

function start(cmd, env = {}) {
  const child = spawn('bash', ['-c', cmd], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = { child, out: '', err: '', exit: null };
  child.stdout.on('data', (c) => (proc.out += c));
  child.stderr.on('data', (c) => (proc.err += c));
  proc.exited = new Promise((resolve) => child.once('close', (code, signal) => resolve((proc.exit = { code, signal }))));
  children.add(proc);
  return proc;
}

async function stop(proc, signal = 'SIGTERM') {
  if (proc.exit) return proc.exit;
  proc.child.kill(signal);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 30_000);
  const r = await proc.exited;
  clearTimeout(timer);
  children.delete(proc);
  return r;
}

async function run(cmd, env = {}) {
  const proc = start(cmd, env);
  const r = await proc.exited;
  children.delete(proc);
  return { ...r, out: proc.out, err: proc.err };
}

const readmeFakeBlock = () => block((b) => b.text.includes('node tests/fake-upstream/server.mjs'), 'the fake upstream');

describe('README: hashing a client key, as written', () => {
  test('"Client keys for teams": the --hash-key line and its sha256sum alternative print the SHA-256 of the key', T, async () => {
    const text = block((b) => b.lang === 'sh' && b.text.includes('--hash-key'), 'the --hash-key command');
    const raw = text.split('\n').find((l) => l.includes('--hash-key'));
    const line = commands(text).find((l) => l.includes('--hash-key'));
    const key = /^printf %s "([^"]+)" \|/.exec(line)?.[1];
    assert.ok(key, `the line hashes a literal key: ${line}`);
    const alternative = /#\s*or:\s*(.+)$/.exec(raw)?.[1].trim();
    assert.ok(alternative?.includes('"$KEY"'), `the comment shows the sha256sum way: ${raw}`);
    // The binary the line runs: build it as scripts/run.sh would when it is not there yet.
    if (!existsSync(path.join(ROOT, 'build', 'z-ai-proxy'))) {
      const built = await run('bash scripts/build-native.sh');
      assert.equal(built.code, 0, built.err.slice(-2000));
    }
    const digest = createHash('sha256').update(key).digest('hex');
    const proxy = await run(line);
    assert.equal(proxy.code, 0, proxy.err);
    const sum = await run(`printf %s ${JSON.stringify(key)} | sha256sum`);
    assert.equal(sum.code, 0, sum.err);
    const other = await run(alternative, { KEY: key });
    assert.equal(other.code, 0, other.err);
    assert.equal(proxy.out, `${digest}\n`, 'one line: the hex digest');
    assert.equal(proxy.out.trim(), sum.out.split(/\s+/)[0]);
    assert.equal(other.out.split(/\s+/)[0], digest);
  });
});

describe('README examples, run as written', () => {
  let fake;
  let port;

  before(async () => {
    const lines = commands(readmeFakeBlock());
    const startFake = lines.find((l) => l.startsWith('node tests/fake-upstream/server.mjs'));
    assert.ok(startFake, 'the README says how to start the fake');
    fake = start(startFake);
    await waitFor('the fake to print its port', () => /\{"port":\d+\}/.test(fake.out) || fake.exit, { timeoutMs: 30_000 });
    port = Number(/\{"port":(\d+)\}/.exec(fake.out)?.[1]);
    assert.ok(port > 0, `fake port from ${JSON.stringify(fake.out)} ${fake.err}`);
  });

  after(async () => {
    for (const p of [...children]) await stop(p, 'SIGKILL');
  });

  for (const mode of ['guest', 'API']) {
    test(`${mode} mode: scripts/run.sh against the fake, then the curl and SDK examples`, T, async () => {
      const lines = commands(readmeFakeBlock());
      const runLine = lines.find((l) => l.includes('scripts/run.sh') && (mode === 'API') === l.includes('ZAI_API_KEYS'));
      assert.ok(runLine, `the README's ${mode}-mode run command`);
      const listen = await freePort();
      const server = start(runLine.replaceAll('127.0.0.1:N', `127.0.0.1:${port}`), { PORT: String(listen), HOST: '127.0.0.1' });
      try {
        await waitFor(`scripts/run.sh to serve on ${listen}`, async () => {
          if (server.exit) throw new Error(`run.sh exited ${JSON.stringify(server.exit)}:\n${server.err.slice(-2000)}`);
          try {
            return (await fetch(`http://127.0.0.1:${listen}/healthz`)).status === 200;
          } catch {
            return false;
          }
        }, { timeoutMs: 600_000, intervalMs: 200 });

        const at = (text) => text.replaceAll('127.0.0.1:3000', `127.0.0.1:${listen}`);

        // curl, streaming: OpenAI chunks, then [DONE].
        const curl = block((b) => b.lang === 'sh' && b.text.trimStart().startsWith('curl '), 'the curl example');
        const c = await run(at(curl));
        assert.equal(c.code, 0, c.err);
        const events = c.out.split('\n\n').filter(Boolean);
        assert.equal(events.at(-1).trim(), 'data: [DONE]', c.out.slice(-500));
        const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, '')));
        assert.ok(chunks.length >= 2);
        for (const ch of chunks) assert.equal(ch.object, 'chat.completion.chunk');
        const streamed = chunks.map((ch) => ch.choices[0]?.delta?.content ?? '').join('');
        assert.ok(streamed.length > 0, 'the stream carried an answer');

        // The Node SDK example, as a module run from the repository (where `openai` is installed).
        const js = block((b) => b.lang === 'js' && b.text.includes("from 'openai'"), 'the SDK example');
        const sdk = await run(`node --input-type=module -e "$EXAMPLE"`, { EXAMPLE: at(js) });
        assert.equal(sdk.code, 0, sdk.err);
        assert.equal(sdk.out.trim(), streamed.trim(), 'the SDK printed the same answer the stream carried');

        // The Anthropic SDK example: the same answer through /v1/messages.
        const ajs = block((b) => b.lang === 'js' && b.text.includes("from '@anthropic-ai/sdk'"), 'the Anthropic SDK example');
        const asdk = await run(`node --input-type=module -e "$EXAMPLE"`, { EXAMPLE: at(ajs) });
        assert.equal(asdk.code, 0, asdk.err);
        assert.equal(asdk.out.trim(), streamed.trim(), 'the Anthropic SDK printed the same answer');

        if (mode === 'API') {
          // Claude Code, as the README runs it.
          const cc = block((b) => b.lang === 'sh' && b.text.includes('ANTHROPIC_BASE_URL'), 'the Claude Code example');
          const tmp = mkdtempSync(path.join(os.tmpdir(), 'zproxy-readme-'));
          try {
            const binDir = path.join(tmp, 'bin');
            const home = path.join(tmp, 'home');
            mkdirSync(binDir);
            mkdirSync(home);
            symlinkSync(claudeBinary(), path.join(binDir, 'claude'));
            const env = claudeEnv({ baseUrl: '', home });
            delete env.ANTHROPIC_BASE_URL; // the README's export sets these two
            env.PATH = `${binDir}:${env.PATH}`;
            const proc = spawn('bash', ['-c', commands(at(cc)).join('\n')], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
            let out = '';
            let err = '';
            proc.stdout.on('data', (d) => (out += d));
            proc.stderr.on('data', (d) => (err += d));
            const killer = setTimeout(() => proc.kill('SIGKILL'), 120_000);
            const code = await new Promise((resolve) => proc.once('close', resolve));
            clearTimeout(killer);
            assert.equal(code, 0, `claude: ${err.slice(-2000)}`);
            assert.equal(out.trim(), streamed.trim(), 'Claude Code printed the same answer');

            // Codex: the README's config.toml in CODEX_HOME (telemetry, analytics and the update
            // check off, and its own retries off, since this machine is offline), then its command.
            const codexToml = block((b) => b.lang === 'toml' && b.text.includes('wire_api'), 'the Codex config');
            const codexRun = block((b) => b.lang === 'sh' && b.text.includes('codex exec'), 'the Codex command');
            const codexHome = path.join(tmp, 'codex-home');
            mkdirSync(codexHome);
            const offline = 'check_for_update_on_startup = false\n[analytics]\nenabled = false\n[feedback]\nenabled = false\n';
            writeFileSync(path.join(codexHome, 'config.toml'),
              at(codexToml).replace('[model_providers.zproxy]', `${offline}\n[model_providers.zproxy]`) +
              'request_max_retries = 0\nstream_max_retries = 0\n');
            symlinkSync(codexBinary(), path.join(binDir, 'codex'));
            const work = path.join(tmp, 'work');
            mkdirSync(work);
            // Codex works inside a git repository (a project), as a user's would be.
            assert.equal((await run(`git init -q ${JSON.stringify(work)}`)).code, 0);
            const cenv = { PATH: env.PATH, HOME: home, CODEX_HOME: codexHome, NO_COLOR: '1', RUST_LOG: 'error' };
            const cproc = spawn('bash', ['-c', commands(at(codexRun)).join('\n')], { cwd: work, env: cenv, stdio: ['ignore', 'pipe', 'pipe'] });
            let cout = '';
            let cerr = '';
            cproc.stdout.on('data', (d) => (cout += d));
            cproc.stderr.on('data', (d) => (cerr += d));
            const ckiller = setTimeout(() => cproc.kill('SIGKILL'), 120_000);
            const ccode = await new Promise((resolve) => cproc.once('close', resolve));
            clearTimeout(ckiller);
            assert.equal(ccode, 0, `codex: ${cerr.slice(-2000)}`);
            assert.equal(cout.trim(), streamed.trim(), 'Codex printed the same answer');
          } finally {
            rmSync(tmp, { recursive: true, force: true });
          }
        }
      } finally {
        const r = await stop(server);
        assert.deepEqual(r, { code: 0, signal: null }, `run.sh's server exits 0 on SIGTERM: ${server.err.slice(-1000)}`);
      }
    });
  }
});
