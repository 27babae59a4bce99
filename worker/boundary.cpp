// The one extern "C" boundary between the Wasm core and the Worker shim (worker/core.js,
// worker/driver.js). docs/architecture.md describes the host loop this serves.
//
// Crossings are the cost here (each is a JS→Wasm call), so the shape is:
//   - JS copies its bytes (request head, body, upstream chunks, job answers) into one input
//     buffer per gateway (zp_input grows it; JS keeps the address until it must grow);
//   - every exchange event is one call, zp_event, which leaves the Step in the gateway's Wire
//     (a fixed struct JS reads in place: action, head, poll, attempt, output bytes, deadline);
//   - calls that produce bytes (zp_take_output, zp_head, zp_begin_fetch, zp_poll, zp_fallback)
//     leave them at Wire.out_ptr/out_len, valid until the next call into the module;
//   - jobs of both kinds leave through zp_poll and come back through zp_job_done: HTTP fetches
//     (guest tokens) and state-store calls to a Durable Object (STATE_STORE=durable_object);
//   - zp_store is the Durable Object's side of a store call (worker/state_object.js): it needs
//     no gateway.
// A streamed upstream chunk costs zp_event, zp_take_output and, when the step asks, zp_poll.
// Exchanges are ids, owned here; a gateway lives as long as its module instance.
// Structured values cross as JSON. Times are JS numbers (milliseconds); "never" is -1.

#include <emscripten/emscripten.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/gateway.h"
#include "json/json.h"
#include "state/store.h"

using namespace zproxy;

// Read by worker/core.js at the gateway handle's address (the Handle's base, at offset 0:
// zp_gateway_new checks it); the layout is part of the boundary.
struct Wire {
  int32_t action;       // +0  Action of the last step
  int32_t head_ready;   // +4
  int32_t poll;         // +8
  uint32_t attempt;     // +12
  double output_bytes;  // +16
  double deadline;      // +24 monotonic ms, -1: none
  uint32_t out_ptr;     // +32 bytes the last producing call left
  uint32_t out_len;     // +36
  uint32_t body_ptr;    // +40 zp_begin_fetch: the request body, in place
  uint32_t body_len;    // +44
  double body_limit;    // +48 request bodies above this many bytes: zp_event BodyTooLarge
  uint32_t in_cap;      // +56 the input buffer's size after the last zp_input
  uint32_t reserved;    // +60
};
static_assert(sizeof(Wire) == 64);

struct Handle : Wire {
  Handle(const EnvMap& env, int64_t now, int64_t wall)
      : Wire{}, gw(env, kWorkerLimits, now, wall) {}
  Gateway gw;
  std::vector<char> in;
  std::string out;
  UpstreamRequest fetch;  // the request of the last zp_begin_fetch, until the next one
  std::unordered_map<uint32_t, std::unique_ptr<Exchange>> exchanges;
  uint32_t next_id = 1;
  // Store calls handed out and not yet answered: the kind of operation each reply decodes as.
  std::unordered_map<uint64_t, StoreOpKind> store_calls;
};

namespace {

enum class Event : int32_t {
  kStep = 0,  // no event: the current step
  kBody = 1,  // n bytes of input
  kBodyTooLarge = 2,
  kConnected = 3,
  kHead = 4,  // arg: status
  kData = 5,  // n bytes of input
  kEnd = 6,
  kError = 7,  // arg: 0 connect, 1 reset
  kTimer = 8,
  kClientGone = 9,
};

int64_t ms(double v) {
  return static_cast<int64_t>(v);
}
double js_time(int64_t t) {
  return t == kNever ? -1 : static_cast<double>(t);
}
std::string_view input(Handle* h, uint32_t n) {
  return std::string_view(h->in.data(), std::min<size_t>(n, h->in.size()));
}

uint32_t put(Handle* h, std::string s) {
  h->out = std::move(s);
  h->out_ptr = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(h->out.data()));
  h->out_len = static_cast<uint32_t>(h->out.size());
  return h->out_len;
}

int32_t show(Handle* h, const Step& step) {
  Wire& w = *h;
  w.action = static_cast<int32_t>(step.action);
  w.head_ready = step.head_ready ? 1 : 0;
  w.poll = step.poll ? 1 : 0;
  w.attempt = step.attempt;
  w.output_bytes = static_cast<double>(step.output_bytes);
  w.deadline = js_time(step.deadline);
  return w.action;
}

