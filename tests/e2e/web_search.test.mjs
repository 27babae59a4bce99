// WEB_SEARCH=on (API mode): chat's web_search_options and the Responses web_search tool go
// upstream as Z.AI's web_search tool, and the search results upstream returns come back as
// url_citation annotations (chat: message.annotations, and one annotations delta in a stream;
// Responses: output_text.annotations and response.output_text.annotation.added), streamed and
// not. Both hosts (E2E_HOST). The fake answers with a scripted Z.AI answer carrying the
// top-level "web_search" results, as Z.AI does.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './stack.mjs';
import { WEB_RESULTS } from '../fake-upstream/server.mjs';

const T = { timeout: 60_000 };
const MODEL = 'glm-4.6';
const RESULTS = [
  { title: 'Paris - Wikipedia', link: 'https://en.wikipedia.org/wiki/Paris', content: 'Paris is…', refer: 'ref_1' },
  { title: 'Visit Paris', link: 'https://www.parisinfo.com/', content: 'Official…', refer: 'ref_2' },
];
const ANSWER = 'Paris is the capital of France.';

const chunk = (delta, extra = {}) => ({ id: '2026', created: 1773349999, model: MODEL, choices: [{ index: 0, delta: { role: 'assistant', ...delta }, ...extra }] });
const streamed = {
  status: 200,
  headers: { 'content-type': 'text/event-stream' },
  body:
    [
      { ...chunk({ content: 'Paris is ' }), web_search: RESULTS },
      chunk({ content: 'the capital of France.' }),
      { ...chunk({}, { finish_reason: 'stop' }), usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 } },
    ]
      .map((c) => `data: ${JSON.stringify(c)}\n\n`)
      .join('') + 'data: [DONE]\n\n',
};
// The same answer as one non-streaming body (what a stream:false request gets).
const whole = {
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    id: '2026', created: 1773349999, model: MODEL, web_search: RESULTS,
    choices: [{ index: 0, message: { role: 'assistant', content: ANSWER }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 },
  }),
};
const WANT = RESULTS.map((r) => ({ url: r.link, title: r.title, start_index: 0, end_index: ANSWER.length }));

describe('WEB_SEARCH=on (API mode)', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'api', settings: { WEB_SEARCH: 'on', WEB_SEARCH_ENGINE: 'search_pro' } });
  });
  after(async () => s?.stop());

  const lastUpstream = (tag) => s.fake.entries('api_chat').filter((e) => JSON.stringify(e.body?.messages ?? '').includes(tag)).at(-1)?.body;
  const searchTool = (body) => (body?.tools ?? []).find((t) => t.type === 'web_search');

  for (const stream of [false, true]) {
    test(`chat web_search_options, ${stream ? 'streamed' : 'not streamed'}: url_citation annotations`, T, async () => {
      const tag = `ws-chat-${stream}`;
      s.fake.script({ text: tag, times: 1, ...(stream ? streamed : whole) });
      const r = await s.chat({ model: MODEL, stream, web_search_options: {}, messages: [{ role: 'user', content: tag }] });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(searchTool(lastUpstream(tag)), { type: 'web_search', web_search: { enable: true, search_engine: 'search_pro', search_result: true } });
      let annotations;
      let content;
      if (stream) {
        const chunks = r.text.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)));
        content = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
        const withAnnotations = chunks.filter((c) => c.choices[0]?.delta?.annotations);
        assert.equal(withAnnotations.length, 1, 'one annotations delta');
        annotations = withAnnotations[0].choices[0].delta.annotations;
        assert.ok(r.text.endsWith('data: [DONE]\n\n'));
      } else {
        content = r.json.choices[0].message.content;
        annotations = r.json.choices[0].message.annotations;
      }
      assert.equal(content, ANSWER);
      assert.deepEqual(
        annotations.map((a) => ({ type: a.type, ...a.url_citation })),
        WANT.map((w) => ({ type: 'url_citation', end_index: w.end_index, start_index: 0, title: w.title, url: w.url })),
      );
    });

    test(`Responses web_search tool, ${stream ? 'streamed' : 'not streamed'}: output_text annotations`, T, async () => {
      const tag = `ws-resp-${stream}`;
      s.fake.script({ text: tag, times: 1, ...streamed });
      const r = await s.request('/v1/responses', { method: 'POST', body: { model: MODEL, input: tag, stream, tools: [{ type: 'web_search' }] } });
      assert.equal(r.status, 200, r.text);
      assert.ok(searchTool(lastUpstream(tag)), 'Z.AI web_search tool upstream');
      let response;
      if (stream) {
        const events = r.text.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.split('\n').find((l) => l.startsWith('data: ')).slice(6)));
        const added = events.filter((e) => e.type === 'response.output_text.annotation.added');
        assert.deepEqual(added.map((e) => e.annotation_index), [0, 1]);
        assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
        response = events.at(-1).response;
        assert.equal(events.at(-1).type, 'response.completed');
      } else {
        response = r.json;
      }
      const message = response.output.find((o) => o.type === 'message');
      assert.equal(message.content[0].text, ANSWER);
      assert.deepEqual(
        message.content[0].annotations,
        WANT.map((w) => ({ type: 'url_citation', start_index: 0, end_index: w.end_index, title: w.title, url: w.url })),
      );
    });
  }

  test('the fake\'s own search results (Z.AI refuses any other web_search shape): chat and Responses', T, async () => {
    const c = await s.chat({ model: MODEL, web_search_options: {}, messages: [{ role: 'user', content: 'ws-own-chat' }] });
    assert.equal(c.status, 200, c.text);
    assert.deepEqual(c.json.choices[0].message.annotations.map((a) => a.url_citation.url), WEB_RESULTS.map((r) => r.link));
    const r = await s.request('/v1/responses', { method: 'POST', body: { model: MODEL, input: 'ws-own-resp', stream: true, tools: [{ type: 'web_search' }] } });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /response\.output_text\.annotation\.added/);
    assert.ok(r.text.includes(WEB_RESULTS[0].link));
  });

  test('a web_search tool that forbids external access stays declined', T, async () => {
    const tag = 'ws-declined';
    const r = await s.request('/v1/responses', { method: 'POST', body: { model: MODEL, input: tag, tools: [{ type: 'web_search', external_web_access: false }] } });
    assert.equal(r.status, 200, r.text);
    assert.equal(searchTool(lastUpstream(tag)), undefined);
  });
});

describe('WEB_SEARCH=on in guest mode', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'guest', settings: { WEB_SEARCH: 'on' } });
  });
  after(async () => s?.stop());

  test('chat web_search_options: 400 naming it (web search needs API mode)', T, async () => {
    const r = await s.chat({ model: 'glm-4.6', web_search_options: {}, messages: [{ role: 'user', content: 'x' }] });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.param, 'web_search_options');
    assert.equal(r.json.error.code, 'unsupported_value');
  });
});
