// Client keys with names, model lists and limits (CLIENT_KEYS, the memory backend), on both
// hosts (E2E_HOST): who a request is, 401 for unknown, disabled and expired keys, 403
// model_not_allowed, 429 rate_limit_exceeded with the x-ratelimit-* headers for rpm, 429 for
// concurrency, 429 insufficient_quota with x-should-retry false for token quotas, /v1/usage
// growing by exactly upstream's usage.total_tokens in every dialect, /v1/models per key, and
// no key or hash in any answer. A refused request counts nothing and reaches no upstream. A
// stream keeps its slot past STATE_LEASE_TTL_MS by renewing its lease; DELETE
// /admin/credentials/{id} brings back a Z.AI key upstream rejected; /readyz names the store.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { aggregate, assertError, parseStream } from './assertions.mjs';
import { expected } from './oracle.mjs';
import { API_KEYS, chatEntries, startStack } from './stack.mjs';
import { promptFor } from '../fake-upstream/streams.mjs';
import { presets } from '../fake-upstream/server.mjs';
import { freshFetch, waitFor } from './util.mjs';

const T = { timeout: 60_000 };
const sha = (k) => createHash('sha256').update(k).digest('hex');
const KEYS = {
  metered: 'sk-e2e-metered-key-0001',
  rpm: 'sk-e2e-rpm-key-0002',
  quota: 'sk-e2e-quota-key-0003',
  off: 'sk-e2e-disabled-key-0004',
  old: 'sk-e2e-expired-key-0005',
  busy: 'sk-e2e-busy-key-0006',
};
const CLIENT_KEYS = [
  { name: 'metered', key_sha256: sha(KEYS.metered), models: ['glm-4.6', 'glm-4.5*'] },
  { name: 'rpm', key_sha256: sha(KEYS.rpm), rpm: 2 },
  { name: 'quota', key_sha256: sha(KEYS.quota), tokens_per_day: 10 },
  { name: 'off', key_sha256: sha(KEYS.off), disabled: true },
  { name: 'old', key_sha256: sha(KEYS.old), expires_at: '2020-01-01T00:00:00Z' },
  { name: 'busy', key_sha256: sha(KEYS.busy), max_concurrent: 1 },
];

const as = (key) => ({ key: null, headers: { authorization: `Bearer ${key}` } });
const chat = (model, text, extra = {}) => ({ model, messages: [{ role: 'user', content: text }], ...extra });

