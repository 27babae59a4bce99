// Golden fixtures: tests/fixtures/{guest,api,messages_guest,messages_api,responses_guest,
// responses_api}/<case>/ hold the upstream bytes (upstream.sse or upstream.json, or another
// fixture's, named by options.json "upstream"), options.json and expected.out (the exact bytes
// a client sees, see transcript() in src/engine/translator.h). Every fixture is replayed whole,
// split into two slices at every byte position, and one byte at a time; all must match.
//
// ZPROXY_GOLDEN_REGENERATE=1 rewrites expected.out from the whole-stream run (review the diff!).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "json/json.h"
#include "support/fixture.h"

namespace fs = std::filesystem;
using namespace zproxy;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// The fixture's own recording, or the one its options name ("upstream": a path relative to
// the fixture's folder, so a recording serves every dialect).
fs::path upstream_file(const fs::path& dir, const std::string& options) {
  auto doc = parse_json(options);
  if (doc.ok()) {
    const std::string_view other = doc->member("upstream").string();
    if (!other.empty()) return dir / std::string(other);
  }
  return fs::exists(dir / "upstream.sse") ? dir / "upstream.sse" : dir / "upstream.json";
}

// Runs the bytes through a fresh translator in the given slices.
std::string run(const std::string& options, const std::string& bytes,
                const std::vector<size_t>& cuts) {
  auto tr = translator_from_fixture_options(options);
  REQUIRE(tr.ok());
  std::string out;
  size_t pos = 0;
  for (size_t cut : cuts) {
    tr->feed(std::string_view(bytes).substr(pos, cut - pos));
    out += tr->emitter().take_output();
    pos = cut;
  }
  tr->feed(std::string_view(bytes).substr(pos));
  tr->finish();
  return out + transcript(*tr);
}

std::vector<fs::path> fixture_dirs() {
  std::vector<fs::path> dirs;
  for (const char* mode :
       {"guest", "api", "messages_guest", "messages_api", "responses_guest", "responses_api"}) {
    fs::path root = fs::path(ZPROXY_FIXTURE_DIR) / mode;
    if (!fs::exists(root)) continue;
    for (const auto& e : fs::directory_iterator(root)) {
      if (e.is_directory() && fs::exists(e.path() / "options.json")) dirs.push_back(e.path());
    }
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

}  // namespace

TEST_CASE("golden fixtures replay identically at every split point", "[golden]") {
  const auto dirs = fixture_dirs();
  REQUIRE(!dirs.empty());
  const bool regenerate = std::getenv("ZPROXY_GOLDEN_REGENERATE") != nullptr;
  for (const auto& dir : dirs) {
    INFO("fixture " << dir.string());
    const std::string options = slurp(dir / "options.json");
    const std::string bytes = slurp(upstream_file(dir, options));
    const std::string whole = run(options, bytes, {});
    if (regenerate) {
      std::ofstream(dir / "expected.out", std::ios::binary) << whole;
    }
    REQUIRE(fs::exists(dir / "expected.out"));
    const std::string expected = slurp(dir / "expected.out");
    REQUIRE(whole == expected);
    for (size_t cut = 1; cut < bytes.size(); ++cut) {
      INFO("split at " << cut);
      REQUIRE(run(options, bytes, {cut}) == expected);
    }
    std::vector<size_t> every;
    for (size_t i = 1; i < bytes.size(); ++i) every.push_back(i);
    INFO("one byte at a time");
    REQUIRE(run(options, bytes, every) == expected);
  }
}
