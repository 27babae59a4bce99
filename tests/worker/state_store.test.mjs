// STATE_STORE=durable_object across isolates: two Workers running the exact bundle wrangler
// deploys, under Miniflare (the same workerd as wrangler dev), both bound to one Durable Object
// class (Worker "a" defines ZpState, "b" binds it by scriptName), in front of the fake upstream
// on 127.0.0.1. Each case also runs with STATE_STORE=memory, where the same steps show each
// isolate on its own, so a pass means the objects did the sharing.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Miniflare } from 'miniflare';
import { presets, startFake } from '../fake-upstream/server.mjs';
import { waitFor } from '../e2e/util.mjs';
import { buildBundle, workerOptions } from './bundle.mjs';

const T = { timeout: 300_000 };
const TEAM_KEY = 'sk-team-a-0000000000000001';
const sha = (k) => createHash('sha256').update(k).digest('hex');
const ZAI_KEYS = ['zk-one-1111', 'zk-two-2222'];
const SYNC_MS = 500;
const ADMIN_KEY = 'admin-worker-store-0123456789abcdef01234';

let bundle;
let fake;
before(async () => {
  bundle = await buildBundle();
  fake = await startFake();
});
after(async () => {
  await fake?.close();
  bundle?.remove();
});

function settings(store, extra = {}) {
  return {
    UPSTREAM_MODE: 'api',
    ZAI_API_KEYS: ZAI_KEYS.join(','),
    ZAI_API_BASE_URL: `${fake.url}/api/paas/v4`,
    CLIENT_KEYS: JSON.stringify([{ name: 'team-a', key_sha256: sha(TEAM_KEY), rpm: 10 }]),
    STATE_STORE: store,
    // Generous: a slow machine must not turn a store call into a local decision.
    STATE_STORE_TIMEOUT_MS: 15_000,
    STATE_SYNC_MS: SYNC_MS,
    ...extra,
  };
}

// Workers "a" (defines the objects) and "b" (binds a's); -> {a, b, logs, dispose()}: a and b
// are Fetchers into each Worker.
async function twoWorkers(vars) {
  const logs = [];
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    workers: [workerOptions(bundle, 'a', vars), workerOptions(bundle, 'b', vars, 'a')],
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) s.on('data', (c) => logs.push(String(c)));
    },
  });
  await mf.ready;
  return { a: await mf.getWorker('a'), b: await mf.getWorker('b'), logs, dispose: () => mf.dispose() };
}

async function chat(worker, text) {
  const res = await worker.fetch('http://proxy.test/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${TEAM_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: text }] }),
  });
  return { status: res.status, text: await res.text() };
}

async function get(worker, path) {
  const res = await worker.fetch(`http://proxy.test${path}`, { headers: { authorization: `Bearer ${TEAM_KEY}` } });
  return { status: res.status, text: await res.text() };
}

// 40 requests at once, half through each Worker -> the statuses.
async function burst(w) {
  const all = Array.from({ length: 40 }, (_, i) => chat(i % 2 ? w.b : w.a, `burst ${i}`));
  return (await Promise.all(all)).map((r) => r.status);
}

describe('durable_object state store: two Workers, one object class', () => {
  test('rpm=10 and 40 concurrent requests across both Workers: exactly 10 admitted', T, async () => {
    const w = await twoWorkers(settings('durable_object', { ADMIN_KEY }));
    let statuses;
    let page;
    try {
      statuses = await burst(w);
      // The operator's list through either Worker shows the key's shared window.
      const res = await w.b.fetch('http://proxy.test/admin/keys', { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      page = { status: res.status, text: await res.text() };
    } finally {
      await w.dispose();
    }
    assert.equal(page.status, 200, page.text);
    const listed = JSON.parse(page.text).data[0];
    assert.equal(listed.source, 'store', page.text);
    assert.equal(listed.usage.requests_this_window, 10, page.text);
    const ok = statuses.filter((s) => s === 200).length;
    assert.equal(ok, 10, `statuses: ${statuses.join(' ')}`);
    assert.equal(statuses.filter((s) => s === 429).length, 30, `statuses: ${statuses.join(' ')}`);

    const local = await twoWorkers(settings('memory'));
    try {
      statuses = await burst(local);
    } finally {
      await local.dispose();
    }
    assert.equal(statuses.filter((s) => s === 200).length, 20, `memory: each Worker admits its own 10: ${statuses.join(' ')}`);
  });

  // Worker a meets 1113 on zk-one; Worker b, whose next request comes after that, then learns
  // of it within STATE_SYNC_MS and never sends zk-one again. -> b's chat requests upstream.
  async function oneBadKey(store) {
    fake.reset();
    fake.script({ route: 'api_chat', credential: ZAI_KEYS[0], ...presets.apiError(1113) });
    const w = await twoWorkers(settings(store, { CLIENT_KEYS: JSON.stringify([{ name: 'team-a', key_sha256: sha(TEAM_KEY) }]) }));
    try {
      const met = () => fake.entries('api_chat').some((e) => e.credential === ZAI_KEYS[0] && e.status === 429);
      for (let i = 0; i < 4 && !met(); i++) {
        const r = await chat(w.a, `through a ${i}`);
        assert.equal(r.status, 200, `a: ${r.text}`);
      }
      assert.ok(met(), 'Worker a never sent the first key');
      const seen = fake.entries('api_chat').length;
      // b's next request (one that sends nothing upstream), then STATE_SYNC_MS and more.
      assert.equal((await get(w.b, '/v1/models')).status, 200);
      const synced = Date.now() + 3 * SYNC_MS;
      await waitFor('STATE_SYNC_MS to pass', () => Date.now() >= synced, { timeoutMs: 10 * SYNC_MS });
      for (let i = 0; i < 6; i++) {
        const r = await chat(w.b, `through b ${i}`);
        assert.equal(r.status, 200, `b: ${r.text}`);
      }
      return fake.entries('api_chat').slice(seen);
    } finally {
      await w.dispose();
      fake.reset();
    }
  }

  test('a Z.AI key answered 1113 through Worker a is not used by Worker b after STATE_SYNC_MS', T, async () => {
    const fromB = await oneBadKey('durable_object');
    assert.equal(fromB.length, 6, JSON.stringify(fromB.map((e) => e.credential)));
    assert.deepEqual(fromB.filter((e) => e.credential === ZAI_KEYS[0]).map((e) => e.seq), [],
                     `b sent the key a found in arrears: ${fromB.map((e) => e.credential).join(' ')}`);

    const alone = await oneBadKey('memory');
    assert.ok(alone.some((e) => e.credential === ZAI_KEYS[0]),
              `memory: b should have tried the key itself: ${alone.map((e) => e.credential).join(' ')}`);
  });

  test('an object that throws: both Workers still serve, limits held per Worker', T, async () => {
    const w = await twoWorkers(settings('durable_object', {
      ZP_STATE_FAULT: 'throw',
      CLIENT_KEYS: JSON.stringify([{ name: 'team-a', key_sha256: sha(TEAM_KEY), rpm: 2 }]),
    }));
    try {
      for (const worker of [w.a, w.b]) {
        const statuses = [];
        for (let i = 0; i < 3; i++) statuses.push((await chat(worker, `fault ${i}`)).status);
        assert.deepEqual(statuses, [200, 200, 429], 'rpm=2 decided locally');
        const usage = JSON.parse((await get(worker, '/v1/usage')).text);
        assert.equal(usage.source, 'local', JSON.stringify(usage));
      }
      assert.ok(w.logs.join('').includes('state_store_down'), 'state_store_down logged');
    } finally {
      await w.dispose();
    }
  });
});
