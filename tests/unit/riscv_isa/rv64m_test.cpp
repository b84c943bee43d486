// RV64M semantics, including the architecturally defined results of division
// by zero and signed overflow (which must not trap the host).
#include <limits>

#include "isa_test_support.hpp"

namespace vireo::riscv::testing {
namespace {

using RV64M = IsaTest;

constexpr uint64_t kMin64 = 0x8000000000000000ull;
constexpr uint64_t kAllOnes = ~0ull;

TEST_F(RV64M, Multiply) {
  EXPECT_EQ(binary("mul", 6, 7), 42u);
  EXPECT_EQ(binary("mul", kAllOnes, kAllOnes), 1u);
  EXPECT_EQ(binary("mul", 1ull << 32, 1ull << 32), 0u);
  EXPECT_EQ(binary("mulh", kAllOnes, kAllOnes), 0u);      // -1 * -1 = 1
  EXPECT_EQ(binary("mulh", kMin64, kMin64), 1ull << 62);  // 2^126
  EXPECT_EQ(binary("mulh", kMin64, 1), kAllOnes);
  EXPECT_EQ(binary("mulhu", kAllOnes, kAllOnes), kAllOnes - 1);
  EXPECT_EQ(binary("mulhu", 1ull << 32, 1ull << 32), 1u);
  EXPECT_EQ(binary("mulhsu", kAllOnes, kAllOnes), kAllOnes);  // -1 * (2^64-1)
  EXPECT_EQ(binary("mulhsu", 2, kAllOnes), 1u);
  EXPECT_EQ(binary("mulhsu", kMin64, kAllOnes), kMin64);  // -2^127 + 2^63
}

TEST_F(RV64M, MultiplyWord) {
  EXPECT_EQ(binary("mulw", 0x10000, 0x8000), 0xffffffff80000000ull);
  EXPECT_EQ(binary("mulw", 0xffffffff00000003ull, 5), 15u) << "upper source bits ignored";
}

TEST_F(RV64M, Divide) {
  EXPECT_EQ(binary("div", static_cast<uint64_t>(-7), 2), static_cast<uint64_t>(-3));
  EXPECT_EQ(binary("rem", static_cast<uint64_t>(-7), 2), static_cast<uint64_t>(-1));
  EXPECT_EQ(binary("divu", kAllOnes, 2), kAllOnes >> 1);
  EXPECT_EQ(binary("remu", kAllOnes, 2), 1u);
}

TEST_F(RV64M, DivisionByZero) {
  EXPECT_EQ(binary("div", 42, 0), kAllOnes);
  EXPECT_EQ(binary("divu", 42, 0), kAllOnes);
  EXPECT_EQ(binary("rem", 42, 0), 42u);
  EXPECT_EQ(binary("remu", 42, 0), 42u);
  EXPECT_EQ(binary("divw", 42, 0xffffffff00000000ull), kAllOnes) << "only the low word counts";
  EXPECT_EQ(binary("divuw", 42, 0), kAllOnes);
  EXPECT_EQ(binary("remw", 0x80000000u, 0), 0xffffffff80000000ull);
  EXPECT_EQ(binary("remuw", 0x80000000u, 0), 0xffffffff80000000ull);
}

TEST_F(RV64M, SignedOverflow) {
  EXPECT_EQ(binary("div", kMin64, kAllOnes), kMin64);
  EXPECT_EQ(binary("rem", kMin64, kAllOnes), 0u);
  EXPECT_EQ(binary("divw", 0x80000000u, kAllOnes), 0xffffffff80000000ull);
  EXPECT_EQ(binary("remw", 0x80000000u, kAllOnes), 0u);
}

TEST_F(RV64M, WordDivisionSignExtends) {
  EXPECT_EQ(binary("divw", static_cast<uint64_t>(-8), 2), static_cast<uint64_t>(-4));
  EXPECT_EQ(binary("divuw", 0xfffffffeu, 1), 0xfffffffffffffffeull);
  EXPECT_EQ(binary("divuw", 0x1'0000'0010ull, 2), 8u);
  EXPECT_EQ(binary("remw", static_cast<uint64_t>(-7), 2), static_cast<uint64_t>(-1));
  EXPECT_EQ(binary("remuw", 0xffffffffu, 0x80000000u), 0x7fffffffu);
}

}  // namespace
}  // namespace vireo::riscv::testing
