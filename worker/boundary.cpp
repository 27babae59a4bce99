// The one extern "C" boundary between the Wasm core and the Worker shim (worker/index.js).
//
// Conventions: JS copies bytes into memory it got from zp_alloc and frees them with zp_free.
// Functions that produce bytes write them into the handle's scratch buffer and return its
// length; JS then reads zp_scratch(handle) .. +length before the next call (memory growth
// detaches views, so JS re-creates its views after every call). Structured values cross as
// JSON. Times are JS numbers (milliseconds); "never" is returned as -1.

#include <emscripten/emscripten.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engine/gateway.h"
#include "engine/translator.h"
#include "json/json.h"
#include "pool/credential_pool.h"

using namespace zproxy;

namespace {

struct Handle {
  Handle(const EnvMap& env, int64_t now, int64_t wall) : gw(env, HostKind::kWorker, now, wall) {}
  Gateway gw;
  std::string scratch;
};

int64_t ms(double v) {
  return static_cast<int64_t>(v);
}
std::string_view view(const char* p, uint32_t n) {
  return std::string_view(p, n);
}

uint32_t put(Handle* h, std::string s) {
  h->scratch = std::move(s);
  return static_cast<uint32_t>(h->scratch.size());
}

void write_headers(JsonWriter& w, const std::vector<Header>& headers) {
  w.StartArray();
  for (const Header& hd : headers) {
    w.StartArray();
    json_write_string(w, hd.name);
    json_write_string(w, hd.value);
    w.EndArray();
  }
  w.EndArray();
}

// method, url, headers and, unless `with_body` is false, body.
void write_request(JsonWriter& w, const UpstreamRequest& r, bool with_body) {
  w.Key("method");
  json_write_string(w, r.method);
  w.Key("url");
  json_write_string(w, r.url);
  w.Key("headers");
  write_headers(w, r.headers);
  if (!with_body) return;
  w.Key("body");
  json_write_string(w, r.body);
}

std::string finish_json(JsonBuffer& buf) {
  return buf.take();
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE void* zp_alloc(uint32_t n) {
  return std::malloc(n == 0 ? 1 : n);
}
EMSCRIPTEN_KEEPALIVE void zp_free(void* p) {
  std::free(p);
}
EMSCRIPTEN_KEEPALIVE const char* zp_scratch(Handle* h) {
  return h->scratch.data();
}

// env: a JSON object of string values (the Worker's vars and secrets).
EMSCRIPTEN_KEEPALIVE Handle* zp_gateway_new(const char* env, uint32_t env_len, double now,
                                            double wall) {
  EnvMap map;
  auto doc = parse_json(view(env, env_len));
  if (doc && doc->IsObject()) {
    const rapidjson::Value& obj = *doc;  // const iterators: no C++20 reversed-operator ambiguity
    for (const auto& m : obj.GetObject()) {
      if (m.value.IsString()) map.emplace(std::string(as_view(m.name)), as_view(m.value));
    }
  }
  return new Handle(map, ms(now), ms(wall));
}

EMSCRIPTEN_KEEPALIVE int zp_config_ok(Handle* h) {
  return h->gw.config_error() ? 0 : 1;
}

// head: {"method","target","headers":[[name,value],…],"content_length":n|-1}
EMSCRIPTEN_KEEPALIVE Exchange* zp_start(Handle* h, const char* head, uint32_t head_len, double now,
                                        double wall, const uint8_t* entropy, uint32_t entropy_len) {
  auto doc = parse_json(view(head, head_len));
  RequestHead rh;
  if (doc && doc->IsObject()) {
    rh.method = json_string(*doc, "method");
    rh.target = json_string(*doc, "target", "/");
    if (const auto* cl = json_member(*doc, "content_length"); cl && cl->IsNumber()) {
      rh.content_length = static_cast<int64_t>(cl->GetDouble());
    }
    if (const auto* hs = json_member(*doc, "headers"); hs && hs->IsArray()) {
      for (const auto& pair : hs->GetArray()) {
        if (pair.IsArray() && pair.Size() == 2 && pair[0].IsString() && pair[1].IsString()) {
          rh.headers.emplace_back(as_view(pair[0]), as_view(pair[1]));
        }
      }
    }
  }
  if (rh.method.empty()) rh.method = "GET";
  if (rh.target.empty()) rh.target = "/";
  return &h->gw.start(rh, ms(now), ms(wall), std::span<const uint8_t>(entropy, entropy_len));
}

EMSCRIPTEN_KEEPALIVE int zp_next(Exchange* ex) {
  return static_cast<int>(ex->next());
}
EMSCRIPTEN_KEEPALIVE double zp_body_limit(Exchange* ex) {
  return static_cast<double>(ex->body_limit());
}
EMSCRIPTEN_KEEPALIVE void zp_on_body(Exchange* ex, const char* p, uint32_t n, double now) {
  ex->on_body(view(p, n), ms(now));
}
EMSCRIPTEN_KEEPALIVE void zp_on_body_too_large(Exchange* ex, double now) {
  ex->on_body_too_large(ms(now));
}

// {"method","url","headers":[[n,v]…]}. The body (up to MAX_BODY_BYTES and more) is read in
// place, without copies: zp_upstream_body .. + zp_upstream_body_len, valid until the next call
// into this exchange.
EMSCRIPTEN_KEEPALIVE uint32_t zp_upstream_request(Handle* h, Exchange* ex) {
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  write_request(w, ex->upstream_request(), false);
  w.EndObject();
  return put(h, finish_json(buf));
}
EMSCRIPTEN_KEEPALIVE const char* zp_upstream_body(Exchange* ex) {
  return ex->upstream_request().body.data();
}
EMSCRIPTEN_KEEPALIVE uint32_t zp_upstream_body_len(Exchange* ex) {
  return static_cast<uint32_t>(ex->upstream_request().body.size());
}

EMSCRIPTEN_KEEPALIVE void zp_on_upstream_connected(Exchange* ex, double now) {
  ex->on_upstream_connected(ms(now));
}
EMSCRIPTEN_KEEPALIVE void zp_on_upstream_head(Exchange* ex, int status, double now) {
  ex->on_upstream_head(status, {}, ms(now));
}
EMSCRIPTEN_KEEPALIVE void zp_on_upstream_data(Exchange* ex, const char* p, uint32_t n, double now) {
  ex->on_upstream_data(view(p, n), ms(now));
}
EMSCRIPTEN_KEEPALIVE void zp_on_upstream_end(Exchange* ex, double now) {
  ex->on_upstream_end(ms(now));
}
EMSCRIPTEN_KEEPALIVE void zp_on_upstream_error(Exchange* ex, int kind, double now) {
  ex->on_upstream_error(kind == 0 ? NetError::kConnect : NetError::kReset, ms(now));
}

EMSCRIPTEN_KEEPALIVE double zp_deadline(Exchange* ex) {
  const int64_t d = ex->deadline();
  return d == kNever ? -1 : static_cast<double>(d);
}
EMSCRIPTEN_KEEPALIVE void zp_on_timer(Exchange* ex, double now) {
  ex->on_timer(ms(now));
}
EMSCRIPTEN_KEEPALIVE void zp_on_client_gone(Exchange* ex, double now) {
  ex->on_client_gone(ms(now));
}

EMSCRIPTEN_KEEPALIVE int zp_head_ready(Exchange* ex) {
  return ex->head_ready() ? 1 : 0;
}
// {"status":n,"streaming":bool,"headers":[[n,v]…]}
EMSCRIPTEN_KEEPALIVE uint32_t zp_head(Handle* h, Exchange* ex) {
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
  return put(h, finish_json(buf));
}
EMSCRIPTEN_KEEPALIVE uint32_t zp_take_output(Handle* h, Exchange* ex) {
  return put(h, ex->take_output());
}
EMSCRIPTEN_KEEPALIVE void zp_finish(Handle* h, Exchange* ex, double now, double wall) {
  h->gw.finish(*ex, ms(now), ms(wall));
}

// [{"id","timeout_ms","method","url","headers","body"}…]; timeout_ms bounds the whole fetch
// (the native host's budget: connect + first byte).
EMSCRIPTEN_KEEPALIVE uint32_t zp_take_jobs(Handle* h, double now) {
  const Config& cfg = h->gw.config();
  JsonBuffer buf;
  JsonWriter w(buf);
  w.StartArray();
  for (const Job& job : h->gw.take_jobs(ms(now))) {
    w.StartObject();
    w.Key("id");
    w.Uint64(job.id);
    w.Key("timeout_ms");
    w.Int64(cfg.connect_timeout_ms + cfg.first_byte_timeout_ms);
    write_request(w, job.request, true);
    w.EndObject();
  }
  w.EndArray();
  return put(h, finish_json(buf));
}
EMSCRIPTEN_KEEPALIVE void zp_on_job_done(Handle* h, double id, int status, const char* p,
                                         uint32_t n, double now, double wall) {
  h->gw.on_job_done(static_cast<uint64_t>(id), status, view(p, n), ms(now), ms(wall));
}
EMSCRIPTEN_KEEPALIVE double zp_next_deadline(Handle* h, double now) {
  const int64_t d = h->gw.next_deadline(ms(now));
  return d == kNever ? -1 : static_cast<double>(d);
}
EMSCRIPTEN_KEEPALIVE double zp_version(Handle* h) {
  return static_cast<double>(h->gw.version());
}
EMSCRIPTEN_KEEPALIVE uint32_t zp_take_logs(Handle* h) {
  return put(h, h->gw.take_logs());
}

// Golden fixtures through this very module: options JSON + upstream bytes fed in slices cut
// at the ascending byte offsets `cuts[0..ncuts)` -> the transcript (src/engine/translator.h).
EMSCRIPTEN_KEEPALIVE uint32_t zp_fixture_run(Handle* h, const char* opt, uint32_t opt_len,
                                             const char* bytes, uint32_t n, const uint32_t* cuts,
                                             uint32_t ncuts) {
  auto tr = translator_from_fixture_options(view(opt, opt_len));
  if (!tr) return put(h, "fixture options: " + tr.error().message);
  std::string out;
  const std::string_view all = view(bytes, n);
  size_t pos = 0;
  for (uint32_t i = 0; i <= ncuts; ++i) {
    const size_t end = i < ncuts && cuts[i] >= pos && cuts[i] <= n ? cuts[i] : n;
    tr->feed(all.substr(pos, end - pos));
    out += tr->emitter().take_output();
    pos = end;
  }
  tr->finish();
  out += transcript(*tr);
  return put(h, std::move(out));
}

// Benchmark twin of zp_fixture_run (bench/wasm_bench.mjs): per run, exactly the work
// bench/core_bench.cpp times natively. The options are parsed into a fresh translator; the
// bytes, already in linear memory, are fed in consecutive `read_bytes` slices; after each slice
// its output is taken from the emitter (a std::string, as a host hands it on) and only counted;
// then finish() and the transcript, counted too. Returns the output's byte count, or -1 when
// the options do not parse or read_bytes is 0.
EMSCRIPTEN_KEEPALIVE double zp_fixture_bench(const char* opt, uint32_t opt_len, const char* bytes,
                                             uint32_t n, uint32_t read_bytes) {
  auto tr = translator_from_fixture_options(view(opt, opt_len));
  if (!tr || read_bytes == 0) return -1;
  const std::string_view all = view(bytes, n);
  size_t total = 0;
  for (size_t pos = 0; pos < all.size(); pos += read_bytes) {
    tr->feed(all.substr(pos, read_bytes));
    std::string piece = tr->emitter().take_output();
    total += piece.size();
  }
  tr->finish();
  total += transcript(*tr).size();
  return static_cast<double>(total);
}

}  // extern "C"
