// The pinned Codex CLI against the proxy's Responses route and the fake Z.AI, offline, on either
// host (E2E_HOST). How it is run: codex_cli.mjs (`codex exec --json`, a temporary CODEX_HOME
// whose config.toml names a `wire_api = "responses"` provider at the proxy, no retries, the
// danger-full-access sandbox with approvals never). What it sends: tests/fixtures/codex/.
//   (a) a plain turn: the final message is the fake's text, from exactly one streaming upstream
//       request;
//   (b) a tool round trip: the fake asks for exec_command `cat token.txt` of a file holding a
//       random token; Codex runs it, and the next upstream request carries the token in the
//       tool message that its function_call_output became;
//   (c) the same with reasoning before the call: Codex replays the reasoning item, which goes
//       back upstream as the assistant message's reasoning_content;
//   guest mode: the first request gets the 400 naming `tools`, and Codex fails the turn with it.
// Every run is bounded (Codex retries a refused connection for ever) and killed by its own PID.
// No skip path: a missing CLI is a failure.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { codexBinary, describeRun, finalAgentText, runCodex } from './codex_cli.mjs';
import { expected } from './oracle.mjs';
import { CLIENT_KEY, startStack } from './stack.mjs';
import { REPO_ROOT } from './util.mjs';
import { generatedReasoning, generatedToolCallId, promptFor } from '../fake-upstream/streams.mjs';

const CLI_TIMEOUT_MS = 90_000;
const T = { timeout: CLI_TIMEOUT_MS + 30_000 };
const MODEL = 'glm-4.6';

const textOf = (content) => (typeof content === 'string' ? content : (content ?? []).map((p) => p.text ?? '').join(''));

// The fake's chat requests since `from` (an index into its log).
const chatSince = (s, from) => s.fake.log.slice(from).filter((e) => e.route === 'api_chat' || e.route === 'guest_chat');
const streaming = (entries) => entries.map((e) => (e.body?.stream === true ? 'stream' : 'non-stream'));
// Codex's failures: `error` events (its "Reconnecting…" too) and a failed turn. Its warning that
// a GLM model has no metadata in its catalog is an `item.completed` of type error, not counted.
const failures = (run) => run.events.filter((e) => e.type === 'error' || e.type === 'turn.failed');
const commands = (run) => run.events.filter((e) => e.type === 'item.completed' && e.item?.type === 'command_execution').map((e) => e.item);

test('the pinned Codex binary is installed and runs', { timeout: 30_000 }, () => {
  const bin = codexBinary();
  const pinned = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).devDependencies['@openai/codex'];
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH, HOME: '/nonexistent' } });
  assert.equal(r.status, 0, `${bin} --version: ${r.stderr}`);
  assert.equal(r.stdout.trim(), `codex-cli ${pinned}`);
});

