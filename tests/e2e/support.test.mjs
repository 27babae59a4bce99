// The suite's own machinery, checked without a proxy: schema validation (against hand-written
// valid and invalid samples), the expectation oracle (against the answer docs/upstream.md §1.5
// states for its worked example), the strict SSE and Prometheus parsers, and the rule that
// only host-specific cases may be skipped.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SPEC_FILE, normalizeNullable, schemas } from './schema.mjs';
import { expectedFromBytes, stopCases } from './oracle.mjs';
import { aggregate, assertError, assertStreamChunks, parseStream } from './assertions.mjs';
import { metricSum, parseMetrics } from './metrics.mjs';

const CREATED = Math.floor(Date.now() / 1000);
const completion = () => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: CREATED,
  model: 'glm-4.6',
  choices: [
    { index: 0, message: { role: 'assistant', content: 'Hi', refusal: null }, logprobs: null, finish_reason: 'stop' },
  ],
  usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
});
const chunk = (delta, finish = null, extra = {}) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: CREATED,
  model: 'glm-4.6',
  choices: [{ index: 0, delta, finish_reason: finish }],
  ...extra,
});

describe('schema validation', () => {
  // Without the document the suite still asserts the required-but-nullable fields directly.
  const off = (t) => {
    if (schemas().available) return false;
    t.diagnostic(`schema validation off: ${SPEC_FILE} not found (set OPENAI_OPENAPI)`);
    return true;
  };

  const cases = [
    ['CreateChatCompletionResponse', completion(), true],
    ['CreateChatCompletionResponse', (() => { const c = completion(); delete c.choices[0].logprobs; return c; })(), false],
    ['CreateChatCompletionResponse', (() => { const c = completion(); delete c.choices[0].message.refusal; return c; })(), false],
    ['CreateChatCompletionResponse', (() => { const c = completion(); c.choices[0].finish_reason = null; return c; })(), false],
    ['CreateChatCompletionResponse', (() => { const c = completion(); c.object = 'chat.completion.chunk'; return c; })(), false],
    ['CreateChatCompletionResponse', (() => { const c = completion(); c.choices[0].message.content = null; return c; })(), true],
    ['CreateChatCompletionStreamResponse', chunk({ role: 'assistant', content: 'x' }), true],
    ['CreateChatCompletionStreamResponse', chunk({}, 'stop'), true],
    ['CreateChatCompletionStreamResponse', { ...chunk({}), choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }, true],
    ['CreateChatCompletionStreamResponse', chunk({}, 'finished'), false],
    ['CreateChatCompletionStreamResponse', (() => { const c = chunk({ content: 'x' }); delete c.choices[0].finish_reason; return c; })(), false],
    ['CreateChatCompletionStreamResponse', { ...chunk({}), usage: null }, true],
    ['ListModelsResponse', { object: 'list', data: [{ id: 'glm-4.6', object: 'model', created: 0, owned_by: 'z-ai' }] }, true],
    ['ListModelsResponse', { object: 'list', data: [{ id: 'glm-4.6', object: 'model', owned_by: 'z-ai' }] }, false],
    ['Model', { id: 'glm-4.6', object: 'model', created: 0, owned_by: 'z-ai' }, true],
    ['ErrorResponse', { error: { message: 'm', type: 'invalid_request_error', param: null, code: 'invalid_json' } }, true],
    ['ErrorResponse', { error: { message: 'm', type: 'invalid_request_error', code: 'invalid_json' } }, false],
    ['ErrorResponse', { error: { message: 'm', type: 'x', param: null, code: 404 } }, false],
  ];
  for (const [name, value, valid] of cases) {
    test(`${name}: ${valid ? 'accepts' : 'rejects'} ${JSON.stringify(value).slice(0, 90)}`, (t) => {
      if (off(t)) return;
      const problem = schemas().validate(name, value);
      if (valid) assert.equal(problem, null);
      else assert.notEqual(problem, null);
    });
  }

  test('nullable rewriting', () => {
    assert.deepEqual(normalizeNullable({ type: 'string', enum: ['a'], nullable: true }), { type: ['string', 'null'], enum: ['a', null] });
    assert.deepEqual(normalizeNullable({ $ref: '#/x', nullable: true }), { anyOf: [{ $ref: '#/x' }, { type: 'null' }] });
    assert.deepEqual(normalizeNullable({ properties: { a: { type: 'integer', nullable: false } } }), { properties: { a: { type: 'integer' } } });
  });

  test('assertError requires all four keys', () => {
    const headers = { 'content-type': 'application/json', 'access-control-allow-origin': '*', 'x-request-id': 'r1' };
    const ok = { status: 404, headers, text: '{"error":{"message":"no","type":"invalid_request_error","param":null,"code":"not_found"}}' };
    assertError(ok, { status: 404, type: 'invalid_request_error', code: 'not_found', param: null });
    const missing = { ...ok, text: '{"error":{"message":"no","type":"invalid_request_error","code":"not_found"}}' };
    assert.throws(() => assertError(missing, { status: 404 }), /error\.param present/);
    assert.throws(() => assertError({ ...ok, headers: { ...headers, 'x-request-id': undefined } }), /X-Request-Id/);
  });
});

