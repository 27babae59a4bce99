// API mode, INTERFACE.md section 2 (MODEL_CAPS) and section 10: each request adapted to the
// model that serves it (max_tokens lowered to its max_output, thinking forced on for a model that
// always thinks and its reasoning then hidden, efforts rounded to the model's own), fallbacks on
// overload, images routed to VISION_MODEL or refused locally, web search off. Every dialect (chat,
// Messages, Responses) with raw requests; what went upstream read from the fake's log. The fake
// refuses what the real models refuse (fake-upstream/server.mjs, "Model limits"), so a request
// forwarded unadapted fails here as it would against Z.AI. Both hosts (E2E_HOST).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicRequest, assertAnthropicError, assertMessage, assertMessagesStream } from './anthropic.mjs';
import { assertCompletion, assertError, assertStreamText } from './assertions.mjs';
import { HOST_KIND, runNative, startHost } from './hosts.mjs';
import { metricSum, parseMetrics } from './metrics.mjs';
import { expected } from './oracle.mjs';
import { API_KEYS, CLIENT_KEY, chatBody, chatEntries, request, startStack } from './stack.mjs';
import { freePort, waitFor } from './util.mjs';
import { presets } from '../fake-upstream/server.mjs';
import { promptFor } from '../fake-upstream/streams.mjs';

const T = { timeout: 60_000 };

// The built-in table the proxy must carry (INTERFACE.md section 2, MODEL_CAPS).
const BUILT_IN_MAX = {
  'glm-4.5': 98304,
  'glm-4.5-air': 98304,
  'glm-4.5v': 16384,
  'glm-4.6': 131072,
  'glm-4.6v': 32768,
  'glm-4.7': 131072,
  'glm-5': 131072,
  'glm-5.3': 131072,
  'glm-5v-turbo': 32768,
};
const DEFAULT_VISION = ['glm-4.5v', 'glm-4.6v', 'glm-5v-turbo'];
// Stack A's MODEL_CAPS: one entry merged over the built-in table. "glm-4.5" keeps its built-in
// value, since the longer prefix "glm-4.5-air" only covers glm-4.5-air.
const CAPS_OVERRIDE = { 'glm-4.5-air': { max_output: 2048, thinking: 'optional', efforts: ['low', 'medium'] } };
const FALLBACKS = { 'glm-4.7': ['glm-4.6', 'glm-4.5'] };

const PNG = 'iVBORw0KGgo=';
const DATA_URL = `data:image/png;base64,${PNG}`;
const chatImage = { type: 'image_url', image_url: { url: DATA_URL } };
const anthropicImage = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } };
const responsesImage = { type: 'input_image', image_url: DATA_URL };

let ridSeq = 0;
const freshRid = (what) => `caps-${what}-${process.pid}-${++ridSeq}`;

// The image_url parts of an upstream body's messages.
const upstreamImages = (body) =>
  (body?.messages ?? []).flatMap((m) => (Array.isArray(m.content) ? m.content : [])).filter((p) => p?.type === 'image_url');

// A Responses stream, framing checked loosely (responses.test.mjs checks it strictly): status,
// content type, `event:`/`data:` pairs with data.type = event, one terminal event, last.
// -> {types, response (the terminal event's)}
function responsesStream(r) {
  assert.equal(r.status, 200, r.text.slice(0, 1000));
  assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events = [];
  for (const block of r.text.split('\n\n')) {
    if (block === '' || block.startsWith(':')) continue;
    const m = /^event: ([a-z_.]+)\ndata: ([^\n]+)$/.exec(block);
    assert.ok(m, `event framing: ${JSON.stringify(block.slice(0, 300))}`);
    const data = JSON.parse(m[2]);
    assert.equal(data.type, m[1]);
    events.push({ type: m[1], data });
  }
  const types = events.map((e) => e.type);
  const terminals = types.filter((t) => ['response.completed', 'response.incomplete', 'response.failed'].includes(t));
  assert.deepEqual(terminals, ['response.completed'], `one response.completed: ${types.join(' ')}`);
  assert.equal(types.at(-1), 'response.completed');
  return { types, response: events.at(-1).data.response };
}

// r, after checking it is a 200 (the body shown otherwise).
function ok(r) {
  assert.equal(r.status, 200, `status ${r.status}, body: ${r.text.slice(0, 1000)}`);
  return r;
}

// Types of a Responses object's output items, and its message text.
const outputTypes = (obj) => obj.output.map((i) => i.type);
const outputText = (obj) => obj.output.filter((i) => i.type === 'message').flatMap((i) => i.content.map((p) => p.text)).join('');