describe('Codex, API mode', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'api' });
  });
  after(() => s?.stop());

  // A tool round trip driven by the fake's `fixture` (call_tool or call_tool_thinking) asking
  // for exec_command `cat token.txt`. -> {run, ups, token, detail}
  async function roundTrip(fixture) {
    const token = `tok-${randomBytes(12).toString('hex')}`;
    const from = s.fake.log.length;
    const run = await runCodex({
      baseUrl: s.host.url,
      prompt: promptFor(fixture, `exec_command ${JSON.stringify({ cmd: 'cat token.txt' })}`),
      key: CLIENT_KEY,
      model: MODEL,
      files: { 'token.txt': `secret ${token}\n` },
      timeoutMs: CLI_TIMEOUT_MS,
    });
    const ups = chatSince(s, from);
    const detail = `${describeRun(run)}\nupstream: ${JSON.stringify(ups.map((e) => ({ status: e.status, stream: e.body?.stream, plan: e.plan })))}`;
    return { run, ups, token, detail };
  }

  // What (b) and (c) share: the command ran, two streaming upstream requests, the second one's
  // last two messages the call and its output (with the token); the final message echoes it.
  function assertRoundTrip({ run, ups, token, detail }) {
    assert.equal(run.code, 0, detail);
    assert.deepEqual(failures(run), [], detail);
    const [cmd] = commands(run);
    assert.ok(cmd, `Codex ran the command: ${detail}`);
    assert.equal(cmd.exit_code, 0, detail);
    assert.ok(cmd.aggregated_output.includes(token), detail);
    assert.deepEqual(streaming(ups), ['stream', 'stream'], `two streaming requests: ${detail}`);
    assert.equal(ups[0].plan?.type, 'tool_call', 'the first answer is the exec_command call');
    const msgs = ups[1].body.messages;
    const [assistant, tool] = msgs.slice(-2);
    assert.equal(assistant.role, 'assistant', JSON.stringify(msgs.slice(-3)).slice(0, 1500));
    assert.equal(assistant.tool_calls?.length, 1);
    const call = assistant.tool_calls[0];
    assert.equal(call.id, generatedToolCallId('exec_command'), 'the call id made the round trip');
    assert.equal(call.function.name, 'exec_command');
    assert.deepEqual(JSON.parse(call.function.arguments), { cmd: 'cat token.txt' });
    assert.equal(tool.role, 'tool');
    assert.equal(tool.tool_call_id, call.id);
    assert.ok(textOf(tool.content).includes(`secret ${token}`), `the token in the function_call_output: ${JSON.stringify(tool.content)}`);
    assert.equal(ups[1].plan?.type, 'text');
    assert.ok(finalAgentText(run)?.includes(token), `the final message echoes the token: ${finalAgentText(run)}`);
    return { assistant };
  }

  test('(a) a plain turn: the fake\'s text, from exactly one streaming request', T, async () => {
    const exp = await expected('api', 'answer_only', 'sse');
    const from = s.fake.log.length;
    const run = await runCodex({ baseUrl: s.host.url, prompt: `Say hello (codex-plain-${randomBytes(4).toString('hex')})`, key: CLIENT_KEY, model: MODEL, timeoutMs: CLI_TIMEOUT_MS });
    try {
      const ups = chatSince(s, from);
      const detail = `${describeRun(run)}\nupstream: ${JSON.stringify(ups.map((e) => ({ status: e.status, stream: e.body?.stream, model: e.body?.model })))}`;
      assert.equal(run.code, 0, detail);
      assert.deepEqual(failures(run), [], detail);
      assert.equal(finalAgentText(run), exp.content, detail);
      assert.equal(run.lastMessage, exp.content, detail);
      const done = run.events.filter((e) => e.type === 'turn.completed');
      assert.equal(done.length, 1, detail);
      assert.equal(done[0].usage.input_tokens, exp.usage.prompt_tokens, 'usage made it through response.completed');
      assert.equal(done[0].usage.output_tokens, exp.usage.completion_tokens);
      assert.deepEqual(streaming(ups), ['stream'], `exactly one stream:true request: ${detail}`);
      const up = ups[0];
      assert.equal(up.status, 200);
      assert.equal(up.body.model, MODEL);
      const names = (up.body.tools ?? []).map((t) => t.function?.name);
      assert.ok(names.includes('exec_command'), `Codex's tools went upstream: ${names}`);
      assert.ok(!JSON.stringify(up.body.tools).includes('web_search'), 'web_search declined');
      assert.equal(up.body.tool_stream, true);
      assert.equal(up.body.messages[0].role, 'system', 'Codex\'s developer instructions became system messages');
      assert.ok(textOf(up.body.messages[0].content).includes('Codex'), 'its base instructions went upstream');
    } finally {
      run.cleanup();
    }
  });

  test('(b) a tool round trip: exec_command reads a file holding a random token; its output goes upstream', T, async () => {
    const rt = await roundTrip('call_tool');
    try {
      assertRoundTrip(rt);
    } finally {
      rt.run.cleanup();
    }
  });

  test('(c) reasoning before the call: Codex replays it, and it goes back upstream as reasoning_content', T, async () => {
    const rt = await roundTrip('call_tool_thinking');
    try {
      const { assistant } = assertRoundTrip(rt);
      const reasoning = rt.run.events.filter((e) => e.type === 'item.completed' && e.item?.type === 'reasoning').map((e) => e.item.text);
      assert.deepEqual(reasoning, [generatedReasoning('exec_command')], `Codex showed the reasoning (summary form): ${rt.detail}`);
      assert.equal(assistant.reasoning_content, generatedReasoning('exec_command'), 'the replayed reasoning went back upstream');
    } finally {
      rt.run.cleanup();
    }
  });
});

describe('Codex, guest mode', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'guest', settings: { TOKEN_POOL_SIZE: 1 } });
  });
  after(() => s?.stop());

  test('its first request gets the 400 naming tools, and Codex fails the turn with that message', T, async () => {
    const run = await runCodex({ baseUrl: s.host.url, prompt: 'hello from guest mode', key: CLIENT_KEY, model: MODEL, timeoutMs: CLI_TIMEOUT_MS });
    try {
      const detail = describeRun(run);
      assert.equal(run.code, 1, detail);
      const failed = run.events.filter((e) => e.type === 'turn.failed');
      assert.equal(failed.length, 1, detail);
      // Codex shows a 400's body as it came: the proxy's error object.
      const shown = failed[0].error.message;
      let err;
      try {
        err = JSON.parse(shown).error;
      } catch {
        assert.fail(`Codex shows the 400 body: ${shown}`);
      }
      assert.equal(err.code, 'unsupported_value', shown);
      assert.equal(err.param, 'tools', shown);
      assert.equal(s.fake.entries('guest_chat').length, 0, 'nothing went upstream');
      assert.ok(!run.events.some((e) => /Reconnecting/.test(e.message ?? '')), 'a 400 is not retried');
    } finally {
      run.cleanup();
    }
  });
});
