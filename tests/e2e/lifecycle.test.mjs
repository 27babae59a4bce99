// Process life cycle, where docs/contract.md §11 lets the hosts differ: command line (native), bad
// settings (native: exit 2 with one JSON log line; Worker: 500 invalid_config), SIGHUP
// reloading client keys (native), graceful shutdown (native).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertError, assertStreamText, parseStream } from './assertions.mjs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HOST_KIND, NATIVE_BIN, hostOnly, runNative, startHost } from './hosts.mjs';
import { expected } from './oracle.mjs';
import { API_MODEL, CLIENT_KEY, GUEST_MODEL, chatBody, request, startStack, waitPool } from './stack.mjs';
import { promptFor } from '../fake-upstream/streams.mjs';
import { connectionRefused, freePort, freshFetch, waitFor } from './util.mjs';

const T = { timeout: 60_000 };
const NATIVE = hostOnly('native', 'command line and process signals');
const WORKER = hostOnly('worker', 'a Worker cannot refuse to start');
const SETTINGS = [
  'PORT', 'HOST', 'API_KEY', 'ALLOW_OPEN_ACCESS', 'UPSTREAM_MODE', 'TOKEN_POOL_SIZE', 'ZAI_API_KEYS',
  'ZAI_API_BASE_URL', 'ZAI_BASE_URL', 'ZAI_FE_VERSION', 'ZAI_USER_AGENT', 'ZAI_EXTRA_HEADERS', 'MODEL_MAP',
  'SHOW_THINK_TAGS', 'THINKING', 'MAX_BODY_BYTES', 'CONNECT_TIMEOUT_MS', 'FIRST_BYTE_TIMEOUT_MS',
  'STREAM_IDLE_TIMEOUT_MS', 'REQUEST_DEADLINE_MS', 'MAX_ATTEMPTS', 'MAX_INFLIGHT_PER_CREDENTIAL',
  'TOKEN_MAX_AGE_S', 'KEEPALIVE_S', 'CORS_ORIGINS', 'SHUTDOWN_GRACE_S', 'UPSTREAM_CA_FILE', 'LOG_LEVEL', 'LOG_BODIES',
  'CLIENT_REQUEST_TIMEOUT_MS', 'CLIENT_IDLE_TIMEOUT_S', 'MAX_CONNECTIONS', 'CLAUDE_MODEL_MAP', 'COUNT_TOKENS',
  'JSON_SCHEMA', 'MODEL_CAPS', 'MODEL_FALLBACKS', 'VISION_MODELS', 'VISION_MODEL', 'WEB_SEARCH', 'WEB_SEARCH_ENGINE',
  'CLIENT_KEYS', 'ADMIN_KEY', 'STATE_STORE', 'REDIS_URL', 'STATE_LEASE_TTL_MS',
];
const DEFAULT_KEY = 'sk-z2api-key-2024';

