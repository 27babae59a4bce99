// The pinned Claude Code CLI against the proxy and the fake Z.AI, offline, on either host
// (E2E_HOST). How it is run: anthropic_claude.mjs. What it sends: tests/fixtures/claude_code/.
//   (a) a plain turn: the answer is the fake's text, and exactly one streaming request went
//       upstream (Claude Code silently retries a failed stream without streaming, which would
//       hide a stream bug);
//   (b) a tool round trip: the fake asks for Read of a file holding a random token, granted
//       through Claude Code's permission settings (its skip-permissions flag is refused as
//       root); the next request carries the token in its tool result;
//   guest mode: the first request gets the 400 naming `tools`, and the CLI shows that message.
// No skip path: a missing CLI is a failure.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { anthropicRequest } from './anthropic.mjs';
import { claudeBinary, describeRun, runClaude } from './anthropic_claude.mjs';
import { expected } from './oracle.mjs';
import { CLIENT_KEY, startStack } from './stack.mjs';
import { REPO_ROOT } from './util.mjs';
import { generatedToolCallId, promptFor } from '../fake-upstream/streams.mjs';

const CLI_TIMEOUT_MS = 90_000;
const T = { timeout: CLI_TIMEOUT_MS + 30_000 };
// Where CLAUDE_MODEL_MAP (API mode default) sends Claude Code's opus/sonnet/haiku names.
const MAPPED = ['glm-5', 'glm-4.7', 'glm-4.5-air'];

const textOf = (content) => (typeof content === 'string' ? content : (content ?? []).map((p) => p.text ?? '').join(''));

// The fake's chat requests since `from` (an index into its log).
const chatSince = (s, from) => s.fake.log.slice(from).filter((e) => e.route === 'api_chat' || e.route === 'guest_chat');
const streaming = (entries) => entries.map((e) => (e.body?.stream === true ? 'stream' : 'non-stream'));

test('the pinned Claude Code binary is installed and runs', { timeout: 30_000 }, async () => {
  const bin = claudeBinary();
  const pinned = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).devDependencies['@anthropic-ai/claude-code'];
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH, HOME: '/nonexistent' } });
  assert.equal(r.status, 0, `${bin} --version: ${r.stderr}`);
  assert.ok(r.stdout.startsWith(pinned), `version ${r.stdout.trim()} is the pinned ${pinned}`);
});

