// Backpressure end to end: a client that stops reading while upstream offers 64 MiB must
// stall upstream's socket writes (the fake counts what its socket accepted) and keep the
// proxy's memory bounded (RSS from /proc on the native host). Closing the client then cancels
// upstream.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { CLIENT_KEY, chatBody, chatEntries, startStack } from './stack.mjs';
import { waitFor, waitSteady } from './util.mjs';

const TOTAL = 64 * 1024 * 1024;
const MiB = 1024 * 1024;

for (const mode of ['guest', 'api']) {
  describe(`backpressure (${mode} mode)`, () => {
    let s;
    before(async () => {
      s = await startStack({ mode, settings: { TOKEN_POOL_SIZE: 1 } });
    });
    after(() => s?.stop());

    test('a client that stops reading stalls upstream; memory stays bounded', { timeout: 90_000 }, async (t) => {
      s.fake.script({ text: 'huge', hugeBytes: TOTAL });
      const body = JSON.stringify({ ...chatBody('huge'), stream: true });
      const sock = net.connect(s.host.port, '127.0.0.1');
      await new Promise((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
      });
      sock.write(
        `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${CLIENT_KEY}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      let received = 0;
      let head = '';
      await new Promise((resolve) => {
        const onData = (c) => {
          received += c.length;
          if (head.length < 64) head += c.toString('latin1', 0, 64);
          if (received >= 256 * 1024) {
            sock.off('data', onData);
            sock.pause();
            resolve();
          }
        };
        sock.on('data', onData);
      });
      assert.match(head, /^HTTP\/1\.1 200/);
      const [up] = chatEntries(s, 'huge');
      const rssBefore = s.host.rss();
      const accepted = await waitSteady('upstream writes to stall', () => up.bytesAccepted, { polls: 10, intervalMs: 150, timeoutMs: 60_000 });
      assert.ok(!up.finished, 'upstream did not get to write everything');
      assert.ok(accepted < TOTAL / 3, `upstream socket accepted ${(accepted / MiB).toFixed(1)} MiB of ${TOTAL / MiB} MiB`);
      const rss = s.host.rss();
      t.diagnostic(`accepted ${(accepted / MiB).toFixed(1)} MiB; RSS ${rss === null ? 'n/a' : (rss / MiB).toFixed(1) + ' MiB'}`);
      if (s.host.kind === 'native') {
        assert.ok(rss < 100 * MiB, `proxy RSS ${(rss / MiB).toFixed(1)} MiB (before: ${(rssBefore / MiB).toFixed(1)} MiB)`);
      }
      const t0 = Date.now();
      sock.destroy();
      // Generous for a busy 2-core CI machine (wrangler dev under load takes seconds); a proxy
      // that kept reading would never hang up.
      await waitFor('upstream hang-up after the client left', () => up.hungUp, { timeoutMs: 10_000 });
      assert.ok(up.hungUpAt - t0 <= 10_000);
      await waitFor('/healthz still fine', async () => (await s.request('/healthz', { key: null })).status === 200);
    });
  });
}