describe('client keys (CLIENT_KEYS)', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'api', settings: { CLIENT_KEYS: JSON.stringify(CLIENT_KEYS) } });
  });
  after(async () => s?.stop());

  const usage = async (key) => {
    const r = await s.request('/v1/usage', as(key));
    assert.equal(r.status, 200, r.text);
    return r.json;
  };

  test('unknown, disabled and expired keys: 401; API_KEY still works as api-key-1', T, async () => {
    for (const key of ['sk-nobody', KEYS.off, KEYS.old]) {
      const r = await s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.6', 'x'), ...as(key) });
      assert.equal(r.status, 401, key);
      assert.equal(r.json.error.code, 'invalid_api_key');
    }
    const mine = await s.request('/v1/usage');
    assert.equal(mine.json.name, 'api-key-1');
  });

  test('a model outside the key\'s list: 403 model_not_allowed, nothing upstream, nothing counted', T, async () => {
    const r = await s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.7', 'keys-forbidden'), ...as(KEYS.metered) });
    assert.equal(r.status, 403, r.text);
    assert.deepEqual([r.json.error.code, r.json.error.param, r.json.error.type], ['model_not_allowed', 'model', 'invalid_request_error']);
    assert.equal(chatEntries(s, 'keys-forbidden').length, 0);
    const models = await s.request('/v1/models', as(KEYS.metered));
    const ids = models.json.data.map((m) => m.id);
    assert.ok(ids.includes('glm-4.6') && ids.includes('glm-4.5-air') && !ids.includes('glm-4.7'), ids.join());
  });

  test('usage grows by exactly upstream\'s total_tokens: chat, stream, include_usage, Messages, Responses', T, async () => {
    const before = (await usage(KEYS.metered)).usage.tokens_today;
    const answers = [
      await s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.6', 'keys-a'), ...as(KEYS.metered) }),
      await s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.6', 'keys-b', { stream: true }), ...as(KEYS.metered) }),
      await s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.6', 'keys-c', { stream: true, stream_options: { include_usage: true } }), ...as(KEYS.metered) }),
      await s.request('/v1/messages', { method: 'POST', body: { model: 'glm-4.6', max_tokens: 64, messages: [{ role: 'user', content: 'keys-d' }] }, ...as(KEYS.metered) }),
      await s.request('/v1/responses', { method: 'POST', body: { model: 'glm-4.6', input: 'keys-e', stream: true }, ...as(KEYS.metered) }),
    ];
    for (const r of answers) assert.equal(r.status, 200, r.text.slice(0, 300));
    // What the fake answered: its recorded usage.total_tokens for each request.
    const totals = answers.length * (answers[0].json.usage.total_tokens);
    const after = (await usage(KEYS.metered)).usage.tokens_today;
    assert.equal(after - before, totals);
    const u = await usage(KEYS.metered);
    assert.equal(u.name, 'metered');
    assert.deepEqual(u.limits.models, ['glm-4.6', 'glm-4.5*']);
    assert.equal(u.limits.rpm, null);
    assert.equal(u.source, 'local');
    assert.ok(!JSON.stringify(u).includes(KEYS.metered) && !JSON.stringify(u).includes(sha(KEYS.metered)));
  });

  test('usage grows by each answer\'s own upstream total_tokens: Messages and Responses, streaming and not', T, async () => {
    // Recordings with different totals, so a constant or another request's count cannot pass.
    const messages = (text, extra = {}) => ({ model: 'glm-4.6', max_tokens: 256, messages: [{ role: 'user', content: text }], ...extra });
    // [route, client streams, recording, what upstream plays: a Responses answer is always
    // streamed from upstream]
    const cases = [
      ['/v1/messages', false, 'reasoning', 'json', (text) => messages(text)],
      ['/v1/messages', true, 'chinese', 'sse', (text) => messages(text, { stream: true })],
      ['/v1/responses', false, 'thinking_answer_reasoning_content', 'sse', (text) => ({ model: 'glm-4.6', input: text })],
      ['/v1/responses', true, 'stop_split_across_deltas', 'sse', (text) => ({ model: 'glm-4.6', input: text, stream: true })],
    ];
    const seen = new Set();
    for (const [route, streams, fixture, kind, body] of cases) {
      const total = (await expected('api', fixture, kind)).usage.total_tokens;
      assert.ok(Number.isInteger(total) && total > 0 && !seen.has(total), `${fixture}: a distinct upstream total (${total})`);
      seen.add(total);
      const tag = `keys-usage-${fixture}`;
      const before = (await usage(KEYS.metered)).usage.tokens_today;
      const r = await s.request(route, { method: 'POST', body: body(promptFor(fixture, tag)), ...as(KEYS.metered) });
      const what = `${route}${streams ? ' (stream)' : ''}`;
      assert.equal(r.status, 200, `${what}: ${r.text.slice(0, 300)}`);
      assert.match(r.headers.get('content-type'), streams ? /^text\/event-stream/ : /^application\/json/, what);
      const upstream = chatEntries(s, tag);
      assert.deepEqual(upstream.map((e) => [e.case, e.body.stream === true]), [[fixture, kind === 'sse']], `${what}: one upstream call, that recording`);
      // Charged when the exchange ends, which may come just after the client read its last byte.
      const grown = await waitFor(`${what}: tokens_today to grow by ${total}`, async () => {
        const d = (await usage(KEYS.metered)).usage.tokens_today - before;
        return d >= total ? { d } : null;
      });
      assert.equal(grown.d, total, `${what} (${fixture}): charged upstream's total_tokens`);
    }
  });

  test('/readyz: 200, "state_store":"memory" (the default store)', T, async () => {
    const r = await s.request('/readyz', { key: null });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'ready');
    assert.equal(r.json.state_store, 'memory');
  });

  test('rpm: x-ratelimit-* on answers, then 429 with Retry-After; a refused request counts nothing', T, async () => {
    const ok1 = await s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.6', 'keys-rpm1'), ...as(KEYS.rpm) });
    assert.equal(ok1.status, 200);
    assert.equal(ok1.headers.get('x-ratelimit-limit-requests'), '2');
    assert.equal(ok1.headers.get('x-ratelimit-remaining-requests'), '1');
    assert.match(ok1.headers.get('x-ratelimit-reset-requests'), /^(\d+m)?(\d+s)?$|^\d+ms$/);
    const ok2 = await s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.6', 'keys-rpm2'), ...as(KEYS.rpm) });
    assert.equal(ok2.headers.get('x-ratelimit-remaining-requests'), '0');
    const no = await s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.6', 'keys-rpm3'), ...as(KEYS.rpm) });
    assert.equal(no.status, 429, no.text);
    assert.deepEqual([no.json.error.type, no.json.error.code], ['rate_limit_error', 'rate_limit_exceeded']);
    assert.match(no.headers.get('retry-after'), /^\d+$/);
    assert.equal(no.headers.get('x-ratelimit-remaining-requests'), '0');
    assert.equal(chatEntries(s, 'keys-rpm3').length, 0);
    assert.equal((await usage(KEYS.rpm)).usage.requests_this_window, 2);
    const m = await s.request('/v1/messages', { method: 'POST', body: { model: 'glm-4.6', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }, key: null, headers: { 'x-api-key': KEYS.rpm } });
    assert.equal(m.status, 429);
    assert.equal(m.json.error.type, 'rate_limit_error');
    assert.equal(m.headers.get('anthropic-ratelimit-requests-limit'), '2');
  });

  test('tokens per day: once used up, 429 insufficient_quota until the UTC rollover, no retry', T, async () => {
    const r = await s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.6', 'keys-q1'), ...as(KEYS.quota) });
    assert.equal(r.status, 200);
    const no = await s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.6', 'keys-q2'), ...as(KEYS.quota) });
    assert.equal(no.status, 429, no.text);
    assert.deepEqual([no.json.error.type, no.json.error.code], ['insufficient_quota', 'insufficient_quota']);
    assert.equal(no.headers.get('x-should-retry'), 'false');
    const secondsToMidnight = Math.ceil((Date.UTC(...(() => { const d = new Date(); return [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1]; })()) - Date.now()) / 1000);
    assert.ok(Math.abs(Number(no.headers.get('retry-after')) - secondsToMidnight) <= 5, no.headers.get('retry-after'));
    assert.equal(chatEntries(s, 'keys-q2').length, 0);
  });

  test('concurrency: a second request while the first streams gets 429 with Retry-After 1', T, async () => {
    s.fake.script({ text: 'keys-slow', times: 1, pauseAfterEvents: 1, pauseMs: 3000 });
    const slow = s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.6', 'keys-slow', { stream: true }), ...as(KEYS.busy) });
    // The first request holds its slot from admission on; upstream seeing it proves admission.
    await waitFor('the slow request upstream', () => chatEntries(s, 'keys-slow').length > 0, { timeoutMs: 30_000 });
    const second = await s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.6', 'keys-fast'), ...as(KEYS.busy) });
    assert.equal(second.status, 429, second.text);
    assert.equal(second.headers.get('retry-after'), '1');
    assert.equal((await slow).status, 200);
    const third = await s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.6', 'keys-fast2'), ...as(KEYS.busy) });
    assert.equal(third.status, 200, 'the slot came back');
  });
});