describe('Claude Code, API mode', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'api' });
  });
  after(() => s?.stop());

  test('(a) a plain turn: the fake\'s text, from exactly one streaming request', T, async () => {
    const exp = await expected('api', 'answer_only', 'sse');
    const from = s.fake.log.length;
    const run = await runClaude({ baseUrl: s.host.url, prompt: `Say hello (cc-plain-${randomBytes(4).toString('hex')})`, key: CLIENT_KEY, timeoutMs: CLI_TIMEOUT_MS });
    try {
      const ups = chatSince(s, from);
      const detail = `${describeRun(run)}\nupstream: ${JSON.stringify(ups.map((e) => ({ status: e.status, stream: e.body?.stream, model: e.body?.model })))}`;
      assert.equal(run.code, 0, detail);
      assert.ok(run.json, `JSON output: ${detail}`);
      assert.equal(run.json.is_error, false, detail);
      assert.equal(run.json.result, exp.content, detail);
      assert.equal(run.json.stop_reason, 'end_turn', detail);
      assert.deepEqual(streaming(ups), ['stream'], `exactly one stream:true request and no fallback: ${detail}`);
      assert.ok(MAPPED.includes(ups[0].body.model), `upstream model ${ups[0].body.model}`);
      assert.ok(Array.isArray(ups[0].body.tools) && ups[0].body.tools.length >= 10, 'Claude Code\'s tools went upstream');
      assert.equal(ups[0].status, 200);
      assert.equal(s.fake.entries('api_tokenizer').length, 0, 'no count_tokens in a -p turn');
    } finally {
      run.cleanup();
    }
  });

  test('(b) a tool round trip: Read of a file holding a random token, granted by settings', T, async () => {
    const token = `tok-${randomBytes(12).toString('hex')}`;
    const from = s.fake.log.length;
    // The prompt tells the fake which file to Read: one in the working directory of the run.
    const work = mkdtempSync(path.join(os.tmpdir(), 'zproxy-cc-work-'));
    const file = path.join(work, 'token.txt');
    const prompt = promptFor('call_tool', `Read ${JSON.stringify({ file_path: file })}`);
    const run = await runClaude({
      baseUrl: s.host.url,
      prompt,
      key: CLIENT_KEY,
      cwd: work,
      files: { 'token.txt': `secret ${token}\n` },
      settings: { permissions: { allow: ['Read'] } },
      timeoutMs: CLI_TIMEOUT_MS,
    });
    try {
      const ups = chatSince(s, from);
      const detail = `${describeRun(run)}\nupstream: ${JSON.stringify(ups.map((e) => ({ status: e.status, stream: e.body?.stream, plan: e.plan })))}`;
      assert.equal(run.code, 0, detail);
      assert.equal(run.json?.is_error, false, detail);
      assert.deepEqual(run.json.permission_denials, [], detail);
      assert.deepEqual(streaming(ups), ['stream', 'stream'], `two streaming requests, no fallback: ${detail}`);
      assert.equal(ups[0].plan?.type, 'tool_call', 'the first answer is the Read call');
      const msgs = ups[1].body.messages;
      const call = msgs.findLast((m) => m.role === 'assistant')?.tool_calls?.[0];
      assert.ok(call, `the assistant's tool call went back upstream: ${JSON.stringify(msgs.slice(-3)).slice(0, 1000)}`);
      assert.equal(call.id, generatedToolCallId('Read'), 'the tool id made the round trip');
      assert.equal(call.function.name, 'Read');
      assert.deepEqual(JSON.parse(call.function.arguments), { file_path: file });
      const result = msgs.find((m) => m.role === 'tool' && m.tool_call_id === call.id);
      assert.ok(result, 'a tool message answers the call');
      assert.ok(textOf(result.content).includes(token), `the token in the tool result: ${JSON.stringify(result.content)}`);
      assert.equal(ups[1].plan?.type, 'text');
      assert.ok(run.json.result.includes(token), `the final answer echoes the token: ${run.json.result}`);
      assert.ok(run.json.num_turns >= 2, detail);
    } finally {
      run.cleanup();
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('Claude Code, guest mode', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'guest' });
  });
  after(() => s?.stop());

  test('its first request gets the 400 naming tools, and the CLI shows that message', T, async () => {
    // The proxy's own answer to Claude Code's recorded first request.
    const rec = JSON.parse(readFileSync(path.join(REPO_ROOT, 'tests', 'fixtures', 'claude_code', 'plain.json'), 'utf8')).requests[0];
    const direct = await anthropicRequest(s.host, rec.path, { body: rec.body, headers: { 'anthropic-beta': rec.headers['anthropic-beta'] } });
    assert.equal(direct.status, 400, direct.text);
    const message = direct.json?.error?.message;
    assert.match(message ?? '', /\btools\b/, direct.text);

    const run = await runClaude({ baseUrl: s.host.url, prompt: 'hello from guest mode', key: CLIENT_KEY, timeoutMs: CLI_TIMEOUT_MS });
    try {
      const detail = describeRun(run);
      assert.equal(run.code, 1, detail);
      assert.equal(run.json?.is_error, true, detail);
      assert.equal(run.json.api_error_status, 400, detail);
      assert.equal(run.json.result, `API Error: 400 ${message}`, detail);
      assert.equal(s.fake.entries('guest_chat').length, 0, 'nothing went upstream');
    } finally {
      run.cleanup();
    }
  });
});
