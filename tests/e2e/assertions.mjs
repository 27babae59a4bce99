// Assertions on what the proxy answers, per docs/contract.md §4, §5 and §7. Every JSON body and
// stream chunk is validated against OpenAI's schemas when the OpenAPI document is present; the
// required-but-nullable fields are asserted directly in any case.

import assert from 'node:assert/strict';
import { schemas } from './schema.mjs';

export function assertSchema(name, value) {
  const problem = schemas().validate(name, value);
  assert.equal(problem, null, `${name} schema: ${problem}\n${JSON.stringify(value).slice(0, 2000)}`);
}

const header = (headers, name) => (typeof headers.get === 'function' ? headers.get(name) : headers[name.toLowerCase()]);

// CORS headers of the default CORS_ORIGINS ("*"), on every response.
export function assertCors(headers, origin = '*') {
  const allow = header(headers, 'access-control-allow-origin');
  assert.ok(allow === '*' || allow === origin, `Access-Control-Allow-Origin: ${allow}`);
}

export function assertRequestId(headers, sent) {
  const id = header(headers, 'x-request-id');
  assert.ok(typeof id === 'string' && id.length > 0, 'X-Request-Id present');
  if (sent !== undefined) assert.equal(id, sent, 'X-Request-Id echoed');
  return id;
}

// r: {status, headers, text}. Checks the four error keys, the values given in `exp` (code may
// be an array of allowed codes), the schema, CORS and X-Request-Id. Returns the error object.
export function assertError(r, { status, type, code, param } = {}) {
  if (status !== undefined) assert.equal(r.status, status, `status ${r.status}, body: ${r.text}`);
  assert.match(header(r.headers, 'content-type') ?? '', /^application\/json/, 'error content type');
  const body = JSON.parse(r.text);
  assert.ok(body && typeof body.error === 'object' && body.error !== null, `error object in ${r.text}`);
  const e = body.error;
  for (const k of ['message', 'type', 'param', 'code']) assert.ok(k in e, `error.${k} present in ${r.text}`);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0, 'error.message not empty');
  assert.equal(typeof e.type, 'string');
  assert.ok(e.param === null || typeof e.param === 'string', 'error.param string or null');
  assert.ok(e.code === null || typeof e.code === 'string', 'error.code string or null');
  if (type !== undefined) assert.equal(e.type, type, `error.type in ${r.text}`);
  if (Array.isArray(code)) assert.ok(code.includes(e.code), `error.code ${e.code} not in ${code}`);
  else if (code !== undefined) assert.equal(e.code, code, `error.code in ${r.text}`);
  if (param !== undefined) assert.equal(e.param, param, `error.param in ${r.text}`);
  assertSchema('ErrorResponse', body);
  assertCors(r.headers);
  assertRequestId(r.headers);
  return e;
}

const nowS = () => Math.floor(Date.now() / 1000);

function assertChoiceText(actual, exp) {
  if (exp.content !== undefined) assert.equal(actual.content ?? '', exp.content, 'content');
  if (exp.reasoning !== undefined) {
    if (exp.reasoning) assert.equal(actual.reasoning, exp.reasoning, 'reasoning_content');
    else assert.ok(!actual.reasoning, `no reasoning expected, got ${JSON.stringify(actual.reasoning)}`);
  }
  if (exp.toolCalls !== undefined) {
    assert.deepEqual(
      actual.toolCalls.map((t) => ({ id: t.id, type: t.type, name: t.name, arguments: t.arguments })),
      exp.toolCalls,
      'tool calls',
    );
  }
  for (const marker of ['<details', '<glm_block', '<summary>']) {
    assert.ok(!(actual.content ?? '').includes(marker), `no ${marker} in content`);
    assert.ok(!(actual.reasoning ?? '').includes(marker), `no ${marker} in reasoning`);
  }
}

function assertUsage(actual, exp) {
  assert.ok(actual && typeof actual === 'object', 'usage present');
  for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens']) {
    assert.equal(typeof actual[k], 'number', `usage.${k}`);
    if (exp) assert.equal(actual[k], exp[k], `usage.${k}`);
  }
}

// A non-streaming chat.completion. exp: {model, content, reasoning, toolCalls, finishReason, usage}
export function assertCompletion(obj, exp) {
  assertSchema('CreateChatCompletionResponse', obj);
  assert.equal(obj.object, 'chat.completion');
  assert.ok(typeof obj.id === 'string' && obj.id.length > 0, 'id');
  assert.ok(Number.isInteger(obj.created) && Math.abs(obj.created - nowS()) < 300, `created ${obj.created}`);
  if (exp.model !== undefined) assert.equal(obj.model, exp.model, 'model is the public name sent');
  assert.equal(obj.choices.length, 1);
  const c = obj.choices[0];
  assert.equal(c.index, 0);
  assert.ok('logprobs' in c && c.logprobs === null, 'choices[0].logprobs: null');
  assert.ok('finish_reason' in c, 'choices[0].finish_reason present');
  if (exp.finishReason !== undefined) assert.equal(c.finish_reason, exp.finishReason, 'finish_reason');
  const m = c.message;
  assert.equal(m.role, 'assistant');
  assert.ok('refusal' in m && m.refusal === null, 'message.refusal: null');
  assert.ok('content' in m, 'message.content present');
  const toolCalls = (m.tool_calls ?? []).map((t) => ({
    id: t.id,
    type: t.type,
    name: t.function?.name,
    arguments: t.function?.arguments,
  }));
  assertChoiceText({ content: m.content, reasoning: m.reasoning_content, toolCalls }, exp);
  assertUsage(obj.usage, exp.usage);
}

