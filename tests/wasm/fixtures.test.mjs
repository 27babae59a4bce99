// Golden fixtures (tests/fixtures/<mode>/<name>/, every dialect) under Wasm, whole, at every
// split point and one byte at a time, twice:
//   - through the test module (build-wasm/zproxy_test.wasm): the translator alone, the exact
//     transcript tests/unit/golden_test.cpp checks natively;
//   - through the shipped module (build-wasm/zproxy.wasm) by way of worker/core.js, as the
//     Worker drives it: a request on the fixture dialect's route in, the exchange's answer out.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Action, Core } from '../../worker/core.js';
import { TestModule, testModulePath } from './test_module.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const wasmPath = join(root, 'build-wasm', 'zproxy.wasm');
const enc = new TextEncoder();

// Every golden fixture; `dialect` (absent: chat) says which client dialect's answer it pins.
// Messages and Responses fixtures replay the chat fixtures' upstream recordings (options.json
// "upstream").
function fixtures() {
  const out = [];
  for (const mode of ['guest', 'api', 'messages_guest', 'messages_api', 'responses_guest', 'responses_api']) {
    const dir = join(root, 'tests', 'fixtures', mode);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const d = join(dir, name);
      if (!existsSync(join(d, 'options.json'))) continue;
      const options = readFileSync(join(d, 'options.json'), 'utf8');
      const opts = JSON.parse(options);
      const up = opts.upstream ?? (existsSync(join(d, 'upstream.sse')) ? 'upstream.sse' : 'upstream.json');
      out.push({ name: `${mode}/${name}`, options, opts,
                 bytes: readFileSync(join(d, up)), expected: readFileSync(join(d, 'expected.out')) });
    }
  }
  assert.ok(out.length > 0, 'no fixtures found');
  return out;
}

// The cut lists every fixture is fed with: whole, each single split point, one byte at a time.
function* cutLists(n) {
  yield ['whole', []];
  for (let cut = 1; cut < n; cut++) yield [`split at ${cut}`, [cut]];
  yield ['one byte at a time', Array.from({ length: n - 1 }, (_, i) => i + 1)];
}

function slices(bytes, cuts) {
  const out = [];
  let pos = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(bytes.subarray(pos, c));
    pos = c;
  }
  return out;
}

test('golden fixtures through the test module', () => {
  assert.ok(existsSync(testModulePath), `${testModulePath} missing: run scripts/build-wasm.sh --with-test-module`);
  const m = new TestModule();
  for (const f of fixtures()) {
    for (const [how, cuts] of cutLists(f.bytes.length)) {
      const got = Buffer.from(m.fixtureRun(f.options, f.bytes, cuts));
      if (!got.equals(f.expected)) assert.fail(`${f.name}: ${how}\n${got}\n---\n${f.expected}`);
    }
  }
});

// --- The shipped module, through the production exports -----------------------------------

const NOW = 1000;  // monotonic ms, held still: no timer falls due, so no keep-alive is written
// created = the request's start wall / 1000: the fixtures' 1700000000 (tests/support/fixture.cpp).
const START_WALL = 1_700_000_000_000;
// The gateway's wall clock (held at this value, as NOW is): the exchange's translator judges
// upstream reset times against it, as the fixtures' translator does (tests/support/fixture.cpp).
const GATEWAY_WALL = 1_764_151_200_000;
const KEY = 'sk-fixture';
const ENTROPY = new Uint8Array(32).fill(7);

// MAX_ATTEMPTS=1: a failure before the commit point is the final answer, as in the transcript.
function envFor(opts) {
  const env = { API_KEY: KEY, MAX_ATTEMPTS: '1', THINKING: opts.thinking || 'reasoning_content' };
  if (opts.shape === 'guest_stream') {
    return { ...env, ZAI_BASE_URL: 'http://127.0.0.1:9', TOKEN_POOL_SIZE: '1' };
  }
  return { ...env, ZAI_API_KEYS: 'k1', ZAI_API_BASE_URL: 'http://127.0.0.1:9/api/paas/v4' };
}

// The Messages request the fixture's options describe. Its one user message is 114 characters
// long, so the request's estimate (docs/contract.md §12.7: ⌈114/3⌉ + 4·1) is the fixtures' 42.
// Thinking is on, as the fixtures' transcripts show it (THINKING=hidden hides it).
function messagesBody(opts) {
  const body = { model: opts.model, max_tokens: 1024, stream: opts.stream === true,
                 messages: [{ role: 'user', content: 'x'.repeat(114) }],
                 thinking: opts.thinking_omitted ? { type: 'enabled', display: 'omitted' } : { type: 'enabled' } };
  if (opts.stop?.length) body.stop_sequences = opts.stop;
  return enc.encode(JSON.stringify(body));
}

