// OpenAI Responses (INTERFACE.md §8, scenarios 8.6.1–20) on either host (E2E_HOST), against the
// fake Z.AI: raw requests with the event stream checked byte by byte (framing, sequence numbers,
// per-item event order, no interleaving, no empty delta, one terminal event), what went
// upstream read from the fake's log, Codex's recorded requests replayed
// (tests/fixtures/codex/), the pinned `openai` SDK's responses.create / responses.stream, and
// the pinned Agents SDK (openai_agents.mjs). No skip path.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NotFoundError } from 'openai';
import { assertCors, assertError, assertRequestId } from './assertions.mjs';
import { metricSum, parseMetrics } from './metrics.mjs';
import { expected } from './oracle.mjs';
import { responsesAgent, recordingTool, run } from './openai_agents.mjs';
import { API_KEYS, chatEntries, startStack, waitPool } from './stack.mjs';
import { REPO_ROOT } from './util.mjs';
import { presets } from '../fake-upstream/server.mjs';
import { responseEvents } from '../fixtures/codex/capture.mjs';
import { generatedToolCallId, promptFor } from '../fake-upstream/streams.mjs';

const T = { timeout: 60_000 };
const MODEL = 'glm-4.6';
const TERMINAL = ['response.completed', 'response.incomplete', 'response.failed'];
const ITEM_PREFIX = { message: 'msg_', reasoning: 'rs_', function_call: 'fc_', custom_tool_call: 'ctc_' };
const nowS = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------
// Requests Codex sends (shapes from tests/fixtures/codex/, INTERFACE.md 8.6.5)

const EXEC_COMMAND = {
  type: 'function',
  name: 'exec_command',
  description: 'Runs a command in a PTY, returning output or a session ID for ongoing interaction.',
  strict: false,
  parameters: {
    type: 'object',
    properties: { cmd: { type: 'string', description: 'Shell command to execute.' }, workdir: { type: 'string' } },
    required: ['cmd'],
    additionalProperties: false,
  },
};
const APPLY_PATCH_GRAMMAR =
  'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF\nend_patch: "*** End Patch" LF?\n\nhunk: add_hunk | delete_hunk | update_hunk\n' +
  'add_hunk: "*** Add File: " filename LF add_line+\ndelete_hunk: "*** Delete File: " filename LF\nupdate_hunk: "*** Update File: " filename LF change_move? change?\n\n' +
  'filename: /(.+)/\nadd_line: "+" /(.*)/ LF -> line\n\n%import common.LF\n';
const APPLY_PATCH = {
  type: 'custom',
  name: 'apply_patch',
  description: 'The `apply_patch` tool can be used to edit files. This is a FREEFORM tool, so do not wrap the patch in JSON.',
  format: { type: 'grammar', syntax: 'lark', definition: APPLY_PATCH_GRAMMAR },
};
const VIEW_IMAGE = {
  type: 'function',
  name: 'view_image',
  description: 'View a local image file from the filesystem.',
  strict: false,
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'], additionalProperties: false },
};
const WEB_SEARCH = { type: 'web_search', external_web_access: false };
const PATCH = '*** Begin Patch\n*** Add File: a.txt\n+hello\n*** End Patch\n';

const msg = (role, text) => ({ type: 'message', role, content: [{ type: role === 'assistant' ? 'output_text' : 'input_text', text }] });

// INTERFACE.md 8.6.5: a Codex-like first turn whose prompt is `prompt`.
function codexTurn(prompt, extra = {}) {
  return {
    model: MODEL,
    instructions: 'You are a coding agent running in the Codex CLI.',
    input: [
      msg('developer', '<permissions instructions>sandbox_mode is danger-full-access</permissions instructions>'),
      msg('user', '<environment_context>\n  <cwd>/work</cwd>\n  <shell>bash</shell>\n</environment_context>'),
      msg('user', prompt),
    ],
    tools: [EXEC_COMMAND, APPLY_PATCH, WEB_SEARCH, VIEW_IMAGE],
    tool_choice: 'auto',
    parallel_tool_calls: false,
    reasoning: { effort: 'medium', summary: 'auto' },
    store: false,
    stream: true,
    include: ['reasoning.encrypted_content'],
    prompt_cache_key: '0199a8b2-0000-7000-8000-000000000001',
    ...extra,
  };
}

const codexFixture = (name) => JSON.parse(readFileSync(path.join(REPO_ROOT, 'tests', 'fixtures', 'codex', `${name}.json`), 'utf8'));

// A recorded Codex request, ready to send: its Codex headers, the client key in place of the
// redacted one, and `prompt` in place of its last user text (to select the fake's case).
function replayable(req, prompt) {
  const headers = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (['host', 'connection', 'content-length', 'accept-encoding', 'authorization'].includes(k)) continue;
    assert.ok(!/[^\x20-\x7e]/.test(v), `recorded header ${k} is sendable as is`);
    headers[k] = v;
  }
  const body = structuredClone(req.body);
  if (prompt !== undefined) {
    const i = body.input.findLastIndex((it) => it.type === 'message' && it.role === 'user');
    body.input[i].content = [{ type: 'input_text', text: prompt }];
  }
  return { headers, body };
}

// ---------------------------------------------------------------------------------------------
// Upstream answers (the official API's SSE framing) for scripted cases

const apiChunk = (delta, extra = {}) => ({
  id: '20260313059999aaaabbbbccccdddd',
  created: 1773349999,
  model: MODEL,
  choices: [{ index: 0, delta: { role: 'assistant', ...delta }, ...extra }],
});
const usage = (p, c) => ({ prompt_tokens: p, completion_tokens: c, total_tokens: p + c, prompt_tokens_details: { cached_tokens: 0 } });
const sseAnswer = (chunks) => ({
  status: 200,
  headers: { 'content-type': 'text/event-stream' },
  body: chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n',
});

// ---------------------------------------------------------------------------------------------
// The Responses stream, strictly (INTERFACE.md 8.4)

