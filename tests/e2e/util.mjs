// Small helpers shared by the end-to-end suite: polling with deadlines (never fixed sleeps),
// free ports, raw HTTP.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls fn() until it returns a truthy value (returned) or the deadline passes (throws, naming
// `what` and the last value or error seen).
export async function waitFor(what, fn, { timeoutMs = 10_000, intervalMs = 25 } = {}) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= end) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${seen})`);
    }
    await tick(intervalMs);
  }
}

// Waits until fn() returns the same value `polls` times in a row; returns that value.
export async function waitSteady(what, fn, { polls = 10, intervalMs = 100, timeoutMs = 30_000 } = {}) {
  let last;
  let same = 0;
  return waitFor(
    what,
    async () => {
      const v = await fn();
      same = v === last ? same + 1 : 0;
      last = v;
      return same >= polls ? { value: v } : null;
    },
    { timeoutMs, intervalMs },
  ).then((r) => r.value);
}

// fetch on a connection of its own (Connection: close): an idle keep-alive connection that the
// server closes at the moment the client reuses it fails a POST, a race no client can avoid;
// tests must not depend on it. http_surface.test.mjs checks keep-alive itself.
export function freshFetch(url, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('connection', 'close');
  return fetch(url, { ...init, headers });
}

// A TCP port free on 127.0.0.1 right now (the OS picks it).
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Resolves true when a TCP connection to port is refused, false when it is accepted.
export function connectionRefused(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    sock.once('connect', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', (err) => resolve(err.code === 'ECONNREFUSED'));
  });
}

// One raw HTTP/1.1 exchange over a fresh socket: writes `chunks` (strings or Buffers) on
// connect, returns everything read (latin1) until close or until `until(text)` is true.
// `onData(text, socket)` sees every read (e.g. to send a body after "100 Continue").
export function rawExchange(port, chunks, { until, timeoutMs = 10_000, onData, onConnect } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`raw exchange timed out; got: ${JSON.stringify(text.slice(0, 500))}`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(text);
    };
    sock.on('data', (c) => {
      text += c.toString('latin1');
      if (onData) onData(text, sock);
      if (until && until(text)) finish();
    });
    sock.on('end', finish);
    sock.on('close', finish);
    sock.on('error', (err) => {
      clearTimeout(timer);
      if (text) resolve(text);
      else reject(err);
    });
    sock.once('connect', () => {
      for (const c of [].concat(chunks)) sock.write(c);
      if (onConnect) onConnect(sock);
    });
  });
}

// Splits a raw HTTP/1.1 response: {status, headers (lower-case names), body}. Chunked bodies
// are de-chunked.
export function parseRawResponse(text) {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd < 0) throw new Error(`no complete response head in ${JSON.stringify(text.slice(0, 300))}`);
  const [statusLine, ...headerLines] = text.slice(0, headEnd).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const headers = {};
  for (const l of headerLines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = text.slice(headEnd + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    let out = '';
    let rest = body;
    for (;;) {
      const nl = rest.indexOf('\r\n');
      if (nl < 0) break;
      const size = parseInt(rest.slice(0, nl), 16);
      if (!size) break;
      out += rest.slice(nl + 2, nl + 2 + size);
      rest = rest.slice(nl + 2 + size + 2);
    }
    body = out;
  }
  return { status, statusLine, headers, body };
}

// Whether `text` holds one complete HTTP/1.1 response (Content-Length or chunked framing).
export function responseComplete(text) {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd < 0) return false;
  const head = text.slice(0, headEnd).toLowerCase();
  const body = text.slice(headEnd + 4);
  const len = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (len) return Buffer.byteLength(body, 'latin1') >= Number(len[1]);
  if (/\r\ntransfer-encoding:\s*chunked/.test(head)) return /(^|\r\n)0\r\n\r\n$/.test(body);
  return /^http\/1\.1 (1\d\d|204|304)/.test(head);
}

// Resident set size of a Linux process in bytes (VmRSS), or null when unknown.
export function rssBytes(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
