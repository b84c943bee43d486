// Parsing of user-given sizes ("512M", "8G", "1024" = MiB, like QEMU's -m).
#pragma once

#include <cstdint>
#include <string_view>

#include "core/error.hpp"

namespace vireo {

// Accepts an unsigned integer with an optional binary suffix K, M, G, T, P, E
// (optionally followed by "iB" or "B"); a bare number means MiB. Errors on
// empty input, junk, or overflow.
Result<uint64_t> parse_size(std::string_view text);

}  // namespace vireo
