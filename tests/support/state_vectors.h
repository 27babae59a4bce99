#pragma once
// tests/fixtures/state/vectors.json as every backend's test reads it: the file, a JSON value's
// text, and the check of one step's `expect` against a reply in the store's JSON form (a member
// missing at the reply's top is looked up in its `usage`).

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "json/json.h"

namespace zproxy::test {

inline std::string json_text(JsonValue v) {
  JsonBuffer buf;
  JsonWriter w(buf);
  w.Value(v);
  return buf.take();
}

inline std::string read_state_vectors() {
  std::ifstream in(std::string(ZPROXY_FIXTURE_DIR) + "/state/vectors.json");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Checks every member of the step's `expect`; returns how many were checked.
inline size_t check_step_reply(JsonValue step, std::string_view reply_text) {
  auto reply = parse_json(reply_text);
  REQUIRE(reply.ok());
  REQUIRE_FALSE(reply->member("error"));
  size_t checked = 0;
  for (const auto& [name, want] : step.member("expect").members()) {
    JsonValue got = reply->member(name);
    if (!got) got = reply->member("usage").member(name);
    CHECK(std::string(name) + "=" + json_text(got) == std::string(name) + "=" + json_text(want));
    ++checked;
  }
  return checked;
}

}  // namespace zproxy::test
