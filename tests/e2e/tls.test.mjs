// Upstream TLS. A CA and certificates are made at test time; the proxy trusts the fake only
// through that CA (native: UPSTREAM_CA_FILE; `wrangler dev`: the same file handed to workerd by
// the host harness), and refuses a certificate for another host name even though the same CA
// signed it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCompletion, assertError } from './assertions.mjs';
import { startHost } from './hosts.mjs';
import { expected } from './oracle.mjs';
import { API_MODEL, CLIENT_KEY, GUEST_MODEL, chatBody, request, upstreamSettings } from './stack.mjs';
import { startFake } from '../fake-upstream/server.mjs';
import { makeTestPki } from '../fake-upstream/tls.mjs';

const T = { timeout: 60_000 };

describe('upstream TLS', () => {
  let pki;
  let good;
  let wrong;
  const hosts = [];
  const start = async (settings) => {
    const h = await startHost(undefined, { API_KEY: CLIENT_KEY, ...settings });
    hosts.push(h);
    return h;
  };
  before(async () => {
    pki = makeTestPki();
    good = await startFake({ tls: pki.good });
    wrong = await startFake({ tls: pki.wrong });
  });
  after(async () => {
    for (const h of hosts) await h.stop();
    await good?.close();
    await wrong?.close();
    pki?.cleanup();
  });

  test('guest mode over TLS with the test CA: tokens and chat work', T, async () => {
    const h = await start({ ...upstreamSettings('guest', good), TOKEN_POOL_SIZE: 1, UPSTREAM_CA_FILE: pki.caFile });
    const r = await request(h, '/v1/chat/completions', { method: 'POST', body: chatBody('tls-guest') });
    assert.equal(r.status, 200, r.text);
    assertCompletion(r.json, { model: GUEST_MODEL, ...(await expected('guest', 'answer_only')) });
    assert.ok(good.entries('auth').length >= 1 && good.entries('guest_chat').length === 1);
  });

  test('API mode over TLS with the test CA works', T, async () => {
    const h = await start({ ...upstreamSettings('api', good), UPSTREAM_CA_FILE: pki.caFile });
    const r = await request(h, '/v1/chat/completions', { method: 'POST', body: chatBody('tls-api', { model: API_MODEL }) });
    assert.equal(r.status, 200, r.text);
    assertCompletion(r.json, { model: API_MODEL, ...(await expected('api', 'answer_only', 'json')) });
  });

  test('a certificate for another host name is refused: 502, nothing reaches upstream', T, async () => {
    const h = await start({ ...upstreamSettings('api', wrong), UPSTREAM_CA_FILE: pki.caFile });
    const r = await request(h, '/v1/chat/completions', { method: 'POST', body: chatBody('tls-wrong', { model: API_MODEL }) });
    assertError(r, { status: 502, type: 'upstream_error' });
    assert.equal(wrong.log.length, 0, 'no HTTP request got through');
  });

  test('without the test CA the fake is not trusted: 502', T, async () => {
    const h = await start({ ...upstreamSettings('api', good) });
    const before = good.log.length;
    const r = await request(h, '/v1/chat/completions', { method: 'POST', body: chatBody('tls-no-ca', { model: API_MODEL }) });
    assertError(r, { status: 502, type: 'upstream_error' });
    assert.equal(good.log.length, before);
  });
});
