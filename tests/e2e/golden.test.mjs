// The golden fixtures end to end: every tests/fixtures/<mode>/<case>/ with options.json and
// expected.out that a client request can reproduce is played by the fake and requested
// through the proxy as options.json says (model, stream, include_usage, stop), on a proxy
// with that THINKING mode and MAX_ATTEMPTS=1 (one attempt, as the fixture describes).
// expected.out is the exact client bytes with id "chatcmpl-fixture" and created 1700000000,
// or "HTTP <status>\n<error json>\nverdict: …" for a failure before the commit point.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { assertError } from './assertions.mjs';
import { chat, startStack } from './stack.mjs';
import { promptFor } from '../fake-upstream/streams.mjs';
import { REPO_ROOT } from './util.mjs';

const FIXTURES = path.join(REPO_ROOT, 'tests', 'fixtures');
const OPTION_KEYS = new Set(['shape', 'stream', 'include_usage', 'thinking', 'stop', 'model']);
// Enough API keys that fixtures rejecting a key (it is then dead) cannot empty the pool.
const GOLDEN_KEYS = Array.from({ length: 16 }, (_, i) => `zk-golden-${String(i).padStart(2, '0')}`).join(',');

// A request can reproduce the fixture when the client's `stream` selects the recorded shape:
// the fake answers API streaming requests with upstream.sse and the others with upstream.json.
function playable(mode, options, dir) {
  if (mode === 'guest') return options.shape === 'guest_stream' && existsSync(path.join(dir, 'upstream.sse'));
  if (options.shape === 'api_stream') return options.stream === true && existsSync(path.join(dir, 'upstream.sse'));
  return options.shape === 'api_body' && options.stream !== true && existsSync(path.join(dir, 'upstream.json'));
}

function loadCases() {
  const cases = [];
  for (const mode of ['guest', 'api']) {
    const root = path.join(FIXTURES, mode);
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort()) {
      const dir = path.join(root, name);
      const optionsFile = path.join(dir, 'options.json');
      const expectedFile = path.join(dir, 'expected.out');
      if (!existsSync(optionsFile) || !existsSync(expectedFile)) continue; // still being written
      const options = JSON.parse(readFileSync(optionsFile, 'utf8'));
      if (!playable(mode, options, dir)) continue; // a decoder-only fixture
      cases.push({ mode, name, options, expected: readFileSync(expectedFile, 'utf8') });
    }
  }
  return cases;
}

function parseExpected(text) {
  const m = /^HTTP (\d{3})\n([^\n]*)\n(?:verdict: [^\n]*\n?)?$/.exec(text);
  return m ? { status: Number(m[1]), error: JSON.parse(m[2]).error } : { status: 200, body: text };
}

// Replaces this answer's id and created with the fixture's.
function normalize(text, stream) {
  const first = stream ? /^data: (\{.*\})$/m.exec(text)?.[1] : text;
  let obj;
  try {
    obj = JSON.parse(first);
  } catch {
    return text;
  }
  let out = text;
  if (typeof obj.id === 'string') out = out.split(`"id":${JSON.stringify(obj.id)}`).join('"id":"chatcmpl-fixture"');
  if (Number.isInteger(obj.created)) out = out.split(`"created":${obj.created}`).join('"created":1700000000');
  return out;
}

const CASES = loadCases();
const groups = new Map();
for (const c of CASES) {
  const key = `${c.mode} THINKING=${c.options.thinking ?? 'reasoning_content'}`;
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(c);
}

test('golden fixtures found', (t) => {
  t.diagnostic(`${CASES.length} playable golden fixtures in ${groups.size} configurations`);
  for (const c of CASES) {
    const unknown = Object.keys(c.options).filter((k) => !OPTION_KEYS.has(k));
    if (unknown.length) t.diagnostic(`${c.mode}/${c.name}: options not reproduced end to end: ${unknown.join(', ')}`);
  }
});

for (const [label, cases] of groups) {
  describe(`golden fixtures, ${label}`, () => {
    let s;
    before(async () => {
      const { mode, options } = cases[0];
      s = await startStack({
        mode,
        settings: {
          THINKING: options.thinking ?? 'reasoning_content',
          MAX_ATTEMPTS: 1,
          TOKEN_POOL_SIZE: 3,
          ...(mode === 'api' ? { ZAI_API_KEYS: GOLDEN_KEYS } : {}),
        },
      });
    });
    after(() => s?.stop());

    for (const c of cases) {
      test(c.name, { timeout: 30_000 }, async () => {
        const o = c.options;
        const body = { model: o.model, messages: [{ role: 'user', content: promptFor(c.name) }], stream: o.stream === true };
        if (o.include_usage) body.stream_options = { include_usage: true };
        if (Array.isArray(o.stop) && o.stop.length) body.stop = o.stop;
        const r = await chat(s.host, body);
        const exp = parseExpected(c.expected);
        if (exp.status !== 200) {
          const e = assertError(r, { status: exp.status, type: exp.error.type, code: exp.error.code, param: exp.error.param });
          assert.ok(e.message.length > 0);
          return;
        }
        assert.equal(r.status, 200, r.text);
        assert.equal(normalize(r.text, body.stream), exp.body);
      });
    }
  });
}