// Every event is `event: <type>\ndata: <one JSON line>\n\n` with data.type = <type>; `: …`
// comments (keep-alives) are allowed and skipped; no [DONE]; sequence_number 0, 1, 2… ->
// [{type, data}]
function parseResponsesSSE(text) {
  assert.ok(!text.includes('\r'), 'no CR in the stream');
  assert.ok(!/^data: \[DONE\]$/m.test(text), 'no [DONE] in a Responses stream');
  const blocks = text.split('\n\n');
  assert.equal(blocks.pop(), '', `every event ends with a blank line: ...${JSON.stringify(text.slice(-200))}`);
  const events = [];
  for (const block of blocks) {
    if (block.startsWith(':')) {
      assert.ok(!block.includes('\n'), `one-line comment: ${JSON.stringify(block)}`);
      continue;
    }
    const m = /^event: ([a-z_.]+)\ndata: ([^\n]+)$/.exec(block);
    assert.ok(m, `event framing "event: <type>\\ndata: <json>": ${JSON.stringify(block.slice(0, 300))}`);
    const data = JSON.parse(m[2]);
    assert.equal(data.type, m[1], 'data.type equals the event name');
    assert.equal(data.sequence_number, events.length, `sequence_number without gaps at ${m[1]}`);
    events.push({ type: m[1], data });
  }
  return events;
}

// Checks the event grammar of 8.4 and returns {events, types, items: [{added, events, done}],
// terminal (the terminal event's response)}.
function checkResponsesEvents(events, { model } = {}) {
  const types = events.map((e) => e.type);
  assert.ok(types.length >= 3, `at least created, in_progress and a terminal event: ${types}`);
  assert.deepEqual(types.slice(0, 2), ['response.created', 'response.in_progress']);
  for (const e of events.slice(0, 2)) {
    const r = e.data.response;
    assert.equal(r.status, 'in_progress', `${e.type} status`);
    assert.deepEqual(r.output, [], `${e.type} output`);
    assert.equal(r.usage, null, `${e.type} usage`);
    assert.match(r.id, /^resp_[0-9a-f]{32}$/);
    if (model) assert.equal(r.model, model);
  }
  const id = events[0].data.response.id;
  assert.equal(events[1].data.response.id, id);
  const terminals = types.filter((t) => TERMINAL.includes(t));
  assert.equal(terminals.length, 1, `exactly one terminal event: ${types}`);
  assert.ok(TERMINAL.includes(types.at(-1)), `the terminal event comes last: ${types}`);
  assert.ok(!types.includes('error'), 'no error event');
  const items = [];
  let open = null;
  for (const e of events.slice(2, -1)) {
    const d = e.data;
    if (e.type === 'response.output_item.added') {
      assert.equal(open, null, `items never interleave: ${e.type} while ${open?.added.id} is open`);
      assert.equal(d.output_index, items.length, 'output_index counts items');
      assert.equal(d.item.status, 'in_progress');
      const prefix = ITEM_PREFIX[d.item.type];
      assert.ok(prefix, `known item type ${d.item.type}`);
      assert.match(d.item.id, new RegExp(`^${prefix}[0-9a-f]{32}$`), `${d.item.type} id`);
      open = { added: d.item, events: [], done: null };
      items.push(open);
      continue;
    }
    assert.ok(open, `${e.type} outside an item`);
    assert.equal(d.output_index, items.length - 1, `${e.type} output_index`);
    if (e.type === 'response.output_item.done') {
      assert.equal(d.item.id, open.added.id);
      open.done = d.item;
      open = null;
      continue;
    }
    assert.equal(d.item_id, open.added.id, `${e.type} item_id`);
    if (e.type.endsWith('.delta')) {
      assert.equal(typeof d.delta, 'string');
      assert.ok(d.delta.length > 0, `no empty delta (${e.type})`);
    }
    if (e.type === 'response.output_text.delta' || e.type === 'response.output_text.done') assert.deepEqual(d.logprobs, [], `${e.type} logprobs`);
    open.events.push(e);
  }
  const terminal = events.at(-1).data.response;
  assert.equal(terminal.id, id, 'the terminal response has the stream\'s id');
  return { events, types, items, terminal };
}

// The per-item sub-event types (without the "response." prefix) of each item.
const itemShapes = (items) => items.map((it) => [it.added.type, ...it.events.map((e) => e.type.replace(/^response\./, '')), it.done ? 'done' : 'open']);

// r: {status, headers, text} of a streamed request. Checks HTTP, framing and grammar.
function assertResponsesStream(r, { model = MODEL } = {}) {
  assert.equal(r.status, 200, r.text.slice(0, 2000));
  assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
  assertCors(r.headers);
  assertRequestId(r.headers);
  return checkResponsesEvents(parseResponsesSSE(r.text), { model });
}

// The response object of 8.3. exp: {status, model, text, reasoning, usage}.
function assertResponseObject(obj, exp = {}) {
  assert.equal(obj.object, 'response');
  assert.match(obj.id, /^resp_[0-9a-f]{32}$/);
  assert.ok(Number.isInteger(obj.created_at) && Math.abs(obj.created_at - nowS()) < 600, `created_at ${obj.created_at}`);
  assert.equal(obj.model, exp.model ?? MODEL);
  if (exp.status) assert.equal(obj.status, exp.status);
  if (obj.status === 'completed') assert.ok(Number.isInteger(obj.completed_at) && obj.completed_at >= obj.created_at, 'completed_at');
  else assert.equal(obj.completed_at ?? null, null, 'completed_at only on completed');
  assert.equal(obj.background, false);
  assert.equal(obj.previous_response_id, null);
  assert.equal(obj.store, false);
  assert.equal(obj.truncation, 'disabled');
  for (const k of ['error', 'incomplete_details', 'instructions', 'max_output_tokens', 'reasoning', 'temperature', 'top_p', 'user', 'safety_identifier', 'prompt_cache_key']) {
    assert.ok(k in obj, `response.${k} present (null when unset)`);
  }
  assert.ok(typeof obj.parallel_tool_calls === 'boolean', 'parallel_tool_calls');
  assert.ok(obj.text && typeof obj.text === 'object' && obj.text.format, 'text.format');
  assert.ok(obj.tool_choice !== undefined, 'tool_choice');
  assert.ok(Array.isArray(obj.tools), 'tools');
  assert.ok(obj.metadata && typeof obj.metadata === 'object', 'metadata');
  assert.ok(Array.isArray(obj.output), 'output');
  const ids = obj.output.map((i) => i.id);
  assert.equal(new Set(ids).size, ids.length, 'item ids unique');
  for (const item of obj.output) {
    assert.match(item.id, new RegExp(`^${ITEM_PREFIX[item.type]}[0-9a-f]{32}$`), `${item.type} id ${item.id}`);
    if (item.type === 'message') {
      assert.equal(item.role, 'assistant');
      for (const p of item.content) {
        assert.equal(p.type, 'output_text');
        assert.deepEqual(p.annotations, []);
        assert.deepEqual(p.logprobs, []);
      }
    }
    if (item.type === 'reasoning') {
      assert.ok(Array.isArray(item.summary) && Array.isArray(item.content), 'reasoning summary and content arrays');
    }
  }
  const u = obj.usage;
  assert.ok(u && typeof u === 'object', 'usage is an object');
  for (const k of ['input_tokens', 'output_tokens', 'total_tokens']) assert.ok(Number.isInteger(u[k]), `usage.${k}`);
  assert.ok(Number.isInteger(u.input_tokens_details?.cached_tokens), 'usage.input_tokens_details.cached_tokens');
  assert.equal(u.input_tokens_details.cache_write_tokens, 0);
  assert.ok(Number.isInteger(u.output_tokens_details?.reasoning_tokens), 'usage.output_tokens_details.reasoning_tokens');
  if (exp.usage) {
    assert.equal(u.input_tokens, exp.usage.prompt_tokens, 'usage.input_tokens');
    assert.equal(u.output_tokens, exp.usage.completion_tokens, 'usage.output_tokens');
    assert.equal(u.total_tokens, exp.usage.total_tokens, 'usage.total_tokens');
  }
  if (exp.text !== undefined) {
    const text = obj.output.filter((i) => i.type === 'message').flatMap((i) => i.content.map((p) => p.text)).join('');
    assert.equal(text, exp.text, 'output text');
  }
  if (exp.reasoning !== undefined) {
    const rs = obj.output.filter((i) => i.type === 'reasoning');
    if (exp.reasoning === null) assert.deepEqual(rs, [], 'no reasoning item');
    else assert.equal(rs.flatMap((i) => [...i.content, ...i.summary].map((p) => p.text)).join(''), exp.reasoning, 'reasoning text');
  }
  return obj;
}

