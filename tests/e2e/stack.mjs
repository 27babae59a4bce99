// One configuration under test: a fake upstream plus one proxy pointed at it, shared by the
// tests of a file. Clients: the official `openai` package (maxRetries 0) and raw fetch.

import OpenAI from 'openai';
import { startFake } from '../fake-upstream/server.mjs';
import { HOST_KIND, startHost } from './hosts.mjs';
import { freshFetch, waitFor } from './util.mjs';

export const CLIENT_KEY = 'sk-e2e-client-0001';
export const API_KEYS = ['zk-e2e-alpha-1111', 'zk-e2e-bravo-2222', 'zk-e2e-charlie-3333'];
export const GUEST_MODEL = 'glm-4.6';
export const API_MODEL = 'glm-4.6';

// Settings pointing a proxy at `fake` in `mode` ("guest" | "api").
export function upstreamSettings(mode, fake) {
  if (mode === 'api') {
    return { UPSTREAM_MODE: 'api', ZAI_API_KEYS: API_KEYS.join(','), ZAI_API_BASE_URL: `${fake.url}/api/paas/v4` };
  }
  return { UPSTREAM_MODE: 'guest', ZAI_BASE_URL: fake.url, TOKEN_POOL_SIZE: 3 };
}

export function openaiClient(host, apiKey = CLIENT_KEY) {
  return new OpenAI({ apiKey, baseURL: `${host.url}/v1`, maxRetries: 0, timeout: 60_000, fetch: freshFetch });
}

// fetch with the client key (key: null sends none); -> {status, headers, text, json, res}.
// Gives up after 60 s unless `signal` says otherwise.
export async function request(
  host,
  path,
  { method = 'GET', key = CLIENT_KEY, headers = {}, body, signal = AbortSignal.timeout(60_000) } = {},
) {
  const h = { ...headers };
  if (key !== null) h.authorization = `Bearer ${key}`;
  let payload = body;
  if (body !== undefined) {
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) payload = JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  let res;
  try {
    res = await freshFetch(`${host.url}${path}`, { method, headers: h, body: payload, signal });
  } catch (err) {
    throw new Error(`${method} ${path}: ${err.message} (${err.cause?.code ?? ''} ${err.cause?.message ?? ''})`, { cause: err });
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json, res };
}

export const chatBody = (text, extra = {}) => ({
  model: extra.model ?? GUEST_MODEL,
  messages: [{ role: 'user', content: text }],
  ...extra,
});

export const chat = (host, body, opts = {}) => request(host, '/v1/chat/completions', { method: 'POST', body, ...opts });

// Starts fake + proxy. opts: mode, settings (override/extend; undefined = unset), fake
// (startFake options), beforeStart(fake) (e.g. script the fake before the proxy's first
// request), kind (default $E2E_HOST).
export async function startStack({ mode = 'guest', settings = {}, fake: fakeOpts = {}, beforeStart, kind = HOST_KIND } = {}) {
  const fake = await startFake(fakeOpts);
  let host;
  try {
    if (beforeStart) await beforeStart(fake);
    host = await startHost(kind, { API_KEY: CLIENT_KEY, ...upstreamSettings(mode, fake), ...settings });
  } catch (err) {
    await fake.close();
    throw err;
  }
  return {
    mode,
    fake,
    host,
    client: openaiClient(host),
    request: (path, o) => request(host, path, o),
    chat: (body, o) => chat(host, body, o),
    async stop() {
      try {
        await host.stop();
      } finally {
        await fake.close();
      }
    },
  };
}

// Guest mode: waits until `n` tokens were issued and /readyz says ready. The Worker fetches
// tokens lazily (first use, then grows the pool), so it gets one request first.
export async function waitPool(stack, n, timeoutMs = 15_000) {
  if (stack.host.kind === 'worker') await stack.chat(chatBody('warm-up'));
  await waitFor(`${n} guest tokens issued`, () => stack.fake.entries('auth').filter((e) => e.status === 200).length >= n, {
    timeoutMs,
  });
  await waitFor('/readyz 200', async () => (await stack.request('/readyz', { key: null })).status === 200, { timeoutMs });
}

// Fake log entries of the chat route whose last user message contains `tag`.
export function chatEntries(stack, tag) {
  const route = stack.mode === 'api' ? 'api_chat' : 'guest_chat';
  return stack.fake.entries(route).filter((e) => JSON.stringify(e.body?.messages ?? []).includes(tag));
}
