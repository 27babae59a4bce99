#pragma once
// A custom (freeform) tool's call: upstream saw a function with one string parameter "input",
// so its arguments are {"input":"<text>"}; the client gets that text. Arguments of another
// shape are passed on as they are.

#include <string>
#include <string_view>

namespace zproxy {

std::string custom_tool_input(std::string_view arguments);

}  // namespace zproxy