const textOf = (content) => (typeof content === 'string' ? content : (content ?? []).map((p) => p.text ?? '').join(''));
const pickCall = (c) => ({ id: c.id, type: c.type, function: { name: c.function?.name, arguments: c.function?.arguments } });

// ---------------------------------------------------------------------------------------------

// The checker itself, on hand-written streams (tests/fixtures/codex/capture.mjs's, which Codex
// accepts): it must pass a good one and catch each kind of bad one, so a failure below is the
// proxy's, not the checker's.
describe('Responses stream checker', () => {
  const hex = '0123456789abcdef0123456789abcdef';
  const good = () =>
    responseEvents({
      id: `resp_${hex}`,
      model: MODEL,
      items: [
        { id: `rs_${hex}`, type: 'reasoning', status: 'completed', summary: [{ type: 'summary_text', text: 'think' }], content: [] },
        { id: `fc_${hex}`, type: 'function_call', status: 'completed', call_id: 'call_1', name: 'f', arguments: '{}' },
        { id: `msg_${hex}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'hi', annotations: [], logprobs: [] }] },
      ],
      usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 },
    });
  const wire = (events) => events.map((e, i) => `event: ${e.type}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`).join('');
  const check = (text) => checkResponsesEvents(parseResponsesSSE(text), { model: MODEL });

  test('passes a well-formed stream and reports its items', () => {
    const r = check(`: keep-alive\n\n${wire(good())}`);
    assert.deepEqual(r.items.map((i) => i.added.type), ['reasoning', 'function_call', 'message']);
    assert.deepEqual(itemShapes(r.items)[1], ['function_call', 'function_call_arguments.delta', 'function_call_arguments.done', 'done']);
    assert.equal(r.terminal.status, 'completed');
  });

  test('catches framing, numbering, grammar and ending faults', () => {
    const ev = good();
    const bad = {
      '[DONE]': wire(ev) + 'data: [DONE]\n\n',
      'no blank line': wire(ev).slice(0, -1),
      'gap': wire(ev).replace('"sequence_number":3', '"sequence_number":4'),
      'name mismatch': wire(ev).replace('event: response.in_progress', 'event: response.created'),
      'data only': wire(ev).replace(/event: [a-z_.]+\n/, ''),
      'two terminals': wire([...ev, ev.at(-1)]),
      'no terminal': wire(ev.slice(0, -1)),
      'empty delta': wire(ev.map((e) => (e.type === 'response.output_text.delta' ? { ...e, delta: '' } : e))),
      'interleaved': wire([...ev.slice(0, 3), ev[8], ...ev.slice(3, 8), ...ev.slice(9)]),
      'bad item id': wire(ev.map((e) => (e.item?.type === 'message' ? { ...e, item: { ...e.item, id: 'msg_1' } } : e))),
      'error event': wire([...ev.slice(0, -1), { type: 'error', message: 'x' }, ev.at(-1)]),
      'text delta without logprobs': wire(ev.map((e) => (e.type === 'response.output_text.delta' ? { ...e, logprobs: undefined } : e))),
    };
    for (const [what, text] of Object.entries(bad)) assert.throws(() => check(text), undefined, what);
  });
});

describe('Responses, API mode', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'api', settings: { MAX_ATTEMPTS: 3 } });
  });
  after(() => s?.stop());

  const post = (body, opts = {}) => s.request(opts.path ?? '/v1/responses', { method: 'POST', body, ...opts });
  const ups = (tag) => chatEntries(s, tag);

  test('8.6.1 non-streaming: completed, resp_ id, one message, upstream usage; the SDK\'s output_text', T, async () => {
    const tag = 'resp-plain-1';
    const exp = await expected('api', 'answer_only', 'sse');
    const r = await post({ model: MODEL, input: tag });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assertCors(r.headers);
    assertRequestId(r.headers);
    const obj = assertResponseObject(r.json, { status: 'completed', text: exp.content, usage: exp.usage });
    assert.deepEqual(obj.output.map((i) => i.type), ['message']);
    assert.equal(obj.output[0].status, 'completed');
    assert.equal(obj.error, null);
    assert.equal(obj.incomplete_details, null);
    assert.equal(obj.parallel_tool_calls, true, 'default parallel_tool_calls');
    assert.deepEqual(obj.text, { format: { type: 'text' } }, 'default text');
    assert.equal(obj.tool_choice, 'auto');
    assert.deepEqual(obj.tools, []);
    assert.deepEqual(obj.metadata, {});
    const [up] = ups(tag);
    assert.ok(up, 'one upstream request');
    assert.equal(ups(tag).length, 1);
    assert.equal(up.body.stream, true, 'the upstream request is always streamed');
    assert.equal(up.body.model, MODEL);
    assert.deepEqual(up.body.messages.map((m) => [m.role, textOf(m.content)]), [['user', tag]]);
    assert.ok(API_KEYS.includes(up.credential));

    const sdk = await s.client.responses.create({ model: MODEL, input: 'resp-plain-sdk' });
    assert.equal(sdk.output_text, exp.content);
    assert.equal(sdk.status, 'completed');
  });

  test('8.6.2 streaming: the exact event order, sequence numbers, event = data.type, no [DONE]', T, async () => {
    const tag = 'resp-stream-2';
    const exp = await expected('api', 'answer_only', 'sse');
    const r = await post({ model: MODEL, input: tag, stream: true });
    const { types, items, terminal } = assertResponsesStream(r);
    const n = types.filter((t) => t === 'response.output_text.delta').length;
    assert.ok(n >= 1);
    assert.deepEqual(types, [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array(n).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const [m] = items;
    assert.equal(m.added.type, 'message');
    assert.deepEqual(m.added.content, []);
    assert.equal(m.added.role, 'assistant');
    const partAdded = m.events[0].data;
    assert.deepEqual(partAdded.part, { type: 'output_text', text: '', annotations: [], logprobs: [] });
    const deltas = m.events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.data.delta);
    assert.equal(deltas.join(''), exp.content);
    assert.equal(m.events.find((e) => e.type === 'response.output_text.done').data.text, exp.content);
    assert.equal(m.done.status, 'completed');
    assert.equal(m.done.content[0].text, exp.content);
    assertResponseObject(terminal, { status: 'completed', text: exp.content, usage: exp.usage });
    assert.deepEqual(terminal.output, [m.done], 'the final output is the items as done');
    assert.equal(ups(tag)[0].body.stream, true);

    // the SDK's stream: the same events in the same order, and the same final object
    const stream = s.client.responses.stream({ model: MODEL, input: 'resp-stream-sdk' });
    const seen = [];
    for await (const e of stream) seen.push(e.type);
    const final = await stream.finalResponse();
    assert.deepEqual(seen, types);
    assert.equal(final.output_text, exp.content);
    assert.equal(final.status, 'completed');
  });

  test('8.6.3 reasoning then answer: reasoning_text content form; with summary:auto the summary form', T, async () => {
    const exp = await expected('api', 'reasoning', 'sse');
    const r = await post({ model: MODEL, input: promptFor('reasoning', 'rs-content'), stream: true });
    const { items, terminal } = assertResponsesStream(r);
    assert.deepEqual(itemShapes(items), [
      ['reasoning', 'content_part.added', ...Array(items[0].events.length - 3).fill('reasoning_text.delta'), 'reasoning_text.done', 'content_part.done', 'done'],
      ['message', 'content_part.added', ...Array(items[1].events.length - 3).fill('output_text.delta'), 'output_text.done', 'content_part.done', 'done'],
    ]);
    assert.equal(items[0].events[0].data.part.type, 'reasoning_text');
    assert.equal(items[0].events.filter((e) => e.type === 'response.reasoning_text.delta').map((e) => e.data.delta).join(''), exp.reasoning);
    const rs = terminal.output[0];
    assert.deepEqual(rs.summary, []);
    assert.deepEqual(rs.content, [{ type: 'reasoning_text', text: exp.reasoning }]);
    assertResponseObject(terminal, { status: 'completed', text: exp.content, reasoning: exp.reasoning, usage: exp.usage });
    assert.equal(terminal.usage.output_tokens_details.reasoning_tokens, 29);

    const sum = await post({ model: MODEL, input: promptFor('reasoning', 'rs-summary'), stream: true, reasoning: { summary: 'auto' } });
    const s2 = assertResponsesStream(sum);
    assert.deepEqual(s2.items[0].events.map((e) => e.type.replace(/^response\./, '')), [
      'reasoning_summary_part.added',
      ...Array(s2.items[0].events.length - 3).fill('reasoning_summary_text.delta'),
      'reasoning_summary_text.done',
      'reasoning_summary_part.done',
    ]);
    assert.equal(s2.items[0].events[0].data.summary_index, 0);
    const rs2 = s2.terminal.output[0];
    assert.deepEqual(rs2.content, []);
    assert.equal(rs2.summary[0].type, 'summary_text');
    assert.equal(rs2.summary[0].text, exp.reasoning);
    assert.equal(s2.terminal.reasoning?.summary, 'auto', 'reasoning echoed');

    const ns = await post({ model: MODEL, input: promptFor('reasoning', 'rs-ns'), reasoning: { summary: 'detailed' } });
    assert.equal(ns.status, 200, ns.text);
    assertResponseObject(ns.json, { status: 'completed', text: exp.content, reasoning: exp.reasoning });
    assert.equal(ns.json.output[0].summary[0].text, exp.reasoning);
  });

  test('8.6.4 reasoning.effort none and minimal turn thinking off upstream; absent or high leave it on', T, async () => {
    for (const [effort, off] of [['none', true], ['minimal', true], ['high', false], [undefined, false]]) {
      const tag = `effort-${effort}`;
      const r = await post({ model: MODEL, input: tag, ...(effort ? { reasoning: { effort } } : {}) });
      assert.equal(r.status, 200, r.text);
      const thinking = ups(tag)[0].body.thinking;
      if (off) assert.deepEqual(thinking, { type: 'disabled' }, `${effort}: ${JSON.stringify(thinking)}`);
      else assert.notEqual(thinking?.type, 'disabled', `${effort}: thinking stays on (${JSON.stringify(thinking)})`);
    }
  });

  test('8.6.5 a Codex-like first turn: upstream messages, tools, tool_stream, no web_search', T, async () => {
    const tag = 'codex-first-turn';
    const r = await post(codexTurn(tag));
    const { terminal } = assertResponsesStream(r);
    assert.equal(terminal.status, 'completed');
    const [up] = ups(tag);
    assert.ok(up);
    assert.deepEqual(up.body.messages.map((m) => m.role), ['system', 'system', 'user', 'user']);
    assert.equal(textOf(up.body.messages[0].content), 'You are a coding agent running in the Codex CLI.');
    assert.equal(textOf(up.body.messages.at(-1).content), tag);
    const tools = up.body.tools ?? [];
    assert.deepEqual(tools.map((t) => [t.type, t.function?.name]), [['function', 'exec_command'], ['function', 'apply_patch'], ['function', 'view_image']]);
    assert.deepEqual(tools[0].function.parameters, EXEC_COMMAND.parameters);
    const ap = tools[1].function;
    assert.deepEqual(ap.parameters.properties, { input: { type: 'string' } });
    assert.deepEqual(ap.parameters.required, ['input']);
    assert.ok(ap.description.includes(APPLY_PATCH.description), 'description kept');
    assert.ok(ap.description.includes(APPLY_PATCH_GRAMMAR), 'the grammar appended to the description');
    assert.equal(up.body.tool_stream, true);
    assert.ok(!JSON.stringify(up.body).includes('web_search'), 'no web_search upstream');
    for (const k of ['prompt_cache_key', 'parallel_tool_calls', 'metadata', 'service_tier']) assert.equal(up.body[k], undefined, `${k} not sent upstream`);
    assert.notEqual(up.body.thinking?.type, 'disabled', 'effort medium keeps thinking on');
    assert.deepEqual(terminal.tools.map((t) => t.type), ['function', 'custom', 'function'], 'echoed tools: no web_search');
    assert.equal(terminal.parallel_tool_calls, false);
    assert.equal(terminal.prompt_cache_key, '0199a8b2-0000-7000-8000-000000000001');
    assert.equal(terminal.reasoning?.effort, 'medium', 'reasoning echoed');
    assert.equal(terminal.reasoning?.summary, 'auto');
  });

  test('8.6.5 Codex 0.171\'s recorded requests go through (namespace tool, developer messages, item ids)', T, async () => {
    const tag = 'codex-recorded-plain';
    const rec = replayable(codexFixture('plain').requests[0], tag);
    const r = await post(rec.body, { headers: rec.headers });
    const { terminal } = assertResponsesStream(r);
    assert.equal(terminal.status, 'completed');
    const [up] = ups(tag);
    assert.deepEqual(up.body.messages.map((m) => m.role), ['system', 'system', 'user', 'user']);
    const names = (up.body.tools ?? []).map((t) => t.function?.name);
    assert.ok(names.includes('exec_command'));
    assert.ok(names.includes('multi_agent_v1__spawn_agent'), `namespace children flattened: ${names}`);
    assert.ok(!JSON.stringify(up.body.tools).includes('web_search'));
    assert.equal(up.body.tool_stream, true);

    // its follow-up: reasoning (summary, encrypted_content null), function_call, function_call_output
    const tag2 = 'codex-recorded-followup';
    const rec2 = replayable(codexFixture('tool_exec').requests[1], tag2);
    const r2 = await post(rec2.body, { headers: rec2.headers });
    assert.equal(assertResponsesStream(r2).terminal.status, 'completed');
    const msgs = ups(tag2)[0].body.messages;
    const [assistant, tool] = msgs.slice(-2);
    assert.equal(assistant.role, 'assistant');
    assert.equal(assistant.reasoning_content, 'I should read token.txt.');
    assert.deepEqual(assistant.tool_calls.map(pickCall), [
      { id: 'call_capture1', type: 'function', function: { name: 'exec_command', arguments: '{"cmd":"cat token.txt"}' } },
    ]);
    assert.equal(tool.role, 'tool');
    assert.equal(tool.tool_call_id, 'call_capture1');
    assert.ok(textOf(tool.content).includes('token: tok-fixture-0000'));
  });

  test('8.6.6 a call in 3 fragments: 3 argument deltas, their concatenation the done arguments', T, async () => {
    const tag = 'fragments-6';
    const parts = ['{"cmd":', '"cat a', '.txt"}'];
    s.fake.script({
      text: tag,
      times: 1,
      ...sseAnswer([
        apiChunk({ tool_calls: [{ id: 'call_1', index: 0, type: 'function', function: { name: 'exec_command', arguments: parts[0] } }] }),
        apiChunk({ tool_calls: [{ index: 0, function: { arguments: parts[1] } }] }),
        apiChunk({ tool_calls: [{ index: 0, function: { arguments: parts[2] } }] }),
        { ...apiChunk({ content: '' }, { finish_reason: 'tool_calls' }), usage: usage(30, 9) },
      ]),
    });
    const r = await post(codexTurn(tag));
    const { items, terminal } = assertResponsesStream(r);
    assert.deepEqual(itemShapes(items), [
      ['function_call', 'function_call_arguments.delta', 'function_call_arguments.delta', 'function_call_arguments.delta', 'function_call_arguments.done', 'done'],
    ]);
    const [fc] = items;
    assert.equal(fc.added.call_id, 'call_1');
    assert.equal(fc.added.name, 'exec_command');
    assert.equal(fc.added.arguments, '');
    assert.deepEqual(fc.events.slice(0, 3).map((e) => e.data.delta), parts);
    const done = fc.events[3].data;
    assert.equal(done.arguments, parts.join(''));
    assert.equal(done.name, 'exec_command');
    assert.deepEqual(fc.done, { ...fc.done, type: 'function_call', status: 'completed', call_id: 'call_1', name: 'exec_command', arguments: parts.join('') });
    assert.equal(terminal.status, 'completed');
    assert.deepEqual(terminal.output, [fc.done]);
  });

  test('8.6.7 tool round trip: reasoning + call + output become assistant(reasoning_content, tool_calls) + tool', T, async () => {
    const tag = 'round-trip-7';
    const body = {
      model: MODEL,
      tools: [EXEC_COMMAND],
      input: [
        msg('user', tag),
        { type: 'reasoning', id: 'rs_0123456789abcdef0123456789abcdef', summary: [{ type: 'summary_text', text: 'S: list the files.' }], encrypted_content: null },
        { type: 'function_call', id: 'fc_0123456789abcdef0123456789abcdef', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}', status: 'completed' },
        { type: 'function_call_output', call_id: 'call_1', output: 'a.txt' },
      ],
    };
    const r = await post(body);
    assert.equal(r.status, 200, r.text);
    const msgs = ups(tag)[0].body.messages;
    assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'tool']);
    const [, assistant, tool] = msgs;
    assert.equal(assistant.content, '');
    assert.equal(assistant.reasoning_content, 'S: list the files.');
    assert.deepEqual(assistant.tool_calls.map(pickCall), [{ id: 'call_1', type: 'function', function: { name: 'exec_command', arguments: '{"cmd":"ls"}' } }]);
    assert.equal(tool.tool_call_id, 'call_1');
    assert.equal(textOf(tool.content), 'a.txt');
  });

  test('8.6.8 two consecutive calls and their outputs: one assistant message with 2 tool_calls, 2 tool messages', T, async () => {
    const tag = 'two-calls-8';
    const body = {
      model: MODEL,
      tools: [EXEC_COMMAND],
      input: [
        msg('user', tag),
        msg('assistant', 'Checking both.'),
        { type: 'function_call', call_id: 'call_a', name: 'exec_command', arguments: '{"cmd":"ls a"}' },
        { type: 'function_call', call_id: 'call_b', name: 'exec_command', arguments: '{"cmd":"ls b"}' },
        { type: 'function_call_output', call_id: 'call_a', output: 'out a' },
        { type: 'function_call_output', call_id: 'call_b', output: [{ type: 'input_text', text: 'out ' }, { type: 'input_text', text: 'b' }] },
      ],
    };
    const r = await post(body);
    assert.equal(r.status, 200, r.text);
    const msgs = ups(tag)[0].body.messages;
    assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'tool', 'tool']);
    assert.equal(textOf(msgs[1].content), 'Checking both.');
    assert.deepEqual(msgs[1].tool_calls.map((c) => c.id), ['call_a', 'call_b']);
    assert.deepEqual(msgs.slice(2).map((m) => [m.tool_call_id, textOf(m.content)]), [['call_a', 'out a'], ['call_b', 'out b']]);
  });

  test('8.6.9 apply_patch: upstream\'s {"input":…} call becomes a custom_tool_call; its replay goes back the same', T, async () => {
    const args = JSON.stringify({ input: PATCH });
    const r = await post(codexTurn(promptFor('call_tool', `apply_patch ${args}`)));
    const { items, terminal } = assertResponsesStream(r);
    assert.deepEqual(itemShapes(items), [['custom_tool_call', 'custom_tool_call_input.delta', 'custom_tool_call_input.done', 'done']]);
    const [ct] = items;
    assert.equal(ct.added.input, '');
    assert.equal(ct.added.name, 'apply_patch');
    assert.equal(ct.added.call_id, generatedToolCallId('apply_patch'));
    assert.equal(ct.events[0].data.delta, PATCH);
    assert.equal(ct.events[1].data.input, PATCH);
    assert.equal(ct.done.input, PATCH);
    assert.equal(ct.done.arguments, undefined, 'input in place of arguments');
    assert.deepEqual(terminal.output, [ct.done]);
    assert.equal(terminal.status, 'completed');

    const tag = 'patch-replay-9';
    const replay = codexTurn(tag, {
      input: [
        msg('user', tag),
        { type: 'custom_tool_call', id: ct.done.id, status: 'completed', call_id: ct.done.call_id, name: 'apply_patch', input: PATCH },
        { type: 'custom_tool_call_output', call_id: ct.done.call_id, output: 'Success. Updated the following files:\nA a.txt\n' },
      ],
    });
    const r2 = await post(replay);
    assertResponsesStream(r2);
    const msgs = ups(tag)[0].body.messages;
    const [assistant, tool] = msgs.slice(-2);
    assert.equal(assistant.tool_calls[0].function.name, 'apply_patch');
    assert.deepEqual(JSON.parse(assistant.tool_calls[0].function.arguments), { input: PATCH }, 'the same arguments go back upstream');
    assert.equal(tool.tool_call_id, ct.done.call_id);
    assert.equal(textOf(tool.content), 'Success. Updated the following files:\nA a.txt\n');
  });

  test('8.6.10 upstream length: response.incomplete, max_output_tokens, the message incomplete; non-stream 200', T, async () => {
    const exp = await expected('api', 'length', 'sse');
    const r = await post({ model: MODEL, input: promptFor('length', 'len-stream'), stream: true, max_output_tokens: 5 });
    const { types, items, terminal } = assertResponsesStream(r);
    assert.equal(types.at(-1), 'response.incomplete');
    assert.deepEqual(itemShapes(items)[0].slice(-3), ['output_text.done', 'content_part.done', 'done'], 'the open item gets its .done events');
    assert.equal(items[0].done.status, 'incomplete');
    assert.equal(terminal.status, 'incomplete');
    assert.deepEqual(terminal.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(terminal.max_output_tokens, 5);
    assert.equal(terminal.output[0].status, 'incomplete');
    assert.equal(terminal.output[0].content[0].text, exp.content);
    const up = chatEntries(s, 'len-stream')[0];
    assert.equal(up.body.max_tokens, 5, 'max_output_tokens becomes max_tokens');

    const ns = await post({ model: MODEL, input: promptFor('length', 'len-ns') });
    assert.equal(ns.status, 200, ns.text);
    assertResponseObject(ns.json, { status: 'incomplete', text: exp.content });
    assert.deepEqual(ns.json.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(ns.json.output[0].status, 'incomplete');
  });

  test('8.6.10 upstream sensitive: response.incomplete with reason content_filter', T, async () => {
    const r = await post({ model: MODEL, input: promptFor('sensitive', 'sens-stream'), stream: true });
    const { terminal, types } = assertResponsesStream(r);
    assert.equal(types.at(-1), 'response.incomplete');
    assert.deepEqual(terminal.incomplete_details, { reason: 'content_filter' });
  });

  test('8.6.11 upstream cut after 2 deltas: response.failed upstream_truncated; no completed; no done for the message', T, async () => {
    const tag = 'cut-after-two';
    s.fake.script({ text: tag, times: 1, cutAfterEvents: 2 });
    const exp = await expected('api', 'answer_only', 'sse');
    const r = await post({ model: MODEL, input: tag, stream: true });
    const { types, items, terminal } = assertResponsesStream(r);
    assert.equal(types.at(-1), 'response.failed');
    assert.ok(!types.includes('response.completed'));
    assert.ok(!types.includes('response.output_item.done'), 'the cut message gets no output_item.done');
    assert.ok(!types.includes('response.output_text.done'));
    assert.equal(items.length, 1);
    assert.equal(items[0].done, null);
    assert.equal(terminal.status, 'failed');
    assert.equal(terminal.error.code, 'upstream_truncated');
    assert.equal(typeof terminal.error.message, 'string');
    assert.equal(terminal.output.length, 1, 'the items so far are included');
    assert.equal(terminal.output[0].status, 'incomplete');
    assert.equal(terminal.output[0].content[0].text, exp.content.slice(0, exp.contentSteps[1]));
  });

  test('8.6.12 upstream cut before any delta on every attempt: JSON 502 upstream_truncated, no event', T, async () => {
    const tag = 'cut-before-any';
    s.fake.script({ text: tag, cutAfterEvents: 0 });
    const r = await post({ model: MODEL, input: tag, stream: true });
    assertError(r, { status: 502, code: 'upstream_truncated' });
    assert.ok(!r.text.includes('event:'), 'no event was sent');
    const attempts = ups(tag).length;
    assert.ok(attempts >= 1 && attempts <= 3, `1 to MAX_ATTEMPTS (3) attempts, got ${attempts}`);
    s.fake.clear();
  });

  test('8.6.13 an error frame after a delta: response.failed with the section 5 code', T, async () => {
    const tag = 'error-frame-13';
    s.fake.script({ text: tag, times: 1, errorAfterEvents: 1 });
    const r = await post({ model: MODEL, input: tag, stream: true });
    const { types, terminal } = assertResponsesStream(r);
    assert.equal(types.at(-1), 'response.failed');
    assert.ok(types.includes('response.output_text.delta'));
    assert.equal(terminal.error.code, 'upstream_error', '1234 is upstream_error');
  });

  test('8.6.13 1302 before any delta is retried on another key: one clean stream', T, async () => {
    const tag = 'retry-1302';
    s.fake.script({ text: tag, times: 1, route: 'api_chat', ...presets.apiError(1302, 429) });
    const exp = await expected('api', 'answer_only', 'sse');
    const r = await post({ model: MODEL, input: tag, stream: true });
    const { types, terminal } = assertResponsesStream(r);
    assert.equal(types.at(-1), 'response.completed');
    assert.equal(terminal.output[0].content[0].text, exp.content);
    const u = ups(tag);
    assert.equal(u.length, 2);
    assert.equal(u[0].status, 429);
    assert.notEqual(u[0].credential, u[1].credential, 'another key');
  });

  test('8.6.14 stored state is refused: previous_response_id, conversation, background, prompt, item_reference', T, async () => {
    const cases = [
      [{ previous_response_id: 'resp_0123456789abcdef0123456789abcdef' }, 'previous_response_id'],
      [{ conversation: 'conv_123' }, 'conversation'],
      [{ background: true }, 'background'],
      [{ prompt: { id: 'pmpt_123' } }, 'prompt'],
    ];
    for (const [extra, param] of cases) {
      const e = assertError(await post({ model: MODEL, input: `stateful-${param}`, ...extra }), { status: 400, type: 'invalid_request_error', code: 'unsupported_value', param });
      assert.match(e.message, /input/, `the message says to send the whole conversation in input: ${e.message}`);
      assert.equal(ups(`stateful-${param}`).length, 0);
    }
    const ref = await post({ model: MODEL, input: [msg('user', 'stateful-ref'), { type: 'item_reference', id: 'msg_123' }] });
    const e = assertError(ref, { status: 400, code: 'unsupported_value' });
    assert.match(e.param ?? '', /^input\[1\]/, `param names the item: ${e.param}`);
    // null or false are fine
    const ok = await post({ model: MODEL, input: 'stateless-nulls', previous_response_id: null, conversation: null, background: false });
    assert.equal(ok.status, 200, ok.text);
  });

  test('8.6.15 store:true is accepted and answered with store:false', T, async () => {
    const r = await post({ model: MODEL, input: 'store-true', store: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.store, false);
    const st = await post({ model: MODEL, input: 'store-true-stream', store: true, stream: true });
    assert.equal(assertResponsesStream(st).terminal.store, false);
  });

  test('8.6.16 GET/DELETE /v1/responses/{id} and deeper: 404 not_found; without a key 401; GET /v1/responses 405', T, async () => {
    for (const [method, p] of [
      ['GET', '/v1/responses/resp_x'],
      ['DELETE', '/v1/responses/resp_x'],
      ['POST', '/v1/responses/resp_x/cancel'],
      ['GET', '/v1/responses/resp_x/input_items'],
      ['POST', '/v1/responses/compact'],
      ['POST', '/v1/responses/input_tokens'],
    ]) {
      const e = assertError(await s.request(p, { method, body: method === 'POST' ? {} : undefined }), { status: 404, code: 'not_found' });
      assert.match(e.message, /not stored/, `${method} ${p}: ${e.message}`);
      assertError(await s.request(p, { method, key: null }), { status: 401, code: 'invalid_api_key' });
    }
    const list = await s.request('/v1/responses');
    assertError(list, { status: 405, code: 'method_not_allowed' });
    assert.match(list.headers.get('allow') ?? '', /\bPOST\b/);
    assertError(await post({ model: MODEL, input: 'no-key' }, { key: null }), { status: 401, code: 'invalid_api_key' });
    await assert.rejects(() => s.client.responses.retrieve('resp_x'), NotFoundError);
  });

  test('8.6.17 400s name their param: file_search tool, tool_choice required, input validation', T, async () => {
    const bad = [
      [{ input: 'x', tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] }, 'unsupported_value', 'tools[0].type'],
      [{ input: 'x', tools: [EXEC_COMMAND, { type: 'local_shell' }] }, 'unsupported_value', 'tools[1].type'],
      [{ input: 'x', tools: [EXEC_COMMAND], tool_choice: 'required' }, 'unsupported_value', 'tool_choice'],
      [{ input: 'x', top_logprobs: 2 }, 'unsupported_value', 'top_logprobs'],
      [{ input: 'x', truncation: 'auto' }, 'unsupported_value', 'truncation'],
      [{ input: [{ type: 'message', role: 'user', content: [{ type: 'input_file', file_id: 'file_1' }] }] }, 'unsupported_value', undefined],
      [{}, 'missing_required_parameter', 'input'],
      [{ input: [] }, 'invalid_value', 'input'],
      [{ input: 42 }, 'invalid_value', 'input'],
    ];
    for (const [extra, code, param] of bad) {
      assertError(await post({ model: MODEL, ...extra }), { status: 400, type: 'invalid_request_error', code, param });
    }
    const logprobs = assertError(await post({ model: MODEL, input: 'x', include: ['message.output_text.logprobs'] }), { status: 400, code: 'unsupported_value' });
    assert.match(logprobs.param ?? '', /^include/, `param names include: ${logprobs.param}`);
    assertError(await post({ input: 'x' }), { status: 400, code: 'missing_required_parameter', param: 'model' });
    assertError(await post('{"model":', {}), { status: 400, code: 'invalid_json' });
  });

  test('8.6.17 with JSON_SCHEMA=emulate (default) the Agents SDK\'s structured output_type works', T, async () => {
    const tag = 'structured-17';
    s.fake.script({
      text: tag,
      times: 1,
      ...sseAnswer([apiChunk({ content: '{"city":' }), apiChunk({ content: '"Paris"}' }), { ...apiChunk({ content: '' }, { finish_reason: 'stop' }), usage: usage(20, 6) }]),
    });
    const agent = responsesAgent(s.client, MODEL, {
      outputType: {
        type: 'json_schema',
        name: 'City',
        strict: true,
        schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
      },
    });
    const result = await run(agent, tag);
    assert.deepEqual(result.finalOutput, { city: 'Paris' });
    const up = ups(tag)[0].body;
    assert.deepEqual(up.response_format, { type: 'json_object' }, 'json_schema emulated as json_object');
    const instruction = up.messages.find((m) => m.role === 'system' && typeof m.content === 'string' && m.content.includes('JSON Schema'));
    assert.ok(instruction, 'the schema went upstream as a system instruction');
    assert.ok(instruction.content.includes('"city"'), instruction.content);
  });

  test('8.6.19 the Agents SDK: run() with a function tool that really runs; a streamed run', T, async () => {
    const calls = [];
    const agent = responsesAgent(s.client, MODEL, { tools: [recordingTool(calls, (key) => `token-for-${key}`)] });
    const prompt = promptFor('call_tool', 'lookup_token {"key":"k-19"}');
    const result = await run(agent, prompt);
    assert.deepEqual(calls, [{ key: 'k-19' }], 'the tool ran once with upstream\'s arguments');
    assert.equal(result.finalOutput, 'Tool result: token-for-k-19', 'upstream\'s second answer is the final output');
    const sent = s.fake.entries('api_chat').filter((e) => JSON.stringify(e.body.messages).includes('k-19'));
    assert.equal(sent.length, 2);
    const tool = sent[1].body.messages.at(-1);
    assert.equal(tool.role, 'tool');
    assert.equal(tool.tool_call_id, generatedToolCallId('lookup_token'));
    assert.equal(textOf(tool.content), 'token-for-k-19');
    assert.equal(textOf(sent[1].body.messages[0].content), 'You are a test agent.', 'instructions became the system message');

    const calls2 = [];
    const agent2 = responsesAgent(s.client, MODEL, { tools: [recordingTool(calls2, (key) => `streamed-${key}`)] });
    const streamed = await run(agent2, promptFor('call_tool', 'lookup_token {"key":"k-19s"}'), { stream: true });
    const raw = [];
    for await (const e of streamed) if (e.type === 'raw_model_stream_event' && e.data?.type === 'model') raw.push(e.data.event?.type);
    await streamed.completed;
    assert.deepEqual(calls2, [{ key: 'k-19s' }]);
    assert.equal(streamed.finalOutput, 'Tool result: streamed-k-19s');
    assert.equal(raw.filter((t) => t === 'response.completed').length, 2, `each model turn ended with response.completed: ${raw}`);
    assert.equal(raw.at(-1), 'response.completed');
  });

  test('8.6.20 metrics: route="responses" with statuses 200 and 400, no model name or response id in labels', T, async () => {
    assert.equal((await post({ model: MODEL, input: 'metrics-ok' })).status, 200);
    assert.equal((await post({ model: MODEL, input: 'metrics-bad', background: true })).status, 400);
    const r = await s.request('/metrics');
    assert.equal(r.status, 200, r.text);
    const m = parseMetrics(r.text);
    assert.ok(metricSum(m, 'zproxy_requests_total', { route: 'responses', status: 200 }) >= 1, 'a 200');
    assert.ok(metricSum(m, 'zproxy_requests_total', { route: 'responses', status: 400 }) >= 1, 'a 400');
    for (const sample of m.samples) {
      for (const v of Object.values(sample.labels)) {
        assert.ok(!/glm-|resp_/.test(v), `label value ${v} in ${sample.name}`);
      }
    }
  });
});

describe('Responses, API mode, THINKING=hidden and JSON_SCHEMA=refuse', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'api', settings: { THINKING: 'hidden', JSON_SCHEMA: 'refuse' } });
  });
  after(() => s?.stop());
  const post = (body, opts = {}) => s.request('/v1/responses', { method: 'POST', body, ...opts });

  test('8.6.4 THINKING=hidden: no reasoning item, streaming or not', T, async () => {
    const exp = await expected('api', 'reasoning', 'sse');
    const r = await post({ model: MODEL, input: promptFor('reasoning', 'hidden-stream'), stream: true, reasoning: { summary: 'auto' } });
    const { items, terminal } = assertResponsesStream(r);
    assert.deepEqual(items.map((i) => i.added.type), ['message']);
    assertResponseObject(terminal, { status: 'completed', text: exp.content, reasoning: null });
    const ns = await post({ model: MODEL, input: promptFor('reasoning', 'hidden-ns') });
    assert.equal(ns.status, 200, ns.text);
    assertResponseObject(ns.json, { status: 'completed', text: exp.content, reasoning: null });
  });

  test('8.6.17 a json_schema text.format with JSON_SCHEMA=refuse: 400 naming text.format', T, async () => {
    const format = { type: 'json_schema', name: 'City', strict: true, schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } };
    assertError(await post({ model: MODEL, input: 'schema-refused', text: { format } }), { status: 400, code: 'unsupported_value', param: 'text.format' });
    const obj = await post({ model: MODEL, input: 'json-object', text: { format: { type: 'json_object' } } });
    assert.equal(obj.status, 200, obj.text);
    assert.deepEqual(chatEntries(s, 'json-object')[0].body.response_format, { type: 'json_object' });
  });
});

describe('Responses, guest mode', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'guest', settings: { TOKEN_POOL_SIZE: 1 } });
    await waitPool(s, 1);
  });
  after(() => s?.stop());
  const post = (body, opts = {}) => s.request('/v1/responses', { method: 'POST', body, ...opts });

  test('8.6.1 guest: the SDK\'s output_text is upstream\'s text, streamed or not', T, async () => {
    const exp = await expected('guest', 'answer_only', 'sse');
    const r = await s.client.responses.create({ model: MODEL, input: 'guest-plain' });
    assert.equal(r.output_text, exp.content);
    assertResponseObject(r, { status: 'completed', text: exp.content });
    const st = await post({ model: MODEL, input: 'guest-stream', stream: true });
    const { terminal } = assertResponsesStream(st);
    assert.equal(terminal.status, 'completed');
    assert.equal(terminal.output.at(-1).content[0].text, exp.content);
  });

  test('8.6.4 guest: reasoning.effort none sends enable_thinking false', T, async () => {
    const r = await post({ model: MODEL, input: 'guest-effort-none', reasoning: { effort: 'none' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(chatEntries(s, 'guest-effort-none')[0].body.features.enable_thinking, false);
  });

  test('8.6.18 guest: Codex\'s first turn is 400 naming tools; an input_image is 400; nothing goes upstream', T, async () => {
    const before = s.fake.entries('guest_chat').length;
    assertError(await post(codexTurn('guest-codex')), { status: 400, code: 'unsupported_value', param: 'tools' });
    const rec = replayable(codexFixture('plain').requests[0], 'guest-codex-recorded');
    assertError(await post(rec.body, { headers: rec.headers }), { status: 400, code: 'unsupported_value', param: 'tools' });
    const img = {
      model: MODEL,
      input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'what is this' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=' }] }],
    };
    assertError(await post(img), { status: 400, code: 'unsupported_value' });
    assert.equal(s.fake.entries('guest_chat').length, before, 'nothing went upstream');
  });
});
