// What the proxy must answer for a recorded upstream case, computed from the same bytes the
// fake plays (so golden fixtures can replace the fake's own recordings without touching tests).
// It looks only at the end state, not at how the proxy streams it:
//   guest: apply every delta_content / edit_index+edit_content to the message buffer M (code
//          points), then reasoning = the text of <details type="reasoning"> blocks without the
//          wrapper, <summary> and "> " line prefixes; content = the rest, without <glm_block>
//          islands (docs/upstream.md §1.4, §1.5).
//   api:   concatenation of delta.reasoning_content / delta.content, tool calls, the final
//          finish_reason (mapped as docs/upstream.md §2.3 says) and usage; or the same from a
//          JSON answer.
// -> {content, reasoning, toolCalls, finishReason, usage, contentSteps (content length after
//     each upstream event that added content; empty for JSON answers)}

import { loadStream, splitEvents } from '../fake-upstream/streams.mjs';

const FINISH_MAP = { sensitive: 'content_filter', model_context_window_exceeded: 'length' };

function dataPayloads(bytes) {
  const out = [];
  for (const ev of splitEvents(bytes)) {
    const data = ev
      .toString('utf8')
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data === '' || data === '[DONE]') continue;
    out.push(JSON.parse(data));
  }
  return out;
}

function openaiUsage(u) {
  if (!u) return null;
  return { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens };
}

// -> {text: the final buffer M, usage, steps: M after each frame}
export function guestFinalBuffer(bytes) {
  let m = [];
  let usage = null;
  const steps = [];
  for (const frame of dataPayloads(bytes)) {
    const d = frame && typeof frame.type === 'string' ? frame.data : frame;
    if (!d || typeof d !== 'object') continue;
    if (typeof d.edit_index === 'number' && typeof d.edit_content === 'string') {
      m = m.slice(0, d.edit_index).concat([...d.edit_content]);
    } else if (typeof d.delta_content === 'string') {
      m = m.concat([...d.delta_content]);
    }
    if (d.usage) usage = d.usage;
    steps.push(m.join(''));
  }
  return { text: m.join(''), usage, steps };
}

// Lengths of the content after each upstream event that made it grow.
function growth(contents) {
  const out = [];
  for (const c of contents) if (c.length > (out.at(-1) ?? 0)) out.push(c.length);
  return out;
}

export function splitGuestMessage(text) {
  const reasoning = [];
  const content = text
    .replace(/<details type="reasoning"[^>]*>\n?([\s\S]*?)<\/details>\n?/g, (_, inner) => {
      const body = inner.replace(/^<summary>[\s\S]*?<\/summary>\n?/, '');
      reasoning.push(
        body
          .split('\n')
          .map((l) => l.replace(/^> ?/, ''))
          .join('\n')
          .replace(/\n+$/, ''),
      );
      return '';
    })
    .replace(/<glm_block[^>]*>[\s\S]*?<\/glm_block>\n?/g, '')
    .replace(/<(details type="reasoning"|glm_block)[\s\S]*$/, ''); // a block still open
  return { reasoning: reasoning.join('\n\n'), content };
}

function fromApiChunks(chunks) {
  const r = { content: '', reasoning: '', toolCalls: [], finishReason: null, usage: null, contentSteps: [] };
  for (const c of chunks) {
    if (c.usage) r.usage = openaiUsage(c.usage);
    const choice = c.choices?.[0];
    if (!choice) continue;
    const d = choice.delta ?? {};
    if (typeof d.content === 'string' && d.content) {
      r.content += d.content;
      r.contentSteps.push(r.content.length);
    }
    if (typeof d.reasoning_content === 'string') r.reasoning += d.reasoning_content;
    for (const t of d.tool_calls ?? []) {
      r.toolCalls.push({ id: t.id, type: t.type ?? 'function', name: t.function?.name, arguments: t.function?.arguments });
    }
    if (choice.finish_reason) r.finishReason = FINISH_MAP[choice.finish_reason] ?? choice.finish_reason;
  }
  return r;
}

function fromApiJson(obj) {
  const choice = obj.choices[0];
  const msg = choice.message ?? {};
  return {
    content: msg.content ?? '',
    reasoning: msg.reasoning_content ?? '',
    toolCalls: (msg.tool_calls ?? []).map((t) => ({
      id: t.id,
      type: t.type ?? 'function',
      name: t.function?.name,
      arguments: t.function?.arguments,
    })),
    finishReason: FINISH_MAP[choice.finish_reason] ?? choice.finish_reason,
    usage: openaiUsage(obj.usage),
    contentSteps: [],
  };
}

// What the client must get for the recording `bytes` of `mode` and `kind` ("sse": what a
// streaming request is served; "json": an API non-streaming answer).
export function expectedFromBytes(mode, kind, bytes) {
  if (mode === 'guest') {
    const { text, usage, steps } = guestFinalBuffer(bytes);
    return {
      ...splitGuestMessage(text),
      toolCalls: [],
      finishReason: 'stop',
      usage: openaiUsage(usage),
      contentSteps: growth(steps.map((m) => splitGuestMessage(m).content)),
    };
  }
  if (kind === 'json') return fromApiJson(JSON.parse(bytes.toString('utf8')));
  return fromApiChunks(dataPayloads(bytes));
}

// The same for the case the fake plays under `name` (streams.mjs decides the source).
export async function expected(mode, name, kind = 'sse') {
  const src = await loadStream(mode, name, kind);
  if (!src) throw new Error(`no ${mode} case "${name}" (${kind})`);
  return expectedFromBytes(mode, kind, src.bytes);
}

// Stop-sequence cases built from an expected answer (so golden fixtures can change the text):
// [stop, the content the client must get]. Needs contentSteps (a streamed recording).
export function stopCases(exp) {
  const c = exp.content;
  const k = exp.contentSteps[0];
  if (!(k >= 2 && c.length >= k + 3)) throw new Error(`answer too short for stop cases: ${JSON.stringify(c)}`);
  const cut = (stop) => {
    const hits = [].concat(stop).map((s) => c.indexOf(s)).filter((i) => i >= 0);
    return hits.length ? c.slice(0, Math.min(...hits)) : c;
  };
  return [
    c.slice(k, k + 3), // starts right at the second content delta
    c.slice(k - 1, k + 2), // spans the first two deltas
    [c.slice(-3), c.slice(k, k + 2)], // several: the earliest match wins
    'no-such-stop-\u2603',
  ].map((stop) => [stop, cut(stop)]);
}
