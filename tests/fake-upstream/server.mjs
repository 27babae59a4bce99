// A fake Z.AI upstream for end-to-end tests: the guest web chat and the official API on one
// HTTP(S) server bound to 127.0.0.1, replaying recorded byte streams (streams.mjs) and
// misbehaving on request (rules, below). Node >= 20, no dependencies.
//
// Programmatic: `const fake = await startFake({tls, apiKeys, modelLimits})` -> {url, port, log, script, clear, reset,
//   close, entries, tokens}. Standalone: `node server.mjs [--tls-key F --tls-cert F]` prints
//   {"port":N} as its first stdout line and serves until SIGINT/SIGTERM.
//
// Routes (route name in the log):
//   auth          GET  /api/v1/auths/                 new guest account + unique token
//   guest_chat    POST /api/chat/completions          SSE (Bearer: an issued guest token)
//   guest_models  GET  /api/models                    Open-WebUI model list
//   api_chat      POST /api/paas/v4/chat/completions  SSE or JSON (Bearer: any key, or opts.apiKeys)
//   api_models    GET  /api/paas/v4/models            OpenAI-style list
//   api_tokenizer POST /api/paas/v4/tokenizer         {"usage":{"prompt_tokens":N}} (Bearer as
//                                                     api_chat; model one of TOKENIZER_MODELS,
//                                                     else 1211; N = tokenizerCount(body))
// Control (never logged):
//   POST   /__control/script   a rule, an array of rules, or {"reset":true}
//   DELETE /__control/script   drop all rules
//   GET    /__control/log      the request log (JSON array)
//   POST   /__control/reset    drop rules and log
//
// A rule changes the answer to matching requests; the first live matching rule wins.
//   match:  route (name or array; default both chat routes), credential (bearer value),
//           text (substring of the last user message), model (request body model, or an
//           array of models: any of them)
//   times:  how many matching requests it serves (absent: all)
//   answer instead of the normal one: status, body (string or JSON), headers
//   or shape the normal 200 stream:
//     fixture           play this case instead of the selected one
//     headerDelayMs     wait before the status line
//     dripMs            wait between events
//     pauseAfterEvents  with pauseMs: after N events, wait pauseMs once (silence mid-answer)
//     fragmentBytes     split every write into pieces of this many bytes
//     cutAfterEvents    after N events cut the connection (cutMode "destroy", default) or end
//                       the body cleanly without an end marker (cutMode "end"); "inside": the
//                       body ends cleanly in the middle of event N+1's data line;
//                       "unterminated": it ends after event N+1 without its blank line
//     errorAfterEvents  after N events send an error frame (errorFrame: JSON or raw event
//                       text overrides the mode's default), then end the body
//     hugeBytes         play a generated answer of this many bytes instead of a recording,
//                       honouring socket backpressure (log: bytesOffered, bytesAccepted)
//   or shape the normal tokenizer answer (route "api_tokenizer"; rules without `route` apply to
//   the chat routes only):
//     promptTokens      the N to answer
//
// Chat log entries carry `case` (the played case), `file` (its recording; null for a generated
// case, streams.mjs) and, for a generated case, `plan` (what the answer is).
//
// Model limits (api_chat, the normal answer only: a rule's status/body comes first). A model of
// MODEL_LIMITS answers as Z.AI does, HTTP 400 {"error":{"code":"1210",...}}, and the log entry's
// `refused` says why, when the request's
//   max_tokens        exceeds the model's maxTokens                          "max_tokens"
//   thinking          is {"type":"disabled"} and the model thinks "always"   "thinking"
//   reasoning_effort  is not one of the model's efforts (only models with
//                     an efforts list check it; the others ignore it)        "reasoning_effort"
//   messages          hold an image part and the model has no vision         "image"
// startFake({modelLimits}) replaces the table (false: no checks; API_MODELS still answer).
// Overload of one model is a rule: {model: "glm-4.7", status: 503} or
// {model: "glm-4.7", ...presets.apiError(1305)} (model may be an array).

