#include "core/errors.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace zproxy {

// docs/contract.md §7, the rows a host answers on its own.
TEST_CASE("errors: the codes hosts answer themselves") {
  struct Row {
    int status;
    Errc errc;
    std::string_view type;
    std::string_view code;
  };
  const std::vector<Row> rows = {
      {400, Errc::kInvalidValue, "invalid_request_error", "invalid_value"},
      {408, Errc::kRequestTimeout, "invalid_request_error", "request_timeout"},
      {414, Errc::kInvalidValue, "invalid_request_error", "invalid_value"},
      {431, Errc::kInvalidValue, "invalid_request_error", "invalid_value"},
      {500, Errc::kInternalError, "server_error", "internal_error"},
      {503, Errc::kServerOverloaded, "server_error", "server_overloaded"},
  };
  for (const Row& row : rows) {
    INFO(row.status);
    CHECK(host_errc(row.status) == row.errc);
    const ErrcInfo info = errc_info(row.errc);
    CHECK(info.type == row.type);
    CHECK(info.code == row.code);
    if (row.errc != Errc::kInvalidValue) CHECK(info.status == row.status);
  }
}

TEST_CASE("errors: error_json has all four keys") {
  CHECK(error_json(make_error(Errc::kRequestTimeout, "slow")) ==
        R"({"error":{"message":"slow","type":"invalid_request_error","param":null,)"
        R"("code":"request_timeout"}})");
  CHECK(error_json(make_error(Errc::kServerOverloaded, "full", "x")) ==
        R"({"error":{"message":"full","type":"server_error","param":"x",)"
        R"("code":"server_overloaded"}})");
}

}  // namespace zproxy
