// The native server against hostile or broken clients, over raw sockets: the request deadline
// (CLIENT_REQUEST_TIMEOUT_MS, 408), idle keep-alive connections (CLIENT_IDLE_TIMEOUT_S), the
// connection limit (MAX_CONNECTIONS, 503) and the open-file limit, folded header lines and
// chunk sizes that overflow (400), and a slow-header attack of 2,000 connections during which
// a well-behaved client keeps its latency.
//
// Native only: on the Worker host, Cloudflare's HTTP front reads and frames requests before the
// Worker sees them, so none of this is ours to test there (docs/contract.md §3 marks these settings
// "native").

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { assertError } from './assertions.mjs';
import { HOST_KIND, hostOnly, startHost } from './hosts.mjs';
import { CLIENT_KEY, chatBody, chatEntries, startStack, waitPool } from './stack.mjs';
import { promptFor } from '../fake-upstream/streams.mjs';
import { freshFetch, parseRawResponse, rawExchange, responseComplete, waitFor } from './util.mjs';

const NATIVE = hostOnly('native', "the Worker's HTTP front is Cloudflare's, not ours");
const T = { timeout: 60_000, ...NATIVE };
const REQUEST_TIMEOUT_MS = 2000;
const IDLE_TIMEOUT_S = 1;
// How late a deadline may be met on a busy 2-core machine before a case fails.
const LATE_MS = 6000;

const GET = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n';
const chatHead = (extra) =>
  `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${CLIENT_KEY}\r\n` +
  `Content-Type: application/json\r\n${extra}\r\n`;

// A raw answer as assertError() takes it.
function asResponse(text) {
  const r = parseRawResponse(text);
  return { status: r.status, headers: r.headers, text: r.body, connection: r.headers.connection };
}

// Writes `chunks` on connect, then every `everyMs` the next of `later` or, when given, what
// `trickle()` returns. Resolves when the server closes: what came back, the time connect()
// was called (t0, performance.now()) and the milliseconds from then to the close.
async function untilClosed(port, chunks, { later = [], trickle, everyMs = 300, timeoutMs = REQUEST_TIMEOUT_MS + LATE_MS + 5000, onData } = {}) {
  const t0 = performance.now();
  const pending = [...later];
  const text = await rawExchange(port, chunks, {
    timeoutMs,
    onData,
    onConnect: (sock) => {
      if (!trickle && pending.length === 0) return;
      const timer = setInterval(() => {
        const next = pending.length ? pending.shift() : trickle?.();
        if (next && !sock.destroyed && sock.writable) sock.write(next);
      }, everyMs);
      sock.once('close', () => clearInterval(timer));
    },
  });
  return { text, t0, ms: performance.now() - t0 };
}

function assertMalformed(text, what) {
  const r = asResponse(text);
  assertError(r, { status: 400, type: 'invalid_request_error', code: 'invalid_value', param: null });
  assert.equal(r.connection, 'close', `${what}: Connection: close`);
}

function assertTimedOut({ text, ms }, what, from = 0) {
  const r = asResponse(text);
  const e = assertError(r, { status: 408, type: 'invalid_request_error', code: 'request_timeout', param: null });
  assert.match(e.message, /CLIENT_REQUEST_TIMEOUT_MS/);
  assert.equal(r.connection, 'close', `${what}: Connection: close`);
  assert.ok(ms - from >= REQUEST_TIMEOUT_MS - 20, `${what}: answered after ${Math.round(ms - from)} ms, before the deadline`);
  assert.ok(ms - from < REQUEST_TIMEOUT_MS + LATE_MS, `${what}: answered after ${Math.round(ms - from)} ms`);
}

