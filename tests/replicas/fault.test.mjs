// The store goes away under load (INTERFACE.md §9.4): two native replicas serve 20 requests/s
// in total for 20 s while their redis-server is killed (SIGKILL) at 5 s and restarted, empty,
// on the same port at 12 s. No client request may fail; each replica reports the outage once
// (state_store_down, then state_store_up with down_ms) and through zproxy_state_store_up;
// what it charged during the outage reaches the store after it returns; and an rpm limit is
// shared again afterwards. The timing is what the scenario is about: it is measured.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFake } from '../fake-upstream/server.mjs';
import { expected } from '../e2e/oracle.mjs';
import { waitFor } from '../e2e/util.mjs';
import { startRedis } from './redis.mjs';
import { chat, logEvents, startReplicas, storeUp, tick, usage } from './replicas.mjs';

const RATE = 20; // requests per second, both replicas together
const DURATION_MS = 20_000;
const KILL_AT_MS = 5_000;
const RESTART_AT_MS = 12_000;

// Every request of the load is admitted through the store (a limit), none refused (high rpm).
const STEADY = { name: 'steady', key: 'sk-replicas-steady-00000001', rpm: 100_000 };
// Used only while the store is down: what it is charged must reach the store afterwards.
const OUTAGE = { name: 'outage', key: 'sk-replicas-outage-00000002', tokens_per_day: 10_000_000 };
// Used only after the store is back: rpm shared again.
const FRESH = { name: 'fresh', key: 'sk-replicas-fresh-000000003', rpm: 2 };

let redis;
let fake;
let r;
before(async () => {
  redis = await startRedis();
  fake = await startFake();
  r = await startReplicas({
    store: 'redis',
    redis,
    fake,
    keys: [STEADY, OUTAGE, FRESH],
    // A busy machine must not turn a slow store call into an outage of its own; reconnects
    // are retried at least once a second once the store is back.
    settings: { STATE_STORE_TIMEOUT_MS: 5000, STATE_BACKOFF_MAX_MS: 1000 },
  });
});
after(async () => {
  await r?.stop();
  await fake?.close();
  await redis?.stop();
});

// Polls zproxy_state_store_up of `host` until stopped. -> {samples: [{t, v}], stop()}
// t: when the answer arrived (the replica's state at some moment before it).
function watchStoreUp(host) {
  const samples = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const v = await storeUp(host);
      samples.push({ t: Date.now(), v });
      await tick(100);
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await done;
    },
  };
}

// Runs of equal values: [[v, first t, last t, count], ...]
function runs(samples) {
  const out = [];
  for (const s of samples) {
    const last = out.at(-1);
    if (last && last[0] === s.v) {
      last[2] = s.t;
      last[3]++;
    } else {
      out.push([s.v, s.t, s.t, 1]);
    }
  }
  return out;
}

