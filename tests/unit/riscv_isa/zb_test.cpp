// Zba/Zbb/Zbs semantics with their corner cases (zero inputs of the counts,
// word forms, shift amounts taken modulo the width).
#include "isa_test_support.hpp"

namespace vireo::riscv::testing {
namespace {

using Zb = IsaTest;

TEST_F(Zb, AddressGeneration) {
  EXPECT_EQ(binary("add.uw", 0xffffffff'80000000ull, 1), 0x80000001u);
  EXPECT_EQ(binary("sh1add", 3, 1), 7u);
  EXPECT_EQ(binary("sh2add", 3, 1), 13u);
  EXPECT_EQ(binary("sh3add", 3, 1), 25u);
  EXPECT_EQ(binary("sh3add", 0x8000000000000001ull, 0), 8u);
  EXPECT_EQ(binary("sh1add.uw", 0xffffffff'00000003ull, 1), 7u);
  EXPECT_EQ(binary("sh2add.uw", 0x80000000u, 0), 0x200000000ull);
  EXPECT_EQ(binary("sh3add.uw", 0xffffffff'ffffffffull, 8), 0x7fffffff8ull + 8);
  EXPECT_EQ(with_imm("slli.uw", ~0ull, 4), 0xffffffff0ull);
  EXPECT_EQ(with_imm("slli.uw", 1, 63), 0x8000000000000000ull);
}

TEST_F(Zb, LogicWithNegate) {
  EXPECT_EQ(binary("andn", 0xff, 0x0f), 0xf0u);
  EXPECT_EQ(binary("orn", 0, 0), ~0ull);
  EXPECT_EQ(binary("xnor", 0xff, 0x0f), ~0xf0ull);
}

TEST_F(Zb, CountsOfZero) {
  EXPECT_EQ(unary("clz", 0), 64u);
  EXPECT_EQ(unary("ctz", 0), 64u);
  EXPECT_EQ(unary("cpop", 0), 0u);
  EXPECT_EQ(unary("clzw", 0xffffffff'00000000ull), 32u);
  EXPECT_EQ(unary("ctzw", 0xffffffff'00000000ull), 32u);
  EXPECT_EQ(unary("cpopw", 0xffffffff'00000000ull), 0u);
}

TEST_F(Zb, Counts) {
  EXPECT_EQ(unary("clz", 1), 63u);
  EXPECT_EQ(unary("clz", ~0ull), 0u);
  EXPECT_EQ(unary("ctz", 0x8000000000000000ull), 63u);
  EXPECT_EQ(unary("cpop", ~0ull), 64u);
  EXPECT_EQ(unary("clzw", 0x00008000u), 16u);
  EXPECT_EQ(unary("ctzw", 0x80000000u), 31u);
  EXPECT_EQ(unary("cpopw", 0x1'0000'0003ull), 2u);
}

TEST_F(Zb, MinMax) {
  EXPECT_EQ(binary("max", ~0ull, 1), 1u);
  EXPECT_EQ(binary("min", ~0ull, 1), ~0ull);
  EXPECT_EQ(binary("maxu", ~0ull, 1), ~0ull);
  EXPECT_EQ(binary("minu", ~0ull, 1), 1u);
}

TEST_F(Zb, Extensions) {
  EXPECT_EQ(unary("sext.b", 0x1234'5680), 0xffffffffffffff80ull);
  EXPECT_EQ(unary("sext.b", 0x7f), 0x7fu);
  EXPECT_EQ(unary("sext.h", 0x1234'8000), 0xffffffffffff8000ull);
  EXPECT_EQ(unary("zext.h", 0xffffffff'ffff8001ull), 0x8001u);
}

TEST_F(Zb, Rotates) {
  EXPECT_EQ(binary("rol", 0x8000000000000001ull, 1), 3u);
  EXPECT_EQ(binary("rol", 0x1234, 64), 0x1234u) << "amount modulo 64";
  EXPECT_EQ(binary("ror", 3, 1), 0x8000000000000001ull);
  EXPECT_EQ(binary("ror", 1, 63), 2u);
  EXPECT_EQ(with_imm("rori", 1, 63), 2u);
  EXPECT_EQ(with_imm("rori", 0x1234, 0), 0x1234u);
  EXPECT_EQ(binary("rolw", 0x80000000u, 1), 1u);
  EXPECT_EQ(binary("rolw", 0x40000000u, 1), 0xffffffff80000000ull);
  EXPECT_EQ(binary("rolw", 0xffffffff'00000001ull, 32), 1u) << "amount modulo 32";
  EXPECT_EQ(binary("rorw", 1, 1), 0xffffffff80000000ull);
  EXPECT_EQ(with_imm("roriw", 1, 31), 2u);
  EXPECT_EQ(with_imm("roriw", 0x1'0000'0001ull, 1), 0xffffffff80000000ull);
}

TEST_F(Zb, ByteOps) {
  EXPECT_EQ(unary("rev8", 0x0102030405060708ull), 0x0807060504030201ull);
  EXPECT_EQ(unary("orc.b", 0x0001'0080'0000'ff10ull), 0x00ff'00ff'0000'ffffull);
  EXPECT_EQ(unary("orc.b", 0), 0u);
  EXPECT_EQ(unary("orc.b", 0x0101010101010101ull), ~0ull);
}

TEST_F(Zb, SingleBit) {
  EXPECT_EQ(binary("bset", 0, 63), 0x8000000000000000ull);
  EXPECT_EQ(binary("bset", 0, 64 + 1), 2u) << "index modulo 64";
  EXPECT_EQ(binary("bclr", ~0ull, 0), ~1ull);
  EXPECT_EQ(binary("binv", 0x10, 4), 0u);
  EXPECT_EQ(binary("bext", 0x8000000000000000ull, 63), 1u);
  EXPECT_EQ(binary("bext", 0x8000000000000000ull, 62), 0u);
  EXPECT_EQ(with_imm("bseti", 0, 63), 0x8000000000000000ull);
  EXPECT_EQ(with_imm("bclri", ~0ull, 63), 0x7fffffffffffffffull);
  EXPECT_EQ(with_imm("binvi", 0, 32), 0x100000000ull);
  EXPECT_EQ(with_imm("bexti", 0x8000000000000000ull, 63), 1u);
}

}  // namespace
}  // namespace vireo::riscv::testing