// [settings, the variable the refusal must name]
const BAD = [
  [{ PORT: 'abc' }, 'PORT'],
  [{ PORT: '70000' }, 'PORT'],
  [{ UPSTREAM_MODE: 'sideways' }, 'UPSTREAM_MODE'],
  [{ TOKEN_POOL_SIZE: '-1' }, 'TOKEN_POOL_SIZE'],
  [{ TOKEN_POOL_SIZE: 'many' }, 'TOKEN_POOL_SIZE'],
  [{ MAX_BODY_BYTES: '8MB' }, 'MAX_BODY_BYTES'],
  [{ THINKING: 'loud' }, 'THINKING'],
  [{ LOG_LEVEL: 'chatty' }, 'LOG_LEVEL'],
  [{ ALLOW_OPEN_ACCESS: 'perhaps' }, 'ALLOW_OPEN_ACCESS'],
  [{ SHOW_THINK_TAGS: 'perhaps' }, 'SHOW_THINK_TAGS'],
  [{ MODEL_MAP: 'not json' }, 'MODEL_MAP'],
  [{ ZAI_EXTRA_HEADERS: '[1, 2]' }, 'ZAI_EXTRA_HEADERS'],
  [{ MAX_ATTEMPTS: 'three' }, 'MAX_ATTEMPTS'],
  [{ KEEPALIVE_S: 'often' }, 'KEEPALIVE_S'],
  [{ CLIENT_REQUEST_TIMEOUT_MS: '-1' }, 'CLIENT_REQUEST_TIMEOUT_MS'],
  [{ CLIENT_IDLE_TIMEOUT_S: '0' }, 'CLIENT_IDLE_TIMEOUT_S'],
  [{ MAX_CONNECTIONS: '0' }, 'MAX_CONNECTIONS'],
  [{ ZAI_BASE_URL: 'not a url' }, 'ZAI_BASE_URL'],
  [{ UPSTREAM_MODE: 'api' }, /ZAI_API_KEYS|UPSTREAM_MODE/],
  [{ UPSTREAM_MODE: 'api', ZAI_API_KEYS: 'zk-1', API_KEY: undefined }, 'API_KEY'],
  [{ ZAI_API_KEYS: 'zk-1', API_KEY: DEFAULT_KEY }, 'API_KEY'],
  [{ COUNT_TOKENS: 'sometimes' }, 'COUNT_TOKENS'],
  [{ JSON_SCHEMA: 'enforce' }, 'JSON_SCHEMA'],
  [{ WEB_SEARCH: 'yes' }, 'WEB_SEARCH'],
  [{ CLIENT_KEYS: 'not json' }, 'CLIENT_KEYS'],
  [{ CLIENT_KEYS: '[{"name":"x"}]' }, 'CLIENT_KEYS'],
  [{ CLIENT_KEYS: '[{"name":"x","key":"sk-x-0001"}]', ALLOW_OPEN_ACCESS: 'true' }, /CLIENT_KEYS|ALLOW_OPEN_ACCESS/],
  [{ ADMIN_KEY: 'short' }, 'ADMIN_KEY'],
  [{ STATE_STORE: 'durable_object' }, 'STATE_STORE'],
  [{ STATE_STORE: 'redis', REDIS_URL: 'http://x' }, 'REDIS_URL'],
  [{ STATE_STORE: 'redis' }, 'REDIS_URL'],
  [{ STATE_LEASE_TTL_MS: '999' }, 'STATE_LEASE_TTL_MS'],
];
// Reads a streamed answer's first piece now and the rest in the background.
// -> {text (so far), ended, rest (resolves at the end)}
async function readInBackground(res) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  const stream = { text: dec.decode((await reader.read()).value, { stream: true }), ended: false };
  stream.rest = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      stream.text += dec.decode(value, { stream: true });
    }
    stream.ended = true;
  })();
  return stream;
}

const names = (v) => (v instanceof RegExp ? v : new RegExp(`\\b${v}\\b`));

