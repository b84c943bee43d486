#include "boot/riscv_image.hpp"

#include <cstring>

#include <fmt/format.h>

namespace vireo::boot {
namespace {
constexpr size_t kHeaderSize = 64;
constexpr size_t kMagic2Offset = 56;
constexpr uint8_t kMagic2[4] = {'R', 'S', 'C', 0x05};

uint64_t le64(std::span<const uint8_t> file, size_t off) {
  uint64_t v;
  std::memcpy(&v, file.data() + off, sizeof(v));
  return v;
}
}  // namespace

bool is_riscv_image(std::span<const uint8_t> file) {
  return file.size() >= kHeaderSize &&
         std::memcmp(file.data() + kMagic2Offset, kMagic2, sizeof(kMagic2)) == 0;
}

Result<RiscvImageInfo> parse_riscv_image(std::span<const uint8_t> file) {
  if (!is_riscv_image(file)) {
    return make_error(ErrorCode::kBadFormat, "not a RISC-V Linux Image (no RSC\\x05 magic)");
  }
  RiscvImageInfo info;
  info.text_offset = le64(file, 8);
  info.image_size = le64(file, 16);
  if (info.text_offset % 4096 != 0 || info.text_offset >= (1ull << 30)) {
    return make_error(
        ErrorCode::kBadFormat,
        fmt::format("RISC-V Image has an unusable text_offset {:#x}", info.text_offset));
  }
  if (info.image_size == 0) info.image_size = file.size();
  if (info.image_size < file.size() || info.image_size >= (1ull << 34)) {
    return make_error(
        ErrorCode::kBadFormat,
        fmt::format("RISC-V Image has an inconsistent image_size {:#x}", info.image_size));
  }
  return info;
}

}  // namespace vireo::boot