// The chat request the fixture's options describe.
function chatBody(opts) {
  const body = { model: opts.model ?? 'glm-4.6', messages: [{ role: 'user', content: 'Hi' }],
                 stream: opts.stream === true };
  if (opts.stream && opts.include_usage) body.stream_options = { include_usage: true };
  if (opts.stop?.length) body.stop = opts.stop;
  return enc.encode(JSON.stringify(body));
}

// The Responses request the fixture's options describe: byte for byte the body
// responses_fixture_request (tests/support/fixture.cpp) parses for the transcript's echo.
function responsesBody(opts) {
  const body = { model: opts.model ?? 'glm-4.6', input: 'Hi' };
  if (opts.stream) body.stream = true;
  if (opts.reasoning_summary) body.reasoning = { summary: 'auto' };
  if (opts.encrypted_reasoning) body.include = ['reasoning.encrypted_content'];
  if (Array.isArray(opts.tools)) body.tools = opts.tools;
  return enc.encode(JSON.stringify(body));
}

const ROUTES = {
  chat: ['/v1/chat/completions', chatBody],
  messages: ['/v1/messages', messagesBody],
  responses: ['/v1/responses', responsesBody],
};

// Answers every job the gateway hands out (guest token fetches) with a token.
function servePoll(core) {
  for (;;) {
    const p = core.poll(NOW);
    if (p.jobs.length === 0) return p;
    for (const job of p.jobs) core.jobDone(job.id, 200, enc.encode('{"token":"t"}'), NOW, GATEWAY_WALL);
  }
}

function newCore(mod, opts) {
  const core = new Core(mod, envFor(opts), NOW, GATEWAY_WALL);
  servePoll(core);
  return core;
}

// One request on the fixture dialect's route through the exchange, upstream 200 with `parts` as
// its body, stepped the way worker/driver.js steps it. -> { head, body: Buffer of all output,
// request }
function exchange(core, opts, parts) {
  const [target, makeBody] = ROUTES[opts.dialect ?? 'chat'];
  const body = makeBody(opts);
  const reqHead = { method: 'POST', target, content_length: body.length,
                    headers: [['authorization', `Bearer ${KEY}`], ['content-type', 'application/json']] };
  let { id, step } = core.start(reqHead, NOW, START_WALL, ENTROPY);
  let head = null;
  const out = [];
  const act = (s) => {
    assert.ok(s, 'the exchange is gone');
    step = s;
    if (step.headReady && !head) head = core.head(id);
    if (step.outputBytes > 0) {
      assert.ok(head, 'output before the head');
      out.push(core.takeOutput(id));
    }
    if (step.poll) servePoll(core);
  };
  const expectAction = (want, when) => assert.equal(step.action, want, `${when}: action ${step.action}`);
  act(step);
  expectAction(Action.ReadBody, 'after start');
  act(core.onBody(id, body, NOW));
  expectAction(Action.Fetch, 'after the body');
  const request = core.beginFetch(id);
  assert.ok(request?.url, 'a fetch step without a request');
  act(core.onConnected(id, NOW));
  act(core.onHead(id, 200, NOW));
  for (const part of parts) {
    if (step.action !== Action.ReadUpstream) break;  // the answer ended: nothing more is read
    act(core.onData(id, part, NOW));
  }
  if (step.action === Action.ReadUpstream) act(core.onEnd(id, NOW));
  expectAction(Action.Finish, 'after the upstream body');
  assert.ok(head, 'finished without an answer');
  core.finish(id, NOW, GATEWAY_WALL);
  servePoll(core);
  return { head, body: Buffer.concat(out), request };
}

