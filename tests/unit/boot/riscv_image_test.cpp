#include "boot/riscv_image.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace vireo::boot {
namespace {

// A RISC-V Linux Image header (boot-image-header.rst) in front of `payload` bytes.
std::vector<uint8_t> make_image(uint64_t text_offset, uint64_t image_size, size_t payload = 64) {
  std::vector<uint8_t> f(64 + payload, 0);
  const uint32_t code0 = 0x0000'006f;  // j . (the header starts with a jump)
  std::memcpy(&f[0], &code0, 4);
  std::memcpy(&f[8], &text_offset, 8);
  std::memcpy(&f[16], &image_size, 8);
  const uint64_t version = 2;
  std::memcpy(&f[32], &version, 4);
  std::memcpy(&f[48], "RISCV\0\0\0", 8);  // deprecated magic, still written by kernels
  std::memcpy(&f[56], "RSC\x05", 4);
  return f;
}

TEST(RiscvImage, GoodHeader) {
  auto f = make_image(0x20'0000, 0x1'0000);
  EXPECT_TRUE(is_riscv_image(f));
  auto r = parse_riscv_image(f);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text_offset, 0x20'0000u);
  EXPECT_EQ(r->image_size, 0x1'0000u);
}

TEST(RiscvImage, ZeroTextOffsetAndImageSizeEqualToTheFile) {
  auto f = make_image(0, 128);
  auto r = parse_riscv_image(f);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text_offset, 0u);
  EXPECT_EQ(r->image_size, 128u);
}

TEST(RiscvImage, ZeroImageSizeMeansTheFileSize) {
  auto f = make_image(0x20'0000, 0, 1000);
  auto r = parse_riscv_image(f);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->image_size, f.size());
}

TEST(RiscvImage, NoMagic) {
  auto f = make_image(0x20'0000, 0x1'0000);
  f[59] = 0x04;
  EXPECT_FALSE(is_riscv_image(f));
  auto r = parse_riscv_image(f);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadFormat);

  // Only the old magic at 48 is not enough.
  std::memset(&f[56], 0, 4);
  EXPECT_FALSE(parse_riscv_image(f));
  EXPECT_FALSE(parse_riscv_image(std::vector<uint8_t>(4096, 0)));
}

TEST(RiscvImage, TooShortForAHeader) {
  auto f = make_image(0x20'0000, 0x1'0000, 0);
  EXPECT_TRUE(is_riscv_image(f));  // exactly the 64-byte header
  f.pop_back();
  EXPECT_FALSE(is_riscv_image(f));
  EXPECT_FALSE(parse_riscv_image(f));
  EXPECT_FALSE(parse_riscv_image({}));
}

TEST(RiscvImage, BadTextOffset) {
  for (uint64_t off : {uint64_t{1}, uint64_t{0x20'0001}, uint64_t{0x800}, uint64_t{1} << 30,
                       UINT64_MAX, UINT64_MAX & ~uint64_t{0xfff}}) {
    auto r = parse_riscv_image(make_image(off, 0x1'0000));
    ASSERT_FALSE(r) << std::hex << off;
    EXPECT_EQ(r.error().code, ErrorCode::kBadFormat);
  }
  EXPECT_TRUE(parse_riscv_image(make_image((1u << 30) - 4096, 0x1'0000)));
}

TEST(RiscvImage, ImageSizeSmallerThanTheFile) {
  auto f = make_image(0x20'0000, 64 + 100, 101);
  auto r = parse_riscv_image(f);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadFormat);
  EXPECT_FALSE(parse_riscv_image(make_image(0x20'0000, 1, 64)));
}

TEST(RiscvImage, AbsurdImageSize) {
  EXPECT_FALSE(parse_riscv_image(make_image(0x20'0000, 1ull << 34)));
  EXPECT_FALSE(parse_riscv_image(make_image(0x20'0000, UINT64_MAX)));
  EXPECT_TRUE(parse_riscv_image(make_image(0x20'0000, (1ull << 34) - 1)));
}

}  // namespace
}  // namespace vireo::boot