import http from 'node:http';
import https from 'node:https';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { caseFor, generatedCase, lastUserText, loadStream, splitEvents } from './streams.mjs';

export const ROUTES = {
  'GET /api/v1/auths/': 'auth',
  'POST /api/chat/completions': 'guest_chat',
  'GET /api/models': 'guest_models',
  'POST /api/paas/v4/chat/completions': 'api_chat',
  'GET /api/paas/v4/models': 'api_models',
  'POST /api/paas/v4/tokenizer': 'api_tokenizer',
};
const CHAT_ROUTES = ['guest_chat', 'api_chat'];
// What each official model accepts (Z.AI's model pages): the largest max_tokens, whether
// thinking can be turned off, the reasoning_effort values it validates (null: it ignores the
// field), and whether it reads images.
export const MODEL_LIMITS = Object.freeze({
  'glm-4.5': { maxTokens: 98304, thinking: 'optional', efforts: null, vision: false },
  'glm-4.5-air': { maxTokens: 98304, thinking: 'optional', efforts: null, vision: false },
  'glm-4.5v': { maxTokens: 16384, thinking: 'optional', efforts: null, vision: true },
  'glm-4.6': { maxTokens: 131072, thinking: 'optional', efforts: null, vision: false },
  'glm-4.6v': { maxTokens: 32768, thinking: 'optional', efforts: null, vision: true },
  'glm-4.7': { maxTokens: 131072, thinking: 'optional', efforts: null, vision: false },
  'glm-5': { maxTokens: 131072, thinking: 'optional', efforts: null, vision: false },
  'glm-5.3': { maxTokens: 131072, thinking: 'always', efforts: ['low', 'high', 'max'], vision: false },
  'glm-5v-turbo': { maxTokens: 32768, thinking: 'optional', efforts: null, vision: true },
});
export const API_MODELS = Object.keys(MODEL_LIMITS);
export const VISION_MODELS = API_MODELS.filter((m) => MODEL_LIMITS[m].vision);
// The models Z.AI documents for its tokenizer.
export const TOKENIZER_MODELS = ['glm-4.5', 'glm-4.6', 'glm-4.6v'];
const GUEST_MODELS = ['0727-360B-API', '0727-106B-API', 'glm-4.5v', 'GLM-4-6-API-V1', 'glm-4.7', 'glm-5'];

const API_MESSAGES = {
  1000: 'Authentication failed.',
  1113: 'Your account is in arrears, please recharge and try again.',
  1210: 'Invalid API parameter, please check the documentation.',
  1211: 'Unknown Model, please check the model code.',
  1214: 'Invalid parameter: messages.',
  1261: 'Prompt exceeds max length.',
  1301: 'System detected potentially unsafe or sensitive content in input or generation.',
  1302: 'High concurrency usage of this API, please reduce concurrency or contact customer service to increase limits.',
  1305: 'The service may be temporarily overloaded, please try again later.',
  1312: 'The model is temporarily unavailable due to high load, please try again later.',
};

// Answers for rules: {status, body, headers}.
export const presets = {
  unauthorized: () => ({ status: 401, body: { detail: 'Your token is invalid or has expired.' } }),
  busy: () => ({
    status: 429,
    body: { detail: 'The current concurrency limit has been reached. Please wait for the previous reply to finish.' },
  }),
  firewall: () => ({
    status: 405,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body:
      '<!DOCTYPE html>\n<html><head><title>405 Not Allowed</title></head><body>' +
      '<h1>405 Not Allowed</h1><p>Your request was blocked by the web application firewall.</p>' +
      '<hr><center>waf</center></body></html>\n',
  }),
  signature: () => ({ status: 400, body: { detail: 'Signature validation failed' } }),
  serverError: () => ({ status: 500, body: { detail: 'Internal Server Error' } }),
  apiError: (code, status = 429, message = API_MESSAGES[code] ?? 'Error') => ({
    status,
    body: { error: { code: String(code), message } },
  }),
};