// Only renewal can keep the slot: the second request comes after the lease would have lapsed.
describe('a long stream keeps its concurrency slot past STATE_LEASE_TTL_MS', () => {
  const TTL_MS = 2000;
  const KEY = 'sk-e2e-lease-key-0007';
  let s;
  before(async () => {
    s = await startStack({
      mode: 'api',
      settings: { CLIENT_KEYS: JSON.stringify([{ name: 'lease', key_sha256: sha(KEY), max_concurrent: 1 }]), STATE_LEASE_TTL_MS: TTL_MS },
    });
  });
  after(async () => s?.stop());

  test('at 3 s and 4 s into a 6 s stream (TTL 2 s): 429 with Retry-After 1; after it, 200', { timeout: 120_000 }, async () => {
    // The recording's first event, 4.9 s of silence, then the other 4 events 0.4 s apart: about
    // 6 s. Both checks fall in the silence, so no upstream event wakes the exchange to renew
    // its lease: only its own renewal deadline (every TTL/2) does.
    s.fake.script({ text: 'keys-lease-long', times: 1, dripMs: 400, pauseAfterEvents: 1, pauseMs: 4500 });
    const res = await freshFetch(`${s.host.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(chat('glm-4.6', 'keys-lease-long', { stream: true })),
      signal: AbortSignal.timeout(90_000),
    });
    assert.equal(res.status, 200);
    let text = '';
    let ended = false;
    const rest = (async () => {
      const dec = new TextDecoder();
      for await (const c of res.body) text += dec.decode(c, { stream: true });
      ended = true;
    })();
    // The fake saw the request after its admission: from then on the lease is at least this old.
    const [upstream] = await waitFor('the long stream upstream', () => {
      const e = chatEntries(s, 'keys-lease-long');
      return e.length > 0 && e;
    }, { timeoutMs: 30_000 });
    for (const atMs of [3000, 4000]) {
      await waitFor(`${atMs} ms since upstream got the stream`, () => Date.now() >= upstream.time + atMs, { timeoutMs: atMs + 10_000 });
      const second = await s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.6', `keys-lease-second-${atMs}`), ...as(KEY) });
      const age = Date.now() - upstream.time;
      assert.equal(ended, false, `the stream still ran ${age} ms in`);
      assertError(second, { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' });
      assert.equal(second.headers.get('retry-after'), '1');
      const u = await s.request('/v1/usage', as(KEY));
      assert.equal(u.json.usage.concurrent, 1, `the stream's lease counted ${age} ms in`);
    }
    await rest;
    assert.ok(Date.now() - upstream.time >= 5000, `the stream lasted ${Date.now() - upstream.time} ms`);
    const parsed = parseStream(text);
    assert.deepEqual(parsed.errors, []);
    assert.equal(aggregate(parsed.chunks).content, (await expected('api', 'answer_only')).content, 'every chunk arrived');
    assert.equal(chatEntries(s, 'keys-lease-second').length, 0, 'the refused requests reached no upstream');
    const third = await s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.6', 'keys-lease-after'), ...as(KEY) });
    assert.equal(third.status, 200, `the slot came back: ${third.text}`);
  });
});

