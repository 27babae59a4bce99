// Which recorded upstream byte stream the fake plays for a request, and where its bytes come
// from. This is the only place that knows the selection rules.
//
// Selection: the proxy forwards no client header, so a request picks its stream through the
// text of its last user message: a message starting with `#fixture:<name>` plays case <name>;
// any other message plays DEFAULT_CASE. The directive may also start any line of any text part
// of that message, or follow a `</system-reminder>` (Claude Code puts such a block before the
// prompt); the first one counts. The rest of its line is the case's argument (generated cases read it).
//
// Generated cases (API mode, no recording; see generatedCase):
//   call_tool <Name> <JSON arguments>   the answer is one call of tool <Name> with these
//       arguments (streamed in two fragments), finish_reason "tool_calls"; once the conversation
//       holds a `tool` message after its last assistant message, the answer is instead the text
//       "Tool result: <tool contents joined by newlines>", finish_reason "stop". A whole tool
//       round trip (e.g. Claude Code's Read) thus runs against one prompt.
//   call_tool_thinking <Name> <JSON arguments>   the same, but the tool-call answer first
//       streams reasoning_content (generatedReasoning(<Name>), in two pieces; in a JSON answer
//       the message's reasoning_content): a reasoning item the client must replay (Codex sends
//       it back as a `reasoning` input item) before the call.
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

// Text parts of the last user message, each as given (a string content is one part).
function lastUserParts(body) {
  const messages = body && Array.isArray(body.messages) ? body.messages : [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (!m || m.role !== 'user') continue;
    if (typeof m.content === 'string') return [m.content];
    if (Array.isArray(m.content)) {
      return m.content.filter((p) => p && p.type === 'text' && typeof p.text === 'string').map((p) => p.text);
    }
    return [];
  }
  return [];
}

// {name, arg} of the request's directive, or null: the first `#fixture:` at the start of the
// last user message, at the start of a line of one of its text parts, or right after a closing
// `</system-reminder>` (a proxy may join Claude Code's blocks without a separator).
const DIRECTIVE_ANYWHERE = /(?:^|\n|<\/system-reminder>)[ \t]*#fixture:([A-Za-z0-9_.-]+)([^\n]*)/;
export function directiveFor(body) {
  for (const part of lastUserParts(body)) {
    const m = DIRECTIVE_ANYWHERE.exec(part);
    if (m) return { name: m[1], arg: m[2].trim() };
  }
  return null;
}

export function caseFor(body) {
  return directiveFor(body)?.name ?? DEFAULT_CASE;
}

// ---------------------------------------------------------------------------------------------
// Generated cases

export const GENERATED_CASES = ['call_tool', 'call_tool_thinking'];
const GEN_ID = '20260313050900fa4e6b0c2d9e1f37';
const GEN_CREATED = 1773349740;

// Contents of the `tool` messages after the last assistant message (empty: none).
export function pendingToolResults(body) {
  const messages = body && Array.isArray(body.messages) ? body.messages : [];
  let i = messages.length - 1;
  while (i >= 0 && messages[i]?.role !== 'assistant') i--;
  return messages
    .slice(i + 1)
    .filter((m) => m?.role === 'tool')
    .map((m) =>
      typeof m.content === 'string'
        ? m.content
        : Array.isArray(m.content)
          ? m.content.map((p) => (typeof p?.text === 'string' ? p.text : '')).join('')
          : JSON.stringify(m.content),
    );
}

// Parses `call_tool`'s argument: `<Name> <JSON object>` -> {name, args (the JSON text)} or null.
export function parseCallTool(arg) {
  const m = /^([A-Za-z0-9_-]{1,64})\s+(\{.*\})\s*$/s.exec(arg ?? '');
  if (!m) return null;
  try {
    JSON.parse(m[2]);
  } catch {
    return null;
  }
  return { name: m[1], args: m[2] };
}

