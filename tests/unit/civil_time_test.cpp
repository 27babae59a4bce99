#include "core/civil_time.h"

#include <catch2/catch.hpp>

using namespace zproxy;

// Checked at compile time as well: the algorithms are constexpr.
static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);
static_assert(days_from_civil(1969, 12, 31) == -1);
static_assert(civil_from_days(-1).year == 1969 && civil_from_days(-1).day == 31);
static_assert(days_in_month(2024, 2) == 29 && days_in_month(1900, 2) == 28 &&
              days_in_month(2000, 2) == 29 && days_in_month(2026, 11) == 30);

TEST_CASE("civil dates round-trip through day numbers", "[civil_time]") {
  for (int64_t days = -800'000; days <= 800'000; days += 37) {
    const CivilDate d = civil_from_days(days);
    REQUIRE(d.month >= 1);
    REQUIRE(d.month <= 12);
    REQUIRE(d.day >= 1);
    REQUIRE(d.day <= days_in_month(d.year, d.month));
    REQUIRE(days_from_civil(d.year, d.month, d.day) == days);
  }
}

TEST_CASE("format_datetime", "[civil_time]") {
  CHECK(format_datetime(0, 'T') == "1970-01-01T00:00:00");
  CHECK(format_datetime(1764151200000, ' ') == "2025-11-26 10:00:00");
  CHECK(format_datetime(951868799999, ' ') == "2000-02-29 23:59:59");  // ms floored
  CHECK(format_datetime(-1, ' ') == "1969-12-31 23:59:59");
  CHECK(format_datetime(253402300799000, 'T') == "9999-12-31T23:59:59");
}
