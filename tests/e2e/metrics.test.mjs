// Operations: /metrics counters move by the expected amounts after a known sequence of
// requests; labels never carry client-chosen strings; logs carry request ids and never a
// secret or a prompt.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCors, assertError } from './assertions.mjs';
import { hasMetric, metricSum, parseMetrics } from './metrics.mjs';
import { expected } from './oracle.mjs';
import { CLIENT_KEY, chatBody, startStack, waitPool } from './stack.mjs';
import { waitFor } from './util.mjs';

const T = { timeout: 60_000 };
const NAMES = [
  'zproxy_requests_total',
  'zproxy_request_duration_seconds',
  'zproxy_time_to_first_token_seconds',
  'zproxy_upstream_attempts_total',
  'zproxy_credentials',
  'zproxy_inflight_requests',
];

describe('metrics and logs (guest, one token)', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'guest', settings: { TOKEN_POOL_SIZE: 1 } });
    await waitPool(s, 1);
  });
  after(() => s?.stop());

  async function scrape() {
    const r = await s.request('/metrics');
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    assertCors(r.headers);
    return parseMetrics(r.text);
  }

  test('/metrics needs the client key', T, async () => {
    assertError(await s.request('/metrics', { key: null }), { status: 401, code: 'invalid_api_key' });
  });

  test('names and types', T, async () => {
    const m = await scrape();
    assert.equal(m.types.get('zproxy_requests_total'), 'counter');
    assert.equal(m.types.get('zproxy_upstream_attempts_total'), 'counter');
    assert.equal(m.types.get('zproxy_request_duration_seconds'), 'histogram');
    assert.equal(m.types.get('zproxy_time_to_first_token_seconds'), 'histogram');
    assert.equal(m.types.get('zproxy_credentials'), 'gauge');
    assert.equal(m.types.get('zproxy_inflight_requests'), 'gauge');
    for (const name of ['zproxy_credentials', 'zproxy_inflight_requests']) assert.ok(hasMetric(m, name), name);
    assert.ok(metricSum(m, 'zproxy_credentials', { mode: 'guest' }) >= 1, 'the guest token is counted');
    const inflight = metricSum(m, 'zproxy_inflight_requests');
    assert.ok(inflight === 0 || inflight === 1, `inflight ${inflight} (at most this scrape)`);
    for (const name of NAMES) assert.ok(m.types.has(name), `${name} exposed`);
    for (const sample of m.samples) {
      if ('route' in sample.labels) {
        assert.ok(['chat_completions', 'messages', 'count_tokens', 'responses', 'usage', 'admin', 'models', 'healthz', 'readyz', 'metrics', 'other'].includes(sample.labels.route), sample.labels.route);
      }
      if ('status' in sample.labels) assert.match(sample.labels.status, /^\d{3}$/);
    }
  });

  test('counters move by exactly the requests made', T, async () => {
    const m0 = await scrape();
    const sequence = [
      () => s.chat(chatBody('metrics-ns')),
      () => s.chat({ ...chatBody('metrics-st'), stream: true }),
      () => s.request('/v1/models'),
      () => s.request('/healthz', { key: null }),
      () => s.request('/readyz', { key: null }),
      () => s.request('/v1/no-such-route'),
      () => s.chat('{not json'),
    ];
    const statuses = [];
    for (const send of sequence) statuses.push((await send()).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 404, 400]);
    const m1 = await scrape();
    const delta = (name, labels) => metricSum(m1, name, labels) - metricSum(m0, name, labels);
    const req = 'zproxy_requests_total';
    assert.equal(delta(req, { route: 'chat_completions', status: 200 }), 2);
    assert.equal(delta(req, { route: 'chat_completions', status: 400 }), 1);
    assert.equal(delta(req, { route: 'models', status: 200 }), 1);
    assert.equal(delta(req, { route: 'healthz', status: 200 }), 1);
    assert.equal(delta(req, { route: 'readyz', status: 200 }), 1);
    assert.equal(delta(req, { route: 'other', status: 404 }), 1);
    assert.equal(delta(req, { route: 'metrics', status: 200 }), 1, 'the first scrape');
    assert.equal(delta(req, {}), 8);
    assert.equal(delta('zproxy_request_duration_seconds_count', { route: 'chat_completions' }), 3);
    assert.equal(delta('zproxy_request_duration_seconds_count', {}), 8);
    assert.equal(delta('zproxy_time_to_first_token_seconds_count', { mode: 'guest' }), 2);
    assert.equal(delta('zproxy_upstream_attempts_total', { mode: 'guest' }), 2);
    for (const route of ['chat_completions', 'models']) {
      const buckets = m1.samples
        .filter((x) => x.name === 'zproxy_request_duration_seconds_bucket' && x.labels.route === route)
        .sort((a, b) => Number(a.labels.le) - Number(b.labels.le));
      assert.ok(buckets.length >= 2, `${route} buckets`);
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, 'cumulative buckets');
      assert.equal(buckets.at(-1).labels.le, '+Inf');
      assert.equal(buckets.at(-1).value, metricSum(m1, 'zproxy_request_duration_seconds_count', { route }));
    }
  });

  test('labels never carry client-chosen strings', T, async () => {
    await s.request('/v1/models/client-chosen-zq7');
    await s.chat(chatBody('x', { model: 'client-model-zq7' }));
    await s.request('/client-path-zq7');
    const r = await s.request('/metrics');
    assert.ok(!r.text.includes('zq7'), 'no client string in /metrics');
  });

  test('logs: request ids logged; no key, token or prompt ever', T, async () => {
    const prompt = 'very-private-prompt-text-5150';
    const rid = 'e2e-log-check-0001';
    const r = await s.chat(chatBody(prompt), { headers: { 'x-request-id': rid } });
    assert.equal(r.status, 200);
    await waitFor('a log line with the request id', () => s.host.logs.some((l) => JSON.stringify(l).includes(rid)), { timeoutMs: 5000 });
    const secrets = [CLIENT_KEY, prompt, ...s.fake.tokens(), (await expected('guest', 'answer_only')).content];
    for (const line of s.host.lines) {
      for (const secret of secrets) assert.ok(!line.text.includes(secret), `log line leaks a secret: ${line.text.slice(0, 200)}`);
    }
    const nativeLogs = s.host.kind === 'native' ? s.host.lines.filter((l) => l.stream === 'stderr') : [];
    for (const l of nativeLogs) assert.doesNotThrow(() => JSON.parse(l.text), `stderr line is JSON: ${l.text}`);
  });
});
