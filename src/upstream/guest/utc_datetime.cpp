#include "upstream/guest/utc_datetime.h"

#include "core/civil_time.h"

namespace zproxy::guest {

std::string format_utc_datetime(int64_t unix_ms) {
  return format_datetime(unix_ms, ' ');
}

}  // namespace zproxy::guest
