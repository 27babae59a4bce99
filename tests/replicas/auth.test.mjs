// A wrong Redis password (INTERFACE.md §9.4, §9.5): redis-server requires one password, the
// replicas' REDIS_URL carries another. Requests are still served (limits decided locally),
// /readyz says "state_store":"down" without turning 503, the error metric names reason "auth",
// and neither password shows in any log line or answer.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFake } from '../fake-upstream/server.mjs';
import { expected } from '../e2e/oracle.mjs';
import { request } from '../e2e/stack.mjs';
import { waitFor } from '../e2e/util.mjs';
import { startRedis } from './redis.mjs';
import { ADMIN_KEY, chat, logEvents, metrics, startReplicas, usage } from './replicas.mjs';

const RIGHT = 'right-Passw0rd-4f1c9a7e';
const WRONG = 'wrong-Secr3t-b82d06e5';
const TEAM = { name: 'team', key: 'sk-replicas-auth-team-00001', rpm: 2 };

let redis;
let fake;
let r;
before(async () => {
  redis = await startRedis({ password: RIGHT });
  fake = await startFake();
  r = await startReplicas({
    store: 'redis',
    redis: { url: () => redis.url(WRONG) },
    fake,
    keys: [TEAM],
    settings: { STATE_STORE_TIMEOUT_MS: 5000, STATE_BACKOFF_MAX_MS: 1000 },
  });
});
after(async () => {
  await r?.stop();
  await fake?.close();
  await redis?.stop();
});

test('a wrong password: still served, /readyz "state_store":"down", reason "auth", no password anywhere', { timeout: 120_000 }, async () => {
  const want = (await expected('api', 'answer_only', 'json')).content;
  const answers = [];
  const keep = (res) => {
    answers.push(`${res.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${res.text}`);
    return res;
  };
  for (const [name, h] of [['A', r.a], ['B', r.b]]) {
    // rpm=2 holds per replica (decided locally): 200, 200, 429.
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const res = keep(await chat(h, TEAM.key, `wrong password ${i}`));
      if (res.status === 200) assert.equal(res.json.choices[0].message.content, want);
      statuses.push(res.status);
    }
    assert.deepEqual(statuses, [200, 200, 429], `${name}: served, rpm held locally`);
    const u = await usage(h, TEAM.key);
    answers.push(JSON.stringify(u));
    assert.equal(u.source, 'local', JSON.stringify(u));

    const ready = keep(await waitFor(`${name}: /readyz to say the store is down`, async () => {
      const x = await request(h, '/readyz', { key: null });
      return x.json?.state_store === 'down' ? x : null;
    }, { timeoutMs: 15_000, intervalMs: 100 }));
    assert.equal(ready.status, 200, ready.text);

    const m = await metrics(h);
    answers.push(m.text);
    const auth = m.sum('zproxy_state_store_errors_total', { backend: 'redis', reason: 'auth' });
    assert.ok(auth > 0, `${name}: errors with reason "auth":\n${m.text.split('\n').filter((l) => l.includes('state_store')).join('\n')}`);
    assert.equal(m.sum('zproxy_state_store_up', { backend: 'redis' }), 0, `${name}: zproxy_state_store_up`);

    const downs = logEvents(h, 'state_store_down');
    assert.equal(downs.length, 1, `${name}: ${JSON.stringify(downs)}`);
    assert.equal(downs[0].reason, 'auth', JSON.stringify(downs[0]));
    assert.equal(downs[0].store, `127.0.0.1:${redis.port}`, JSON.stringify(downs[0]));
    assert.equal(logEvents(h, 'state_store_up').length, 0, `${name}: never up`);
  }
  // Admin listing too: every answer a client or operator can get.
  answers.push((await request(r.a, '/admin/keys', { key: ADMIN_KEY })).text);

  for (const pw of [WRONG, RIGHT, encodeURIComponent(WRONG)]) {
    for (const h of [r.a, r.b]) {
      const lines = h.lines.filter((l) => l.text.includes(pw));
      assert.deepEqual(lines, [], `a log line holds a password`);
    }
    assert.deepEqual(answers.filter((x) => x.includes(pw)), [], 'an answer holds a password');
  }
});