describe('oracle', () => {
  // The fake's own recordings (golden fixtures may replace them for the suite, not here).
  const own = (mode, name, kind = 'sse') =>
    expectedFromBytes(mode, kind, readFileSync(fileURLToPath(new URL(`../fake-upstream/streams/${mode}/${name}.${kind}`, import.meta.url))));

  test('guest thinking example gives the reasoning and answer docs/upstream.md §1.5 states', () => {
    const e = own('guest', 'thinking');
    assert.equal(
      e.reasoning,
      '1.  **Analyze the request:**\n    *   The user says "Hi".\n\n2.  **Plan:** reply briefly and offer help.',
    );
    assert.equal(e.content, 'Hi there! How can I help you today?');
    assert.deepEqual(e.usage, { prompt_tokens: 12, completion_tokens: 58, total_tokens: 70 });
    assert.deepEqual(e.contentSteps, [8, 13, 24, 35], 'content grows only after the reasoning block closed');
  });

  test('guest answer-only and the API recordings', () => {
    const a = own('guest', 'answer_only');
    assert.equal(a.content, 'Paris is the capital');
    assert.equal(a.reasoning, '');
    assert.deepEqual(a.contentSteps, [5, 20]);
    for (const name of ['answer_only', 'reasoning', 'tool_call', 'sensitive', 'length']) {
      const { contentSteps, ...streamed } = own('api', name, 'sse');
      const { contentSteps: none, ...whole } = own('api', name, 'json');
      assert.deepEqual(streamed, whole, `${name}: stream and JSON recordings agree`);
      assert.deepEqual(none, []);
      assert.ok(name === 'tool_call' || contentSteps.length > 0);
    }
    assert.equal(own('api', 'sensitive').finishReason, 'content_filter');
    assert.equal(own('api', 'length').finishReason, 'length');
    assert.equal(own('api', 'tool_call').toolCalls[0].name, 'get_weather');
  });

  test('stop cases are cut at the earliest match', () => {
    assert.deepEqual(stopCases(own('guest', 'answer_only')), [
      [' is', 'Paris'],
      ['s i', 'Pari'],
      [['tal', ' i'], 'Paris'],
      ['no-such-stop-\u2603', 'Paris is the capital'],
    ]);
  });
});

