// The HTTP surface (docs/contract.md §4 and §7): every endpoint, client auth with several
// keys and open access, the order of checks, X-Request-Id, CORS, body limits, invalid JSON,
// Expect: 100-continue, and a pool of size 0.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import OpenAI from 'openai';
import { assertCompletion, assertCors, assertError, assertRequestId, assertStreamText } from './assertions.mjs';
import { expected } from './oracle.mjs';
import { CLIENT_KEY, GUEST_MODEL, chatBody, chatEntries, openaiClient, request, startStack, waitPool } from './stack.mjs';
import { freshFetch, parseRawResponse, rawExchange, responseComplete, waitFor } from './util.mjs';

const T = { timeout: 60_000 };
const SECOND_KEY = 'sk-e2e-second-0002';
const DEFAULT_KEY = 'sk-z2api-key-2024';
const LIMIT = 65536;

// A valid chat body of exactly `size` bytes.
function bodyOfSize(size, tag = 'size') {
  const base = JSON.stringify(chatBody(`${tag}:`));
  const pad = size - base.length;
  assert.ok(pad >= 0);
  return JSON.stringify(chatBody(`${tag}:${'x'.repeat(pad)}`));
}

describe('HTTP surface (guest, two client keys, MAX_BODY_BYTES=65536)', () => {
  let s;
  let answer;
  before(async () => {
    s = await startStack({
      mode: 'guest',
      settings: { API_KEY: `${CLIENT_KEY},${SECOND_KEY}`, MAX_BODY_BYTES: LIMIT, TOKEN_POOL_SIZE: 1 },
    });
    answer = await expected('guest', 'answer_only');
    await waitPool(s, 1);
  });
  after(() => s?.stop());

  test('GET /healthz: 200 {"status":"ok"} without a key', T, async () => {
    const r = await s.request('/healthz', { key: null });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ok' });
    assertCors(r.headers);
    assertRequestId(r.headers);
  });

  test('GET /readyz: 200 JSON with a usable credential, without a key', T, async () => {
    const r = await s.request('/readyz', { key: null });
    assert.equal(r.status, 200, r.text);
    assert.equal(typeof r.json, 'object', 'JSON body');
    assertCors(r.headers);
    assertRequestId(r.headers);
  });

  test('missing, wrong or malformed keys get 401 invalid_api_key on every keyed route', T, async () => {
    const routes = [
      ['POST', '/v1/chat/completions'],
      ['GET', '/v1/models'],
      ['GET', `/v1/models/${GUEST_MODEL}`],
      ['GET', '/metrics'],
      ['GET', '/v1/nothing-here'],
      ['DELETE', '/v1/models'],
    ];
    for (const [method, path] of routes) {
      const body = method === 'POST' ? chatBody('unauthorized') : undefined;
      for (const headers of [{}, { authorization: 'Bearer sk-wrong' }, { authorization: `Basic ${CLIENT_KEY}` }, { authorization: CLIENT_KEY }]) {
        const r = await request(s.host, path, { method, key: null, headers, body });
        assertError(r, { status: 401, type: 'invalid_request_error', code: 'invalid_api_key' });
      }
    }
    assert.equal(chatEntries(s, 'unauthorized').length, 0);
    const err = await openaiClient(s.host, 'sk-wrong').models.list().catch((e) => e);
    assert.ok(err instanceof OpenAI.AuthenticationError, String(err));
  });

  test('each of several comma-separated keys is accepted', T, async () => {
    for (const key of [CLIENT_KEY, SECOND_KEY]) {
      const r = await s.request('/v1/models', { key });
      assert.equal(r.status, 200, r.text);
      const c = await s.chat(chatBody('second-key'), { key });
      assertCompletion(c.json, { model: GUEST_MODEL, ...answer });
    }
    const r = await s.request('/v1/models', { key: `${CLIENT_KEY},${SECOND_KEY}` });
    assert.equal(r.status, 401, 'the whole list is not a key');
  });

  test('OPTIONS preflight: 204 with CORS headers, no key needed', T, async () => {
    for (const [path, want] of [['/v1/chat/completions', 'POST'], ['/v1/models', 'GET'], ['/metrics', 'GET'], ['/nowhere', 'GET']]) {
      const r = await request(s.host, path, {
        method: 'OPTIONS',
        key: null,
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': want,
          'access-control-request-headers': 'authorization, content-type, x-request-id',
        },
      });
      assert.equal(r.status, 204, `${path}: ${r.text}`);
      assert.equal(r.text, '');
      assertCors(r.headers, 'https://app.example');
      assertRequestId(r.headers);
      const methods = (r.headers.get('access-control-allow-methods') ?? '').toUpperCase();
      assert.ok(methods.includes(want) || methods === '*', `${path}: Allow-Methods: ${methods}`);
      // A wildcard does not cover Authorization (Fetch standard): it must be listed.
      const allowed = (r.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      assert.ok(allowed.includes('authorization'), `Allow-Headers: ${allowed}`);
      assert.ok(allowed.includes('content-type') || allowed.includes('*'), `Allow-Headers: ${allowed}`);
      assert.equal(r.headers.get('access-control-allow-credentials'), null, 'no credentials mode');
    }
  });

  test('unknown routes: 404 not_found', T, async () => {
    for (const [method, path] of [['GET', '/v1/nothing-here'], ['GET', '/'], ['POST', '/v1/completions'], ['GET', '/v2/models']]) {
      assertError(await s.request(path, { method }), { status: 404, type: 'invalid_request_error', code: 'not_found' });
    }
  });

  test('known paths with another method: 405 method_not_allowed with Allow', T, async () => {
    const cases = [
      ['GET', '/v1/chat/completions', 'POST'],
      ['PUT', '/v1/chat/completions', 'POST'],
      ['POST', '/v1/models', 'GET'],
      ['DELETE', `/v1/models/${GUEST_MODEL}`, 'GET'],
      ['POST', '/healthz', 'GET'],
      ['POST', '/readyz', 'GET'],
      ['PUT', '/metrics', 'GET'],
    ];
    for (const [method, path, allowed] of cases) {
      const r = await s.request(path, { method });
      assertError(r, { status: 405, type: 'invalid_request_error', code: 'method_not_allowed' });
      const allow = (r.headers.get('allow') ?? '').toUpperCase().split(/\s*,\s*/);
      assert.ok(allow.includes(allowed), `${method} ${path}: Allow: ${r.headers.get('allow')}`);
    }
  });

  test('checks run in order: auth, route and method, size, JSON, fields, model', T, async () => {
    const big = `{${'x'.repeat(LIMIT + 10)}`;
    // auth before route / method
    assertError(await s.request('/v1/nothing-here', { key: null }), { status: 401, code: 'invalid_api_key' });
    assertError(await s.request('/v1/chat/completions', { key: null, method: 'GET' }), { status: 401 });
    assertError(await s.request('/v1/chat/completions', { key: null, method: 'POST', body: big }), { status: 401 });
    // method before size
    assertError(await s.request('/v1/chat/completions', { method: 'PUT', body: big }), { status: 405 });
    // size before JSON
    assertError(await s.request('/v1/chat/completions', { method: 'POST', body: big }), {
      status: 413,
      type: 'invalid_request_error',
      code: 'request_too_large',
    });
    // JSON before fields
    assertError(await s.request('/v1/chat/completions', { method: 'POST', body: '{"model": ' }), {
      status: 400,
      code: 'invalid_json',
    });
    // fields before model
    assertError(await s.chat({ model: 'no-such-model' }), { status: 400, code: 'missing_required_parameter', param: 'messages' });
    assertError(await s.chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }], n: 3 }), {
      status: 400,
      code: 'unsupported_value',
    });
    // model
    assertError(await s.chat(chatBody('x', { model: 'no-such-model' })), { status: 404, code: 'model_not_found' });
  });

  test('X-Request-Id: a sane id is echoed everywhere, otherwise a fresh one', T, async () => {
    const sane = 'e2e-req.0001_A';
    const withId = { 'x-request-id': sane };
    const echoed = [
      await s.request('/v1/models', { headers: withId }),
      await s.request('/v1/nothing-here', { headers: withId }),
      await s.request('/v1/models', { headers: withId, key: null }),
      await s.request('/healthz', { headers: withId, key: null }),
      await s.request('/v1/models', { method: 'OPTIONS', headers: withId, key: null }),
      await s.chat({ ...chatBody('rid'), stream: true }, { headers: withId }),
      await s.chat('{broken', { headers: withId }),
    ];
    for (const r of echoed) assertRequestId(r.headers, sane);
    const a = assertRequestId((await s.request('/v1/models')).headers);
    const b = assertRequestId((await s.request('/v1/models')).headers);
    assert.notEqual(a, b, 'fresh ids differ');
    for (const bad of ['x'.repeat(300), '<script>alert(1)</script>']) {
      const id = assertRequestId((await s.request('/v1/models', { headers: { 'x-request-id': bad } })).headers);
      assert.notEqual(id, bad, `not echoed: ${bad.slice(0, 20)}`);
    }
  });

  test('MAX_BODY_BYTES: 413 above the limit (Content-Length or chunked), served at the limit', T, async () => {
    const ok = await s.chat(bodyOfSize(LIMIT, 'at-limit'));
    assert.equal(ok.status, 200, ok.text.slice(0, 300));
    assertError(await s.chat(bodyOfSize(LIMIT + 1, 'over-limit')), { status: 413, code: 'request_too_large' });
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < 8; i++) c.enqueue(new TextEncoder().encode(' '.repeat(10_000)));
        c.close();
      },
    });
    const res = await freshFetch(`${s.host.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: chunked,
      duplex: 'half',
    });
    assertError({ status: res.status, headers: res.headers, text: await res.text() }, { status: 413, code: 'request_too_large' });
    assert.equal(chatEntries(s, 'over-limit').length, 0);
  });

  test('invalid JSON bodies: 400 invalid_json', T, async () => {
    for (const body of ['{bad json', '', '{"model": "glm-4.6", "messages": [}', '\u0000']) {
      assertError(await s.chat(body), { status: 400, type: 'invalid_request_error', code: 'invalid_json' });
    }
    for (const body of ['[]', '"text"', '42', 'null']) {
      assertError(await s.chat(body), { status: 400, type: 'invalid_request_error' });
    }
  });

  // RFC 9110 section 10.1.1: a server either sends 100 Continue or reads the body anyway, and
  // a client that hears nothing for a while sends its body regardless. Both are fine here; what
  // must hold is that the request gets its right final answer without the client hanging.
  test('Expect: 100-continue is answered as HTTP/1.1 requires', T, async () => {
    const body = JSON.stringify(chatBody('expect-continue'));
    const head =
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${s.host.port}\r\nAuthorization: Bearer ${CLIENT_KEY}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
    const finalHead = /HTTP\/1\.1 (?!100 )\d{3} /;
    // Sends the body once: on 100 Continue, or after a second of silence.
    const sender = (payload) => {
      let sent = false;
      let timer;
      const send = (sock) => {
        clearTimeout(timer);
        if (sent || sock.destroyed) return;
        sent = true;
        sock.write(payload);
      };
      return {
        onConnect: (sock) => (timer = setTimeout(() => send(sock), 1000)),
        onData: (got, sock) => {
          if (/^HTTP\/1\.1 100 Continue\r\n\r\n/.test(got)) send(sock);
          else if (finalHead.test(got)) clearTimeout(timer);
        },
      };
    };
    const text = await rawExchange(s.host.port, head, sender(body));
    const interim = text.match(/^HTTP\/1\.1 1\d\d [^\r]*\r\n(?:[^\r]+\r\n)*\r\n/);
    if (interim) assert.match(interim[0], /^HTTP\/1\.1 100 Continue\r\n/, 'the only interim answer is 100 Continue');
    const final = parseRawResponse(text.slice(interim ? interim[0].length : 0));
    assert.equal(final.status, 200, final.body);
    assertCompletion(JSON.parse(Buffer.from(final.body, 'latin1').toString('utf8')), { model: GUEST_MODEL, ...answer });

    // Too large: refused with 413 whether or not the body is ever sent, and never forwarded.
    const bigHead = head.replace(/Content-Length: \d+/, `Content-Length: ${LIMIT + 1}`);
    const refused = await rawExchange(s.host.port, bigHead, {
      ...sender(Buffer.alloc(LIMIT + 1, 0x20)),
      until: (t) => finalHead.test(t) && t.includes('}'),
      timeoutMs: 30_000,
    });
    const r = parseRawResponse(refused.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, ''));
    assert.equal(r.status, 413);
    assert.equal(JSON.parse(r.body).error.code, 'request_too_large');
    assert.equal(chatEntries(s, 'expect-continue').length, 1);
  });

  test('HTTP/1.1 keep-alive: several requests on one connection', T, async () => {
    const sock = net.connect(s.host.port, '127.0.0.1');
    await new Promise((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    let buf = '';
    sock.on('data', (c) => (buf += c.toString('latin1')));
    try {
      for (const path of ['/healthz', '/v1/models', '/v1/nothing-here', '/healthz']) {
        buf = '';
        sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${CLIENT_KEY}\r\n\r\n`);
        await waitFor(`the answer to ${path} on the same connection`, () => responseComplete(buf), { timeoutMs: 5000 });
        assert.equal(parseRawResponse(buf).status, path === '/v1/nothing-here' ? 404 : 200);
      }
    } finally {
      sock.destroy();
    }
  });

  test('streams carry CORS and X-Request-Id too', T, async () => {
    const r = await s.chat({ ...chatBody('stream-headers'), stream: true }, { headers: { origin: 'https://app.example' } });
    assertStreamText(r, { model: GUEST_MODEL, ...answer });
    assertCors(r.headers, 'https://app.example');
  });
});