Exchange* find(Handle* h, uint32_t id) {
  const auto it = h->exchanges.find(id);
  return it == h->exchanges.end() ? nullptr : it->second.get();
}

void write_headers(JsonWriter& w, const std::vector<Header>& headers) {
  w.StartArray();
  for (const Header& hd : headers) {
    w.StartArray();
    w.String(hd.name);
    w.String(hd.value);
    w.EndArray();
  }
  w.EndArray();
}

void write_request(JsonWriter& w, const UpstreamRequest& r) {
  w.Key("method");
  w.String(r.method);
  w.Key("url");
  w.String(r.url);
  w.Key("headers");
  write_headers(w, r.headers);
}

// `doc` absent or not an object: a GET of "/".
RequestHead parse_head(JsonValue doc) {
  RequestHead rh;
  rh.method = doc.member("method").string();
  rh.target = doc.member("target").string("/");
  if (const std::optional<double> cl = doc.member("content_length").number()) {
    rh.content_length = static_cast<int64_t>(*cl);
  }
  for (const JsonValue pair : doc.member("headers").elements()) {
    const JsonValue name = pair.element(0);
    const JsonValue value = pair.element(1);
    if (pair.size() == 2 && name.is_string() && value.is_string()) {
      rh.headers.emplace_back(name.string(), value.string());
    }
  }
  if (rh.method.empty()) rh.method = "GET";
  if (rh.target.empty()) rh.target = "/";
  return rh;
}

void write_fetch_job(JsonWriter& w, uint64_t id, const HttpFetch& fetch) {
  w.StartObject();
  w.Key("id");
  w.Uint64(id);
  w.Key("kind");
  w.String("http");
  w.Key("timeout_ms");
  w.Int64(fetch.timeout_ms);
  w.Key("max_body_bytes");
  w.Uint64(fetch.max_body_bytes);
  write_request(w, fetch.request);
  w.Key("body");
  w.String(fetch.request.body);
  w.EndObject();
}

void write_store_job(JsonWriter& w, uint64_t id, const StoreCall& call) {
  w.StartObject();
  w.Key("id");
  w.Uint64(id);
  w.Key("kind");
  w.String("store");
  w.Key("timeout_ms");
  w.Int64(call.timeout_ms);
  w.Key("object");
  w.String(store_object_name(call.op));
  w.Key("body");
  w.String(store_op_json(call.op));
  w.EndObject();
}

// What the host reported for a store call (zp_job_done), as the gateway takes it. The reasons
// are static text: StoreResult only borrows them.
StoreResult store_result(StoreOpKind kind, int32_t status, std::string_view body) {
  if (status == 0) return {false, {}, body == "timeout" ? "timeout" : "error"};
  if (status != 200) return {false, {}, "error"};
  Result<StoreReply> reply = parse_store_reply(kind, body);
  if (!reply) return {false, {}, "reply"};
  return {true, std::move(*reply), {}};
}

// zp_store's answer block: u32 reply length, u32 state length, u32 flags, then both texts.
constexpr uint32_t kStoreStateUnreadable = 1;  // the state given did not load: started empty

