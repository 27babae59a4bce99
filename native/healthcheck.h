#pragma once
// `--healthcheck`: the container's probe (images carry no curl).

#include "config/config.h"

namespace zproxy::native {

// GET http://127.0.0.1:$PORT/healthz with a short timeout. Returns the exit status: 0 when the
// answer is 200, else 1.
int run_healthcheck(const EnvMap& env);

}  // namespace zproxy::native