describe('ALLOW_OPEN_ACCESS=true', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'guest', settings: { ALLOW_OPEN_ACCESS: 'true', TOKEN_POOL_SIZE: 1 } });
  });
  after(() => s?.stop());

  test('no client key is needed anywhere', T, async () => {
    const answer = await expected('guest', 'answer_only');
    for (const key of [null, 'anything-at-all']) {
      const c = await s.chat(chatBody('open'), { key });
      assert.equal(c.status, 200, c.text);
      assertCompletion(c.json, { model: GUEST_MODEL, ...answer });
      assert.equal((await s.request('/v1/models', { key })).status, 200);
      assert.equal((await s.request('/metrics', { key })).status, 200);
    }
  });

  // Within MAX_BODY_BYTES (8 MiB by default) but more values than the proxy parses: the parsed
  // form of `[1,1,…]` would cost up to 32 times the text's size.
  test('a body of too many JSON values: 413 request_too_large, nothing sent upstream', T, async () => {
    const body = JSON.stringify({ ...chatBody('many-values'), extra: new Array(300_000).fill(1) });
    assert.ok(body.length < 8 << 20);
    const r = await s.chat(body);
    assertError(r, { status: 413, type: 'invalid_request_error', code: 'request_too_large' });
    assert.match(r.json.error.message, /more than 262144 JSON values/);
    assert.equal(chatEntries(s, 'many-values').length, 0);
    const ok = await s.chat({ ...chatBody('many-values-ok'), extra: new Array(100_000).fill(1) });
    assert.equal(ok.status, 200, ok.text);
  });
});

describe('TOKEN_POOL_SIZE=0 with the default client key', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'guest', settings: { TOKEN_POOL_SIZE: 0, API_KEY: undefined } });
  });
  after(() => s?.stop());

  test('/healthz 200, /readyz 503 with a JSON reason', T, async () => {
    assert.equal((await s.request('/healthz', { key: null })).status, 200);
    const r = await s.request('/readyz', { key: null });
    assert.equal(r.status, 503, r.text);
    assert.equal(typeof r.json, 'object', `JSON reason: ${r.text}`);
    assertCors(r.headers);
  });

  test('chat: 503 no_credentials; the model check still comes first', T, async () => {
    const r = await s.chat(chatBody('no-pool'), { key: DEFAULT_KEY });
    assertError(r, { status: 503, type: 'server_error', code: 'no_credentials' });
    assertError(await s.chat(chatBody('no-pool', { model: 'no-such-model' }), { key: DEFAULT_KEY }), {
      status: 404,
      code: 'model_not_found',
    });
    assertError(await s.chat(chatBody('no-pool'), { key: 'sk-wrong' }), { status: 401 });
    assert.deepEqual(s.fake.log.map((e) => e.route), [], 'no upstream traffic at all');
  });
});
