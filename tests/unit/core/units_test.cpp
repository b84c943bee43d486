#include "core/units.hpp"

#include <gtest/gtest.h>

#include <string_view>

namespace vireo {
namespace {

constexpr uint64_t KiB = 1ull << 10, MiB = 1ull << 20, GiB = 1ull << 30;

TEST(ParseSize, Suffixes) {
  struct Case {
    std::string_view text;
    uint64_t want;
  };
  const Case cases[] = {
      {"512M", 512 * MiB},
      {"2G", 2 * GiB},
      {"1024", 1024 * MiB},  // bare number: MiB, like QEMU -m
      {"1", MiB},
      {"4K", 4 * KiB},
      {"1T", 1ull << 40},
      {"1P", 1ull << 50},
      {"15E", 15ull << 60},
      {"0", 0},  // syntactically fine; boards enforce their minimum
      {"0G", 0},
      {"512m", 512 * MiB},  // case-insensitive unit
      {"2g", 2 * GiB},
      {"8GiB", 8 * GiB},
      {"8GB", 8 * GiB},
      {"8Gb", 8 * GiB},
      {"007M", 7 * MiB},
      {"17592186044415M", 17592186044415ull << 20},  // the largest whole MiB count
      {"16777215T", 16777215ull << 40},
  };
  for (const auto& c : cases) {
    auto r = parse_size(c.text);
    ASSERT_TRUE(r) << c.text << ": " << r.error().message;
    EXPECT_EQ(*r, c.want) << c.text;
  }
}

TEST(ParseSize, Junk) {
  for (std::string_view text : {"", "abc", "12X", "M", "G2", "-1", "+1", " 1G", "1G ", "1 G",
                                "1.5G", "0x10", "1GG", "1GiBB", "1Gi", "1iB", "1KMB"}) {
    auto r = parse_size(text);
    ASSERT_FALSE(r) << "'" << text << "' parsed as " << *r;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    // The message names the bad input so the user can find it.
    EXPECT_NE(r.error().message.find(std::string(text)), std::string::npos) << r.error().message;
  }
}

TEST(ParseSize, EmbeddedNulIsJunk) {
  EXPECT_FALSE(parse_size(std::string_view("1\0G", 3)));
  EXPECT_FALSE(parse_size(std::string_view("1G\0", 3)));
}

TEST(ParseSize, Overflow) {
  for (std::string_view text : {
           "99999999999999999999",   // the digits alone overflow
           "18446744073709551615",   // UINT64_MAX MiB
           "18446744073709551616K",  // one past UINT64_MAX before the unit
           "17592186044416",         // 2^44 MiB = 2^64 bytes
           "16E",                    // exactly 2^64
           "17179869184G",           // 2^34 GiB = 2^64 bytes
           "16777216T",
           "1000000E",
       }) {
    auto r = parse_size(text);
    ASSERT_FALSE(r) << text << " parsed as " << *r;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  // The largest representable: 2^64 - 1 KiB is not a whole KiB count, so check
  // the largest whole one.
  auto top = parse_size("18014398509481983K");
  ASSERT_TRUE(top);
  EXPECT_EQ(*top, UINT64_MAX - (KiB - 1));
}

}  // namespace
}  // namespace vireo
