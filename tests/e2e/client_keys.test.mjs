// Client keys with names, model lists and limits (CLIENT_KEYS, the memory backend), on both
// hosts (E2E_HOST): who a request is, 401 for unknown, disabled and expired keys, 403
// model_not_allowed, 429 rate_limit_exceeded with the x-ratelimit-* headers for rpm, 429 for
// concurrency, 429 insufficient_quota with x-should-retry false for token quotas, /v1/usage
// growing by exactly upstream's usage.total_tokens in every dialect, /v1/models per key, and
// no key or hash in any answer. A refused request counts nothing and reaches no upstream.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chatEntries, startStack } from './stack.mjs';
import { waitFor } from './util.mjs';

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