describe('stream parser', () => {
  const frame = (o) => `data: ${JSON.stringify(o)}\n\n`;
  const good = [chunk({ role: 'assistant', content: 'Hi' }), chunk({}, 'stop')];

  test('accepts the exact framing and aggregates', () => {
    const text = good.map(frame).join('') + ': keep-alive\n\n' + 'data: [DONE]\n\n';
    const p = parseStream(text);
    assert.equal(p.chunks.length, 2);
    assert.equal(p.comments.length, 1);
    assert.equal(aggregate(p.chunks).content, 'Hi');
    assertStreamChunks(p.chunks, { content: 'Hi', finishReason: 'stop' });
  });

  test('rejects CRLF, missing [DONE], multi-line events, usage on normal chunks', () => {
    assert.throws(() => parseStream(good.map(frame).join('').replace(/\n/g, '\r\n') + 'data: [DONE]\r\n\r\n'), /no CR/);
    assert.throws(() => parseStream(good.map(frame).join('')), /\[DONE\]/);
    assert.throws(() => parseStream('data: {}\ndata: {}\n\ndata: [DONE]\n\n'), /one line per event/);
    const withUsage = [chunk({ role: 'assistant', content: 'Hi' }, null, { usage: null }), chunk({}, 'stop')];
    assert.throws(() => assertStreamChunks(withUsage, {}), /no usage key/);
    const noRole = [chunk({ content: 'Hi' }), chunk({}, 'stop')];
    assert.throws(() => assertStreamChunks(noRole, {}), /role/);
    const early = [chunk({ role: 'assistant', content: 'Hi' }, 'stop'), chunk({}, 'stop')];
    assert.throws(() => assertStreamChunks(early, {}), /null until the last/);
    const usageChunk = { ...chunk({}), choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
    assertStreamChunks([...good, usageChunk], {}, { includeUsage: true });
    assert.throws(() => assertStreamChunks([...good, usageChunk], {}), /no usage chunk unless asked/);
    assert.throws(() => assertStreamChunks(good, {}, { includeUsage: true }), /exactly one usage chunk/);
  });
});

describe('metrics parser', () => {
  test('parses samples and sums by labels; rejects malformed lines', () => {
    const text = [
      '# HELP zproxy_requests_total Requests served.',
      '# TYPE zproxy_requests_total counter',
      'zproxy_requests_total{route="chat_completions",status="200"} 3',
      'zproxy_requests_total{route="models",status="200"} 1',
      'zproxy_request_duration_seconds_bucket{route="models",le="+Inf"} 1',
      'zproxy_inflight_requests 0',
      '',
    ].join('\n');
    const m = parseMetrics(text);
    assert.equal(m.types.get('zproxy_requests_total'), 'counter');
    assert.equal(metricSum(m, 'zproxy_requests_total'), 4);
    assert.equal(metricSum(m, 'zproxy_requests_total', { route: 'models', status: 200 }), 1);
    assert.equal(metricSum(m, 'zproxy_requests_total', { route: 'other' }), 0);
    assert.throws(() => parseMetrics('zproxy_x{route=models} 1\n'), /malformed/);
    assert.throws(() => parseMetrics('zproxy x 1\n'), /malformed/);
  });
});

describe('suite rules', () => {
  test('no case is skipped except through hostOnly() (hosts.mjs)', () => {
    const dir = path.dirname(fileURLToPath(import.meta.url));
    const offenders = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.test.mjs') && n !== 'support.test.mjs')) {
      readFileSync(path.join(dir, f), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/\.(skip|todo)\s*\(|\b(skip|todo)\s*:/.test(line)) offenders.push(`${f}:${i + 1}: ${line.trim()}`);
        });
    }
    assert.deepEqual(offenders, []);
  });

  // docs/contract.md §11 lets the hosts differ only in process signals and graceful shutdown, the
  // command line, and exit on a bad config (lifecycle.test.mjs), and in what a server must do
  // against its own clients: request deadlines, idle connections, the connection limit and
  // malformed framing (client_limits.test.mjs). The Worker's HTTP front is Cloudflare's, not
  // ours: those settings are native-only. Everything else runs against both hosts.
  test('host-specific cases live in lifecycle.test.mjs and client_limits.test.mjs only', () => {
    const dir = path.dirname(fileURLToPath(import.meta.url));
    const users = readdirSync(dir)
      .filter((n) => n.endsWith('.test.mjs') && n !== 'support.test.mjs')
      .filter((f) => /\bhostOnly\s*\(/.test(readFileSync(path.join(dir, f), 'utf8')))
      .sort();
    assert.deepEqual(users, ['client_limits.test.mjs', 'lifecycle.test.mjs']);
  });
});