char* store_block(const std::string& reply, const std::string& state, uint32_t flags) {
  const size_t n = 12 + reply.size() + state.size();
  auto* out = static_cast<char*>(std::malloc(n));
  if (out == nullptr) return nullptr;
  const uint32_t head[3] = {static_cast<uint32_t>(reply.size()),
                            static_cast<uint32_t>(state.size()), flags};
  std::memcpy(out, head, sizeof head);
  std::memcpy(out + 12, reply.data(), reply.size());
  std::memcpy(out + 12 + reply.size(), state.data(), state.size());
  return out;
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE void* zp_alloc(uint32_t n) {
  return std::malloc(n == 0 ? 1 : n);
}
EMSCRIPTEN_KEEPALIVE void zp_free(void* p) {
  std::free(p);
}

// env: a JSON object of string values (the Worker's vars and secrets).
EMSCRIPTEN_KEEPALIVE Handle* zp_gateway_new(const char* env, uint32_t env_len, double now,
                                            double wall) {
  EnvMap map;
  auto doc = parse_json(std::string_view(env, env_len));
  if (doc) {
    for (const JsonMember m : doc->members()) {
      if (m.value.is_string()) map.emplace(std::string(m.key), m.value.string());
    }
  }
  auto h = std::make_unique<Handle>(map, ms(now), ms(wall));
  if (static_cast<void*>(static_cast<Wire*>(h.get())) != static_cast<void*>(h.get())) {
    return nullptr;  // JS could not find the Wire
  }
  h->body_limit = static_cast<double>(h->gw.config().max_body_bytes);
  return h.release();  // owned by the module instance: it lives as long as the instance
}

// The input buffer, at least n bytes; its address stays until zp_input is called again. A
// buffer grown for a large body is given back when a small one is asked for (JS asks again
// after such a body).
EMSCRIPTEN_KEEPALIVE char* zp_input(Handle* h, uint32_t n) {
  constexpr size_t kBase = 64u << 10;
  constexpr size_t kKeepAtMost = 1u << 20;
  if (h->in.size() < n || (h->in.size() > kKeepAtMost && n <= kBase)) {
    std::vector<char>().swap(h->in);
    h->in.resize(std::max<size_t>(n, kBase));
  }
  h->in_cap = static_cast<uint32_t>(h->in.size());
  return h->in.data();
}

// Input: the head JSON ({"method","target","headers":[[name,value],…],"content_length":n|-1})
// then `entropy_len` random bytes. Returns the exchange id; its first step is in the Wire.
EMSCRIPTEN_KEEPALIVE uint32_t zp_start(Handle* h, uint32_t head_len, uint32_t entropy_len,
                                       double now, double wall) {
  const std::string_view in = input(h, head_len + entropy_len);
  auto doc = parse_json(in.substr(0, head_len));
  const RequestHead head = parse_head(doc ? JsonValue(*doc) : JsonValue());
  const auto* seed = reinterpret_cast<const uint8_t*>(in.data() + head_len);
  std::unique_ptr<Exchange> ex =
      h->gw.start(head, ms(now), ms(wall), std::span<const uint8_t>(seed, in.size() - head_len));
  show(h, ex->step());
  const uint32_t id = h->next_id++;
  h->exchanges.emplace(id, std::move(ex));
  return id;
}

// One event into exchange `id` (see Event); returns the step's action, or -1 for an unknown id.
EMSCRIPTEN_KEEPALIVE int32_t zp_event(Handle* h, uint32_t id, int32_t event, int32_t arg,
                                      uint32_t n, double now) {
  Exchange* ex = find(h, id);
  if (ex == nullptr) return -1;
  const int64_t t = ms(now);
  switch (static_cast<Event>(event)) {
    case Event::kBody: return show(h, ex->on_body(input(h, n), t));
    case Event::kBodyTooLarge: return show(h, ex->on_body_too_large(t));
    case Event::kConnected: return show(h, ex->on_upstream_connected(t));
    case Event::kHead: return show(h, ex->on_upstream_head(arg, t));
    case Event::kData: return show(h, ex->on_upstream_data(input(h, n), t));
    case Event::kEnd: return show(h, ex->on_upstream_end(t));
    case Event::kError:
      return show(h, ex->on_upstream_error(arg == 0 ? NetError::kConnect : NetError::kReset, t));
    case Event::kTimer: return show(h, ex->on_timer(t));
    case Event::kClientGone: return show(h, ex->on_client_gone(t));
    case Event::kStep: break;
  }
  return show(h, ex->step());
}

// Out: {"method","url","headers":[[n,v]…]}; the body in place at Wire.body_ptr/body_len (up to
// MAX_BODY_BYTES and more: not copied), valid until the next zp_begin_fetch. Length 0: no
// fetch was due.
EMSCRIPTEN_KEEPALIVE uint32_t zp_begin_fetch(Handle* h, uint32_t id) {
  Exchange* ex = find(h, id);
  h->fetch = ex ? ex->begin_fetch() : UpstreamRequest{};
  h->body_ptr = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(h->fetch.body.data()));
  h->body_len = static_cast<uint32_t>(h->fetch.body.size());
  if (h->fetch.url.empty()) return put(h, {});
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  write_request(w, h->fetch);
  w.EndObject();
  return put(h, buf.take());
}

// Out: {"status":n,"streaming":bool,"headers":[[n,v]…]}
EMSCRIPTEN_KEEPALIVE uint32_t zp_head(Handle* h, uint32_t id) {
  Exchange* ex = find(h, id);
  if (ex == nullptr) return put(h, {});
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("status");
  w.Int(ex->status());
  w.Key("streaming");
  w.Bool(ex->streaming());
  w.Key("headers");
  write_headers(w, ex->headers());
  w.EndObject();
  return put(h, buf.take());
}

