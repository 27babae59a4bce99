// The test twin of worker/boundary.cpp: golden fixtures and the translation benchmark through
// a Wasm module built exactly like the shipped one (same core, flags and libc), with hooks the
// shipped module must not carry. tests/wasm/fixtures.test.mjs and bench/wasm_bench.mjs use it.
//
// Conventions as in worker/boundary.cpp: JS copies bytes into memory from zp_alloc and frees
// them with zp_free; a result is left in an Output whose bytes JS reads at zp_output_data ..
// + the returned length before the next call.

#include <emscripten/emscripten.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "support/fixture.h"

using namespace zproxy;

struct Output {
  std::string bytes;
};

namespace {

std::string_view view(const char* p, uint32_t n) {
  return std::string_view(p, n);
}

uint32_t put(Output* o, std::string s) {
  o->bytes = std::move(s);
  return static_cast<uint32_t>(o->bytes.size());
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE void* zp_alloc(uint32_t n) {
  return std::malloc(n == 0 ? 1 : n);
}
EMSCRIPTEN_KEEPALIVE void zp_free(void* p) {
  std::free(p);
}

// One Output for the module's life (a test instance is discarded whole).
EMSCRIPTEN_KEEPALIVE Output* zp_output_new() {
  return std::make_unique<Output>().release();
}
EMSCRIPTEN_KEEPALIVE const char* zp_output_data(Output* o) {
  return o->bytes.data();
}

// Options JSON + upstream bytes fed in slices cut at the ascending byte offsets
// `cuts[0..ncuts)` -> the transcript (tests/support/fixture.h).
EMSCRIPTEN_KEEPALIVE uint32_t zp_fixture_run(Output* o, const char* opt, uint32_t opt_len,
                                             const char* bytes, uint32_t n, const uint32_t* cuts,
                                             uint32_t ncuts) {
  auto tr = translator_from_fixture_options(view(opt, opt_len));
  if (!tr) return put(o, "fixture options: " + tr.error().message);
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
  return put(o, std::move(out));
}

// Per run, exactly the work bench/core_bench.cpp times natively: the options parsed into a
// fresh translator; the bytes, already in linear memory, fed in consecutive `read_bytes`
// slices; after each slice its output taken from the emitter (a std::string, as a host hands
// it on) and only counted; then finish() and the transcript, counted too. Returns the output's
// byte count, or -1 when the options do not parse or read_bytes is 0.
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
