// Thinking modes other than the default reasoning_content (guest_chat.test.mjs covers that):
// SHOW_THINK_TAGS=true (think_tags), THINKING=hidden overriding SHOW_THINK_TAGS, and
// THINKING=think_tags in API mode.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCompletion, assertStreamText } from './assertions.mjs';
import { expected } from './oracle.mjs';
import { API_MODEL, GUEST_MODEL, chatBody, startStack } from './stack.mjs';
import { promptFor } from '../fake-upstream/streams.mjs';

const T = { timeout: 60_000 };

// content must be "<think>" reasoning "</think>" answer (whitespace around the parts allowed).
function assertThinkTags(content, exp) {
  const m = /^<think>([\s\S]*)<\/think>([\s\S]*)$/.exec(content);
  assert.ok(m, `content is <think>…</think> then the answer: ${JSON.stringify(content)}`);
  assert.equal(m[1].trim(), exp.reasoning.trim(), 'reasoning inside the tags');
  assert.equal(m[2].replace(/^\s+/, ''), exp.content.replace(/^\s+/, ''), 'answer after the tags');
}

async function checkThinkTags(s, mode, name, model) {
  const exp = await expected(mode, name);
  const ns = await s.chat(chatBody(promptFor(name), { model }));
  assert.equal(ns.status, 200, ns.text);
  assertCompletion(ns.json, { model, reasoning: '', finishReason: exp.finishReason, usage: exp.usage });
  assertThinkTags(ns.json.choices[0].message.content, exp);
  const st = await s.chat({ ...chatBody(promptFor(name), { model }), stream: true });
  const agg = assertStreamText(st, { model, reasoning: '', finishReason: exp.finishReason });
  assertThinkTags(agg.content, exp);
}

describe('SHOW_THINK_TAGS=true (guest)', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'guest', settings: { SHOW_THINK_TAGS: 'true', TOKEN_POOL_SIZE: 1 } });
  });
  after(() => s?.stop());

  test('reasoning goes into content as <think>…</think> before the answer', T, async () => {
    await checkThinkTags(s, 'guest', 'thinking', GUEST_MODEL);
  });

  test('an answer without reasoning has no think tags', T, async () => {
    const exp = await expected('guest', 'answer_only');
    const r = await s.chat(chatBody('plain'));
    assertCompletion(r.json, { model: GUEST_MODEL, content: exp.content, reasoning: '', finishReason: 'stop' });
  });
});

describe('THINKING=hidden overrides SHOW_THINK_TAGS (guest)', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'guest', settings: { SHOW_THINK_TAGS: 'true', THINKING: 'hidden', TOKEN_POOL_SIZE: 1 } });
  });
  after(() => s?.stop());

  test('reasoning is dropped; the answer is intact', T, async () => {
    const exp = await expected('guest', 'thinking');
    const ns = await s.chat(chatBody(promptFor('thinking')));
    assert.equal(ns.status, 200, ns.text);
    assertCompletion(ns.json, { model: GUEST_MODEL, content: exp.content, reasoning: '', finishReason: 'stop', usage: exp.usage });
    const st = await s.chat({ ...chatBody(promptFor('thinking')), stream: true });
    assertStreamText(st, { model: GUEST_MODEL, content: exp.content, reasoning: '', finishReason: 'stop' });
  });
});

describe('THINKING=think_tags (API mode)', () => {
  let s;
  before(async () => {
    s = await startStack({ mode: 'api', settings: { THINKING: 'think_tags' } });
  });
  after(() => s?.stop());

  test('API reasoning_content goes into content as <think>…</think>', T, async () => {
    await checkThinkTags(s, 'api', 'reasoning', API_MODEL);
  });
});