// The proxy's SSE bytes, strictly: events are `data: <one line>\n\n` or a `: comment\n\n`, no
// CR, and the stream ends with exactly one `data: [DONE]\n\n`.
// -> {chunks (JSON objects without "error"), errors, comments, events}
export function parseStream(text) {
  assert.ok(!text.includes('\r'), 'no CR in the stream');
  assert.ok(text.endsWith('data: [DONE]\n\n'), `stream ends with data: [DONE]: ...${JSON.stringify(text.slice(-200))}`);
  const blocks = text.split('\n\n');
  assert.equal(blocks.pop(), '', 'every event ends with a blank line');
  const out = { chunks: [], errors: [], comments: [], events: [] };
  blocks.forEach((block, i) => {
    assert.ok(!block.includes('\n'), `one line per event: ${JSON.stringify(block)}`);
    if (block.startsWith(':')) {
      out.comments.push(block);
      out.events.push({ comment: block });
      return;
    }
    assert.ok(block.startsWith('data: '), `event is "data: ...": ${JSON.stringify(block)}`);
    const payload = block.slice(6);
    if (payload === '[DONE]') {
      assert.equal(i, blocks.length - 1, '[DONE] is the last event');
      out.events.push({ done: true });
      return;
    }
    const obj = JSON.parse(payload);
    if (obj && obj.error) {
      out.errors.push(obj);
      out.events.push({ error: obj });
    } else {
      out.chunks.push(obj);
      out.events.push({ chunk: obj });
    }
  });
  return out;
}

// Merges stream chunks into {content, reasoning, toolCalls, finishReason, usage}.
export function aggregate(chunks) {
  const r = { content: '', reasoning: '', toolCalls: [], finishReason: null, usage: null };
  const calls = new Map();
  for (const c of chunks) {
    if (c.usage) r.usage = c.usage;
    for (const ch of c.choices ?? []) {
      const d = ch.delta ?? {};
      if (typeof d.content === 'string') r.content += d.content;
      if (typeof d.reasoning_content === 'string') r.reasoning += d.reasoning_content;
      for (const t of d.tool_calls ?? []) {
        const prev = calls.get(t.index) ?? { id: undefined, type: undefined, name: '', arguments: '' };
        calls.set(t.index, {
          id: t.id ?? prev.id,
          type: t.type ?? prev.type,
          name: prev.name + (t.function?.name ?? ''),
          arguments: prev.arguments + (t.function?.arguments ?? ''),
        });
      }
      if (ch.finish_reason) r.finishReason = ch.finish_reason;
    }
  }
  r.toolCalls = [...calls.keys()].sort((a, b) => a - b).map((k) => calls.get(k));
  return r;
}

// The chunk sequence of a successful stream (docs/contract.md §5.7). exp as assertCompletion, plus
// includeUsage. Returns the aggregate.
export function assertStreamChunks(chunks, exp, { includeUsage = false } = {}) {
  assert.ok(chunks.length >= 2, `at least a delta and a finish chunk (got ${chunks.length})`);
  const first = chunks[0];
  for (const c of chunks) {
    assertSchema('CreateChatCompletionStreamResponse', c);
    assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(c.id, first.id, 'chunks share id');
    assert.equal(c.created, first.created, 'chunks share created');
    assert.equal(c.model, first.model, 'chunks share model');
  }
  if (exp.model !== undefined) assert.equal(first.model, exp.model, 'model is the public name sent');
  assert.ok(typeof first.id === 'string' && first.id.length > 0);
  assert.ok(Number.isInteger(first.created) && Math.abs(first.created - nowS()) < 300);

  const withChoices = chunks.filter((c) => c.choices.length > 0);
  const last = withChoices.at(-1);
  assert.equal(withChoices[0].choices[0].delta.role, 'assistant', 'first delta carries role');
  for (const c of withChoices) {
    assert.equal(c.choices.length, 1);
    const ch = c.choices[0];
    assert.equal(ch.index, 0);
    assert.ok('finish_reason' in ch, 'every choice carries finish_reason');
    if (c !== last) assert.equal(ch.finish_reason, null, 'finish_reason null until the last choice chunk');
  }
  assert.deepEqual(last.choices[0].delta, {}, 'the finish chunk has an empty delta');
  assert.ok(last.choices[0].finish_reason, 'the finish chunk has a finish_reason');
  if (exp.finishReason !== undefined) assert.equal(last.choices[0].finish_reason, exp.finishReason);

  const lastIndex = chunks.indexOf(last);
  const after = chunks.slice(lastIndex + 1);
  if (includeUsage) {
    assert.equal(after.length, 1, 'exactly one usage chunk after the finish chunk');
    assert.deepEqual(after[0].choices, [], 'usage chunk has choices: []');
    assertUsage(after[0].usage, exp.usage);
  } else {
    assert.equal(after.length, 0, 'no usage chunk unless asked');
  }
  for (const c of chunks.slice(0, lastIndex + 1)) assert.ok(!('usage' in c), 'normal chunks carry no usage key');

  const agg = aggregate(chunks);
  assertChoiceText(agg, exp);
  return agg;
}

// Raw SSE text of a successful stream -> aggregate (also checks framing and the header).
export function assertStreamText(r, exp, opts = {}) {
  assert.equal(r.status, 200, `status, body: ${r.text.slice(0, 500)}`);
  assert.match(header(r.headers, 'content-type') ?? '', /^text\/event-stream/);
  assertCors(r.headers);
  assertRequestId(r.headers);
  const parsed = parseStream(r.text);
  assert.deepEqual(parsed.errors, [], 'no error events');
  return assertStreamChunks(parsed.chunks, exp, opts);
}
