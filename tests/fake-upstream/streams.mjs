// Which recorded upstream byte stream the fake plays for a request, and where its bytes come
// from. This is the only place that knows the selection rules.
//
// Selection: the proxy forwards no client header, so a request picks its stream through the
// text of its last user message: a message starting with `#fixture:<name>` plays case <name>;
// any other message plays DEFAULT_CASE.
//
// Sources, first existing wins (the golden fixtures are authoritative once they exist):
//   tests/fixtures/<mode>/<name>/upstream.<kind>
//   tests/fake-upstream/streams/<mode>/<name>.<kind>
// mode: "guest" | "api"; kind: "sse" (a stream) | "json" (a whole non-streaming answer).

import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..');
const FIXTURE_ROOT = path.join(REPO_ROOT, 'tests', 'fixtures');
const OWN_ROOT = path.join(here, 'streams');

export const FIXTURE_DIRECTIVE = /^\s*#fixture:([A-Za-z0-9_.-]+)/;
export const DEFAULT_CASE = 'answer_only';

// Text of the last user message: a string, or the text parts of a content array joined.
export function lastUserText(body) {
  const messages = body && Array.isArray(body.messages) ? body.messages : [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (!m || m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) {
      return m.content
        .filter((p) => p && p.type === 'text' && typeof p.text === 'string')
        .map((p) => p.text)
        .join('');
    }
    return '';
  }
  return '';
}

export function caseFor(body) {
  const m = FIXTURE_DIRECTIVE.exec(lastUserText(body));
  return m ? m[1] : DEFAULT_CASE;
}

// The user message that selects case `name` (tests build their prompts with this).
export function promptFor(name, extra = '') {
  return `#fixture:${name}${extra ? ' ' + extra : ''}`;
}

export function streamPaths(mode, name, kind) {
  return [
    path.join(FIXTURE_ROOT, mode, name, `upstream.${kind}`),
    path.join(OWN_ROOT, mode, `${name}.${kind}`),
  ];
}

// {bytes: Buffer, file} of the first existing source, or null.
export async function loadStream(mode, name, kind) {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.includes('..')) return null;
  for (const file of streamPaths(mode, name, kind)) {
    if (existsSync(file)) return { bytes: await readFile(file), file };
  }
  return null;
}

// Case names available for a mode (union of both sources).
export async function listCases(mode) {
  const names = new Set();
  for (const dir of [path.join(FIXTURE_ROOT, mode), path.join(OWN_ROOT, mode)]) {
    let entries = [];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.isDirectory()) names.add(e.name);
      else names.add(e.name.replace(/\.(sse|json)$/, ''));
    }
  }
  return [...names].sort();
}

// Splits an SSE byte stream after each event terminator (blank line: LF LF or CR LF CR LF),
// without changing a byte: the pieces concatenate to the input. Trailing bytes without a
// terminator form a last piece.
export function splitEvents(buf) {
  const pieces = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    let end = -1;
    if (buf[i + 1] === 0x0a) end = i + 2;
    else if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) end = i + 3;
    if (end < 0) continue;
    pieces.push(buf.subarray(start, end));
    start = end;
    i = end - 1;
  }
  if (start < buf.length) pieces.push(buf.subarray(start));
  return pieces;
}
