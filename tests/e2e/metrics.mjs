// Prometheus text exposition (format 0.0.4), parsed strictly enough to catch malformed output.
// -> {samples: [{name, labels, value}], types: Map name -> type}

import assert from 'node:assert/strict';

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

function parseLabels(text, line) {
  const labels = {};
  if (!text) return labels;
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    assert.ok(m, `malformed labels in metrics line: ${line}`);
    labels[m[1]] = m[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
  return labels;
}

export function parseMetrics(text) {
  const samples = [];
  const types = new Map();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$/.exec(line);
      if (m && m[1] === 'TYPE') types.set(m[2], m[3]);
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m, `malformed metrics line: ${JSON.stringify(line)}`);
    const value = Number(m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : m[3]);
    assert.ok(!Number.isNaN(value) || m[3] === 'NaN', `malformed metrics value in ${line}`);
    samples.push({ name: m[1], labels: parseLabels(m[2], line), value });
  }
  return { samples, types };
}

const matches = (labels, want) => Object.entries(want).every(([k, v]) => labels[k] === String(v));

// Sum of the samples of `name` whose labels include `labels` (0 when none).
export function metricSum(parsed, name, labels = {}) {
  return parsed.samples.filter((s) => s.name === name && matches(s.labels, labels)).reduce((a, s) => a + s.value, 0);
}

export function hasMetric(parsed, name) {
  return parsed.samples.some((s) => s.name === name);
}
