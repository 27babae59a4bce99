// The state store as the Worker's Durable Object runs it: tests/fixtures/state/vectors.json (the
// semantics every backend gives) replayed through the shipped module's zp_store, the way
// worker/state_object.js calls it: each step hands in the state the previous step returned, so
// the object's persisted form carries everything from one operation to the next. Then the
// object itself (worker/state_object.js) over an in-memory storage: what it persists, what a
// fresh object loads, and its test-only faults.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { StoreCore } from '../../worker/core.js';
import { StateObject } from '../../worker/state_object.js';
import { callObject as call, objectState } from './state_objects.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const wasmPath = join(root, 'build-wasm', 'zproxy.wasm');
const vectorsPath = join(root, 'tests', 'fixtures', 'state', 'vectors.json');

function module() {
  assert.ok(existsSync(wasmPath), `${wasmPath} missing: run scripts/build-wasm.sh`);
  return new WebAssembly.Module(readFileSync(wasmPath));
}

// An expectation's field in a reply: at the top, or among the key's counters ("usage").
function field(reply, name) {
  if (Object.hasOwn(reply, name)) return reply[name];
  if (reply.usage && Object.hasOwn(reply.usage, name)) return reply.usage[name];
  return undefined;
}

test('the state-store vectors pass through the shipped module, state carried as the object keeps it', () => {
  const store = new StoreCore(module());
  const { cases } = JSON.parse(readFileSync(vectorsPath, 'utf8'));
  assert.ok(cases.length >= 3);
  let checked = 0;
  for (const c of cases) {
    let state = '';
    c.steps.forEach((step, i) => {
      const { expect, ...op } = step;
      const where = `${c.name}, step ${i + 1} (${op.op} at ${op.at})`;
      const r = store.apply(state, JSON.stringify(op), op.at ?? 0);
      assert.equal(r.unreadable, false, `${where}: the state did not load back: ${state}`);
      const reply = JSON.parse(r.reply);
      assert.equal(reply.error, undefined, `${where}: ${r.reply}`);
      for (const [name, want] of Object.entries(expect ?? {})) {
        assert.deepEqual(field(reply, name), want, `${where}: ${name} in ${r.reply}`);
        checked++;
      }
      state = r.state;
    });
  }
  assert.ok(checked > 0, 'no expectation checked');
});

test('a bad operation gets an error reply and leaves the state as it was', () => {
  const store = new StoreCore(module());
  const first = store.apply('', JSON.stringify({ op: 'mark', cid: '0123456789abcdef', mark: 'cool', ttl_ms: 60_000 }), 1_000_000);
  assert.equal(JSON.parse(first.reply).error, undefined, first.reply);
  for (const bad of ['', 'not json', '{"op":"fly"}', '[]']) {
    const r = store.apply(first.state, bad, 1_000_001);
    assert.equal(typeof JSON.parse(r.reply).error, 'string', `${JSON.stringify(bad)}: ${r.reply}`);
    assert.equal(r.state, first.state, JSON.stringify(bad));
  }
  const broken = store.apply('{"not":"a dump"', JSON.stringify({ op: 'health' }), 1_000_002);
  assert.equal(broken.unreadable, true);
});

test('the object persists its state after a change and a fresh object starts from it', async () => {
  const m = module();
  const ctx = objectState();
  const obj = new StateObject(m, ctx, {}, { log: () => {} });
  const limits = { tokens_per_day: 1000 };
  const admitted = await call(obj, ctx, { op: 'admit', key: 'team-a', limits, lease: 'l1', ttl_ms: 120_000 });
  assert.equal(admitted.status, 200);
  assert.equal(admitted.json.admitted, true, JSON.stringify(admitted.json));
  const settled = await call(obj, ctx, { op: 'settle', key: 'team-a', lease: 'l1', tokens: 42 });
  assert.equal(settled.status, 200);
  assert.equal(field(settled.json, 'tokens_today'), 42, JSON.stringify(settled.json));
  assert.equal(typeof ctx.saved.get('state'), 'string');
  const puts = ctx.puts;
  await call(obj, ctx, { op: 'usage', key: 'team-a' });
  assert.equal(ctx.puts, puts, 'a read writes nothing');

  // A restart: a new object over the same storage.
  const again = objectState(ctx.saved);
  const fresh = new StateObject(m, again, {}, { log: () => {} });
  const usage = await call(fresh, again, { op: 'usage', key: 'team-a' });
  assert.equal(field(usage.json, 'tokens_today'), 42, JSON.stringify(usage.json));

  const bad = await call(fresh, again, { op: 'fly' });
  assert.equal(bad.status, 400);
});

test('ZP_STATE_FAULT=throw: every call throws (the Worker then decides locally)', async () => {
  const ctx = objectState();
  const obj = new StateObject(module(), ctx, { ZP_STATE_FAULT: 'throw' }, { log: () => {} });
  await assert.rejects(call(obj, ctx, { op: 'health' }), /ZP_STATE_FAULT/);
});
