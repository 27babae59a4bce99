// A slow-header attack, run as a child process of client_limits.test.mjs (its own event loop
// and open-file limit, so the test's measurements are not slowed by these sockets):
//
//   node slow_clients.mjs PORT CONNECTIONS INTERVAL_MS GIVE_UP_MS
//
// Keeps CONNECTIONS connections open to 127.0.0.1:PORT, each sending a request line and then
// one header line every INTERVAL_MS, never ending the head. A connection the server closes is
// replaced at once. stdin commands, one per line: "stats" prints the counts; "stop" stops
// replacing connections, waits until the server has closed every open one (at most
// GIVE_UP_MS, then they are destroyed and reported as still open), prints the report and exits.
// stdout: one JSON object per line, {event: "ready" | "stats" | "done", ...}.

import net from 'node:net';
import { createInterface } from 'node:readline';

const [port, connections, intervalMs, giveUpMs] = process.argv.slice(2).map(Number);
const open = new Set();
const closed = []; // {ms: socket creation to close, status: HTTP status answered or 0, error}
let stopping = false;
let opened = 0;
let connectErrors = 0;

const print = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

function attacker() {
  const started = performance.now();
  const sock = net.connect(port, '127.0.0.1');
  const conn = { sock, connected: false };
  open.add(conn);
  opened++;
  let text = '';
  let timer = null;
  let lines = 0;
  let error = null;
  sock.setNoDelay(true);
  sock.once('connect', () => {
    conn.connected = true;
    sock.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    timer = setInterval(() => {
      if (!sock.destroyed) sock.write(`X-Slow-${lines++}: ${'a'.repeat(16)}\r\n`);
    }, intervalMs);
  });
  sock.on('data', (c) => {
    if (text.length < 4096) text += c.toString('latin1');
  });
  sock.on('error', (err) => {
    error = err.code ?? err.message;
    if (!conn.connected) connectErrors++;
  });
  sock.once('close', () => {
    clearInterval(timer);
    open.delete(conn);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
    if (conn.connected) closed.push({ ms: performance.now() - started, status, error });
    if (!stopping) setImmediate(attacker);
    else if (open.size === 0) finish();
  });
}

function report() {
  const ms = closed.map((c) => c.ms).sort((a, b) => a - b);
  const statuses = {};
  for (const c of closed) statuses[c.status] = (statuses[c.status] ?? 0) + 1;
  return {
    open: open.size,
    connected: [...open].filter((c) => c.connected).length,
    opened,
    connectErrors,
    closed: closed.length,
    statuses,
    minMs: ms[0] ?? null,
    medianMs: ms[Math.floor(ms.length / 2)] ?? null,
    maxMs: ms[ms.length - 1] ?? null,
    unanswered: closed.filter((c) => c.status === 0).slice(0, 5),
  };
}

let finished = false;
function finish(stillOpen = 0) {
  if (finished) return;
  finished = true;
  print({ event: 'done', ...report(), stillOpen });
  process.exit(0);
}

// Ramp up in batches, so the listen backlog never overflows (a dropped SYN costs a second).
let started = 0;
const ramp = setInterval(() => {
  for (let i = 0; i < 100 && started < connections; i++, started++) attacker();
  if (started < connections) return;
  clearInterval(ramp);
  const ready = setInterval(() => {
    if ([...open].filter((c) => c.connected).length < connections && connectErrors === 0) return;
    clearInterval(ready);
    print({ event: 'ready', ...report() });
  }, 10);
}, 5);

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'stats') print({ event: 'stats', ...report() });
  if (line !== 'stop' || stopping) return;
  stopping = true;
  clearInterval(ramp);
  if (open.size === 0) finish();
  setTimeout(() => {
    const left = open.size;
    for (const c of open) c.sock.destroy();
    finish(left);
  }, giveUpMs).unref();
});
