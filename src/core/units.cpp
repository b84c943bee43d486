#include "core/units.hpp"

#include <cctype>
#include <string>

namespace vireo {

Result<uint64_t> parse_size(std::string_view text) {
  auto bad = [&] {
    return make_error(ErrorCode::kInvalidArgument,
                      "'" + std::string(text) + "' is not a size: use e.g. 512M or 2G");
  };
  size_t i = 0;
  uint64_t value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (__builtin_mul_overflow(value, 10, &value) ||
        __builtin_add_overflow(value, static_cast<uint64_t>(text[i] - '0'), &value)) {
      return make_error(ErrorCode::kInvalidArgument, "'" + std::string(text) + "' is too large");
    }
    ++i;
  }
  if (i == 0) return bad();
  std::string_view suffix = text.substr(i);
  unsigned shift = 20;  // bare number: MiB
  if (!suffix.empty()) {
    static constexpr std::string_view kUnits = "KMGTPE";
    const size_t pos =
        kUnits.find(static_cast<char>(std::toupper(static_cast<unsigned char>(suffix[0]))));
    if (pos == std::string_view::npos) return bad();
    shift = 10 * static_cast<unsigned>(pos + 1);
    suffix.remove_prefix(1);
    if (!(suffix.empty() || suffix == "B" || suffix == "iB" || suffix == "b")) return bad();
  }
  if (shift >= 64 || (value >> (64 - shift)) != 0) {
    return make_error(ErrorCode::kInvalidArgument, "'" + std::string(text) + "' is too large");
  }
  return value << shift;
}

}  // namespace vireo