test('redis-server killed at 5 s and restarted at 12 s under 20 requests/s: no failed request, one outage per replica, sharing again', { timeout: 240_000 }, async (t) => {
  const { a, b } = r;
  const want = (await expected('api', 'answer_only', 'json')).content;
  // Both replicas have met the store before the load starts.
  for (const h of [a, b]) assert.equal((await chat(h, STEADY.key, 'before the load')).status, 200);
  await waitFor('both replicas to report the store up', async () => (await storeUp(a)) === 1 && (await storeUp(b)) === 1,
                { timeoutMs: 30_000, intervalMs: 100 });

  const watchers = [watchStoreUp(a), watchStoreUp(b)];
  const t0 = Date.now();
  const results = [];
  const load = [];
  for (let i = 0; i < (RATE * DURATION_MS) / 1000; i++) {
    const at = t0 + (i * 1000) / RATE;
    load.push((async () => {
      await tick(Math.max(0, at - Date.now()));
      const sentAt = Date.now();
      const res = await chat(i % 2 ? b : a, STEADY.key, `load ${i}`);
      results.push({ i, sentAt, status: res.status, content: res.json?.choices?.[0]?.message?.content, text: res.text });
    })());
  }

  await tick(t0 + KILL_AT_MS - Date.now());
  const killAt = Date.now();
  const killed = await redis.kill('SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');

  // While it is down: each replica reports it, and the OUTAGE key is charged locally.
  await waitFor('both replicas to report the store down', () => watchers.every((w) => w.samples.at(-1)?.v === 0),
                { timeoutMs: 5_000, intervalMs: 20 });
  let outageTokens = 0;
  for (const h of [a, b, a, b]) {
    const res = await chat(h, OUTAGE.key, 'during the outage');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.choices[0].message.content, want);
    outageTokens += res.json.usage.total_tokens;
  }
  const outageDone = Date.now();
  for (const h of [a, b]) {
    const u = await usage(h, OUTAGE.key);
    assert.equal(u.source, 'local', `no store to ask: ${JSON.stringify(u)}`);
  }

  await tick(t0 + RESTART_AT_MS - Date.now());
  const restartAt = Date.now();
  assert.ok(outageDone < restartAt, `the outage requests ended before the restart (${outageDone - t0} ms)`);
  await redis.restart();
  const restarted = Date.now();

  await Promise.all(load);
  const loadEnd = Date.now();
  await waitFor('both replicas to report the store up again', () => watchers.every((w) => w.samples.at(-1)?.v === 1 && w.samples.at(-1).t > restarted),
                { timeoutMs: 30_000, intervalMs: 50 });
  for (const w of watchers) await w.stop();

  t.diagnostic(`kill at ${killAt - t0} ms, restart at ${restartAt - t0} ms (serving after ${restarted - restartAt} ms), ` +
               `load ended at ${loadEnd - t0} ms`);

  // Zero failed client requests, every one with the recording's text, at the rate asked.
  assert.equal(results.length, (RATE * DURATION_MS) / 1000);
  const failed = results.filter((x) => x.status !== 200 || x.content !== want);
  assert.deepEqual(failed.map((x) => `${x.i}@${x.sentAt - t0}ms: ${x.status} ${x.text.slice(0, 200)}`), []);
  const lastSent = Math.max(...results.map((x) => x.sentAt)) - t0;
  assert.ok(lastSent >= DURATION_MS - 1000 && lastSent < DURATION_MS + 5000, `the load spanned ${lastSent} ms`);
  const duringOutage = results.filter((x) => x.sentAt > killAt && x.sentAt < restartAt).length;
  assert.ok(duringOutage >= 100, `${duringOutage} requests were sent while the store was down`);

  // zproxy_state_store_up: 1 before, 0 during, 1 after, in that order and at the right times.
  for (const [name, w] of [['A', watchers[0]], ['B', watchers[1]]]) {
    const seq = runs(w.samples);
    const shown = `${name}: ${seq.map(([v, from, to, n]) => `${v}×${n} (${from - t0}..${to - t0} ms)`).join(', ')}`;
    t.diagnostic(shown);
    assert.deepEqual(seq.map((x) => x[0]), [1, 0, 1], shown);
    const [up, down, back] = seq;
    assert.ok(up[3] >= 5, `several samples read 1 before the kill: ${shown}`);
    assert.ok(down[1] >= killAt, `0 only after the kill: ${shown}`);
    assert.ok(down[3] >= 5, `several samples read 0 during the outage: ${shown}`);
    assert.ok(back[1] >= restartAt, `1 again only after the restart: ${shown}`);
  }

  // One state_store_down and one state_store_up per replica, with where and how long.
  for (const [name, h, w] of [['A', a, watchers[0]], ['B', b, watchers[1]]]) {
    const downs = logEvents(h, 'state_store_down');
    const ups = logEvents(h, 'state_store_up');
    const shown = `${name}: ${JSON.stringify([...downs, ...ups])}`;
    assert.equal(downs.length, 1, shown);
    assert.equal(ups.length, 1, shown);
    assert.equal(downs[0].store, `127.0.0.1:${redis.port}`, shown);
    assert.equal(downs[0].backend, 'redis', shown);
    assert.ok(typeof downs[0].reason === 'string' && downs[0].reason !== '', shown);
    const seq = runs(w.samples);
    const firstZero = seq[1][1];
    const firstBack = seq[2][1];
    // It went down after the kill and before the first 0 was read; came up after the
    // restart and before the first 1 was read again.
    assert.ok(ups[0].down_ms >= restartAt - firstZero - 5 && ups[0].down_ms <= firstBack - killAt + 5,
              `down_ms ${ups[0].down_ms} within [${restartAt - firstZero}, ${firstBack - killAt}]: ${shown}`);
  }

  // The tokens charged during the outage reached the (restarted, empty) store.
  for (const h of [a, b]) {
    const u = await waitFor('the outage tokens in the store', async () => {
      const x = await usage(h, OUTAGE.key);
      return x.source === 'store' && x.usage.tokens_today >= outageTokens ? x : null;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    assert.equal(u.usage.tokens_today, outageTokens, JSON.stringify(u));
  }

  // Sharing works again: rpm=2 over both replicas.
  const statuses = [];
  for (const h of [a, b, a, b]) {
    const res = await chat(h, FRESH.key, 'after the outage');
    statuses.push(res.status === 429 ? `429 ${res.json?.error?.code}` : res.status);
  }
  assert.deepEqual(statuses, [200, 200, '429 rate_limit_exceeded', '429 rate_limit_exceeded']);
  for (const h of [a, b]) assert.equal(logEvents(h, 'state_store_down').length, 1, 'no further outage');
});
