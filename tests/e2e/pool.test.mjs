// The guest token pool, asserted on the fake's request log (which credential served which
// attempt): least-recently-used order, replacement of a rejected token, retries on another
// token before the first byte, failures that must not be retried, MAX_ATTEMPTS, and backoff
// of failed token fetches.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCompletion, assertError } from './assertions.mjs';
import { expected } from './oracle.mjs';
import { GUEST_MODEL, chatBody, chatEntries, startStack, waitPool } from './stack.mjs';
import { presets } from '../fake-upstream/server.mjs';
import { waitFor } from './util.mjs';

const T = { timeout: 60_000 };
const okAuths = (s) => s.fake.entries('auth').filter((e) => e.status === 200);

describe('guest token pool (TOKEN_POOL_SIZE=3, MAX_ATTEMPTS=3)', () => {
  let s;
  let answer;
  before(async () => {
    s = await startStack({ mode: 'guest', settings: { TOKEN_POOL_SIZE: 3, MAX_ATTEMPTS: 3 } });
    answer = await expected('guest', 'answer_only');
    await waitPool(s, 3);
  });
  after(() => s?.stop());

  // One request tagged `tag`; returns {r, ups} (ups: its upstream attempts in order).
  async function tagged(tag, extra = {}) {
    const r = await s.chat(chatBody(tag, extra));
    return { r, ups: chatEntries(s, tag) };
  }

  test('sequential requests use the least recently used token, in a stable cycle', T, async () => {
    const creds = [];
    for (let i = 0; i < 9; i++) {
      const { r, ups } = await tagged(`lru-${i}-`);
      assertCompletion(r.json, { model: GUEST_MODEL, ...answer });
      assert.equal(ups.length, 1);
      creds.push(ups[0].credential);
    }
    const cycle = creds.slice(3, 6);
    assert.equal(new Set(cycle).size, 3, 'three different tokens in a row');
    assert.deepEqual(creds.slice(6, 9), cycle, 'then the same order again');
    for (const c of cycle) assert.ok(s.fake.tokens().includes(c));
  });

  test('a token upstream rejects (401) is replaced and the request retried on another', T, async () => {
    const issued = okAuths(s).length;
    s.fake.script({ times: 1, ...presets.unauthorized() });
    const { r, ups } = await tagged('tok-401');
    assertCompletion(r.json, { model: GUEST_MODEL, ...answer });
    assert.deepEqual(ups.map((e) => e.status), [401, 200]);
    const dead = ups[0].credential;
    assert.notEqual(ups[1].credential, dead);
    await waitFor('a replacement token fetch', () => okAuths(s).length > issued);
    const fresh = okAuths(s).at(-1).issuedToken;
    const used = [];
    for (let i = 0; i < 6; i++) used.push((await tagged(`after-401-${i}-`)).ups[0].credential);
    assert.ok(!used.includes(dead), 'the rejected token is never used again');
    assert.ok(used.includes(fresh), 'the replacement is used');
  });

  test('busy (429) is retried on another token', T, async () => {
    s.fake.script({ times: 1, ...presets.busy() });
    const { r, ups } = await tagged('busy-once');
    assertCompletion(r.json, { model: GUEST_MODEL, ...answer });
    assert.deepEqual(ups.map((e) => e.status), [429, 200]);
    assert.notEqual(ups[0].credential, ups[1].credential);
  });

  test('a transient upstream failure (500, or an error frame before any content) is retried', T, async () => {
    s.fake.script({ times: 1, ...presets.serverError() });
    const a = await tagged('transient-500');
    assertCompletion(a.r.json, { model: GUEST_MODEL, ...answer });
    assert.deepEqual(a.ups.map((e) => e.status), [500, 200]);
    assert.notEqual(a.ups[0].credential, a.ups[1].credential);

    s.fake.script({ times: 1, errorAfterEvents: 0 });
    const b = await tagged('frame-before-commit');
    assertCompletion(b.r.json, { model: GUEST_MODEL, ...answer });
    assert.equal(b.ups.length, 2);
    assert.equal(b.ups[0].errorSent, true);
  });

  test('upstream-wide refusals are 502 upstream_rejected in words, never retried', T, async () => {
    const frame = (error) => ({ errorAfterEvents: 0, errorFrame: { type: 'chat:completion', data: { error } } });
    const cases = [
      ['firewall', presets.firewall(), /firewall|blocked/i],
      ['signature', presets.signature(), /signature/i],
      ['version', frame({ code: 426, detail: 'The client version is outdated, please refresh the page.' }), /version/i],
      ['captcha', frame({ code: 'FRONTEND_CAPTCHA_REQUIRED', detail: 'Please complete the verification.' }), /captcha/i],
    ];
    for (const [tag, rule, words] of cases) {
      s.fake.script({ text: `wide-${tag}`, ...rule });
      const { r, ups } = await tagged(`wide-${tag}`);
      const e = assertError(r, { status: 502, type: 'upstream_error', code: 'upstream_rejected' });
      assert.match(e.message, words, `${tag}: ${e.message}`);
      assert.ok(!/[<>]/.test(e.message), `no raw upstream HTML: ${e.message}`);
      assert.equal(ups.length, 1, `${tag}: not retried`);
    }
  });

  test('a model guests may not use: 403 model_not_available naming the model', T, async () => {
    s.fake.script({
      text: 'level-403',
      errorAfterEvents: 0,
      errorFrame: { type: 'chat:completion', data: { error: { code: 403, detail: 'Model not available for current user level' } } },
    });
    const { r } = await tagged('level-403', { model: 'glm-4.5' });
    const e = assertError(r, { status: 403, type: 'invalid_request_error', code: 'model_not_available' });
    assert.match(e.message, /glm-4\.5|0727-360B-API/);
  });

  // Last: it leaves every token cooling down.
  test('when every attempt is busy: MAX_ATTEMPTS attempts, then 429 with Retry-After', T, async () => {
    s.fake.script({ text: 'all-busy', ...presets.busy() });
    const { r, ups } = await tagged('all-busy');
    assertError(r, { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    assert.match(r.headers.get('retry-after') ?? '', /^\d+$/, 'Retry-After in seconds');
    assert.equal(ups.length, 3, 'MAX_ATTEMPTS upstream attempts');
    assert.ok(new Set(ups.map((e) => e.credential)).size >= 2, 'spread over tokens');
  });
});

describe('failed token fetches back off and heal', () => {
  let s;
  before(async () => {
    s = await startStack({
      mode: 'guest',
      settings: { TOKEN_POOL_SIZE: 1 },
      beforeStart: (fake) =>
        fake.script([
          { route: 'auth', times: 1, ...presets.firewall() },
          { route: 'auth', times: 1, ...presets.serverError() },
        ]),
    });
  });
  after(() => s?.stop());

  test('a request waits for the pool; fetches are spaced out exponentially', T, async () => {
    const r = await s.chat(chatBody('after-outage'));
    assert.equal(r.status, 200, r.text);
    const auths = s.fake.entries('auth');
    assert.deepEqual(auths.slice(0, 3).map((e) => e.status), [405, 500, 200]);
    const gap1 = auths[1].time - auths[0].time;
    const gap2 = auths[2].time - auths[1].time;
    assert.ok(gap1 >= 500, `first retry after ~1 s, not at once (${gap1} ms)`);
    assert.ok(gap2 >= 1000, `second retry after a longer wait (${gap2} ms)`);
    assert.ok(gap2 < 10_000, `a brief outage heals within seconds (${gap2} ms)`);
    await waitFor('/readyz 200', async () => (await s.request('/readyz', { key: null })).status === 200);
  });
});