// The completion id, "chatcmpl-" + 29 characters drawn from the exchange's entropy
// (src/engine/chat.cpp), is the one value of an answer the fixtures cannot pin: `created` is
// the request's start wall (START_WALL above), `model` the request's, and every other byte comes
// from the upstream answer through the same Translator the transcript uses. Only that id is
// replaced, and only after checking the answer used one id throughout.
// Messages answers: the message id ("msg_" + 24) and the request id of error events, likewise.
const COMPLETION_ID = /chatcmpl-[A-Za-z0-9]{29}(?![A-Za-z0-9])/g;
const MESSAGE_ID = /msg_[A-Za-z0-9]{24}(?![A-Za-z0-9])/g;
const REQUEST_ID = /"request_id":"req_[A-Za-z0-9]{24}"/g;
// Responses answers: the response id ("resp_" + 32 hex), the item ids ("rs_", "msg_", "fc_",
// "ctc_" + 32 hex, drawn from the exchange's entropy too) and completed_at (the exchange's wall
// clock at the end: START_WALL here, as NOW is held still; the transcript's clock reads
// 1700000042, tests/support/fixture.cpp).
const RESPONSE_ID = /resp_[0-9a-f]{32}(?![0-9a-f])/g;
const ITEM_ID = /\b(?:rs|msg|fc|ctc)_[0-9a-f]{32}(?![0-9a-f])/g;
const COMPLETED_AT = /"completed_at":(\d+)/g;
function normalise(body, expected) {
  const text = body.toString('utf8');
  for (const re of [COMPLETION_ID, MESSAGE_ID, RESPONSE_ID]) {
    const ids = new Set(text.match(re) ?? []);
    assert.ok(ids.size <= 1, `several answer ids: ${[...ids]}`);
  }
  // Item ids: the n-th distinct id the answer shows becomes the n-th the transcript shows, so
  // each item keeps one id throughout and the prefixes (the item kinds) must agree.
  const gotItems = [...new Set(text.match(ITEM_ID) ?? [])];
  const wantItems = [...new Set(expected?.match(ITEM_ID) ?? [])];
  assert.deepEqual(gotItems.map((id) => id.split('_')[0]), wantItems.map((id) => id.split('_')[0]), 'item ids');
  const itemMap = new Map(gotItems.map((id, i) => [id, wantItems[i]]));
  for (const [, at] of text.matchAll(COMPLETED_AT)) {
    assert.equal(Number(at), START_WALL / 1000, 'completed_at is the wall clock at the end');
  }
  return text
    .replace(COMPLETION_ID, 'chatcmpl-fixture')
    .replace(MESSAGE_ID, 'msg_fixture00000000000000000')
    .replace(REQUEST_ID, '"request_id":"req_fixture"')
    .replace(RESPONSE_ID, 'resp_fixture0000000000000000000000000')
    .replace(ITEM_ID, (id) => itemMap.get(id))
    .replace(COMPLETED_AT, '"completed_at":1700000042');
}

const header = (head, name) => head.headers.find(([n]) => n.toLowerCase() === name)?.[1];

// "HTTP <status>\n<error json>\nverdict: <verdict>\n": a failure before the commit point. The
// exchange answers it as a plain HTTP error; the verdict is what it tells the credential pool
// and shows only as Retry-After on a cooldown.
function parseFailure(expected) {
  const m = /^HTTP (\d+)\n(.*)\nverdict: (\w+)\n$/s.exec(expected.toString('utf8'));
  return m && { status: Number(m[1]), error: JSON.parse(m[2]), verdict: m[3] };
}

// The one rewrite the exchange makes of a final pre-commit failure (fail_final in
// src/engine/chat.cpp): model_not_available names the model the client asked for, which the
// transcript's translator never saw as a request.
function asAnswered(error, opts) {
  if (error.error.code !== 'model_not_available') return error;
  return { error: { ...error.error, message: `Model '${opts.model ?? 'glm-4.6'}': ${error.error.message}` } };
}

function checkAnswer(f, got, how) {
  const where = `${f.name}: ${how}`;
  const failure = parseFailure(f.expected);
  if (failure) {
    assert.equal(got.head.status, failure.status, where);
    assert.equal(got.head.streaming, false, where);
    assert.deepEqual(JSON.parse(normalise(got.body)), asAnswered(failure.error, f.opts), where);
    assert.equal(header(got.head, 'retry-after') !== undefined, failure.verdict === 'cooldown', `${where}: Retry-After`);
    return;
  }
  assert.equal(got.head.status, 200, `${where}: ${got.body}`);
  assert.equal(got.head.streaming, f.opts.stream === true, where);
  assert.match(header(got.head, 'content-type') ?? '', f.opts.stream ? /^text\/event-stream/ : /^application\/json/, where);
  const text = normalise(got.body, f.expected.toString('utf8'));
  if (text !== f.expected.toString('utf8')) assert.fail(`${where}\n${text}\n---\n${f.expected}`);
}

test('golden fixtures through the shipped module, driven as the Worker drives it', () => {
  assert.ok(existsSync(wasmPath), `${wasmPath} missing: run scripts/build-wasm.sh`);
  const mod = new WebAssembly.Module(readFileSync(wasmPath));
  // Each dialect's fixtures through its own route. Responses always streams upstream, so its
  // fixtures of a non-streaming upstream body (shape api_body) have no exchange to run in.
  for (const f of fixtures()) {
    if (f.opts.dialect === 'responses' && f.opts.shape === 'api_body') continue;
    let core = null;
    for (const [how, cuts] of cutLists(f.bytes.length)) {
      // A gateway serves one request after another, as in an isolate; after a failure its
      // credential may be cooling down or gone (the clock is held still), so a fresh one serves.
      core ??= newCore(mod, f.opts);
      const got = exchange(core, f.opts, slices(f.bytes, cuts));
      checkAnswer(f, got, how);
      if (got.head.status !== 200) core = null;
    }
  }
});
