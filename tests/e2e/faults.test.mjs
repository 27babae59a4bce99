// Upstream misbehaviour in both modes: cut connections and error frames before and after the
// commit point, fragmented and slow streams, timeouts and keep-alive comments.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { assertCompletion, assertError, assertStreamText, parseStream } from './assertions.mjs';
import { expected } from './oracle.mjs';
import { API_MODEL, GUEST_MODEL, chatBody, chatEntries, startStack } from './stack.mjs';
import { promptFor } from '../fake-upstream/streams.mjs';
import { freshFetch, waitFor } from './util.mjs';

const T = { timeout: 60_000 };
const TIMEOUTS = {
  MAX_ATTEMPTS: 2,
  FIRST_BYTE_TIMEOUT_MS: 1500,
  STREAM_IDLE_TIMEOUT_MS: 3000,
  KEEPALIVE_S: 1,
};

// A stream that committed, then failed: content so far, one error event, [DONE]; never a
// finish_reason "stop".
function assertFailedAfterCommit(r, { code, contentPrefix }) {
  assert.equal(r.status, 200, r.text);
  const p = parseStream(r.text);
  assert.equal(p.errors.length, 1, `one error event in ${r.text}`);
  const last = p.events.filter((e) => !e.comment).at(-2);
  assert.ok(last.error, 'the error event comes right before [DONE]');
  const e = p.errors[0].error;
  for (const k of ['message', 'type', 'param', 'code']) assert.ok(k in e, `error.${k} present`);
  if (code) assert.ok([].concat(code).includes(e.code), `error.code ${e.code}`);
  for (const c of p.chunks) for (const ch of c.choices) assert.notEqual(ch.finish_reason, 'stop', 'no clean finish');
  const content = p.chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? '')).join('');
  if (contentPrefix !== undefined) assert.ok(contentPrefix.startsWith(content) && content.length > 0, `content so far: ${content}`);
  return e;
}

