// RV64A semantics: value-based LR/SC reservations, every AMO with its .w
// sign extension, and misaligned-address traps.
#include "isa_test_support.hpp"

namespace vireo::riscv::testing {
namespace {

using RV64A = IsaTest;

TEST_F(RV64A, LrScSucceedsOnce) {
  poke<uint64_t>(kData, 100);
  x(a1) = kData;
  step(r_type("lr.d", a0, a1));
  EXPECT_EQ(x(a0), 100u);
  x(a2) = 200;
  step(r_type("sc.d", a3, a1, a2));
  EXPECT_EQ(x(a3), 0u) << "success writes 0";
  EXPECT_EQ(peek<uint64_t>(kData), 200u);
  x(a2) = 300;
  step(r_type("sc.d", a3, a1, a2));
  EXPECT_EQ(x(a3), 1u) << "sc ended the reservation";
  EXPECT_EQ(peek<uint64_t>(kData), 200u);
}

TEST_F(RV64A, ScWithoutReservationFails) {
  poke<uint64_t>(kData, 7);
  x(a1) = kData;
  x(a2) = 8;
  step(r_type("sc.d", a0, a1, a2));
  EXPECT_EQ(x(a0), 1u);
  EXPECT_EQ(peek<uint64_t>(kData), 7u);
}

TEST_F(RV64A, ScFailsWhenTheValueChanged) {
  poke<uint32_t>(kData, 1);
  x(a1) = kData;
  step(r_type("lr.w", a0, a1));
  poke<uint32_t>(kData, 2);  // another hart's store
  x(a2) = 3;
  step(r_type("sc.w", a0, a1, a2));
  EXPECT_EQ(x(a0), 1u);
  EXPECT_EQ(peek<uint32_t>(kData), 2u);
}

TEST_F(RV64A, ScFailsAtAnotherAddress) {
  poke<uint64_t>(kData, 5);
  poke<uint64_t>(kData + 8, 5);
  x(a1) = kData;
  step(r_type("lr.d", a0, a1));
  x(a1) = kData + 8;
  x(a2) = 6;
  step(r_type("sc.d", a0, a1, a2));
  EXPECT_EQ(x(a0), 1u);
  EXPECT_EQ(peek<uint64_t>(kData + 8), 5u);
}

TEST_F(RV64A, LrWordSignExtendsAndScWritesOneWord) {
  poke<uint64_t>(kData, 0xaaaaaaaa'80000000ull);
  x(a1) = kData;
  step(r_type("lr.w", a0, a1, 0, /*aqrl=*/3));
  EXPECT_EQ(x(a0), 0xffffffff80000000ull);
  x(a2) = 0x1'2345'6789ull;
  step(r_type("sc.w", a0, a1, a2, /*aqrl=*/3));
  EXPECT_EQ(x(a0), 0u);
  EXPECT_EQ(peek<uint64_t>(kData), 0xaaaaaaaa'23456789ull);
}

struct AmoCase {
  const char* name;
  uint64_t memory, operand;
  uint64_t expected_memory;
};

TEST_F(RV64A, DoublewordAmos) {
  const AmoCase cases[] = {
      {"amoswap.d", 1, 2, 2},
      {"amoadd.d", ~0ull, 2, 1},
      {"amoxor.d", 0xff00, 0x0ff0, 0xf0f0},
      {"amoand.d", 0xff00, 0x0ff0, 0x0f00},
      {"amoor.d", 0xff00, 0x0ff0, 0xfff0},
      {"amomin.d", ~0ull, 1, ~0ull},
      {"amomax.d", ~0ull, 1, 1},
      {"amominu.d", ~0ull, 1, 1},
      {"amomaxu.d", ~0ull, 1, ~0ull},
  };
  for (const AmoCase& c : cases) {
    poke<uint64_t>(kData, c.memory);
    x(a1) = kData;
    x(a2) = c.operand;
    step(r_type(c.name, a0, a1, a2));
    EXPECT_EQ(x(a0), c.memory) << c.name << " returns the old value";
    EXPECT_EQ(peek<uint64_t>(kData), c.expected_memory) << c.name;
  }
}

TEST_F(RV64A, WordAmosSignExtendAndTouchOneWord) {
  const AmoCase cases[] = {
      {"amoswap.w", 0x80000000, 2, 2},
      {"amoadd.w", 0xffffffff, 2, 1},
      {"amoadd.w", 0x7fffffff, 1, 0x80000000},
      {"amoxor.w", 0x8000ff00, 0x0ff0, 0x8000f0f0},
      {"amoand.w", 0x8000ff00, 0x80000ff0, 0x80000f00},
      {"amoor.w", 0x8000ff00, 0x0ff0, 0x8000fff0},
      {"amomin.w", 0x80000000, 1, 0x80000000},
      {"amomax.w", 0x80000000, 1, 1},
      {"amominu.w", 0x80000000, 1, 1},
      {"amomaxu.w", 0x80000000, 1, 0x80000000},
      {"amomax.w", 5, 0xffffffff'00000007ull, 7},  // upper operand bits ignored
  };
  for (const AmoCase& c : cases) {
    poke<uint64_t>(kData, 0x5555555500000000ull | c.memory);
    x(a1) = kData;
    x(a2) = c.operand;
    step(r_type(c.name, a0, a1, a2));
    EXPECT_EQ(x(a0), static_cast<uint64_t>(static_cast<int32_t>(c.memory))) << c.name;
    EXPECT_EQ(peek<uint64_t>(kData), 0x5555555500000000ull | c.expected_memory) << c.name;
  }
}

TEST_F(RV64A, AmoReadsSourceBeforeWritingRd) {
  poke<uint64_t>(kData, 10);
  x(a1) = kData;
  x(a0) = 5;
  step(r_type("amoadd.d", a0, a1, a0));  // rd == rs2
  EXPECT_EQ(x(a0), 10u);
  EXPECT_EQ(peek<uint64_t>(kData), 15u);
}

TEST_F(RV64A, MisalignedAmoTrapsWithoutSideEffects) {
  poke<uint64_t>(kData, 0);
  poke<uint64_t>(kData + 8, 0);
  x(a1) = kData + 4;
  x(a2) = 1;
  x(a0) = 77;
  EXPECT_FALSE(exec(r_type("amoadd.d", a0, a1, a2)));
  EXPECT_TRUE(csr(kMcause) == exc::kStoreMisaligned || csr(kMcause) == exc::kStoreAccessFault);
  EXPECT_EQ(csr(kMtval), kData + 4);
  EXPECT_EQ(x(a0), 77u);
  EXPECT_EQ(peek<uint64_t>(kData), 0u);
  x(a1) = kData + 2;
  EXPECT_FALSE(exec(r_type("sc.w", a0, a1, a2)));
  EXPECT_FALSE(exec(r_type("lr.w", a0, a1)));
  EXPECT_EQ(x(a0), 77u);
}

}  // namespace
}  // namespace vireo::riscv::testing
