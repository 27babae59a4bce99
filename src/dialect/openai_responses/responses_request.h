#pragma once
// The Responses dialect's parser: an OpenAI Responses request body (POST /v1/responses),
// validated and translated to the canonical request (src/core/canonical.h), per
// docs/contract.md §13.2. Stateless: nothing refers to a stored response.
//
// Mode-independent, as the other dialects' parsers: what one upstream mode cannot serve (guest
// tools, images) is refused by that upstream's adapter.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/canonical.h"
#include "core/result.h"

namespace zproxy {

// A tool as the client declared it, and the name it has upstream (a function of that name).
struct ResponsesTool {
  enum class Kind : uint8_t {
    kFunction,  // calls come back as function_call items
    kCustom,    // freeform: upstream sees one required string parameter "input"; calls come
                // back as custom_tool_call items whose input is that string
  };
  Kind kind = Kind::kFunction;
  std::string upstream_name;  // "<namespace>__<name>" for a namespace's children (then
                              // shortened as core/tool_names.h says when over 64 characters)
  std::string name;           // the client's name
  std::string ns;             // the namespace, empty for top-level tools
};

struct ResponsesRequest {
  CanonicalRequest canonical;  // canonical.stream is the client's choice
  std::vector<ResponsesTool> tools;
  // Where the reasoning text goes: reasoning.summary non-null -> summary[] (else content[]).
  bool reasoning_summary = false;
  // include ["reasoning.encrypted_content"]: reasoning items carry "encrypted_content":null.
  bool encrypted_reasoning = false;
  // The request fields every response object echoes, as compact JSON members without the
  // surrounding braces, in this order, each present (defaults in brackets):
  //   "instructions" [null], "max_output_tokens" [null], "parallel_tool_calls" [true],
  //   "reasoning" [{"effort":null,"summary":null}], "temperature" [null], "text"
  //   [{"format":{"type":"text"}}], "tool_choice" ["auto"], "tools" [[]] (the declined tools
  //   left out), "top_p" [null], "user" [null], "safety_identifier" [null],
  //   "prompt_cache_key" [null], "metadata" [{}]
  std::string echo;
  // Tool types declined without an error (web_search*, tool_search), for the log.
  std::vector<std::string> declined_tools;
  // A web_search tool that allows external access: served as Z.AI's web search when
  // WEB_SEARCH=on (the engine then takes it off declined_tools).
  bool web_search = false;
};

// Every error is a 400 with `param` naming the Responses field ("input[2].type",
// "tools[0].type", "text.format", "previous_response_id", …): kInvalidJson, kInvalidValue,
// kMissingRequiredParameter or kUnsupportedValue.
Result<ResponsesRequest> parse_responses_request(std::string_view body);

}  // namespace zproxy