// Whether a chat message list carries an image part (OpenAI's image_url, or a raw `image`).
function hasImage(messages) {
  if (!Array.isArray(messages)) return false;
  return messages.some((m) => Array.isArray(m?.content) && m.content.some((p) => p?.type === 'image_url' || p?.type === 'image'));
}

// Why `model` would refuse this chat body, as {reason, message} (HTTP 400, code 1210), or null.
// limits: a MODEL_LIMITS-shaped table; a model missing from it is never refused here.
// Web search (Z.AI's own tool shape): a request whose tools hold
// {"type":"web_search","web_search":{"enable":true,…}} gets these results as the answer's
// top-level "web_search" (in the first chunk of a stream); a web_search tool in another shape
// (OpenAI's, say) is refused with 1214, as Z.AI refuses it.
export const WEB_RESULTS = [
  { title: 'Z.AI fake search result', link: 'https://example.com/fake-result', content: 'A result the fake returns.', refer: 'ref_1', media: 'example.com' },
];
export function webSearchOf(body) {
  const tools = Array.isArray(body?.tools) ? body.tools : [];
  const search = tools.filter((t) => t?.type === 'web_search');
  if (search.length === 0) return { wanted: false, malformed: false };
  return { wanted: true, malformed: search.some((t) => t.web_search?.enable !== true) };
}

// The first JSON event of an SSE answer with "web_search" results added.
function withSearchResults(events) {
  let done = false;
  return events.map((ev) => {
    const text = ev.toString();
    if (done || !text.startsWith('data: {')) return ev;
    done = true;
    const obj = JSON.parse(text.slice(6).trim());
    return Buffer.from(`data: ${JSON.stringify({ ...obj, web_search: WEB_RESULTS })}\n\n`);
  });
}

export function limitRefusal(body, limits = MODEL_LIMITS) {
  const model = body?.model;
  const lim = limits && typeof model === 'string' ? limits[model] : undefined;
  if (!lim) return null;
  const bad = (reason, what) => ({ reason, message: `${API_MESSAGES[1210]} ${what}` });
  if (typeof body.max_tokens === 'number' && body.max_tokens > lim.maxTokens) {
    return bad('max_tokens', `max_tokens must be at most ${lim.maxTokens} for ${model}.`);
  }
  if (lim.thinking === 'always' && body.thinking?.type === 'disabled') {
    return bad('thinking', `thinking cannot be disabled for ${model}.`);
  }
  if (Array.isArray(lim.efforts) && body.reasoning_effort !== undefined && !lim.efforts.includes(body.reasoning_effort)) {
    return bad('reasoning_effort', `reasoning_effort must be one of ${lim.efforts.join(', ')} for ${model}.`);
  }
  if (!lim.vision && hasImage(body.messages)) {
    return bad('image', `${model} does not support image input.`);
  }
  return null;
}

// The tokenizer's default count: one token per 4 UTF-8 bytes of the compact JSON of the
// request's messages and tools (deterministic, so a test can compute the expected N).
export function tokenizerCount(body) {
  const text = JSON.stringify({ messages: body?.messages ?? [], tools: body?.tools ?? [] });
  return Math.ceil(Buffer.byteLength(text) / 4);
}

const GUEST_ERROR_FRAME =
  'data: {"type": "chat:completion", "data": {"error": {"detail": "Oops, something went wrong. ' +
  'Please refresh the page or try again later.", "code": 500}}}\n\n';
const API_ERROR_FRAME =
  'data: {"error":{"code":"1234","message":"Network error, error id: 20260313050242595b2cb031a74737, ' +
  'please contact customer service"}}\n\n';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function bearer(req) {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return m ? m[1].trim() : null;
}

function b64url(s) {
  return Buffer.from(s).toString('base64url');
}

async function readBody(req, limit = 64 << 20) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size <= limit) chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return { raw: '', parsed: null };
  try {
    return { raw: text, parsed: JSON.parse(text) };
  } catch {
    return { raw: text, parsed: null };
  }
}