EMSCRIPTEN_KEEPALIVE uint32_t zp_take_output(Handle* h, uint32_t id) {
  Exchange* ex = find(h, id);
  return put(h, ex ? ex->take_output() : std::string());
}

EMSCRIPTEN_KEEPALIVE void zp_finish(Handle* h, uint32_t id, double now, double wall) {
  const auto it = h->exchanges.find(id);
  if (it == h->exchanges.end()) return;
  std::unique_ptr<Exchange> ex = std::move(it->second);
  h->exchanges.erase(it);
  h->gw.finish(std::move(ex), ms(now), ms(wall));
}

// Out: {"changed":bool,"deadline":ms|-1,"logs":"…","jobs":[job…]}, a job either
// {"id","kind":"http","timeout_ms","max_body_bytes","method","url","headers","body"} or
// {"id","kind":"store","timeout_ms","object":"pool"|"key:<name>","body":"<the operation's JSON>"}.
EMSCRIPTEN_KEEPALIVE uint32_t zp_poll(Handle* h, double now) {
  Poll p = h->gw.poll(ms(now));
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("changed");
  w.Bool(p.changed);
  w.Key("deadline");
  w.Double(js_time(p.next_deadline));
  w.Key("logs");
  w.String(p.logs);
  w.Key("jobs");
  w.StartArray();
  for (const Job& job : p.jobs) {
    if (const auto* fetch = std::get_if<HttpFetch>(&job.work)) {
      write_fetch_job(w, job.id, *fetch);
    } else if (const auto* call = std::get_if<StoreCall>(&job.work)) {
      write_store_job(w, job.id, *call);
      h->store_calls[job.id] = call->op.kind;
    }
  }
  w.EndArray();
  w.EndObject();
  return put(h, buf.take());
}

// The job's answer, n bytes of input. An HTTP fetch: its status and body, status 0 for a
// network failure or timeout. A store call: the object's HTTP status and reply (200: the
// reply's JSON), or status 0 and the reason there is none ("timeout" or "error").
EMSCRIPTEN_KEEPALIVE void zp_job_done(Handle* h, double id, int32_t status, uint32_t n, double now,
                                      double wall) {
  const auto job = static_cast<uint64_t>(id);
  const auto call = h->store_calls.find(job);
  if (call == h->store_calls.end()) {
    h->gw.on_job_done(job, HttpResult{status, input(h, n)}, ms(now), ms(wall));
    return;
  }
  const StoreOpKind kind = call->second;
  h->store_calls.erase(call);
  h->gw.on_job_done(job, store_result(kind, status, input(h, n)), ms(now), ms(wall));
}

// Out: {"status","headers":[[n,v]…],"body"}: the answer when the core itself failed (trap,
// exit, out of memory), rendered while it still works; JS adds a fresh X-Request-Id.
EMSCRIPTEN_KEEPALIVE uint32_t zp_fallback(Handle* h) {
  const Answer a = h->gw.host_answer(
      500, make_error(Errc::kInternalError, "Internal error; the request was not processed"), -1,
      "");
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("status");
  w.Int(a.status);
  w.Key("headers");
  write_headers(w, a.headers);
  w.Key("body");
  w.String(a.body);
  w.EndObject();
  return put(h, buf.take());
}

// One operation of a Durable Object of the state store (worker/state_object.js), with the
// core's own semantics (MemoryStore). Stateless: the object keeps its state as text and hands
// it in with each call. Input at `in`: `state_len` bytes of the object's state
// (MemoryStore::dump(); none for a new object), then `op_len` bytes of the operation's JSON;
// `now` is the object's clock (Unix ms). Returns a block the caller frees with zp_free: u32
// reply length, u32 state length, u32 flags (1: the state given did not load, the operation
// ran on an empty store), the reply's JSON ({"error":…} for a bad operation), then the state
// after the operation. 0: out of memory.
EMSCRIPTEN_KEEPALIVE char* zp_store(const char* in, uint32_t state_len, uint32_t op_len,
                                    double now) {
  MemoryStore store;
  uint32_t flags = 0;
  if (state_len > 0 && !store.load(std::string_view(in, state_len)).ok()) {
    flags |= kStoreStateUnreadable;
  }
  const std::string reply =
      apply_store_json(store, std::string_view(in + state_len, op_len), ms(now));
  return store_block(reply, store.dump(), flags);
}

}  // extern "C"