// The fake's id for its call of tool `name` (valid as an Anthropic tool id, so kept as is).
export function generatedToolCallId(name) {
  return `call_zfake_${Buffer.from(name).toString('hex').slice(0, 16)}`;
}

// The reasoning call_tool_thinking streams before its call of tool `name`.
export function generatedReasoning(name) {
  return `The user wants ${name} called. I will call it now.`;
}

const usageOf = (completion) => ({
  prompt_tokens: 40,
  completion_tokens: completion,
  total_tokens: 40 + completion,
  prompt_tokens_details: { cached_tokens: 0 },
});
// One chunk of the official API's stream; the final one (finish set) carries usage, as upstream's.
function chunk(model, delta, finish, usage) {
  const choice = finish ? { index: 0, finish_reason: finish, delta: { role: 'assistant', ...delta } } : { index: 0, delta: { role: 'assistant', ...delta } };
  const obj = { id: GEN_ID, created: GEN_CREATED, model, choices: [choice], ...(usage ? { usage } : {}) };
  return `data: ${JSON.stringify(obj)}\n\n`;
}

// {bytes: Buffer, file: null, plan} of a generated case for this request, or null (not a
// generated case, or a malformed argument: the caller answers "unknown case"). kind: "sse" |
// "json". plan: {type: "tool_call", name, args, id[, reasoning]} | {type: "text", text}.
export function generatedCase(mode, name, body, kind) {
  if (mode !== 'api' || !GENERATED_CASES.includes(name)) return null;
  const call = parseCallTool(directiveFor(body)?.arg);
  if (!call) return null;
  const model = typeof body?.model === 'string' ? body.model : 'glm-4.6';
  const results = pendingToolResults(body);
  const plan = results.length
    ? { type: 'text', text: `Tool result: ${results.join('\n')}` }
    : { type: 'tool_call', name: call.name, args: call.args, id: generatedToolCallId(call.name) };
  if (plan.type === 'tool_call' && name === 'call_tool_thinking') plan.reasoning = generatedReasoning(call.name);
  if (kind === 'json') {
    const message =
      plan.type === 'text'
        ? { role: 'assistant', content: plan.text }
        : {
            role: 'assistant',
            content: '',
            ...(plan.reasoning ? { reasoning_content: plan.reasoning } : {}),
            tool_calls: [{ id: plan.id, index: 0, type: 'function', function: { name: plan.name, arguments: plan.args } }],
          };
    const finish = plan.type === 'text' ? 'stop' : 'tool_calls';
    const json = { id: GEN_ID, created: GEN_CREATED, model, request_id: GEN_ID, choices: [{ index: 0, finish_reason: finish, message }], usage: usageOf(9) };
    return { bytes: Buffer.from(JSON.stringify(json)), file: null, plan };
  }
  let sse = '';
  if (plan.type === 'text') {
    const cut = Math.max(1, plan.text.length >> 1);
    sse += chunk(model, { content: plan.text.slice(0, cut) });
    sse += chunk(model, { content: plan.text.slice(cut) });
    sse += chunk(model, { content: '' }, 'stop', usageOf(9));
  } else {
    if (plan.reasoning) {
      const at = plan.reasoning.indexOf(' ', plan.reasoning.length >> 1);
      sse += chunk(model, { reasoning_content: plan.reasoning.slice(0, at) });
      sse += chunk(model, { reasoning_content: plan.reasoning.slice(at) });
    }
    const half = plan.args.length >> 1;
    const first = { id: plan.id, index: 0, type: 'function', function: { name: plan.name, arguments: plan.args.slice(0, half) } };
    sse += chunk(model, { tool_calls: [first] });
    sse += chunk(model, { tool_calls: [{ index: 0, function: { arguments: plan.args.slice(half) } }] });
    sse += chunk(model, { content: '' }, 'tool_calls', usageOf(12));
  }
  sse += 'data: [DONE]\n\n';
  return { bytes: Buffer.from(sse), file: null, plan };
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