// A Z.AI key that upstream rejected is marked dead; the operator clears the mark by its id.
describe('DELETE /admin/credentials/{id}', () => {
  const ADMIN = 'adm-e2e-credentials-0123456789abcdef';
  const [K1, K2] = API_KEYS;
  const cidOf = (k) => createHash('sha256').update(`zproxy-credential:${k}`).digest('hex').slice(0, 16);
  let s;
  before(async () => {
    s = await startStack({ mode: 'api', settings: { ZAI_API_KEYS: `${K1},${K2}`, ADMIN_KEY: ADMIN } });
  });
  after(async () => s?.stop());

  test('a rejected key: credential_rejected names its id; DELETE clears it and it serves again; 404, 401', { timeout: 120_000 }, async () => {
    const answers = [];
    // One chat; -> the fake's entries for it as [credential, status].
    const ask = async (tag) => {
      const r = await s.chat(chat('glm-4.6', tag));
      answers.push(r);
      assert.equal(r.status, 200, `${tag}: ${r.text}`);
      return chatEntries(s, tag).map((e) => [e.credential, e.status]);
    };
    s.fake.script({ credential: K1, ...presets.apiError(1000, 401) });
    // The pool may start with either key: ask until one request meets K1's 401, then K2 answers.
    for (let i = 0; !s.fake.entries('api_chat').some((e) => e.credential === K1 && e.status === 401); i++) {
      assert.ok(i < 3, 'a request reached the first key');
      assert.deepEqual((await ask(`keys-cred-${i}`)).at(-1), [K2, 200]);
    }
    const rejected = await waitFor('a credential_rejected log line', () => s.host.logs.find((l) => l.event === 'credential_rejected'));
    assert.equal(rejected.credential_id, cidOf(K1));
    // The fake accepts K1 again, yet the dead mark keeps it out.
    s.fake.clear();
    for (const tag of ['keys-cred-dead-1', 'keys-cred-dead-2']) assert.deepEqual(await ask(tag), [[K2, 200]]);

    const path = `/admin/credentials/${cidOf(K1)}`;
    const refused = [
      await s.request(path, { method: 'DELETE', key: null }),
      await s.request(path, { method: 'DELETE' }), // a client key is not the admin key
    ];
    for (const r of refused) assertError(r, { status: 401, code: 'invalid_api_key' });
    const unknown = await s.request('/admin/credentials/0123456789abcdef', { method: 'DELETE', key: ADMIN });
    assertError(unknown, { status: 404, code: 'not_found' });
    const cleared = await s.request(path, { method: 'DELETE', key: ADMIN });
    assert.equal(cleared.status, 200, cleared.text);
    assert.deepEqual(cleared.json, { id: cidOf(K1), object: 'credential', cleared: true });

    // K1 is the least recently used healthy key now.
    const back = [...(await ask('keys-cred-back-1')), ...(await ask('keys-cred-back-2'))];
    assert.ok(back.some(([k, st]) => k === K1 && st === 200), `K1 served again: ${JSON.stringify(back.map(([k, st]) => [k.slice(-4), st]))}`);

    const shown = [...answers, ...refused, unknown, cleared].map((r) => r.text).join('\n') + JSON.stringify(s.host.logs);
    for (const k of [K1, K2, ADMIN]) assert.ok(!shown.includes(k), `no key in an answer or log line (${k.slice(0, 6)}…)`);
  });
});