// The `request` log line of request id `rid` (native: batched every 50 ms).
function requestLog(s, rid) {
  return waitFor(`the request log line of ${rid}`, () => s.host.logs.find((l) => l.event === 'request' && l.request_id === rid), {
    timeoutMs: 5000,
  });
}

async function fallbackCount(s, from, to) {
  const r = await s.request('/metrics');
  assert.equal(r.status, 200);
  return metricSum(parseMetrics(r.text), 'zproxy_model_fallbacks_total', { from, to });
}

// ---------------------------------------------------------------------------------------------

describe('model capabilities, fallbacks, images refused (API mode, no VISION_MODEL)', () => {
  let s;
  before(async () => {
    s = await startStack({
      mode: 'api',
      settings: { MAX_ATTEMPTS: 3, MODEL_CAPS: JSON.stringify(CAPS_OVERRIDE), MODEL_FALLBACKS: JSON.stringify(FALLBACKS) },
    });
  });
  after(() => s?.stop());

  const ups = (tag) => chatEntries(s, tag);
  const one = (tag) => {
    const list = ups(tag);
    assert.equal(list.length, 1, `one upstream request for ${tag}: ${JSON.stringify(list.map((e) => [e.body?.model, e.status, e.refused]))}`);
    return list[0].body;
  };
  const chat = (tag, extra = {}, opts) => s.chat(chatBody(tag, { model: 'glm-4.6', ...extra }), opts);
  const messages = (body, opts = {}) => anthropicRequest(s.host, '/v1/messages', { body, ...opts });
  const msg = (content, extra = {}) => ({ model: 'claude-sonnet-4-5-20250929', max_tokens: 1024, messages: [{ role: 'user', content }], ...extra });
  const responses = (body, opts = {}) => s.request('/v1/responses', { method: 'POST', body, ...opts });

  // --- MODEL_CAPS: max_tokens ----------------------------------------------------------------

  test('chat: max_tokens above a model\'s max_output is lowered to it, for every model of the table; MODEL_CAPS merged by longest prefix', T, async () => {
    const want = { ...BUILT_IN_MAX, 'glm-4.5-air': 2048 };
    for (const [model, max] of Object.entries(want)) {
      const tag = `caps-max-${model}`;
      const r = await chat(tag, { model, max_tokens: 200_000 });
      assertCompletion(ok(r).json, { model });
      assert.equal(one(tag).max_tokens, max, `${model}: upstream max_tokens`);
    }
    // below the limit: untouched; max_completion_tokens alike
    const below = await chat('caps-below', { model: 'glm-4.5v', max_tokens: 1000 });
    assert.equal(below.status, 200, below.text);
    assert.equal(one('caps-below').max_tokens, 1000);
    const air = await chat('caps-air-5000', { model: 'glm-4.5-air', max_tokens: 5000 });
    assert.equal(air.status, 200, air.text);
    assert.equal(one('caps-air-5000').max_tokens, 2048, 'MODEL_CAPS entry for glm-4.5-air');
    const plain45 = await chat('caps-45-5000', { model: 'glm-4.5', max_tokens: 5000 });
    assert.equal(plain45.status, 200, plain45.text);
    assert.equal(one('caps-45-5000').max_tokens, 5000, 'glm-4.5 is not covered by the longer prefix glm-4.5-air');
    const mct = await chat('caps-mct', { model: 'glm-4.5v', max_completion_tokens: 50_000 });
    assert.equal(mct.status, 200, mct.text);
    assert.equal(one('caps-mct').max_tokens, 16384, 'max_completion_tokens lowered too');
    assert.equal(one('caps-mct').max_completion_tokens, undefined);
    // streaming
    const st = await chat('caps-max-stream', { model: 'glm-4.5v', max_tokens: 50_000, stream: true });
    assertStreamText(st, { model: 'glm-4.5v', ...(await expected('api', 'answer_only', 'sse')) });
    assert.equal(one('caps-max-stream').max_tokens, 16384);
  });

  test('Messages: Claude Code\'s max_tokens 128000 becomes the model\'s max_output (stream and not)', T, async () => {
    const ns = await messages(msg('caps-msg-max-ns', { model: 'glm-4.5v', max_tokens: 128_000 }));
    assertMessage(ns, { model: 'glm-4.5v' });
    assert.equal(one('caps-msg-max-ns').max_tokens, 16384);
    const st = await messages(msg('caps-msg-max-st', { model: 'glm-4.5v', max_tokens: 128_000, stream: true }));
    assertMessagesStream(st, { model: 'glm-4.5v', stop_reason: 'end_turn' });
    assert.equal(one('caps-msg-max-st').max_tokens, 16384);
    // claude-haiku → glm-4.5-air, MODEL_CAPS 2048
    const haiku = await messages(msg('caps-msg-haiku', { model: 'claude-haiku-4-5-20251001', max_tokens: 32_000 }));
    assertMessage(haiku, { model: 'claude-haiku-4-5-20251001' });
    assert.equal(one('caps-msg-haiku').model, 'glm-4.5-air');
    assert.equal(one('caps-msg-haiku').max_tokens, 2048);
    // claude-opus → glm-5: 128000 is within 131072, unchanged
    const opus = await messages(msg('caps-msg-opus', { model: 'claude-opus-4-1', max_tokens: 128_000 }));
    assertMessage(opus, { model: 'claude-opus-4-1' });
    assert.equal(one('caps-msg-opus').model, 'glm-5');
    assert.equal(one('caps-msg-opus').max_tokens, 128_000);
  });

  test('Responses: max_output_tokens above max_output is lowered; the response echoes the client\'s value', T, async () => {
    const ns = await responses({ model: 'glm-4.5v', input: 'caps-resp-max-ns', max_output_tokens: 60_000 });
    assert.equal(ns.status, 200, ns.text);
    assert.equal(ns.json.status, 'completed');
    assert.equal(ns.json.model, 'glm-4.5v');
    assert.equal(ns.json.max_output_tokens, 60_000);
    assert.equal(one('caps-resp-max-ns').max_tokens, 16384);
    const st = await responses({ model: 'glm-5v-turbo', input: 'caps-resp-max-st', max_output_tokens: 60_000, stream: true });
    const { response } = responsesStream(st);
    assert.equal(response.model, 'glm-5v-turbo');
    assert.equal(one('caps-resp-max-st').max_tokens, 32768);
  });

  // --- MODEL_CAPS: thinking "always" ---------------------------------------------------------

  test('chat: glm-5.3 thinks even when the client turns thinking off, and that client sees no reasoning', T, async () => {
    const expJson = await expected('api', 'reasoning', 'json');
    const expSse = await expected('api', 'reasoning', 'sse');
    const offs = [
      ['effort-none', { reasoning_effort: 'none' }],
      ['effort-minimal', { reasoning_effort: 'minimal' }],
      ['thinking-disabled', { thinking: { type: 'disabled' } }],
    ];
    for (const [name, extra] of offs) {
      const tag = `caps-always-${name}`;
      const ns = await chat(promptFor('reasoning', `${tag}-ns`), { model: 'glm-5.3', ...extra });
      assertCompletion(ok(ns).json, { model: 'glm-5.3', content: expJson.content, reasoning: '' });
      const up = one(`${tag}-ns`);
      assert.deepEqual(up.thinking, { type: 'enabled' }, `${name}: thinking forced on`);
      assert.ok(up.reasoning_effort === undefined || ['low', 'high', 'max'].includes(up.reasoning_effort), `${name}: reasoning_effort ${up.reasoning_effort}`);
      const st = await chat(promptFor('reasoning', `${tag}-st`), { model: 'glm-5.3', ...extra, stream: true });
      assertStreamText(st, { model: 'glm-5.3', content: expSse.content, reasoning: '' });
      assert.deepEqual(one(`${tag}-st`).thinking, { type: 'enabled' });
    }
    // a client that did not turn thinking off sees the reasoning
    const on = await chat(promptFor('reasoning', 'caps-always-default'), { model: 'glm-5.3', stream: true });
    assertStreamText(on, { model: 'glm-5.3', content: expSse.content, reasoning: expSse.reasoning });
    assert.notEqual(one('caps-always-default').thinking?.type, 'disabled');
  });

  test('Messages: glm-5.3 without thinking gets thinking on upstream and no thinking block; with thinking the block shows', T, async () => {
    const exp = await expected('api', 'reasoning', 'sse');
    const expJson = await expected('api', 'reasoning', 'json');
    const st = await messages(msg(promptFor('reasoning', 'caps-msg-always-st'), { model: 'glm-5.3', stream: true }));
    assertMessagesStream(st, { model: 'glm-5.3', kinds: ['text'], text: exp.content });
    assert.deepEqual(one('caps-msg-always-st').thinking, { type: 'enabled' });
    const off = await messages(msg(promptFor('reasoning', 'caps-msg-always-off'), { model: 'glm-5.3', thinking: { type: 'disabled' } }));
    const m = assertMessage(off, { model: 'glm-5.3' });
    assert.deepEqual(m.content, [{ type: 'text', text: expJson.content }], 'no thinking block');
    assert.deepEqual(one('caps-msg-always-off').thinking, { type: 'enabled' });
    const on = await messages(msg(promptFor('reasoning', 'caps-msg-always-on'), { model: 'glm-5.3', stream: true, thinking: { type: 'enabled', budget_tokens: 2048 } }));
    const { blocks } = assertMessagesStream(on, { kinds: ['thinking', 'text'], text: exp.content });
    assert.equal(blocks[0].thinking, exp.reasoning);
    assert.equal(one('caps-msg-always-on').thinking?.type, 'enabled');
  });

  test('Responses: reasoning.effort none to glm-5.3 thinks upstream with no reasoning item; without effort the item shows', T, async () => {
    const exp = await expected('api', 'reasoning', 'sse');
    const st = await responses({ model: 'glm-5.3', input: promptFor('reasoning', 'caps-resp-always-st'), reasoning: { effort: 'none' }, stream: true });
    const { types, response } = responsesStream(st);
    assert.deepEqual(outputTypes(response), ['message']);
    assert.ok(!types.some((t) => t.startsWith('response.reasoning')), `no reasoning events: ${types.join(' ')}`);
    assert.equal(outputText(response), exp.content);
    const up = one('caps-resp-always-st');
    assert.deepEqual(up.thinking, { type: 'enabled' });
    assert.ok(up.reasoning_effort === undefined || ['low', 'high', 'max'].includes(up.reasoning_effort), `reasoning_effort ${up.reasoning_effort}`);
    const ns = await responses({ model: 'glm-5.3', input: promptFor('reasoning', 'caps-resp-always-ns'), reasoning: { effort: 'minimal' } });
    assert.equal(ns.status, 200, ns.text);
    assert.deepEqual(outputTypes(ns.json), ['message']);
    assert.equal(outputText(ns.json), exp.content);
    assert.deepEqual(one('caps-resp-always-ns').thinking, { type: 'enabled' });
    const on = await responses({ model: 'glm-5.3', input: promptFor('reasoning', 'caps-resp-always-on'), stream: true });
    assert.deepEqual(outputTypes(responsesStream(on).response), ['reasoning', 'message']);
  });

  // --- MODEL_CAPS: efforts -------------------------------------------------------------------

  test('chat: reasoning_effort becomes the nearest effort the model lists, ties up; a model without efforts gets none', T, async () => {
    const cases = [
      ['glm-5.3', 'low', 'low'],
      ['glm-5.3', 'medium', 'high'],
      ['glm-5.3', 'high', 'high'],
      ['glm-5.3', 'xhigh', 'max'],
      ['glm-4.5-air', 'high', 'medium'], // MODEL_CAPS efforts [low, medium]
      ['glm-4.5-air', 'low', 'low'],
      ['glm-4.6', 'high', undefined],
      ['glm-4.7', 'medium', undefined],
    ];
    for (const [model, sent, upstream] of cases) {
      const tag = `caps-effort-${model}-${sent}`;
      const r = await chat(tag, { model, reasoning_effort: sent });
      assert.equal(r.status, 200, `${model} ${sent}: ${r.text}`);
      const up = one(tag);
      assert.equal(up.reasoning_effort, upstream, `${model}: ${sent} → ${upstream}`);
      assert.notEqual(up.thinking?.type, 'disabled', `${model} ${sent}: thinking stays on`);
    }
    const st = await chat('caps-effort-stream', { model: 'glm-5.3', reasoning_effort: 'medium', stream: true });
    assert.equal(st.status, 200, st.text);
    assert.equal(one('caps-effort-stream').reasoning_effort, 'high');
  });

  test('Messages: output_config.effort rounded for glm-5.3; kept as is for a model without efforts', T, async () => {
    for (const [sent, upstream] of [['low', 'low'], ['medium', 'high'], ['high', 'high'], ['max', 'max']]) {
      const tag = `caps-msg-effort-${sent}`;
      const r = await messages(msg(tag, { model: 'glm-5.3', stream: true, thinking: { type: 'adaptive' }, output_config: { effort: sent } }));
      assertMessagesStream(r, { model: 'glm-5.3' });
      assert.equal(one(tag).reasoning_effort, upstream, `${sent} → ${upstream}`);
    }
    const kept = await messages(msg('caps-msg-effort-kept', { thinking: { type: 'adaptive' }, output_config: { effort: 'medium' } }));
    assertMessage(kept);
    assert.equal(one('caps-msg-effort-kept').model, 'glm-4.7');
    assert.equal(one('caps-msg-effort-kept').reasoning_effort, 'medium');
  });

  test('Responses: reasoning.effort rounded for glm-5.3; dropped for a model without efforts', T, async () => {
    for (const [sent, upstream] of [['low', 'low'], ['medium', 'high'], ['xhigh', 'max']]) {
      const tag = `caps-resp-effort-${sent}`;
      const r = await responses({ model: 'glm-5.3', input: tag, reasoning: { effort: sent }, stream: true });
      const { response } = responsesStream(r);
      assert.equal(response.reasoning?.effort, sent, 'the client\'s effort echoed');
      assert.equal(one(tag).reasoning_effort, upstream, `${sent} → ${upstream}`);
    }
    const none = await responses({ model: 'glm-4.6', input: 'caps-resp-effort-46', reasoning: { effort: 'high' } });
    assert.equal(none.status, 200, none.text);
    assert.equal(one('caps-resp-effort-46').reasoning_effort, undefined);
  });

  // --- VISION_MODELS, no VISION_MODEL: refused locally ---------------------------------------

  const saysVisionModels = (message) => {
    for (const m of DEFAULT_VISION) assert.ok(message.includes(m), `the message names ${m}: ${message}`);
  };

  test('chat: an image for a model without vision is 400 unsupported_value naming the first image part; nothing goes upstream', T, async () => {
    for (const stream of [false, true]) {
      const tag = `caps-img-chat-${stream}`;
      const r = await s.chat({ model: 'glm-4.6', stream, messages: [{ role: 'user', content: [{ type: 'text', text: tag }, chatImage] }] });
      const e = assertError(r, { status: 400, type: 'invalid_request_error', code: 'unsupported_value', param: 'messages[0].content[1]' });
      saysVisionModels(e.message);
      assert.equal(ups(tag).length, 0);
    }
    // the first image part, in a later message, behind a system message
    const tag = 'caps-img-chat-later';
    const r = await s.chat({
      model: 'glm-4.7',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: tag }, { type: 'text', text: 'and' }, chatImage, chatImage] },
      ],
    });
    assertError(r, { status: 400, code: 'unsupported_value', param: 'messages[1].content[2]' });
    assert.equal(ups(tag).length, 0);
    // a vision model gets the image as sent
    const vis = await s.chat({ model: 'glm-4.5v', max_tokens: 50_000, messages: [{ role: 'user', content: [{ type: 'text', text: 'caps-img-chat-45v' }, chatImage] }] });
    assertCompletion(ok(vis).json, { model: 'glm-4.5v' });
    const up = one('caps-img-chat-45v');
    assert.equal(up.model, 'glm-4.5v');
    assert.equal(up.max_tokens, 16384);
    assert.deepEqual(upstreamImages(up), [chatImage]);
  });

  test('Messages: an image for a model without vision is 400 whose message starts with the block\'s path', T, async () => {
    for (const stream of [false, true]) {
      const tag = `caps-img-msg-${stream}`;
      const r = await messages(msg([{ type: 'text', text: tag }, anthropicImage], { stream }));
      const e = assertAnthropicError(r, { status: 400, type: 'invalid_request_error', message: 'messages.0.content.1' });
      saysVisionModels(e.message);
      assert.equal(ups(tag).length, 0);
    }
    const vis = await messages(msg([{ type: 'text', text: 'caps-img-msg-46v' }, anthropicImage], { model: 'glm-4.6v', max_tokens: 128_000 }));
    assertMessage(vis, { model: 'glm-4.6v' });
    const up = one('caps-img-msg-46v');
    assert.equal(up.max_tokens, 32768);
    assert.deepEqual(upstreamImages(up).map((p) => p.image_url.url), [DATA_URL]);
  });

  test('Responses: an input_image for a model without vision is 400 unsupported_value naming input[i].content[j]', T, async () => {
    for (const stream of [false, true]) {
      const tag = `caps-img-resp-${stream}`;
      const r = await responses({
        model: 'glm-4.6',
        instructions: 'Describe images.',
        stream,
        input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: tag }, responsesImage] }],
      });
      const e = assertError(r, { status: 400, type: 'invalid_request_error', code: 'unsupported_value', param: 'input[0].content[1]' });
      saysVisionModels(e.message);
      assert.equal(ups(tag).length, 0);
    }
    const vis = await responses({ model: 'glm-5v-turbo', input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'caps-img-resp-5v' }, responsesImage] }] });
    assert.equal(vis.status, 200, vis.text);
    assert.deepEqual(upstreamImages(one('caps-img-resp-5v')).map((p) => p.image_url.url), [DATA_URL]);
  });

  // --- WEB_SEARCH off --------------------------------------------------------------------------

  test('WEB_SEARCH off: chat web_search_options is 400 unsupported_value; the Responses web_search tool is declined', T, async () => {
    for (const stream of [false, true]) {
      const tag = `caps-websearch-${stream}`;
      const r = await chat(tag, { web_search_options: {}, stream });
      assertError(r, { status: 400, type: 'invalid_request_error', code: 'unsupported_value', param: 'web_search_options' });
      assert.equal(ups(tag).length, 0);
    }
    const r = await responses({ model: 'glm-4.6', input: 'caps-websearch-resp', tools: [{ type: 'web_search' }] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.tools, [], 'declined: not echoed');
    assert.ok(!JSON.stringify(one('caps-websearch-resp')).includes('web_search'), 'nothing of it upstream');
  });

  // --- MODEL_FALLBACKS -------------------------------------------------------------------------

  test('chat: 1305 on glm-4.7 → the next attempt asks glm-4.6; the client\'s model kept; log and metric name the switch', T, async () => {
    const tag = 'caps-fb-chat-ns';
    s.fake.script({ text: tag, model: 'glm-4.7', ...presets.apiError(1305, 429) });
    const before = await fallbackCount(s, 'glm-4.7', 'glm-4.6');
    const rid = freshRid('fb-chat');
    const r = await chat(tag, { model: 'glm-4.7' }, { headers: { 'x-request-id': rid } });
    assertCompletion(ok(r).json, { model: 'glm-4.7', ...(await expected('api', 'answer_only', 'json')) });
    assert.deepEqual(ups(tag).map((e) => [e.body.model, e.status]), [['glm-4.7', 429], ['glm-4.6', 200]]);
    const line = await requestLog(s, rid);
    assert.equal(line.upstream_model, 'glm-4.6', JSON.stringify(line));
    assert.equal(line.model, 'glm-4.7');
    assert.equal(await fallbackCount(s, 'glm-4.7', 'glm-4.6'), before + 1);
    s.fake.clear();
  });

  test('chat stream: HTTP 503 from glm-4.7 → glm-4.6 serves the stream', T, async () => {
    const tag = 'caps-fb-chat-st';
    s.fake.script({ text: tag, model: 'glm-4.7', status: 503 });
    const r = await chat(tag, { model: 'glm-4.7', stream: true });
    assertStreamText(r, { model: 'glm-4.7', ...(await expected('api', 'answer_only', 'sse')) });
    assert.deepEqual(ups(tag).map((e) => [e.body.model, e.status]), [['glm-4.7', 503], ['glm-4.6', 200]]);
    s.fake.clear();
  });

  test('Messages: 1312 on glm-4.7 and glm-4.6 → glm-4.5 answers (its max_output applied); two switches counted', T, async () => {
    const tag = 'caps-fb-msg';
    s.fake.script({ text: tag, model: ['glm-4.7', 'glm-4.6'], ...presets.apiError(1312, 429) });
    const before = [await fallbackCount(s, 'glm-4.7', 'glm-4.6'), await fallbackCount(s, 'glm-4.6', 'glm-4.5')];
    const rid = freshRid('fb-msg');
    const r = await messages(msg(tag, { stream: true, max_tokens: 120_000 }), { headers: { 'x-request-id': rid } });
    assertMessagesStream(r, { model: 'claude-sonnet-4-5-20250929', stop_reason: 'end_turn' });
    assert.deepEqual(ups(tag).map((e) => [e.body.model, e.status, e.body.max_tokens]), [
      ['glm-4.7', 429, 120_000],
      ['glm-4.6', 429, 120_000],
      ['glm-4.5', 200, 98304],
    ]);
    assert.equal((await requestLog(s, rid)).upstream_model, 'glm-4.5');
    assert.deepEqual([await fallbackCount(s, 'glm-4.7', 'glm-4.6'), await fallbackCount(s, 'glm-4.6', 'glm-4.5')], [before[0] + 1, before[1] + 1]);
    s.fake.clear();
  });

  test('Responses: 1305 on glm-4.7 → glm-4.6; the response keeps the client\'s model (stream and not)', T, async () => {
    for (const stream of [true, false]) {
      const tag = `caps-fb-resp-${stream}`;
      s.fake.script({ text: tag, model: 'glm-4.7', ...presets.apiError(1305, 429) });
      const rid = freshRid('fb-resp');
      const r = await responses({ model: 'glm-4.7', input: tag, stream }, { headers: { 'x-request-id': rid } });
      const obj = stream ? responsesStream(r).response : ok(r).json;
      assert.equal(obj.model, 'glm-4.7');
      assert.equal(obj.status, 'completed');
      assert.deepEqual(ups(tag).map((e) => [e.body.model, e.status]), [['glm-4.7', 429], ['glm-4.6', 200]]);
      assert.equal((await requestLog(s, rid)).upstream_model, 'glm-4.6');
      s.fake.clear();
    }
  });

  test('a model without fallbacks is retried as itself on overload', T, async () => {
    const tag = 'caps-fb-none';
    s.fake.script({ text: tag, times: 1, ...presets.apiError(1305, 429) });
    const r = await chat(tag, { model: 'glm-4.6' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(ups(tag).map((e) => [e.body.model, e.status]), [['glm-4.6', 429], ['glm-4.6', 200]]);
    s.fake.clear();
  });

  // Last: every attempt overloaded may leave the keys cooling down.
  test('every attempt overloaded: chat and Responses 503 upstream_overloaded with Retry-After, Messages 529; each model tried once', T, async () => {
    const all = (tag) => s.fake.script({ text: tag, ...presets.apiError(1305, 429) });
    const tried = (tag) => ups(tag).map((e) => e.body.model);
    const order = ['glm-4.7', 'glm-4.6', 'glm-4.5'];

    all('caps-over-chat');
    const c = await chat('caps-over-chat', { model: 'glm-4.7' });
    assertError(c, { status: 503, type: 'upstream_error', code: 'upstream_overloaded' });
    assert.match(c.headers.get('retry-after') ?? '', /^\d+$/, 'Retry-After');
    assert.deepEqual(tried('caps-over-chat'), order);

    all('caps-over-chat-st');
    const cs = await chat('caps-over-chat-st', { model: 'glm-4.7', stream: true });
    assertError(cs, { status: 503, code: 'upstream_overloaded' });
    assert.deepEqual(tried('caps-over-chat-st'), order);

    s.fake.script({ text: 'caps-over-msg', status: 503 });
    const m = await messages(msg('caps-over-msg', { stream: true }));
    assertAnthropicError(m, { status: 529, type: 'overloaded_error' });
    assert.deepEqual(tried('caps-over-msg'), order);

    s.fake.script({ text: 'caps-over-resp', ...presets.apiError(1312, 429) });
    const rs = await responses({ model: 'glm-4.7', input: 'caps-over-resp', stream: true });
    assertError(rs, { status: 503, code: 'upstream_overloaded' });
    assert.match(rs.headers.get('retry-after') ?? '', /^\d+$/);
    assert.ok(!rs.text.includes('event:'), 'no event before the error');
    assert.deepEqual(tried('caps-over-resp'), order);
    s.fake.clear();
  });
});

// ---------------------------------------------------------------------------------------------

describe('images routed to VISION_MODEL (API mode)', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'api', settings: { MAX_ATTEMPTS: 3, VISION_MODEL: 'glm-4.6v', VISION_MODELS: 'glm-4.5v,glm-4.6v' } });
  });
  after(() => s?.stop());

  const ups = (tag) => chatEntries(s, tag);
  const one = (tag) => {
    const list = ups(tag);
    assert.equal(list.length, 1, `one upstream request for ${tag}: ${JSON.stringify(list.map((e) => [e.body?.model, e.status, e.refused]))}`);
    return list[0].body;
  };

  test('chat: an image for glm-4.6 goes to glm-4.6v with its max_output; the answer keeps glm-4.6; the log names glm-4.6v', T, async () => {
    const rid = freshRid('vision-chat');
    const r = await s.chat(
      { model: 'glm-4.6', max_tokens: 50_000, messages: [{ role: 'user', content: [{ type: 'text', text: 'caps-vis-chat' }, chatImage] }] },
      { headers: { 'x-request-id': rid } },
    );
    assertCompletion(ok(r).json, { model: 'glm-4.6', ...(await expected('api', 'answer_only', 'json')) });
    const up = one('caps-vis-chat');
    assert.equal(up.model, 'glm-4.6v');
    assert.equal(up.max_tokens, 32768);
    assert.deepEqual(upstreamImages(up), [chatImage]);
    assert.equal((await requestLog(s, rid)).upstream_model, 'glm-4.6v');

    const st = await s.chat({ model: 'glm-4.7', stream: true, messages: [{ role: 'user', content: [{ type: 'text', text: 'caps-vis-chat-st' }, chatImage] }] });
    assertStreamText(st, { model: 'glm-4.7', ...(await expected('api', 'answer_only', 'sse')) });
    assert.equal(one('caps-vis-chat-st').model, 'glm-4.6v');
  });

  test('VISION_MODELS is honoured: glm-5v-turbo outside it is routed, glm-4.5v inside it is kept; text-only requests are not routed', T, async () => {
    const turbo = await s.chat({ model: 'glm-5v-turbo', messages: [{ role: 'user', content: [{ type: 'text', text: 'caps-vis-turbo' }, chatImage] }] });
    assert.equal(turbo.status, 200, turbo.text);
    assert.equal(turbo.json.model, 'glm-5v-turbo');
    assert.equal(one('caps-vis-turbo').model, 'glm-4.6v');
    const kept = await s.chat({ model: 'glm-4.5v', messages: [{ role: 'user', content: [{ type: 'text', text: 'caps-vis-45v' }, chatImage] }] });
    assert.equal(kept.status, 200, kept.text);
    assert.equal(one('caps-vis-45v').model, 'glm-4.5v');
    const text = await s.chat(chatBody('caps-vis-text', { model: 'glm-4.6' }));
    assert.equal(text.status, 200, text.text);
    assert.equal(one('caps-vis-text').model, 'glm-4.6');
  });

  test('Messages: Claude Code\'s image turn (sonnet → glm-4.7) goes to glm-4.6v, max_tokens 128000 → 32768', T, async () => {
    const body = {
      model: 'claude-sonnet-4-5-20250929',
      max_tokens: 128_000,
      stream: true,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'caps-vis-msg' }, anthropicImage] }],
    };
    const r = await anthropicRequest(s.host, '/v1/messages', { body });
    assertMessagesStream(r, { model: 'claude-sonnet-4-5-20250929', stop_reason: 'end_turn' });
    const up = one('caps-vis-msg');
    assert.equal(up.model, 'glm-4.6v');
    assert.equal(up.max_tokens, 32768);
    assert.deepEqual(upstreamImages(up).map((p) => p.image_url.url), [DATA_URL]);
  });

  test('Responses: an input_image for glm-4.7 goes to glm-4.6v (stream and not); the response keeps glm-4.7', T, async () => {
    for (const stream of [false, true]) {
      const tag = `caps-vis-resp-${stream}`;
      const r = await s.request('/v1/responses', {
        method: 'POST',
        body: { model: 'glm-4.7', stream, max_output_tokens: 64_000, input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: tag }, responsesImage] }] },
      });
      const obj = stream ? responsesStream(r).response : ok(r).json;
      assert.equal(obj.model, 'glm-4.7');
      assert.equal(obj.status, 'completed');
      const up = one(tag);
      assert.equal(up.model, 'glm-4.6v');
      assert.equal(up.max_tokens, 32768);
      assert.deepEqual(upstreamImages(up).map((p) => p.image_url.url), [DATA_URL]);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('bad MODEL_CAPS and MODEL_FALLBACKS values are configuration errors', () => {
  const base = {
    API_KEY: CLIENT_KEY,
    UPSTREAM_MODE: 'api',
    ZAI_API_KEYS: API_KEYS.join(','),
    ZAI_API_BASE_URL: 'http://127.0.0.1:9/api/paas/v4',
  };
  const caps = (entry) => JSON.stringify({ 'glm-4.6': { max_output: 4096, thinking: 'optional', efforts: [], ...entry } });
  const BAD = [
    [{ MODEL_CAPS: 'not json' }, 'MODEL_CAPS'],
    [{ MODEL_CAPS: '["glm-4.6"]' }, 'MODEL_CAPS'],
    [{ MODEL_CAPS: caps({ max_output: 'lots' }) }, 'MODEL_CAPS'],
    [{ MODEL_CAPS: caps({ thinking: 'sometimes' }) }, 'MODEL_CAPS'],
    [{ MODEL_CAPS: caps({ efforts: ['turbo'] }) }, 'MODEL_CAPS'],
    [{ MODEL_FALLBACKS: 'not json' }, 'MODEL_FALLBACKS'],
  ];

  // Native: exit 2, one JSON line naming the variable. Worker (cannot refuse to start): 500
  // invalid_config naming it on chat, /healthz still 200. Each host checks its own contract.
  test(`${HOST_KIND}: refused, naming the variable`, { timeout: 300_000 }, async () => {
    if (HOST_KIND === 'native') {
      const results = await Promise.all(BAD.map(async ([settings]) => runNative([], { HOST: '127.0.0.1', PORT: await freePort(), ...base, ...settings })));
      BAD.forEach(([settings, variable], i) => {
        const r = results[i];
        const label = JSON.stringify(settings);
        assert.equal(r.code, 2, `${label}: exit code (stderr: ${r.stderr})`);
        assert.equal(r.stdout, '', `${label}: nothing on stdout`);
        const lines = r.stderr.split('\n').filter(Boolean);
        assert.equal(lines.length, 1, `${label}: one line, got ${r.stderr}`);
        assert.doesNotThrow(() => JSON.parse(lines[0]), `${label}: JSON`);
        assert.match(lines[0], new RegExp(`\\b${variable}\\b`), `${label}: names the variable`);
      });
      return;
    }
    // two wrangler instances at once, as lifecycle.test.mjs does
    await Promise.all(
      [BAD[3], BAD[5]].map(async ([settings, variable]) => {
        const host = await startHost('worker', { ...base, ...settings });
        try {
          assert.equal((await request(host, '/healthz', { key: null })).status, 200);
          const e = assertError(await request(host, '/v1/chat/completions', { method: 'POST', body: chatBody('x', { model: 'glm-4.6' }) }), {
            status: 500,
            type: 'server_error',
            code: 'invalid_config',
          });
          assert.match(e.message, new RegExp(`\\b${variable}\\b`));
        } finally {
          await host.stop();
        }
      }),
    );
  });
});