describe('request deadline, idle keep-alive, malformed framing (native)', () => {
  let s;
  before(async () => {
    if (HOST_KIND !== 'native') return;
    s = await startStack({
      mode: 'guest',
      settings: { TOKEN_POOL_SIZE: 1, CLIENT_REQUEST_TIMEOUT_MS: REQUEST_TIMEOUT_MS, CLIENT_IDLE_TIMEOUT_S: IDLE_TIMEOUT_S },
    });
    await waitPool(s, 1);
  });
  after(() => s?.stop());

  // The native host watches the client from the exchange's first wait on (an answer there at
  // once needs no watch); the Worker's fetch handler is not told of a client gone before its
  // answer (docs/contract.md §11).
  test('a client that leaves before upstream\'s first byte stops the upstream call within 2 s', T, async () => {
    s.fake.script({ text: 'early-leave-tag', headerDelayMs: 8000 });
    const ctl = new AbortController();
    const pending = freshFetch(`${s.host.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...chatBody(promptFor('answer_only', 'early-leave-tag')), stream: true }),
      signal: ctl.signal,
    }).catch((e) => e);
    const up = await waitFor('the upstream request', () => chatEntries(s, 'early-leave-tag')[0], { timeoutMs: 10_000 });
    const t0 = Date.now();
    ctl.abort();
    await pending;
    await waitFor('upstream hang-up', () => up.hungUp, { timeoutMs: 4000 });
    assert.ok(up.hungUpAt - t0 <= 2000, `hung up ${up.hungUpAt - t0} ms after the client`);
  });

  test('a head that trickles in is cut at the deadline with 408; progress does not extend it', T, async () => {
    let n = 0;
    const r = await untilClosed(s.host.port, GET, { trickle: () => `X-Slow-${n++}: a\r\n` });
    assertTimedOut(r, 'trickling head');
  });

  test("a connection's first request counts from accept: nothing sent is 408 too", T, async () => {
    assertTimedOut(await untilClosed(s.host.port, []), 'silent connection');
  });

  test('a body that stalls is cut at the deadline with 408', T, async () => {
    const head = chatHead('Content-Length: 100\r\n');
    assertTimedOut(await untilClosed(s.host.port, [head, '{"model":']), 'stalled body');
    let n = 0;
    const chunked = chatHead('Transfer-Encoding: chunked\r\n');
    const r = await untilClosed(s.host.port, chunked, { trickle: () => `1\r\n${n++ ? ' ' : '{'}\r\n` });
    assertTimedOut(r, 'trickling chunked body');
  });

  test('a keep-alive request counts from its own first byte', T, async () => {
    let answeredAt = 0;
    const r = await untilClosed(s.host.port, `${GET}\r\n`, {
      onData: (text, sock) => {
        if (answeredAt || !responseComplete(text)) return;
        answeredAt = performance.now();
        sock.write(GET); // the next request's head, never finished
      },
    });
    const second = r.text.indexOf('HTTP/1.1', 1);
    assert.equal(asResponse(r.text.slice(0, second)).status, 200);
    assert.ok(answeredAt > 0);
    assertTimedOut({ text: r.text.slice(second), ms: r.ms }, 'second request', answeredAt - r.t0);
  });

  test('an idle keep-alive connection is closed after CLIENT_IDLE_TIMEOUT_S, without an answer', T, async () => {
    let answeredAt = 0;
    const r = await untilClosed(s.host.port, `${GET}\r\n`, {
      onData: (text) => {
        if (!answeredAt && responseComplete(text)) answeredAt = performance.now();
      },
    });
    assert.equal(asResponse(r.text).status, 200);
    assert.ok(responseComplete(r.text) && r.text.indexOf('HTTP/1.1', 1) < 0, 'nothing after the answer');
    const idle = r.t0 + r.ms - answeredAt;
    assert.ok(idle >= IDLE_TIMEOUT_S * 1000 - 20, `closed ${Math.round(idle)} ms after the answer`);
    assert.ok(idle < IDLE_TIMEOUT_S * 1000 + LATE_MS, `closed ${Math.round(idle)} ms after the answer`);
  });

  test('folded header lines (obs-fold): 400 and close, however the bytes arrive', T, async () => {
    const cases = [
      ['SP fold', [`${GET}X-A: a\r\n b\r\n\r\n`]],
      ['HTAB fold', [`${GET}X-A: a\r\n\tb\r\n\r\n`]],
      ['fold split after CRLF', [`${GET}X-A: a\r\n`, ' b\r\n\r\n']],
      ['fold split before LF', [`${GET}X-A: a\r`, '\n b\r\n\r\n']],
      ['folded Authorization', [`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n ${CLIENT_KEY}\r\nContent-Length: 2\r\n\r\n{}`]],
      ['whitespace before the first header', [`GET /healthz HTTP/1.1\r\n Host: x\r\n\r\n`]],
    ];
    for (const [what, [first, ...later]] of cases) {
      // Chunks after the first go out as separate writes, 50 ms apart: either way, 400.
      const { text } = await untilClosed(s.host.port, first, { later, everyMs: 50, timeoutMs: 15_000 });
      assertMalformed(text, what);
    }
  });

  test('spaces and tabs inside values, and line breaks followed by spaces in a body, are fine', T, async () => {
    const body = JSON.stringify(chatBody('pretty-printed body'), null, 2); // "\n  " everywhere
    const head = chatHead(`X-Spaced: a \t b\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n`);
    const { text } = await untilClosed(s.host.port, [head, body], { timeoutMs: 30_000 });
    assert.equal(asResponse(text).status, 200, text.slice(0, 300));
  });

  test('a chunk size that overflows 64 bits: 400 and close (whole, or after the head)', T, async () => {
    for (const size of ['10000000000000000', 'fffffffffffffffff', '100000000000000000000000000000000']) {
      const head = chatHead('Transfer-Encoding: chunked\r\n');
      const together = await untilClosed(s.host.port, [`${head}${size}\r\n{}\r\n0\r\n\r\n`], { timeoutMs: 15_000 });
      assertMalformed(together.text, `${size} with the head`);
      const apart = await untilClosed(s.host.port, head, { later: [`${size}\r\n{}`], everyMs: 50, timeoutMs: 15_000 });
      assertMalformed(apart.text, `${size} after the head`);
    }
    // One that fits 64 bits is only too large: 413, as before.
    const head = chatHead('Transfer-Encoding: chunked\r\n');
    const { text } = await untilClosed(s.host.port, [`${head}fffffffffffffff\r\n{}`], { timeoutMs: 15_000 });
    assertError(asResponse(text), { status: 413, code: 'request_too_large' });
  });
});

// Connections held open: each has had a keep-alive answer, so the server counts it.
async function holdConnection(port) {
  const sock = net.connect(port, '127.0.0.1');
  let text = '';
  await new Promise((resolve, reject) => {
    sock.once('connect', () => sock.write(`${GET}\r\n`));
    sock.on('data', (c) => {
      text += c.toString('latin1');
      if (responseComplete(text)) resolve();
    });
    sock.once('error', reject);
    sock.once('close', () => reject(new Error(`closed before answering: ${JSON.stringify(text)}`)));
  });
  sock.removeAllListeners('close');
  sock.removeAllListeners('error');
  sock.on('error', () => {});
  return { sock, status: parseRawResponse(text).status };
}

// The soft and hard open-file limits of a process (/proc/PID/limits).
function fdLimits(pid) {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  const n = (v) => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: n(m[1]), hard: n(m[2]) };
}

describe('MAX_CONNECTIONS and the open-file limit (native)', () => {
  const MAX = 8;
  let host;
  before(async () => {
    if (HOST_KIND !== 'native') return;
    host = await startHost('native', { API_KEY: CLIENT_KEY, TOKEN_POOL_SIZE: 0, MAX_CONNECTIONS: MAX });
  });
  after(() => host?.stop());

  test('beyond MAX_CONNECTIONS: 503 server_overloaded with Retry-After, then close; served again once one closes', T, async () => {
    const held = [];
    try {
      for (let i = 0; i < MAX; i++) held.push(await holdConnection(host.port));
      assert.deepEqual(held.map((h) => h.status), Array(MAX).fill(200));
      const { text } = await untilClosed(host.port, `${GET}\r\n`, { timeoutMs: 15_000 });
      const r = asResponse(text);
      assertError(r, { status: 503, type: 'server_error', code: 'server_overloaded', param: null });
      assert.match(r.headers['retry-after'] ?? '', /^[1-9]\d*$/);
      assert.equal(r.connection, 'close');
      held.pop().sock.destroy();
      await waitFor('a new connection to be served', async () => {
        const again = await untilClosed(host.port, `${GET}Connection: close\r\n\r\n`, { timeoutMs: 15_000 });
        return asResponse(again.text).status === 200;
      });
    } finally {
      for (const h of held) h.sock.destroy();
    }
  });

  test('the open-file limit is raised at start to fit MAX_CONNECTIONS', T, async () => {
    const own = fdLimits(process.pid);
    const want = 5000;
    // Started with a low soft limit, as many shells and service managers set it.
    const low = await startHost('native', { API_KEY: CLIENT_KEY, TOKEN_POOL_SIZE: 0, MAX_CONNECTIONS: want }, { softFdLimit: 256 });
    try {
      const { soft, hard } = fdLimits(low.pid);
      assert.ok(soft > 256, `soft limit ${soft}`);
      assert.ok(soft >= Math.min(own.hard, want), `soft limit ${soft} (hard ${hard}; ours ${own.soft}/${own.hard})`);
    } finally {
      await low.stop();
    }
  });
});

// The attack runs in a child process whose soft open-file limit is raised to its hard limit.
function startAttack(port, connections) {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'slow_clients.mjs');
  const child = spawn(
    'bash',
    ['-c', 'ulimit -Sn "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, script,
      String(port), String(connections), '1000', String(REQUEST_TIMEOUT_MS + LATE_MS + 10_000)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const waiting = [];
  const seen = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const msg = JSON.parse(line);
    seen.push(msg);
    for (const w of waiting.splice(0)) w();
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const next = async (event, timeoutMs) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = seen.findIndex((m) => m.event === event);
      if (i >= 0) return seen.splice(i, 1)[0];
      if (Date.now() > end || child.exitCode !== null) throw new Error(`slow_clients.mjs: no "${event}" (exit ${child.exitCode})`);
      await Promise.race([new Promise((r) => waiting.push(r)), new Promise((r) => setTimeout(r, 100))]);
    }
  };
  return {
    pid: child.pid,
    next,
    command: (c) => child.stdin.write(`${c}\n`),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('slow-header attack (native)', () => {
  const CONNECTIONS = 2000;
  let s;
  before(async () => {
    if (HOST_KIND !== 'native') return;
    s = await startStack({ mode: 'guest', settings: { TOKEN_POOL_SIZE: 1, CLIENT_REQUEST_TIMEOUT_MS: REQUEST_TIMEOUT_MS } });
    await waitPool(s, 1);
  });
  after(() => s?.stop());

  // Medians of /healthz and chat requests, one after the other, each on its own connection:
  // at least `rounds` of each, and for at least `minMs`.
  async function latencies(rounds, minMs = 0) {
    const healthz = [];
    const chat = [];
    const end = performance.now() + minMs;
    for (let i = 0; i < rounds || performance.now() < end; i++) {
      let t0 = performance.now();
      assert.equal((await s.request('/healthz', { key: null })).status, 200);
      healthz.push(performance.now() - t0);
      t0 = performance.now();
      const r = await s.chat(chatBody(`latency ${i}`));
      assert.equal(r.status, 200, r.text);
      chat.push(performance.now() - t0);
    }
    return { healthz: median(healthz), chat: median(chat) };
  }

  test('2,000 connections trickling headers: others keep their latency, attackers are cut at the deadline, memory stays bounded', { ...NATIVE, timeout: 180_000 }, async (t) => {
    // Both ends need a descriptor per attacking connection, plus room for everything else.
    const margin = 200;
    const ownHard = fdLimits(process.pid).hard;
    const proxySoft = fdLimits(s.host.pid).soft;
    const connections = Math.min(CONNECTIONS, ownHard - margin, proxySoft - margin);
    if (connections < CONNECTIONS) {
      t.diagnostic(`open-file limits (test hard ${ownHard}, proxy ${proxySoft}) allow ${connections} attacking connections, not ${CONNECTIONS}`);
    }
    await latencies(3); // warm-up
    const idle = await latencies(9);
    const rssBefore = s.host.rss();
    const attack = startAttack(s.host.port, connections);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, s.host.rss() ?? 0);
    }, 100);
    try {
      const ready = await attack.next('ready', 60_000);
      assert.equal(ready.connectErrors, 0, JSON.stringify(ready));
      // Long enough for the first attackers to be cut and replaced meanwhile.
      const busy = await latencies(9, 2 * REQUEST_TIMEOUT_MS + 1000);
      attack.command('stats');
      const during = await attack.next('stats', 30_000);
      attack.command('stop');
      const done = await attack.next('done', REQUEST_TIMEOUT_MS + LATE_MS + 20_000);
      clearInterval(sampler);
      const rssAfter = s.host.rss();
      const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
      t.diagnostic(`idle: healthz ${idle.healthz.toFixed(1)} ms, chat ${idle.chat.toFixed(1)} ms; ` +
        `under attack: healthz ${busy.healthz.toFixed(1)} ms, chat ${busy.chat.toFixed(1)} ms`);
      t.diagnostic(`attack: ${done.opened} connections opened, ${during.connected} open after the measurement; ` +
        `cut after ${Math.round(done.minMs)}..${Math.round(done.maxMs)} ms (median ${Math.round(done.medianMs)}); ` +
        `statuses ${JSON.stringify(done.statuses)}`);
      t.diagnostic(`proxy RSS: ${mib(rssBefore)} before, ${mib(rssPeak)} peak, ${mib(rssAfter)} after`);

      // The well-behaved client: within 2x of idle, or under generous floors (a busy 2-core
      // machine runs the proxy, the fake upstream, the attackers and this test at once).
      assert.ok(busy.healthz <= Math.max(2 * idle.healthz, 100), `healthz median ${busy.healthz.toFixed(1)} ms vs ${idle.healthz.toFixed(1)} ms idle`);
      assert.ok(busy.chat <= Math.max(2 * idle.chat, 300), `chat median ${busy.chat.toFixed(1)} ms vs ${idle.chat.toFixed(1)} ms idle`);
      // The pressure was real: the attack held (nearly) all its connections meanwhile, the
      // ones cut replaced at once.
      assert.ok(during.connected >= connections * 0.9, `only ${during.connected} attacking connections open`);
      assert.ok(during.closed >= connections * 0.9, `only ${during.closed} attacking connections were cut and replaced`);
      // Every attacker was cut at its deadline, with a 408.
      assert.equal(done.stillOpen, 0, 'attacking connections left open');
      assert.deepEqual(Object.keys(done.statuses), ['408'], JSON.stringify(done));
      assert.ok(done.minMs >= REQUEST_TIMEOUT_MS - 20, `one was cut after ${done.minMs} ms`);
      assert.ok(done.maxMs < REQUEST_TIMEOUT_MS + LATE_MS, `one was cut after ${done.maxMs} ms`);
      // Memory: a few KiB per connection, none kept after.
      assert.ok(rssPeak - rssBefore < 64 * 2 ** 20, `RSS grew from ${mib(rssBefore)} to ${mib(rssPeak)}`);
      assert.equal((await s.request('/healthz', { key: null })).status, 200);
    } finally {
      clearInterval(sampler);
      await attack.kill();
    }
  });
});