for (const mode of ['guest', 'api']) {
  const model = mode === 'api' ? API_MODEL : GUEST_MODEL;
  const body = (text, extra = {}) => chatBody(text, { model, ...extra });

  describe(`upstream faults (${mode} mode)`, () => {
    let s;
    let answer;
    before(async () => {
      s = await startStack({ mode, settings: { ...TIMEOUTS, TOKEN_POOL_SIZE: 2 } });
      answer = await expected(mode, 'answer_only');
    });
    after(() => s?.stop());

    test('connection cut after the commit: an error event, then [DONE]', T, async () => {
      for (const cutMode of ['destroy', 'end', 'inside', 'unterminated']) {
        const tag = `cut-after-${cutMode}`;
        s.fake.script({ text: tag, cutAfterEvents: 2, cutMode });
        const r = await s.chat({ ...body(tag), stream: true });
        assertFailedAfterCommit(r, { code: 'upstream_truncated', contentPrefix: answer.content });
      }
    });

    test('connection cut before the commit: 502 upstream_truncated (stream and not)', T, async () => {
      for (const cutMode of ['destroy', 'end', 'inside', 'unterminated']) {
        const tag = `cut-before-${cutMode}`;
        s.fake.script({ text: tag, cutAfterEvents: 0, cutMode });
        assertError(await s.chat({ ...body(tag), stream: true }), { status: 502, type: 'upstream_error', code: 'upstream_truncated' });
        const ns = await s.chat(body(tag));
        assertError(ns, {
          status: 502,
          type: 'upstream_error',
          code: mode === 'api' ? ['upstream_truncated', 'upstream_bad_response'] : 'upstream_truncated',
        });
        const attempts = chatEntries(s, tag).length;
        assert.ok(attempts >= 2 && attempts <= 2 * TIMEOUTS.MAX_ATTEMPTS, `at most MAX_ATTEMPTS each (${attempts})`);
      }
    });

    test('an error frame after the commit: an error event, the openai client throws', T, async () => {
      s.fake.script({ text: 'frame-after', errorAfterEvents: mode === 'api' ? 2 : 1 });
      const r = await s.chat({ ...body('frame-after'), stream: true });
      assertFailedAfterCommit(r, { contentPrefix: answer.content });
      const stream = await s.client.chat.completions.create({ ...body('frame-after'), stream: true });
      let got = '';
      const err = await (async () => {
        for await (const c of stream) got += c.choices[0]?.delta?.content ?? '';
      })().catch((e) => e);
      assert.ok(err instanceof OpenAI.APIError, `client sees the error event (${err})`);
      assert.ok(got.length > 0, 'after some content');
    });

    test('fragmented upstream writes give the same answer', T, async () => {
      const name = mode === 'api' ? 'reasoning' : 'thinking';
      const exp = await expected(mode, name);
      for (const size of [1, 7]) {
        s.fake.script({ text: `frag-${size}`, fragmentBytes: size });
        const st = await s.chat({ ...body(promptFor(name, `frag-${size}`)), stream: true });
        assertStreamText(st, { model, ...exp });
        const ns = await s.chat(body(promptFor(name, `frag-${size}`)));
        assert.equal(ns.status, 200, ns.text);
        assertCompletion(ns.json, { model, ...(await expected(mode, name, mode === 'api' ? 'json' : 'sse')) });
      }
    });

    test('a slow stream is relayed as it comes, not buffered', T, async () => {
      s.fake.script({ text: 'slow-drip', dripMs: 500 });
      const res = await freshFetch(`${s.host.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.client.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...body('slow-drip'), stream: true }),
      });
      // The answer has two content deltas, then usage and the end, each dripMs apart upstream:
      // both deltas must reach the client while upstream is still sending (the first one goes
      // out with the response head, so checking it alone would not catch a buffered body).
      let text = '';
      const openAt = [];  // upstream still open when the client got content delta i
      const dec = new TextDecoder();
      for await (const c of res.body) {
        text += dec.decode(c, { stream: true });
        const deltas = (text.match(/"content":"[^"]/g) ?? []).length;
        while (openAt.length < deltas) openAt.push(!chatEntries(s, 'slow-drip')[0].finished);
      }
      assertStreamText({ status: res.status, headers: res.headers, text }, { model, ...answer });
      assert.ok(openAt.length >= 2, `two content deltas in ${text}`);
      assert.deepEqual(openAt.slice(0, 2), [true, true], 'each content delta reached the client while upstream was still sending');
    });

    test('no first byte within FIRST_BYTE_TIMEOUT_MS: 504 upstream_timeout', T, async () => {
      s.fake.script({ text: 'first-byte', headerDelayMs: 4000 });
      const t0 = Date.now();
      const r = await s.chat({ ...body('first-byte'), stream: true });
      assertError(r, { status: 504, type: 'upstream_error', code: 'upstream_timeout' });
      assert.ok(Date.now() - t0 < 3900 * TIMEOUTS.MAX_ATTEMPTS, 'did not wait for upstream');
    });

    test('upstream silent after the commit: keep-alive comments, then an error event after the idle timeout', T, async () => {
      s.fake.script({ text: 'keep-alive', dripMs: 1800 });
      const ka = await s.chat({ ...body('keep-alive'), stream: true });
      const p = parseStream(ka.text);
      assert.ok(p.comments.includes(': keep-alive'), `keep-alive comment in ${ka.text}`);
      assertStreamText(ka, { model, ...answer });

      s.fake.script({ text: 'idle', dripMs: 6000 });
      const idle = await s.chat({ ...body('idle'), stream: true });
      assertFailedAfterCommit(idle, { code: 'upstream_timeout', contentPrefix: answer.content });
      const [up] = chatEntries(s, 'idle');
      await waitFor('the silent upstream to be closed', () => up.hungUp, { timeoutMs: 2000 });
    });

    test('persistent 5xx: MAX_ATTEMPTS attempts, then 502 upstream_error', T, async () => {
      const rule = mode === 'api' ? { status: 500, body: { error: { code: '500', message: 'Internal error' } } } : { status: 500, body: { detail: 'Internal Server Error' } };
      s.fake.script({ text: 'always-500', ...rule });
      const r = await s.chat(body('always-500'));
      assertError(r, { status: 502, type: 'upstream_error', code: 'upstream_error' });
      assert.equal(chatEntries(s, 'always-500').length, TIMEOUTS.MAX_ATTEMPTS);
    });
  });
}
