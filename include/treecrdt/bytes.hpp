#pragma once
// Byte strings (order keys, payloads, replica ids) are std::string: cheap small-string storage and
// std::char_traits<char> compares them as unsigned bytes, a proper prefix first, exactly as SPEC §2 asks.
#include <string>

namespace treecrdt {
using bytes = std::string;
}  // namespace treecrdt