describe('ADMIN_KEY: /admin/keys and /metrics once CLIENT_KEYS is set', () => {
  const ADMIN = 'adm-e2e-0123456789abcdef0123456789abcdef';
  let s;
  before(async () => {
    s = await startStack({ mode: 'api', settings: { CLIENT_KEYS: JSON.stringify(CLIENT_KEYS), ADMIN_KEY: ADMIN } });
  });
  after(async () => s?.stop());

  test('/admin/keys pages every key, never a key or a hash; only ADMIN_KEY opens it', T, async () => {
    const first = await s.request('/admin/keys?limit=2', { key: ADMIN });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.object, 'list');
    assert.deepEqual(first.json.data.map((k) => k.name), ['api-key-1', 'metered']);
    assert.equal(first.json.has_more, true);
    const rest = await s.request(`/admin/keys?after=${first.json.last_id}&limit=40`, { key: ADMIN });
    assert.deepEqual(rest.json.data.map((k) => k.name), CLIENT_KEYS.slice(1).map((k) => k.name));
    assert.equal(rest.json.has_more, false);
    const all = first.text + rest.text;
    for (const k of Object.values(KEYS)) assert.ok(!all.includes(k) && !all.includes(sha(k)));
    for (const key of [KEYS.metered, 'sk-nobody']) {
      const r = await s.request('/admin/keys', as(key));
      assert.equal(r.status, 401, key);
    }
    const bad = await s.request('/admin/keys?limit=99', { key: ADMIN });
    assert.equal(bad.status, 400);
  });

  test('/metrics needs ADMIN_KEY, and shows the per-key series', T, async () => {
    await s.request('/v1/chat/completions', { method: 'POST', body: chat('glm-4.6', 'keys-metrics'), ...as(KEYS.metered) });
    assert.equal((await s.request('/metrics', as(KEYS.metered))).status, 401);
    const m = await s.request('/metrics', { key: ADMIN });
    assert.equal(m.status, 200);
    assert.match(m.text, /zproxy_client_tokens_total\{key="metered"\} \d+/);
    assert.ok(!m.text.includes(KEYS.metered));
  });
});

describe('without ADMIN_KEY, /admin/* are unknown paths', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'api' });
  });
  after(async () => s?.stop());

  test('401 without a client key, 404 with one', T, async () => {
    assert.equal((await s.request('/admin/keys', { key: null })).status, 401);
    const r = await s.request('/admin/keys');
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'not_found');
  });
});
