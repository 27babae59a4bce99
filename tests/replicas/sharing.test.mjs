// STATE_STORE=redis across two native replicas (docs/contract.md §14, INTERFACE.md §9.2):
// credential health learned by one replica reaches the other within STATE_SYNC_MS, a client
// key's rpm is admitted once across both, and /v1/usage through one replica shows what the
// other charged. The rpm and credential cases also run with STATE_STORE=memory, where the same
// steps show each replica on its own: a pass means Redis did the sharing.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { presets, startFake } from '../fake-upstream/server.mjs';
import { expected } from '../e2e/oracle.mjs';
import { promptFor } from '../fake-upstream/streams.mjs';
import { waitFor } from '../e2e/util.mjs';
import { startRedis } from './redis.mjs';
import { request } from '../e2e/stack.mjs';
import { ADMIN_KEY, ZAI_KEYS, chat, metrics, startReplicas, tick, usage } from './replicas.mjs';

const T = { timeout: 180_000 };
const SYNC_MS = 500;
const TEAM = { name: 'team', key: 'sk-replicas-team-0000000001' };
const RPM = { name: 'rpm10', key: 'sk-replicas-rpm10-000000002', rpm: 10 };
const METERED = { name: 'metered', key: 'sk-replicas-metered-0000003', tokens_per_day: 10_000_000 };
// Its own key: the store outlives each case's replicas, so keys are not shared between cases.
const LAST = { name: 'last', key: 'sk-replicas-last-00000000004', tokens_per_day: 10_000_000 };
const KEYS = [TEAM, RPM, METERED, LAST];
// Generous: on a busy machine a store call must not turn into a local decision.
const SETTINGS = { STATE_SYNC_MS: SYNC_MS, STATE_STORE_TIMEOUT_MS: 5000 };

let redis;
let fake;
before(async () => {
  redis = await startRedis();
  fake = await startFake();
});
after(async () => {
  await fake?.close();
  await redis?.stop();
});

// REPLICAS_STORE=memory runs the Redis cases on the memory backend instead, to watch them fail.
const UNDER_TEST = process.env.REPLICAS_STORE || 'redis';

async function withReplicas(store, fn) {
  if (store === 'redis') store = UNDER_TEST;
  fake.reset();
  const r = await startReplicas({ store, redis, keys: KEYS, settings: SETTINGS, fake });
  try {
    return await fn(r);
  } finally {
    await r.stop();
    fake.reset();
  }
}

