// Two native replicas (build/z-ai-proxy, or $E2E_PROXY_BIN) in API mode in front of one fake
// Z.AI upstream, sharing state through one redis-server (STATE_STORE=redis) or each on its own
// (STATE_STORE=memory, the control that shows a test can fail). Clients are raw fetch.

import { createHash } from 'node:crypto';
import { startFake } from '../fake-upstream/server.mjs';
import { startHost } from '../e2e/hosts.mjs';
import { request } from '../e2e/stack.mjs';
import { parseMetrics, metricSum, hasMetric } from '../e2e/metrics.mjs';

export const sha = (k) => createHash('sha256').update(k).digest('hex');
export const ZAI_KEYS = ['zk-replica-one-1111', 'zk-replica-two-2222'];
export const ADMIN_KEY = 'admin-replicas-0123456789abcdef0123456789';
export const MODEL = 'glm-4.6';

// {name, key, ...limits} -> the CLIENT_KEYS entry (by digest: the key itself stays here).
export const clientKeys = (keys) => JSON.stringify(keys.map(({ key, ...rest }) => ({ ...rest, key_sha256: sha(key) })));

// Starts the fake (unless given) and replicas A and B with the same settings.
// -> {fake, a, b, hosts, stop()}
export async function startReplicas({ store, redis, keys, settings = {}, fake: given } = {}) {
  const fake = given ?? (await startFake());
  const env = {
    UPSTREAM_MODE: 'api',
    ZAI_API_KEYS: ZAI_KEYS.join(','),
    ZAI_API_BASE_URL: `${fake.url}/api/paas/v4`,
    CLIENT_KEYS: clientKeys(keys),
    ADMIN_KEY,
    STATE_STORE: store,
    REDIS_URL: store === 'redis' ? redis.url() : undefined,
    ...settings,
  };
  const hosts = [];
  try {
    // Both at once: they are independent processes (each its own free port).
    const started = await Promise.allSettled([startHost('native', env), startHost('native', env)]);
    for (const s of started) if (s.status === 'fulfilled') hosts.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await Promise.all(hosts.map((h) => h.stop()));
    if (!given) await fake.close();
    throw err;
  }
  const [a, b] = hosts;
  return {
    fake,
    a,
    b,
    hosts,
    async stop() {
      try {
        await Promise.all(hosts.map((h) => h.stop()));
      } finally {
        if (!given) await fake.close();
      }
    },
  };
}

const as = (key) => ({ key: null, headers: { authorization: `Bearer ${key}` } });

// A non-streaming chat request with a client key. -> {status, json, text, headers}
export function chat(host, key, text, { signal } = {}) {
  return request(host, '/v1/chat/completions', {
    method: 'POST',
    body: { model: MODEL, messages: [{ role: 'user', content: text }] },
    ...as(key),
    ...(signal ? { signal } : {}),
  });
}

export async function usage(host, key) {
  const r = await request(host, '/v1/usage', as(key));
  if (r.status !== 200) throw new Error(`GET /v1/usage: ${r.status} ${r.text}`);
  return r.json;
}

// The replica's /metrics, parsed (ADMIN_KEY: CLIENT_KEYS is set). -> {text, parsed, sum(name, labels), has(name)}
export async function metrics(host) {
  const r = await request(host, '/metrics', { key: ADMIN_KEY });
  if (r.status !== 200) throw new Error(`GET /metrics: ${r.status} ${r.text}`);
  const parsed = parseMetrics(r.text);
  return { text: r.text, parsed, sum: (name, labels) => metricSum(parsed, name, labels), has: (name) => hasMetric(parsed, name) };
}

// The value of zproxy_state_store_up{backend="redis"} (null when the series is absent).
export async function storeUp(host) {
  const m = await metrics(host);
  const s = m.parsed.samples.find((x) => x.name === 'zproxy_state_store_up' && x.labels.backend === 'redis');
  return s ? s.value : null;
}

// The host's JSON log lines of one event.
export const logEvents = (host, event) => host.logs.filter((l) => l.event === event);

export const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