function ruleMatches(rule, entry) {
  const routes = rule.route === undefined ? CHAT_ROUTES : [].concat(rule.route);
  if (!routes.includes('*') && !routes.includes(entry.route)) return false;
  if (rule.credential !== undefined && rule.credential !== entry.credential) return false;
  if (rule.model !== undefined && !(entry.body && [].concat(rule.model).includes(entry.body.model))) return false;
  if (rule.text !== undefined && !lastUserText(entry.body).includes(rule.text)) return false;
  return rule.times === undefined || rule.matched < rule.times;
}

// Completes when the response can take more data, or when it is closed.
function writable(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

// response -> promise of its last write reaching the socket
const flushed = new WeakMap();

// Writes one piece, counting bytes the socket accepted; waits when the socket pushes back.
async function writeCounted(res, entry, buf) {
  if (res.destroyed || res.writableEnded) return;
  entry.bytesOffered += buf.length;
  let ok;
  flushed.set(
    res,
    new Promise((resolve) => {
      ok = res.write(buf, (err) => {
        if (!err) entry.bytesAccepted += buf.length;
        resolve();
      });
    }),
  );
  if (!ok) await writable(res);
}

async function writePiece(res, entry, buf, rule) {
  const size = rule?.fragmentBytes;
  if (!size) return writeCounted(res, entry, buf);
  for (let off = 0; off < buf.length && !res.destroyed; off += size) {
    const part = buf.subarray(off, off + size);
    entry.bytesOffered += part.length;
    await new Promise((resolve) => {
      res.write(part, (err) => {
        if (!err) entry.bytesAccepted += part.length;
        resolve();
      });
    });
  }
}

// Generated answer events of ~16 KiB each until `total` bytes, then the mode's end marker.
function* hugeEvents(mode, total) {
  const fill = 'All work and no play makes Jack a dull boy. '.repeat(372);
  const event =
    mode === 'guest'
      ? Buffer.from(`data: {"type": "chat:completion", "data": {"delta_content": "${fill}", "phase": "answer"}}\n\n`)
      : Buffer.from(
          `data: {"id":"huge","created":1773349362,"model":"glm-4.6","choices":[{"index":0,"delta":{"role":"assistant","content":"${fill}"}}]}\n\n`,
        );
  for (let sent = 0; sent < total; sent += event.length) yield event;
  if (mode === 'guest') {
    yield Buffer.from('data: {"type": "chat:completion", "data": {"done": true, "delta_content": "", "phase": "done"}}\n\n');
  } else {
    yield Buffer.from(
      'data: {"id":"huge","created":1773349362,"model":"glm-4.6","choices":[{"index":0,"finish_reason":"stop","delta":{"role":"assistant","content":""}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}\n\ndata: [DONE]\n\n',
    );
  }
}

function errorFrame(mode, rule) {
  if (rule.errorFrame === undefined) return mode === 'guest' ? GUEST_ERROR_FRAME : API_ERROR_FRAME;
  if (typeof rule.errorFrame === 'string') return rule.errorFrame;
  return `data: ${JSON.stringify(rule.errorFrame)}\n\n`;
}

// Ends the answer without its end marker, after what was written reached the socket. `next`:
// the event that would have come next (for the cut modes that send part of it).
async function cut(res, entry, rule, next) {
  entry.cut = true;
  if ((rule.cutMode === 'inside' || rule.cutMode === 'unterminated') && next) {
    const text = next.toString();
    const piece = rule.cutMode === 'inside'
      ? text.slice(0, Math.max(text.indexOf(':') + 3, text.trimEnd().length >> 1))
      : text.replace(/\r?\n\r?\n$/, '\n');
    await writePiece(res, entry, Buffer.from(piece), rule);
    return res.end();
  }
  if (rule.cutMode === 'end') return res.end();
  await flushed.get(res);
  res.socket?.destroy();
}

// Plays an event sequence as a 200 answer, applying the rule's stream behaviour.
async function play(res, entry, mode, events, rule, contentType) {
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache' });
  res.flushHeaders();
  let i = 0;
  for (const ev of events) {
    if (res.destroyed) return;
    if (rule.cutAfterEvents === i) return cut(res, entry, rule, ev);
    if (rule.errorAfterEvents === i) {
      await writePiece(res, entry, Buffer.from(errorFrame(mode, rule)), rule);
      entry.errorSent = true;
      return res.end();
    }
    if (i > 0 && rule.dripMs) await sleep(rule.dripMs);
    if (rule.pauseAfterEvents === i && rule.pauseMs) await sleep(rule.pauseMs);
    if (res.destroyed) return;
    await writePiece(res, entry, ev, rule);
    i++;
  }
  if (rule.cutAfterEvents !== undefined && rule.cutAfterEvents >= i) return cut(res, entry, rule);
  if (rule.errorAfterEvents !== undefined && rule.errorAfterEvents >= i) {
    await writePiece(res, entry, Buffer.from(errorFrame(mode, rule)), rule);
    entry.errorSent = true;
  }
  res.end();
}

function sendPlain(res, entry, status, body, headers = {}) {
  const isText = typeof body === 'string';
  const bytes = Buffer.from(isText ? body : JSON.stringify(body ?? {}));
  const h = { 'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json', ...headers };
  h['content-length'] = String(bytes.length);
  res.writeHead(status, h);
  entry.bytesOffered += bytes.length;
  res.end(bytes, () => {
    entry.bytesAccepted += bytes.length;
  });
}

export async function startFake(opts = {}) {
  const log = [];
  const rules = [];
  const tokens = new Map(); // guest token -> {n, issuedAt}
  const apiKeys = opts.apiKeys ? new Set(opts.apiKeys) : null;
  const modelLimits = opts.modelLimits === undefined ? MODEL_LIMITS : opts.modelLimits || {};
  let seq = 0;
  let accounts = 0;

  function issueToken() {
    const n = ++accounts;
    const id = randomUUID();
    const stamp = Date.now() + n;
    const payload = { id, email: `Guest-${stamp}@guest.com` };
    const token = `${b64url('{"alg":"ES256","typ":"JWT"}')}.${b64url(JSON.stringify(payload))}.${randomBytes(
      24,
    ).toString('base64url')}`;
    tokens.set(token, { n, issuedAt: Date.now() });
    return { id, email: payload.email, name: `Guest-${stamp}`, role: 'guest', token, token_type: 'Bearer', expires_at: null };
  }

  async function serveStream(res, entry, mode, rule) {
    const name = rule.fixture ?? entry.case;
    entry.case = name;
    if (rule.hugeBytes) return play(res, entry, mode, hugeEvents(mode, rule.hugeBytes), rule, 'text/event-stream; charset=utf-8');
    const stream = generatedCase(mode, name, entry.body, 'sse') ?? (await loadStream(mode, name, 'sse'));
    if (!stream) {
      entry.error = `unknown ${mode} case "${name}"`;
      return sendPlain(res, entry, 500, { detail: `fake upstream: ${entry.error}` });
    }
    entry.file = stream.file;
    if (stream.plan) entry.plan = stream.plan;
    let events = splitEvents(stream.bytes);
    if (mode === 'api' && webSearchOf(entry.body).wanted) events = withSearchResults(events);
    return play(res, entry, mode, events, rule, 'text/event-stream; charset=utf-8');
  }

  async function serveJson(res, entry, rule) {
    const name = rule.fixture ?? entry.case;
    entry.case = name;
    const stream = generatedCase('api', name, entry.body, 'json') ?? (await loadStream('api', name, 'json'));
    if (!stream) {
      entry.error = `unknown api case "${name}" (json)`;
      return sendPlain(res, entry, 500, { detail: `fake upstream: ${entry.error}` });
    }
    entry.file = stream.file;
    if (stream.plan) entry.plan = stream.plan;
    if (webSearchOf(entry.body).wanted) {
      stream.bytes = Buffer.from(JSON.stringify({ ...JSON.parse(stream.bytes.toString()), web_search: WEB_RESULTS }));
    }
    if (rule.cutAfterEvents !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json' });
      await writePiece(res, entry, stream.bytes.subarray(0, stream.bytes.length >> 1), rule);
      return cut(res, entry, rule);
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(stream.bytes.length) });
    await writePiece(res, entry, stream.bytes, rule);
    res.end();
  }

  function modelList(route) {
    if (route === 'api_models') {
      return { object: 'list', data: API_MODELS.map((id) => ({ id, object: 'model', created: 1767225600, owned_by: 'z-ai' })) };
    }
    return { data: GUEST_MODELS.map((id) => ({ id, name: id, info: { meta: { capabilities: { vision: id.includes('v') } } } })) };
  }

  // The normal answer of a route, when no rule replaced it.
  async function serveRoute(res, entry, rule) {
    switch (entry.route) {
      case 'auth': {
        const account = issueToken();
        entry.issuedToken = account.token;
        return sendPlain(res, entry, 200, account);
      }
      case 'guest_chat':
        if (!entry.credential || !tokens.has(entry.credential)) {
          const p = presets.unauthorized();
          return sendPlain(res, entry, p.status, p.body);
        }
        return serveStream(res, entry, 'guest', rule);
      case 'api_chat': {
        if (!entry.credential || (apiKeys && !apiKeys.has(entry.credential))) {
          const p = presets.apiError(1000, 401);
          return sendPlain(res, entry, p.status, p.body);
        }
        const model = entry.body?.model;
        if (typeof model !== 'string' || !API_MODELS.includes(model)) {
          const p = presets.apiError(1211, 400);
          return sendPlain(res, entry, p.status, p.body);
        }
        if (webSearchOf(entry.body).malformed) {
          entry.refused = 'web_search';
          const p = presets.apiError(1214, 400, 'web_search tool: invalid parameters');
          return sendPlain(res, entry, p.status, p.body);
        }
        const refusal = limitRefusal(entry.body, modelLimits);
        if (refusal) {
          entry.refused = refusal.reason;
          const p = presets.apiError(1210, 400, refusal.message);
          return sendPlain(res, entry, p.status, p.body);
        }
        if (entry.body.stream === true) return serveStream(res, entry, 'api', rule);
        return serveJson(res, entry, rule);
      }
      case 'api_tokenizer': {
        if (!entry.credential || (apiKeys && !apiKeys.has(entry.credential))) {
          const p = presets.apiError(1000, 401);
          return sendPlain(res, entry, p.status, p.body);
        }
        if (!TOKENIZER_MODELS.includes(entry.body?.model)) {
          const p = presets.apiError(1211, 400);
          return sendPlain(res, entry, p.status, p.body);
        }
        if (!Array.isArray(entry.body.messages)) {
          const p = presets.apiError(1214, 400);
          return sendPlain(res, entry, p.status, p.body);
        }
        const n = rule.promptTokens ?? tokenizerCount(entry.body);
        entry.promptTokens = n;
        const id = `${Date.now()}${randomBytes(8).toString('hex')}`;
        return sendPlain(res, entry, 200, { id, created: Math.floor(Date.now() / 1000), request_id: id, usage: { prompt_tokens: n } });
      }
      case 'guest_models':
      case 'api_models':
        return sendPlain(res, entry, 200, modelList(entry.route));
      default:
        break;
    }
    return sendPlain(res, entry, 404, { detail: 'Not Found' });
  }

  function addRules(input) {
    const added = [];
    for (const r of [].concat(input)) {
      if (!r || typeof r !== 'object') throw new Error('a rule must be an object');
      const rule = { ...r, matched: 0 };
      rules.push(rule);
      added.push(rule);
    }
    return added;
  }

  async function control(req, res, pathname) {
    const reply = (status, body) => {
      const bytes = Buffer.from(JSON.stringify(body));
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(bytes.length) });
      res.end(bytes);
    };
    if (pathname === '/__control/log' && req.method === 'GET') return reply(200, log);
    if (pathname === '/__control/reset' && req.method === 'POST') {
      api.reset();
      return reply(200, { ok: true });
    }
    if (pathname === '/__control/script' && req.method === 'DELETE') {
      rules.length = 0;
      return reply(200, { ok: true, rules: 0 });
    }
    if (pathname === '/__control/script' && req.method === 'POST') {
      const { parsed } = await readBody(req);
      if (parsed && parsed.reset === true) {
        rules.length = 0;
        return reply(200, { ok: true, rules: 0 });
      }
      try {
        addRules(parsed);
      } catch (e) {
        return reply(400, { ok: false, error: e.message });
      }
      return reply(200, { ok: true, rules: rules.length });
    }
    return reply(404, { ok: false, error: 'unknown control endpoint' });
  }

  async function handle(req, res) {
    const pathname = new URL(req.url, 'http://x').pathname;
    if (pathname.startsWith('/__control/')) return control(req, res, pathname);
    const entry = {
      seq: ++seq,
      time: Date.now(),
      method: req.method,
      path: pathname,
      route: ROUTES[`${req.method} ${pathname}`] ?? 'unknown',
      credential: bearer(req),
      headers: { ...req.headers },
      body: null,
      case: null,
      rule: null,
      status: null,
      finished: false,
      finishedAt: null,
      hungUp: false,
      hungUpAt: null,
      cut: false,
      errorSent: false,
      refused: null,
      bytesOffered: 0,
      bytesAccepted: 0,
    };
    log.push(entry);
    res.on('finish', () => {
      entry.finished = true;
      entry.finishedAt = Date.now();
    });
    res.on('close', () => {
      if (!res.writableFinished && !entry.cut) {
        entry.hungUp = true;
        entry.hungUpAt = Date.now();
      }
    });
    const { parsed, raw } = await readBody(req);
    entry.body = parsed ?? (raw === '' ? null : { _raw: raw });
    if (entry.route === 'guest_chat' || entry.route === 'api_chat') entry.case = caseFor(entry.body);

    const index = rules.findIndex((r) => ruleMatches(r, entry));
    const rule = index >= 0 ? rules[index] : {};
    if (index >= 0) {
      rule.matched++;
      entry.rule = index;
    }
    const origWriteHead = res.writeHead;
    res.writeHead = function (status, ...rest) {
      entry.status = status;
      return origWriteHead.call(this, status, ...rest);
    };
    if (rule.headerDelayMs) await sleep(rule.headerDelayMs);
    if (res.destroyed) return;
    if (rule.status !== undefined || rule.body !== undefined) {
      return sendPlain(res, entry, rule.status ?? 200, rule.body ?? '', rule.headers);
    }
    return serveRoute(res, entry, rule);
  }

  const onRequest = (req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake upstream failure: ${err.stack}`);
      } else {
        res.destroy(err);
      }
    });
  };
  const server = opts.tls
    ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, onRequest)
    : http.createServer(onRequest);
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', resolve);
  });
  const port = server.address().port;
  const scheme = opts.tls ? 'https' : 'http';
  const host = opts.tls ? opts.tls.hostname ?? 'localhost' : '127.0.0.1';

  const api = {
    port,
    url: `${scheme}://${host}:${port}`,
    log,
    rules,
    // Adds rule(s); returns the live rule objects (their `matched` counts grow).
    script: (input) => addRules(input),
    clear: () => {
      rules.length = 0;
    },
    reset: () => {
      rules.length = 0;
      log.length = 0;
    },
    entries: (route) => log.filter((e) => route === undefined || [].concat(route).includes(e.route)),
    tokens: () => [...tokens.keys()],
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return api;
}

async function main(argv) {
  const arg = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const { readFileSync } = await import('node:fs');
  const keyFile = arg('--tls-key');
  const certFile = arg('--tls-cert');
  const tls = keyFile && certFile ? { key: readFileSync(keyFile), cert: readFileSync(certFile) } : undefined;
  const port = arg('--port') ? Number(arg('--port')) : 0;
  const fake = await startFake({ tls, port });
  process.stdout.write(`${JSON.stringify({ port: fake.port })}\n`);
  const stop = () => fake.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
}