describe('two native replicas sharing one redis-server', () => {
  // Replica A meets 1113 (out of balance) on ZAI_KEYS[0]; replica B, which keeps serving
  // requests meanwhile, must not send that key again from STATE_SYNC_MS + 0.5 s after A's
  // verdict on. -> {fromB: B's upstream calls after that, waitedMs}
  async function keyInArrears(store) {
    return withReplicas(store, async ({ a, b }) => {
      // B first serves a request of its own, so its pool is warm before A's verdict.
      const warm = await chat(b, TEAM.key, 'warm-up through b');
      assert.equal(warm.status, 200, warm.text);
      fake.script({ route: 'api_chat', credential: ZAI_KEYS[0], ...presets.apiError(1113) });
      const arrears = () => fake.entries('api_chat').find((e) => e.credential === ZAI_KEYS[0] && e.status === 429);
      for (let i = 0; i < 4 && !arrears(); i++) {
        const r = await chat(a, TEAM.key, `through a ${i}`);
        assert.equal(r.status, 200, `a (another key answers): ${r.text}`);
      }
      const verdict = arrears();
      assert.ok(verdict, 'replica A never sent the first key');
      const verdictAt = verdict.finishedAt ?? verdict.time;
      // B keeps receiving requests (that send nothing upstream) while the sync interval passes:
      // each may start its background refresh.
      const from = verdictAt + SYNC_MS + 500;
      while (Date.now() < from) {
        assert.equal((await request(b, '/healthz', { key: null })).status, 200);
        await tick(50);
      }
      const waitedMs = Date.now() - verdictAt;
      const seen = fake.entries('api_chat').length;
      for (let i = 0; i < 6; i++) {
        const r = await chat(b, TEAM.key, `through b ${i}`);
        assert.equal(r.status, 200, `b: ${r.text}`);
      }
      return { fromB: fake.entries('api_chat').slice(seen), waitedMs };
    });
  }

  test('a Z.AI key answered 1113 through replica A is not used by replica B from STATE_SYNC_MS + 0.5 s on', T, async (t) => {
    const { fromB, waitedMs } = await keyInArrears('redis');
    t.diagnostic(`B's first request came ${waitedMs} ms after A's verdict`);
    const creds = fromB.map((e) => e.credential);
    assert.equal(fromB.length, 6, `one upstream call per request: ${creds.join(' ')}`);
    assert.deepEqual(creds, Array(6).fill(ZAI_KEYS[1]), 'B sent the key A found in arrears');
    assert.ok(fromB.every((e) => e.status === 200), 'every call of B answered 200');

    const alone = await keyInArrears('memory');
    assert.ok(alone.fromB.some((e) => e.credential === ZAI_KEYS[0]),
              `memory: B should have tried the key itself: ${alone.fromB.map((e) => e.credential).join(' ')}`);
  });

  // 40 requests at once of a key with rpm=10, alternating between the replicas. -> statuses,
  // the 429 codes, and each replica's zproxy_state_fallback_total.
  async function burst(store) {
    return withReplicas(store, async ({ a, b }) => {
      const all = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(i % 2 ? b : a, RPM.key, `burst ${i}`)));
      const fallbacks = [];
      for (const h of [a, b]) {
        const m = await metrics(h);
        fallbacks.push(m.has('zproxy_state_fallback_total') ? m.sum('zproxy_state_fallback_total') : 0);
      }
      return {
        statuses: all.map((r) => r.status),
        refusals: all.filter((r) => r.status === 429).map((r) => r.json?.error?.code),
        upstream: fake.entries('api_chat').length,
        fallbacks,
      };
    });
  }

  test('rpm=10, 40 concurrent requests over both replicas: exactly 10 admitted, no local fallback', T, async () => {
    const r = await burst('redis');
    const shown = r.statuses.join(' ');
    assert.equal(r.statuses.filter((s) => s === 200).length, 10, shown);
    assert.equal(r.statuses.filter((s) => s === 429).length, 30, shown);
    assert.deepEqual(new Set(r.refusals), new Set(['rate_limit_exceeded']));
    assert.equal(r.upstream, 10, 'only the admitted requests reached upstream');
    assert.deepEqual(r.fallbacks, [0, 0], 'zproxy_state_fallback_total of A and B');

    const local = await burst('memory');
    assert.equal(local.statuses.filter((s) => s === 200).length, 20, `memory: each replica admits its own 10: ${local.statuses.join(' ')}`);
  });

  test('GET /v1/usage through replica B after requests through A: source "store", upstream\'s total_tokens', T, async () => {
    // Recordings with different totals, so neither a constant nor one answer's count passes.
    const cases = ['answer_only', 'reasoning', 'length'];
    let want = 0;
    for (const c of cases) want += (await expected('api', c, 'json')).usage.total_tokens;
    await withReplicas('redis', async ({ a, b }) => {
      let sum = 0;
      for (const c of cases) {
        const r = await chat(a, METERED.key, promptFor(c, 'usage-through-a'));
        assert.equal(r.status, 200, r.text);
        sum += r.json.usage.total_tokens;
      }
      assert.equal(sum, want, 'the answers carry upstream\'s usage');
      // Charged once each exchange ends, which may be just after the client read its answer.
      const seen = await waitFor('B to report the tokens charged through A', async () => {
        const u = await usage(b, METERED.key);
        return u.usage.tokens_today >= want ? u : null;
      }, { timeoutMs: 30_000, intervalMs: 100 });
      assert.equal(seen.source, 'store', JSON.stringify(seen));
      assert.equal(seen.usage.tokens_today, want, JSON.stringify(seen));
      assert.equal(seen.usage.tokens_this_month, want, JSON.stringify(seen));
      assert.equal(seen.name, METERED.name);
      // The operator's list through B: the limited key from the store, the unlimited one
      // (never in the store) from B's own memory.
      const page = await request(b, '/admin/keys', { key: ADMIN_KEY });
      assert.equal(page.status, 200, page.text);
      const byName = Object.fromEntries(page.json.data.map((k) => [k.name, k]));
      assert.equal(byName.metered.source, 'store', page.text);
      assert.equal(byName.metered.usage.tokens_today, want, page.text);
      assert.equal(byName.team.source, 'local', page.text);
    });
    // Control: each replica on its own, B knows nothing of A's tokens.
    await withReplicas('memory', async ({ a, b }) => {
      for (const c of cases) assert.equal((await chat(a, METERED.key, promptFor(c, 'usage-memory'))).status, 200);
      await waitFor('A to charge its own tokens', async () => (await usage(a, METERED.key)).usage.tokens_today >= want,
                    { timeoutMs: 30_000, intervalMs: 100 });
      const u = await usage(b, METERED.key);
      assert.equal(u.source, 'local');
      assert.equal(u.usage.tokens_today, 0, JSON.stringify(u));
    });
  });

  test('a replica stopped right after its last answer has settled it into the store first', T, async () => {
    // A settlement may wait briefly to share the next store call's round trip; SIGTERM must
    // not lose it: replica B reports A's last tokens as soon as A has exited, without waiting.
    const want = (await expected('api', 'answer_only', 'json')).usage.total_tokens;
    await withReplicas('redis', async ({ a, b }) => {
      const r = await chat(a, LAST.key, promptFor('answer_only', 'settled-before-exit'));
      assert.equal(r.status, 200, r.text);
      const exit = await a.stop();
      assert.equal(exit.code, 0, `A exited ${JSON.stringify(exit)}\n${a.tail()}`);
      const u = await usage(b, LAST.key);
      assert.equal(u.source, 'store', JSON.stringify(u));
      assert.equal(u.usage.tokens_today, want, JSON.stringify(u));
    });
  });
});
