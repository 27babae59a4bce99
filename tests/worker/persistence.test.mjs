// STATE_STORE=durable_object under `wrangler dev`, its local storage in a folder of this test's
// own (--persist-to): a client key's tokens_today, charged through the key's object, is still
// there after wrangler dev restarts, and GET /v1/usage says it came from the store.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFake } from '../fake-upstream/server.mjs';
import { startHost } from '../e2e/hosts.mjs';
import { freshFetch, waitFor } from '../e2e/util.mjs';

const TEAM_KEY = 'sk-team-p-0000000000000001';
const sha = (k) => createHash('sha256').update(k).digest('hex');

let fake;
let dir;
before(async () => {
  fake = await startFake();
  dir = mkdtempSync(path.join(os.tmpdir(), 'zp-persist-'));
});
after(async () => {
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function call(host, p, init = {}) {
  const res = await freshFetch(`${host.url}${p}`, {
    ...init,
    headers: { authorization: `Bearer ${TEAM_KEY}`, 'content-type': 'application/json' },
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) };
}

test('a key\'s tokens_today survives a wrangler dev restart (source "store")', { timeout: 600_000 }, async () => {
  const settings = {
    UPSTREAM_MODE: 'api',
    ZAI_API_KEYS: 'zk-persist-1111',
    ZAI_API_BASE_URL: `${fake.url}/api/paas/v4`,
    CLIENT_KEYS: JSON.stringify([{ name: 'team-p', key_sha256: sha(TEAM_KEY), tokens_per_day: 1_000_000 }]),
    STATE_STORE: 'durable_object',
  };
  let host = await startHost('worker', settings, { persistTo: dir });
  let tokens;
  try {
    const r = await call(host, '/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: 'count me' }] }),
    });
    assert.equal(r.status, 200, r.text);
    tokens = r.json.usage.total_tokens;
    assert.ok(tokens > 0, r.text);
    // The charge is settled after the answer: wait for the store to hold it.
    await waitFor('tokens_today from the store', async () => {
      const u = await call(host, '/v1/usage');
      return u.json.source === 'store' && u.json.usage.tokens_today === tokens;
    }, { timeoutMs: 30_000, intervalMs: 100 });
  } finally {
    await host.stop();
  }

  host = await startHost('worker', settings, { persistTo: dir });
  try {
    const u = await waitFor('an answer from the store', async () => {
      const got = await call(host, '/v1/usage');
      assert.equal(got.status, 200, got.text);
      return got.json.source === 'store' && got;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    assert.equal(u.json.usage.tokens_today, tokens, u.text);
  } finally {
    await host.stop();
  }
});