describe('native command line', () => {
  test('--help lists every setting with its default', { ...T, ...NATIVE }, async () => {
    const r = await runNative(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const name of SETTINGS) assert.match(r.stdout, new RegExp(`\\b${name}\\b`), `--help mentions ${name}`);
    for (const def of ['3000', '8388608', 'sk-z2api-key-2024', '1800', '30000', '75', '10000']) assert.ok(r.stdout.includes(def), `default ${def}`);
  });

  test('--version prints the version', { ...T, ...NATIVE }, async () => {
    const r = await runNative(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), /\d+\.\d+\.\d+/);
    assert.equal(r.stdout.trim().split('\n').length, 1);
  });

  test('--hash-key prints the SHA-256 of the key on stdin; CLIENT_KEYS=@file reads the keys from a file', { ...T, ...NATIVE }, async () => {
    const key = 'sk-file-key-0007';
    const digest = createHash('sha256').update(key).digest('hex');
    const hashed = spawnSync(NATIVE_BIN, ['--hash-key'], { input: `${key}\n`, encoding: 'utf8', timeout: 30_000 });
    assert.equal(hashed.status, 0, hashed.stderr);
    assert.equal(hashed.stdout.trim(), digest);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zproxy-keys-'));
    try {
      const file = path.join(dir, 'keys.json');
      writeFileSync(file, JSON.stringify([{ name: 'from-file', key_sha256: digest }]));
      const host = await startHost('native', { CLIENT_KEYS: `@${file}` });
      try {
        const r = await fetch(`${host.url}/v1/usage`, { headers: { authorization: `Bearer ${key}` } });
        assert.equal(r.status, 200);
        assert.equal((await r.json()).name, 'from-file');
      } finally {
        await host.stop();
      }
      const missing = await runNative([], { CLIENT_KEYS: `@${path.join(dir, 'nope.json')}` });
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /CLIENT_KEYS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('SIGHUP re-reads CLIENT_KEYS=@file: a removed key gets 401 at once, a broken file keeps the set', { ...T, ...NATIVE }, async () => {
    const keep = 'sk-hup-keep-0001';
    const gone = 'sk-hup-gone-0002';
    const digest = (k) => createHash('sha256').update(k).digest('hex');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zproxy-hup-'));
    const file = path.join(dir, 'keys.json');
    const write = (keys) => writeFileSync(file, JSON.stringify(keys.map((k, i) => ({ name: `k${i}`, key_sha256: digest(k) }))));
    write([keep, gone]);
    const host = await startHost('native', { CLIENT_KEYS: `@${file}` });
    const usage = async (k) => (await fetch(`${host.url}/v1/usage`, { headers: { authorization: `Bearer ${k}` } })).status;
    const reloaded = async (event) => {
      const before = host.logs.filter((l) => l.event === event).length;
      host.signal('SIGHUP');
      await waitFor(`a ${event} line`, () => host.logs.filter((l) => l.event === event).length > before, { timeoutMs: 10_000 });
    };
    try {
      assert.equal(await usage(gone), 200);
      write([keep]);
      await reloaded('client_keys_reloaded');
      assert.equal(await usage(gone), 401);
      assert.equal(await usage(keep), 200);
      writeFileSync(file, '[{"name":');
      await reloaded('client_keys_reload_failed');
      assert.equal(await usage(keep), 200, 'the old set holds');
      assert.ok(!JSON.stringify(host.logs).includes(keep));
    } finally {
      await host.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('SIGHUP during an open stream: the stream ends whole, the removed key gets 401 at once, the new key works', { ...T, ...NATIVE }, async () => {
    const [a, c] = ['sk-hup-open-a-0003', 'sk-hup-new-c-0004'];
    const digest = (k) => createHash('sha256').update(k).digest('hex');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zproxy-hup-'));
    const file = path.join(dir, 'keys.json');
    writeFileSync(file, JSON.stringify([{ name: 'a', key_sha256: digest(a) }]));
    const s = await startStack({ mode: 'api', settings: { CLIENT_KEYS: `@${file}` } });
    const as = (k) => ({ key: null, headers: { authorization: `Bearer ${k}` } });
    const post = (k, text, extra = {}) => s.request('/v1/chat/completions', { method: 'POST', body: { ...chatBody(text, { model: API_MODEL }), ...extra }, ...as(k) });
    try {
      assert.equal((await post(c, 'hup-before')).status, 401, 'C is not a key yet');
      // The recording's 5 events, 1 s apart: the stream stays open about 4 s.
      s.fake.script({ text: 'hup-open-stream', times: 1, dripMs: 1000 });
      const res = await freshFetch(`${s.host.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...chatBody('hup-open-stream', { model: API_MODEL }), stream: true }),
      });
      assert.equal(res.status, 200);
      const stream = await readInBackground(res);

      writeFileSync(file, JSON.stringify([{ name: 'c', key_sha256: digest(c) }]));
      const reloads = () => s.host.logs.filter((l) => l.event === 'client_keys_reloaded').length;
      const before = reloads();
      process.kill(s.host.pid, 'SIGHUP');
      await waitFor('a client_keys_reloaded line', () => reloads() > before);

      const gone = await post(a, 'hup-after-a');
      assert.equal(stream.ended, false, 'the 401 came while the stream still ran');
      assertError(gone, { status: 401, code: 'invalid_api_key' });
      const fresh = await post(c, 'hup-after-c');
      assert.equal(fresh.status, 200, fresh.text);
      assert.equal(stream.ended, false, 'the new key was served while the stream still ran');

      await stream.rest;
      assertStreamText({ status: res.status, headers: res.headers, text: stream.text }, { model: API_MODEL, ...(await expected('api', 'answer_only')) });
      assert.equal(s.fake.entries('api_chat').filter((e) => JSON.stringify(e.body.messages).includes('hup-after-a')).length, 0);
      assert.equal((await s.request('/v1/usage', as(c))).json.name, 'c');
      assert.ok(!JSON.stringify(s.host.logs).includes(a) && !JSON.stringify(s.host.logs).includes(c));
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--healthcheck exits 0 against a serving proxy, 1 otherwise', { ...T, ...NATIVE }, async () => {
    const host = await startHost('native', { API_KEY: CLIENT_KEY, TOKEN_POOL_SIZE: 0 });
    try {
      assert.equal((await runNative(['--healthcheck'], { PORT: host.port })).code, 0);
    } finally {
      await host.stop();
    }
    assert.equal((await runNative(['--healthcheck'], { PORT: await freePort() })).code, 1);
  });
});

describe('bad settings', () => {
  test('native: exit 2, the only output one JSON log line naming the variable', { ...T, ...NATIVE }, async () => {
    const results = await Promise.all(
      BAD.map(async ([settings]) =>
        runNative([], { HOST: '127.0.0.1', PORT: await freePort(), API_KEY: CLIENT_KEY, ...settings }),
      ),
    );
    BAD.forEach(([settings, variable], i) => {
      const r = results[i];
      const label = JSON.stringify(settings);
      assert.equal(r.code, 2, `${label}: exit code (stderr: ${r.stderr})`);
      assert.equal(r.stdout, '', `${label}: nothing on stdout`);
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, `${label}: one line, got ${r.stderr}`);
      assert.doesNotThrow(() => JSON.parse(lines[0]), `${label}: JSON: ${lines[0]}`);
      assert.match(lines[0], names(variable), `${label}: names the variable`);
    });
  });

  test('worker: 500 invalid_config naming the variable on every route but /healthz', { timeout: 300_000, ...WORKER }, async () => {
    const cases = [
      [{ TOKEN_POOL_SIZE: 'many' }, 'TOKEN_POOL_SIZE'],
      [{ ZAI_API_KEYS: 'zk-1', API_KEY: DEFAULT_KEY }, 'API_KEY'],
      [{ STATE_STORE: 'redis' }, 'STATE_STORE'], // the native host's backend
    ];
    await Promise.all(
      cases.map(async ([settings, variable]) => {
        const host = await startHost('worker', { API_KEY: CLIENT_KEY, ...settings });
        try {
          assert.equal((await request(host, '/healthz', { key: null })).status, 200);
          assert.equal((await request(host, '/readyz', { key: null })).status, 503);
          for (const [method, path, body] of [['GET', '/v1/models'], ['POST', '/v1/chat/completions', chatBody('x')], ['GET', '/nowhere']]) {
            const e = assertError(await request(host, path, { method, body }), { status: 500, type: 'server_error', code: 'invalid_config' });
            assert.match(e.message, names(variable));
          }
        } finally {
          await host.stop();
        }
      }),
    );
  });
});

describe('a bad REDIS_URL is never echoed (it may hold a password)', () => {
  test('native: exit 2 naming REDIS_URL, without its value', { ...T, ...NATIVE }, async () => {
    for (const url of ['http://x', 'redis://user:pw-e2e-hidden@host:port', 'redis://:pw-e2e-hidden@[::1/0']) {
      const r = await runNative([], { HOST: '127.0.0.1', PORT: await freePort(), API_KEY: CLIENT_KEY, STATE_STORE: 'redis', REDIS_URL: url });
      assert.equal(r.code, 2, `${url}: ${r.stderr}`);
      assert.match(r.stderr, /\bREDIS_URL\b/);
      for (const part of [url, 'pw-e2e-hidden', '//x']) assert.ok(!(r.stdout + r.stderr).includes(part), `${url}: "${part}" not echoed: ${r.stderr}`);
    }
  });
});

describe('graceful shutdown (native)', () => {
  let s;
  before(async () => {
    if (HOST_KIND !== 'native') return;
    s = await startStack({ mode: 'guest', settings: { TOKEN_POOL_SIZE: 1, SHUTDOWN_GRACE_S: 8 } });
    await waitPool(s, 1);
  });
  after(() => s?.stop());

  test('SIGTERM mid-stream: new connections refused, the stream completes, exit 0', { ...T, ...NATIVE }, async () => {
    s.fake.script({ text: 'graceful', dripMs: 150 });
    const res = await freshFetch(`${s.host.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...chatBody(promptFor('thinking', 'graceful')), stream: true }),
    });
    assert.equal(res.status, 200);
    const stream = await readInBackground(res);
    const logsBefore = s.host.logs.length;
    s.host.signal('SIGTERM');
    await waitFor('new connections refused', () => connectionRefused(s.host.port), { timeoutMs: 2000 });
    assert.equal(stream.ended, false, 'refused while the stream still ran');
    await stream.rest;
    assertStreamText({ status: 200, headers: res.headers, text: stream.text }, { model: GUEST_MODEL, ...(await expected('guest', 'thinking')) });
    const exit = await s.host.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(s.host.logs.length > logsBefore, 'a shutdown log line');
  });
});

describe('shutdown grace runs out (native)', () => {
  let s;
  before(async () => {
    if (HOST_KIND !== 'native') return;
    s = await startStack({ mode: 'guest', settings: { TOKEN_POOL_SIZE: 1, SHUTDOWN_GRACE_S: 1 } });
    await waitPool(s, 1);
  });
  after(() => s?.stop());

  test('a stream longer than SHUTDOWN_GRACE_S is ended; exit 0 soon after', { ...T, ...NATIVE }, async () => {
    s.fake.script({ text: 'too-long', dripMs: 1000 });
    const res = await freshFetch(`${s.host.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...chatBody(promptFor('thinking', 'too-long')), stream: true }),
    });
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let text = dec.decode((await reader.read()).value, { stream: true });
    const t0 = Date.now();
    s.host.signal('SIGTERM');
    const exit = await s.host.exited;
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - t0 < 5000, `exited ${Date.now() - t0} ms after SIGTERM (grace 1 s)`);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += dec.decode(value, { stream: true });
      }
    } catch {
      // the connection may be cut
    }
    if (text.endsWith('data: [DONE]\n\n')) assert.ok(parseStream(text).chunks.every((c) => c.choices.every((ch) => ch.finish_reason !== 'stop')));
  });
});
