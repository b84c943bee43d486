// Table-driven tests of the pure FPU core: corner cases of every F/D operation in every rounding
// mode, with the expected results and fflags reasoned from IEEE-754 and the RISC-V spec.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "fp_ops.hpp"

namespace vireo::riscv::fp_test {
namespace {

constexpr u32 NX = fpu::kNX, UF = fpu::kUF, OF = fpu::kOF, DZ = fpu::kDZ, NV = fpu::kNV;

// ---- Singles ----
constexpr u64 kPos0 = 0x00000000, kNeg0 = 0x80000000;
constexpr u64 kMinSub = 0x00000001, kNegMinSub = 0x80000001, kMaxSub = 0x007fffff;
constexpr u64 kMinNorm = 0x00800000;
constexpr u64 kHalf = 0x3f000000, kOne = 0x3f800000, kOneUlp = 0x3f800001, kTwo = 0x40000000;
constexpr u64 kThree = 0x40400000, kFour = 0x40800000, kNegOne = 0xbf800000;
constexpr u64 kMax = 0x7f7fffff, kNegMax = 0xff7fffff, kInf = 0x7f800000, kNegInf = 0xff800000;
constexpr u64 kQNaN = 0x7fc00000, kSNaN = 0x7f800001, kQNaNPayload = 0x7fc12345;
constexpr u64 kNegQNaN = 0xffc00000, kCNaN = fpu::kCanonicalNaN32;
constexpr u64 k2p24 = 0x4b800000;  // 2^24, where the spacing of singles becomes 2

// ---- Doubles ----
constexpr u64 kDPos0 = 0, kDNeg0 = 1ull << 63, kDOne = 0x3ff0000000000000;
constexpr u64 kDOneUlp = 0x3ff0000000000001, kDTwo = 0x4000000000000000;
constexpr u64 kDThree = 0x4008000000000000, kDHalf = 0x3fe0000000000000;
constexpr u64 kDMinSub = 1, kDMinNorm = 0x0010000000000000, kDMax = 0x7fefffffffffffff;
constexpr u64 kDNegMax = 0xffefffffffffffff, kDInf = 0x7ff0000000000000;
constexpr u64 kDNegInf = 0xfff0000000000000, kDQNaN = 0x7ff8000000000000;
constexpr u64 kDSNaN = 0x7ff0000000000001, kDCNaN = fpu::kCanonicalNaN64;
constexpr u64 kDThird = 0x3fd5555555555555;

struct Expect {
  u64 value;
  u32 flags;
};
using ByMode = std::array<Expect, 5>;  // indexed by rm: RNE, RTZ, RDN, RUP, RMM
constexpr ByMode all(u64 value, u32 flags = 0) {
  return {{{value, flags}, {value, flags}, {value, flags}, {value, flags}, {value, flags}}};
}
// Per mode, with the same flags in every mode.
constexpr ByMode modes(u64 rne, u64 rtz, u64 rdn, u64 rup, u64 rmm, u32 flags) {
  return {{{rne, flags}, {rtz, flags}, {rdn, flags}, {rup, flags}, {rmm, flags}}};
}

struct Row {
  const char* op;
  u64 a, b, c;
  ByMode want;
};

void run_rows(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    const OpCase& op = find_case(row.op);
    for (unsigned rm = 0; rm < 5; ++rm) {
      u32 flags = 0;
      u64 got = op.fn(row.a, row.b, row.c, rm, flags);
      const Expect& want = row.want[rm];
      EXPECT_EQ(got, want.value) << std::hex << row.op << "(0x" << row.a << ", 0x" << row.b
                                 << ", 0x" << row.c << ") rm=" << rm;
      EXPECT_EQ(flags, want.flags) << std::hex << row.op << "(0x" << row.a << ", 0x" << row.b
                                   << ", 0x" << row.c << ") rm=" << rm << " flags";
    }
  }
}

TEST(Fpu, AddSubSigns) {
  run_rows({
      {"fadd.s", kOne, kTwo, 0, all(kThree)},
      {"fadd.s", kPos0, kNeg0, 0, modes(kPos0, kPos0, kNeg0, kPos0, kPos0, 0)},
      {"fadd.s", kNeg0, kNeg0, 0, all(kNeg0)},
      {"fadd.s", kPos0, kPos0, 0, all(kPos0)},
      {"fsub.s", kOne, kOne, 0, modes(kPos0, kPos0, kNeg0, kPos0, kPos0, 0)},
      {"fsub.s", kNeg0, kPos0, 0, all(kNeg0)},
      {"fadd.s", kNegOne, kPos0, 0, all(kNegOne)},
      {"fadd.d", kDOne, kDTwo, 0, all(kDThree)},
      {"fsub.d", kDOne, kDOne, 0, modes(kDPos0, kDPos0, kDNeg0, kDPos0, kDPos0, 0)},
      {"fadd.d", kDPos0, kDNeg0, 0, modes(kDPos0, kDPos0, kDNeg0, kDPos0, kDPos0, 0)},
  });
}

TEST(Fpu, AddRoundsInEveryMode) {
  // 1 + 2^-24 is halfway between 1 and 1+ulp: RNE keeps the even 1, RMM goes away from zero.
  constexpr u64 k2m24 = 0x33800000;
  run_rows({
      {"fadd.s", kOne, k2m24, 0, modes(kOne, kOne, kOne, kOneUlp, kOneUlp, NX)},
      {"fsub.s", kNegOne, k2m24, 0, modes(kNegOne, kNegOne, 0xbf800001, kNegOne, 0xbf800001, NX)},
      // 1+ulp + 2^-24: halfway again, now RNE rounds up to the even 1+2ulp.
      {"fadd.s", kOneUlp, k2m24, 0,
       modes(0x3f800002, kOneUlp, kOneUlp, 0x3f800002, 0x3f800002, NX)},
      // Just below halfway (2^-24 - tiny): only RUP moves.
      {"fadd.s", kOne, 0x337ffffe, 0, modes(kOne, kOne, kOne, kOneUlp, kOne, NX)},
      {"fadd.d", kDOne, 0x3ca0000000000000, 0, modes(kDOne, kDOne, kDOne, kDOneUlp, kDOneUlp, NX)},
  });
}

TEST(Fpu, OverflowInEveryMode) {
  // RTZ, and the directed mode pointing toward zero, give the largest finite value.
  run_rows({
      {"fadd.s", kMax, kMax, 0, modes(kInf, kMax, kMax, kInf, kInf, OF | NX)},
      {"fadd.s", kNegMax, kNegMax, 0, modes(kNegInf, kNegMax, kNegInf, kNegMax, kNegInf, OF | NX)},
      {"fmul.s", kMax, kTwo, 0, modes(kInf, kMax, kMax, kInf, kInf, OF | NX)},
      {"fdiv.s", kNegMax, kHalf, 0, modes(kNegInf, kNegMax, kNegInf, kNegMax, kNegInf, OF | NX)},
      {"fmadd.s", kMax, kTwo, kNegOne, modes(kInf, kMax, kMax, kInf, kInf, OF | NX)},
      {"fmul.d", kDMax, kDTwo, 0, modes(kDInf, kDMax, kDMax, kDInf, kDInf, OF | NX)},
      {"fadd.d", kDNegMax, kDNegMax, 0,
       modes(kDNegInf, kDNegMax, kDNegInf, kDNegMax, kDNegInf, OF | NX)},
      // max + half an ulp of max: RNE ties to the even significand, which overflows; modes that
      // round down stay at max and, with no overflow after rounding, raise only NX.
      {"fadd.s",
       kMax,
       0x73000000,
       0,
       {{{kInf, OF | NX}, {kMax, NX}, {kMax, NX}, {kInf, OF | NX}, {kInf, OF | NX}}}},
      // Infinity itself is exact: no flags.
      {"fadd.s", kInf, kMax, 0, all(kInf)},
  });
}

TEST(Fpu, SubnormalsAndUnderflow) {
  run_rows({
      // Tiny but exact: no UF.
      {"fsub.s", kMinNorm, kMinSub, 0, all(kMaxSub)},
      {"fmul.s", kMinNorm, kHalf, 0, all(0x00400000)},
      {"fadd.s", kMinSub, kMinSub, 0, all(0x00000002)},
      // Half the smallest subnormal: a tie between 0 and it.
      {"fmul.s", kMinSub, kHalf, 0, modes(kPos0, kPos0, kPos0, kMinSub, kMinSub, UF | NX)},
      {"fmul.s", kNegMinSub, kHalf, 0, modes(kNeg0, kNeg0, kNegMinSub, kNeg0, kNegMinSub, UF | NX)},
      // 1.5 * min subnormal: ties to the even 2 (RNE), away to 2 (RMM).
      {"fdiv.s", 0x00000003, kTwo, 0, modes(0x2, 0x1, 0x1, 0x2, 0x2, UF | NX)},
      // Tininess is detected after rounding: maxsub * (1+2^-23) = 2^-126 - 2^-172 rounds (with
      // an unbounded exponent) to 2^-126 in RNE/RUP/RMM, so it is not tiny there: NX only.
      {"fmul.s",
       kMaxSub,
       kOneUlp,
       0,
       {{{kMinNorm, NX}, {kMaxSub, UF | NX}, {kMaxSub, UF | NX}, {kMinNorm, NX}, {kMinNorm, NX}}}},
      {"fmul.d",
       0x000fffffffffffff,
       kDOneUlp,
       0,
       {{{kDMinNorm, NX},
         {0x000fffffffffffff, UF | NX},
         {0x000fffffffffffff, UF | NX},
         {kDMinNorm, NX},
         {kDMinNorm, NX}}}},
      // Underflow all the way to zero.
      {"fmul.s", kMinSub, kMinSub, 0, modes(kPos0, kPos0, kPos0, kMinSub, kPos0, UF | NX)},
      {"fmul.d", kDMinSub, kDMinSub, 0, modes(kDPos0, kDPos0, kDPos0, kDMinSub, kDPos0, UF | NX)},
      {"fdiv.d", kDMinNorm, 0x4340000000000000, 0,  // 2^-1022 / 2^53 = 2^-1075: a tie
       modes(kDPos0, kDPos0, kDPos0, kDMinSub, kDMinSub, UF | NX)},
  });
}

TEST(Fpu, NaNsAreCanonicalAndSignal) {
  run_rows({
      {"fadd.s", kQNaN, kOne, 0, all(kCNaN)},
      {"fadd.s", kQNaNPayload, kOne, 0, all(kCNaN)},  // no payload propagation
      {"fadd.s", kNegQNaN, kOne, 0, all(kCNaN)},
      {"fadd.s", kOne, kSNaN, 0, all(kCNaN, NV)},
      {"fmul.s", kSNaN, kQNaN, 0, all(kCNaN, NV)},
      {"fadd.s", kInf, kNegInf, 0, all(kCNaN, NV)},
      {"fsub.s", kInf, kInf, 0, all(kCNaN, NV)},
      {"fmul.s", kInf, kPos0, 0, all(kCNaN, NV)},
      {"fmul.s", kNeg0, kNegInf, 0, all(kCNaN, NV)},
      {"fdiv.s", kPos0, kNeg0, 0, all(kCNaN, NV)},
      {"fdiv.s", kInf, kNegInf, 0, all(kCNaN, NV)},
      {"fadd.d", kDSNaN, kDOne, 0, all(kDCNaN, NV)},
      {"fadd.d", 0xfff8000000000abc, kDOne, 0, all(kDCNaN)},
      {"fmul.d", kDInf, kDPos0, 0, all(kDCNaN, NV)},
  });
}

TEST(Fpu, Division) {
  run_rows({
      {"fdiv.s", kOne, kPos0, 0, all(kInf, DZ)},
      {"fdiv.s", kNegOne, kPos0, 0, all(kNegInf, DZ)},
      {"fdiv.s", kOne, kNeg0, 0, all(kNegInf, DZ)},
      {"fdiv.s", kInf, kPos0, 0, all(kInf)},  // inf is exact: no DZ
      {"fdiv.s", kOne, kInf, 0, all(kPos0)},
      {"fdiv.s", kNegOne, kInf, 0, all(kNeg0)},
      {"fdiv.s", kOne, kThree, 0,
       modes(0x3eaaaaab, 0x3eaaaaaa, 0x3eaaaaaa, 0x3eaaaaab, 0x3eaaaaab, NX)},
      {"fdiv.s", kNegOne, kThree, 0,
       modes(0xbeaaaaab, 0xbeaaaaaa, 0xbeaaaaab, 0xbeaaaaaa, 0xbeaaaaab, NX)},
      {"fdiv.d", kDOne, kDThree, 0, modes(kDThird, kDThird, kDThird, kDThird + 1, kDThird, NX)},
      {"fdiv.d", kDOne, kDPos0, 0, all(kDInf, DZ)},
      {"fdiv.d", kDPos0, kDPos0, 0, all(kDCNaN, NV)},
  });
}

TEST(Fpu, SquareRoot) {
  run_rows({
      {"fsqrt.s", kFour, 0, 0, all(kTwo)},
      {"fsqrt.s", kNeg0, 0, 0, all(kNeg0)},
      {"fsqrt.s", kPos0, 0, 0, all(kPos0)},
      {"fsqrt.s", kInf, 0, 0, all(kInf)},
      {"fsqrt.s", kNegOne, 0, 0, all(kCNaN, NV)},
      {"fsqrt.s", kNegInf, 0, 0, all(kCNaN, NV)},
      {"fsqrt.s", kNegMinSub, 0, 0, all(kCNaN, NV)},
      {"fsqrt.s", kSNaN, 0, 0, all(kCNaN, NV)},
      {"fsqrt.s", kQNaNPayload, 0, 0, all(kCNaN)},
      // sqrt(2) = 1.41421356..., between 0x3fb504f3 and 0x3fb504f4, nearer the first.
      {"fsqrt.s", kTwo, 0, 0,
       modes(0x3fb504f3, 0x3fb504f3, 0x3fb504f3, 0x3fb504f4, 0x3fb504f3, NX)},
      {"fsqrt.s", kMinSub, 0, 0,
       modes(0x1a3504f3, 0x1a3504f3, 0x1a3504f3, 0x1a3504f4, 0x1a3504f3, NX)},
      {"fsqrt.d", kDTwo, 0, 0,
       modes(0x3ff6a09e667f3bcd, 0x3ff6a09e667f3bcc, 0x3ff6a09e667f3bcc, 0x3ff6a09e667f3bcd,
             0x3ff6a09e667f3bcd, NX)},
      {"fsqrt.d", kDNeg0, 0, 0, all(kDNeg0)},
      {"fsqrt.d", 0xbff0000000000000, 0, 0, all(kDCNaN, NV)},
  });
}

TEST(Fpu, FusedMultiplyAdd) {
  // (1+2^-23)(1-2^-24) - 1 = 2^-24 - 2^-47 exactly (0x337ffffe); a separately rounded product
  // would give 0.
  constexpr u64 kOneMinusHalfUlp = 0x3f7fffff;
  run_rows({
      {"fmadd.s", kOneUlp, kOneMinusHalfUlp, kNegOne, all(0x337ffffe)},
      {"fmsub.s", kOneUlp, kOneMinusHalfUlp, kOne, all(0x337ffffe)},
      {"fnmsub.s", kOneUlp, kOneMinusHalfUlp, kOne, all(0xb37ffffe)},
      {"fnmadd.s", kOneUlp, kOneMinusHalfUlp, kNegOne, all(0xb37ffffe)},
      {"fmadd.s", kTwo, kThree, kOne, all(0x40e00000)},   // 7
      {"fmsub.s", kTwo, kThree, kOne, all(0x40a00000)},   // 5
      {"fnmsub.s", kTwo, kThree, kOne, all(0xc0a00000)},  // -5
      {"fnmadd.s", kTwo, kThree, kOne, all(0xc0e00000)},  // -7
      // inf * 0 is invalid even with a quiet NaN addend (RISC-V requires NV here).
      {"fmadd.s", kInf, kPos0, kQNaN, all(kCNaN, NV)},
      {"fmadd.s", kPos0, kNegInf, kOne, all(kCNaN, NV)},
      {"fnmadd.d", kDInf, kDPos0, kDQNaN, all(kDCNaN, NV)},
      {"fmadd.s", kInf, kOne, kNegInf, all(kCNaN, NV)},
      {"fmsub.s", kInf, kOne, kInf, all(kCNaN, NV)},
      {"fmadd.s", kOne, kOne, kSNaN, all(kCNaN, NV)},
      {"fmadd.s", kQNaN, kOne, kOne, all(kCNaN)},
      {"fmadd.s", kInf, kOne, kInf, all(kInf)},
      {"fmadd.s", kOne, kOne, kNegInf, all(kNegInf)},
      // Exact zero sums: +0 except in RDN; a zero product keeps its sign when the addend
      // has the same sign.
      {"fmadd.s", kOne, kOne, kNegOne, modes(kPos0, kPos0, kNeg0, kPos0, kPos0, 0)},
      {"fmadd.s", kNeg0, kOne, kNeg0, all(kNeg0)},
      {"fmadd.s", kPos0, kOne, kNeg0, modes(kPos0, kPos0, kNeg0, kPos0, kPos0, 0)},
      // fnmadd is -(a*b) - c, not -(a*b + c): with +0*1 and c = -0 it is -0 + +0.
      {"fnmadd.s", kPos0, kOne, kNeg0, modes(kPos0, kPos0, kNeg0, kPos0, kPos0, 0)},
      {"fnmadd.s", kPos0, kOne, kPos0, all(kNeg0)},
      {"fnmsub.s", kPos0, kOne, kPos0, modes(kPos0, kPos0, kNeg0, kPos0, kPos0, 0)},
      // A product that underflows to zero beside a zero addend keeps the product's sign.
      {"fmadd.s", kMinSub, kNegMinSub, kPos0,
       modes(kNeg0, kNeg0, kNegMinSub, kNeg0, kNeg0, UF | NX)},
      // Double: (1+2^-52)(1-2^-53) - 1 = 2^-53 - 2^-105.
      {"fmadd.d", kDOneUlp, 0x3fefffffffffffff, 0xbff0000000000000, all(0x3c9ffffffffffffe)},
  });
}

TEST(Fpu, MinMax) {
  run_rows({
      {"fmin.s", kNeg0, kPos0, 0, all(kNeg0)},
      {"fmin.s", kPos0, kNeg0, 0, all(kNeg0)},
      {"fmax.s", kNeg0, kPos0, 0, all(kPos0)},
      {"fmax.s", kPos0, kNeg0, 0, all(kPos0)},
      {"fmin.s", kQNaN, kOne, 0, all(kOne)},
      {"fmax.s", kNegOne, kQNaNPayload, 0, all(kNegOne)},
      // 2.2 semantics: a signaling NaN still yields the other operand, with NV.
      {"fmin.s", kSNaN, kOne, 0, all(kOne, NV)},
      {"fmax.s", kOne, kSNaN, 0, all(kOne, NV)},
      {"fmin.s", kQNaN, kQNaNPayload, 0, all(kCNaN)},
      {"fmax.s", kSNaN, kQNaN, 0, all(kCNaN, NV)},
      {"fmin.s", kNegInf, kNegMax, 0, all(kNegInf)},
      {"fmax.s", kMinSub, kPos0, 0, all(kMinSub)},
      {"fmin.s", kNegOne, kOne, 0, all(kNegOne)},
      {"fmin.d", kDNeg0, kDPos0, 0, all(kDNeg0)},
      {"fmax.d", kDNeg0, kDPos0, 0, all(kDPos0)},
      {"fmin.d", kDSNaN, kDTwo, 0, all(kDTwo, NV)},
      {"fmax.d", kDQNaN, kDQNaN, 0, all(kDCNaN)},
  });
}

TEST(Fpu, Comparisons) {
  run_rows({
      {"feq.s", kNeg0, kPos0, 0, all(1)},
      {"flt.s", kNeg0, kPos0, 0, all(0)},
      {"fle.s", kPos0, kNeg0, 0, all(1)},
      {"flt.s", kNegOne, kOne, 0, all(1)},
      {"flt.s", kNegInf, kNegMax, 0, all(1)},
      {"fle.s", kOne, kOne, 0, all(1)},
      {"flt.s", kOne, kOne, 0, all(0)},
      {"flt.s", kTwo, kOne, 0, all(0)},
      // feq is quiet (NV only for sNaN); flt and fle signal on any NaN.
      {"feq.s", kQNaN, kOne, 0, all(0)},
      {"feq.s", kQNaN, kQNaN, 0, all(0)},
      {"feq.s", kSNaN, kOne, 0, all(0, NV)},
      {"flt.s", kQNaN, kOne, 0, all(0, NV)},
      {"fle.s", kOne, kQNaN, 0, all(0, NV)},
      {"fle.s", kSNaN, kSNaN, 0, all(0, NV)},
      {"feq.d", kDNeg0, kDPos0, 0, all(1)},
      {"flt.d", kDNegInf, kDInf, 0, all(1)},
      {"feq.d", kDQNaN, kDQNaN, 0, all(0)},
      {"flt.d", kDQNaN, kDOne, 0, all(0, NV)},
      {"fle.d", kDOne, kDSNaN, 0, all(0, NV)},
  });
}

TEST(Fpu, ClassifiesAllTenClasses) {
  run_rows({
      {"fclass.s", kNegInf, 0, 0, all(1 << 0)},
      {"fclass.s", kNegOne, 0, 0, all(1 << 1)},
      {"fclass.s", kNegMinSub, 0, 0, all(1 << 2)},
      {"fclass.s", kNeg0, 0, 0, all(1 << 3)},
      {"fclass.s", kPos0, 0, 0, all(1 << 4)},
      {"fclass.s", kMaxSub, 0, 0, all(1 << 5)},
      {"fclass.s", kMinNorm, 0, 0, all(1 << 6)},
      {"fclass.s", kInf, 0, 0, all(1 << 7)},
      {"fclass.s", kSNaN, 0, 0, all(1 << 8)},
      {"fclass.s", 0xff800001, 0, 0, all(1 << 8)},
      {"fclass.s", kQNaN, 0, 0, all(1 << 9)},
      {"fclass.s", kNegQNaN, 0, 0, all(1 << 9)},
      {"fclass.d", kDNegInf, 0, 0, all(1 << 0)},
      {"fclass.d", kDNegMax, 0, 0, all(1 << 1)},
      {"fclass.d", 0x8000000000000001, 0, 0, all(1 << 2)},
      {"fclass.d", kDNeg0, 0, 0, all(1 << 3)},
      {"fclass.d", kDPos0, 0, 0, all(1 << 4)},
      {"fclass.d", 0x000fffffffffffff, 0, 0, all(1 << 5)},
      {"fclass.d", kDOne, 0, 0, all(1 << 6)},
      {"fclass.d", kDInf, 0, 0, all(1 << 7)},
      {"fclass.d", kDSNaN, 0, 0, all(1 << 8)},
      {"fclass.d", kDQNaN, 0, 0, all(1 << 9)},
  });
}

TEST(Fpu, FloatToIntegerSaturates) {
  constexpr u64 kIntMax = 0x7fffffff, kIntMin = 0xffffffff80000000, kAllOnes = ~0ull;
  constexpr u64 kLongMax = 0x7fffffffffffffff, kLongMin = 0x8000000000000000;
  constexpr u64 kM1 = ~0ull;  // -1
  run_rows({
      // fcvt.w.s: 2^31 is out of range, -2^31 is the minimum; NaN of either sign gives max.
      {"fcvt.w.s", 0x4f000000, 0, 0, all(kIntMax, NV)},
      {"fcvt.w.s", 0xcf000000, 0, 0, all(kIntMin)},
      {"fcvt.w.s", 0xcf000001, 0, 0, all(kIntMin, NV)},  // -(2^31 + 256)
      {"fcvt.w.s", kQNaN, 0, 0, all(kIntMax, NV)},
      {"fcvt.w.s", kNegQNaN, 0, 0, all(kIntMax, NV)},
      {"fcvt.w.s", kSNaN, 0, 0, all(kIntMax, NV)},
      {"fcvt.w.s", kInf, 0, 0, all(kIntMax, NV)},
      {"fcvt.w.s", kNegInf, 0, 0, all(kIntMin, NV)},
      {"fcvt.w.s", kNeg0, 0, 0, all(0)},
      {"fcvt.w.s", kNegOne, 0, 0, all(kM1)},
      // -0.5 and +-2.5 in every mode.
      {"fcvt.w.s", 0xbf000000, 0, 0, modes(0, 0, kM1, 0, kM1, NX)},
      {"fcvt.w.s", 0x40200000, 0, 0, modes(2, 2, 2, 3, 3, NX)},
      {"fcvt.w.s", 0xc0200000, 0, 0, modes(-2ull, -2ull, -3ull, -2ull, -3ull, NX)},
      {"fcvt.w.s", kMinSub, 0, 0, modes(0, 0, 0, 1, 0, NX)},
      // Unsigned: negative values that round to 0 are fine (NX), others are invalid -> 0.
      {"fcvt.wu.s", 0xbf000000, 0, 0, {{{0, NX}, {0, NX}, {0, NV}, {0, NX}, {0, NV}}}},
      {"fcvt.wu.s", kNegOne, 0, 0, all(0, NV)},
      {"fcvt.wu.s", kNegInf, 0, 0, all(0, NV)},
      {"fcvt.wu.s", kQNaN, 0, 0, all(kAllOnes, NV)},             // 2^32-1, sign-extended
      {"fcvt.wu.s", 0x4f800000, 0, 0, all(kAllOnes, NV)},        // 2^32
      {"fcvt.wu.s", 0x4f7fffff, 0, 0, all(0xffffffffffffff00)},  // 2^32-256, sign-extended
      {"fcvt.wu.s", 0x4f000000, 0, 0, all(0xffffffff80000000)},  // 2^31
      // 64-bit bounds.
      {"fcvt.l.s", 0x5f000000, 0, 0, all(kLongMax, NV)},
      {"fcvt.l.s", 0xdf000000, 0, 0, all(kLongMin)},
      {"fcvt.l.s", 0xdf000001, 0, 0, all(kLongMin, NV)},
      {"fcvt.l.s", kQNaN, 0, 0, all(kLongMax, NV)},
      {"fcvt.lu.s", 0x5f800000, 0, 0, all(kAllOnes, NV)},
      {"fcvt.lu.s", 0x5f7fffff, 0, 0, all(0xffffff0000000000)},
      {"fcvt.lu.s", kNegOne, 0, 0, all(0, NV)},
      {"fcvt.lu.s", kNegQNaN, 0, 0, all(kAllOnes, NV)},
      // Doubles: 2^31 - 0.5 and -2^31 - 0.5 straddle the bounds depending on the mode.
      {"fcvt.w.d",
       0x41dfffffffe00000,
       0,
       0,
       {{{kIntMax, NV}, {kIntMax, NX}, {kIntMax, NX}, {kIntMax, NV}, {kIntMax, NV}}}},
      {"fcvt.w.d",
       0xc1e0000000100000,
       0,
       0,
       {{{kIntMin, NX}, {kIntMin, NX}, {kIntMin, NV}, {kIntMin, NX}, {kIntMin, NV}}}},
      {"fcvt.w.d", 0xc1e0000000200000, 0, 0, all(kIntMin, NV)},  // -2^31 - 1
      {"fcvt.w.d", kDQNaN, 0, 0, all(kIntMax, NV)},
      {"fcvt.wu.d", 0x41efffffffe00000, 0, 0, all(kAllOnes)},  // 2^32 - 1 exactly
      {"fcvt.wu.d", 0x41f0000000000000, 0, 0, all(kAllOnes, NV)},
      {"fcvt.l.d", 0x43e0000000000000, 0, 0, all(kLongMax, NV)},
      {"fcvt.l.d", 0xc3e0000000000000, 0, 0, all(kLongMin)},
      {"fcvt.l.d", 0x43dfffffffffffff, 0, 0, all(0x7ffffffffffffc00)},
      {"fcvt.lu.d", 0x43f0000000000000, 0, 0, all(kAllOnes, NV)},
      {"fcvt.lu.d", kDNeg0, 0, 0, all(0)},
      {"fcvt.lu.d", 0xbfe0000000000000, 0, 0, {{{0, NX}, {0, NX}, {0, NV}, {0, NX}, {0, NV}}}},
      {"fcvt.l.d", kDMinSub, 0, 0, modes(0, 0, 0, 1, 0, NX)},
  });
}

TEST(Fpu, IntegerToFloat) {
  run_rows({
      // 2^24 + 1 is halfway between 2^24 and 2^24 + 2.
      {"fcvt.s.w", 0x01000001, 0, 0, modes(k2p24, k2p24, k2p24, 0x4b800001, 0x4b800001, NX)},
      {"fcvt.s.w", u64(-0x01000001), 0, 0,
       modes(0xcb800000, 0xcb800000, 0xcb800001, 0xcb800000, 0xcb800001, NX)},
      {"fcvt.s.w", 0x1234567800000000 | 0xffffffff, 0, 0, all(kNegOne)},  // low 32 bits only
      {"fcvt.s.w", 0x80000000, 0, 0, all(0xcf000000)},
      {"fcvt.s.w", 0, 0, 0, all(kPos0)},
      {"fcvt.s.wu", 0xffffffff, 0, 0,
       modes(0x4f800000, 0x4f7fffff, 0x4f7fffff, 0x4f800000, 0x4f800000, NX)},
      {"fcvt.s.wu", 0xffffffff00000003, 0, 0, all(kThree)},
      {"fcvt.s.l", 0x8000000000000000, 0, 0, all(0xdf000000)},
      {"fcvt.s.lu", ~0ull, 0, 0,
       modes(0x5f800000, 0x5f7fffff, 0x5f7fffff, 0x5f800000, 0x5f800000, NX)},
      {"fcvt.d.l", 0x7fffffffffffffff, 0, 0,
       modes(0x43e0000000000000, 0x43dfffffffffffff, 0x43dfffffffffffff, 0x43e0000000000000,
             0x43e0000000000000, NX)},
      {"fcvt.d.lu", ~0ull, 0, 0,
       modes(0x43f0000000000000, 0x43efffffffffffff, 0x43efffffffffffff, 0x43f0000000000000,
             0x43f0000000000000, NX)},
      {"fcvt.d.l", u64(-(1ll << 53) - 1), 0, 0,  // -(2^53 + 1): a tie
       modes(0xc340000000000000, 0xc340000000000000, 0xc340000000000001, 0xc340000000000000,
             0xc340000000000001, NX)},
      {"fcvt.d.w", 0x80000000, 0, 0, all(0xc1e0000000000000)},
      {"fcvt.d.wu", 0x80000000, 0, 0, all(0x41e0000000000000)},
      {"fcvt.d.w", 0xffffffff00000000, 0, 0, all(kDPos0)},
  });
}

TEST(Fpu, ConvertBetweenFormats) {
  run_rows({
      {"fcvt.s.d", kDThird, 0, 0,
       modes(0x3eaaaaab, 0x3eaaaaaa, 0x3eaaaaaa, 0x3eaaaaab, 0x3eaaaaab, NX)},
      {"fcvt.s.d", kDOne, 0, 0, all(kOne)},
      {"fcvt.s.d", kDNeg0, 0, 0, all(kNeg0)},
      {"fcvt.s.d", kDNegInf, 0, 0, all(kNegInf)},
      {"fcvt.s.d", kDSNaN, 0, 0, all(kCNaN, NV)},
      {"fcvt.s.d", 0x7ff8000000012345, 0, 0, all(kCNaN)},
      // Overflow: 2^128, double max, and max single + half an ulp (a tie that RNE rounds up).
      {"fcvt.s.d", 0x47f0000000000000, 0, 0, modes(kInf, kMax, kMax, kInf, kInf, OF | NX)},
      {"fcvt.s.d", kDNegMax, 0, 0, modes(kNegInf, kNegMax, kNegInf, kNegMax, kNegInf, OF | NX)},
      {"fcvt.s.d",
       0x47effffff0000000,
       0,
       0,
       {{{kInf, OF | NX}, {kMax, NX}, {kMax, NX}, {kInf, OF | NX}, {kInf, OF | NX}}}},
      // Subnormal singles: 2^-149 is exact; 2^-150 is a tie with zero.
      {"fcvt.s.d", 0x36a0000000000000, 0, 0, all(kMinSub)},
      {"fcvt.s.d", 0x3690000000000000, 0, 0, modes(kPos0, kPos0, kPos0, kMinSub, kMinSub, UF | NX)},
      {"fcvt.s.d", 0x3690000000000001, 0, 0,
       modes(kMinSub, kPos0, kPos0, kMinSub, kMinSub, UF | NX)},
      {"fcvt.s.d", kDMinSub, 0, 0, modes(kPos0, kPos0, kPos0, kMinSub, kPos0, UF | NX)},
      // Widening is exact; only NaNs raise flags.
      {"fcvt.d.s", kMinSub, 0, 0, all(0x36a0000000000000)},
      {"fcvt.d.s", kNegInf, 0, 0, all(kDNegInf)},
      {"fcvt.d.s", kNeg0, 0, 0, all(kDNeg0)},
      {"fcvt.d.s", kSNaN, 0, 0, all(kDCNaN, NV)},
      {"fcvt.d.s", kQNaNPayload, 0, 0, all(kDCNaN)},
  });
}

TEST(Fpu, NaNBoxing) {
  EXPECT_EQ(fpu::unbox_s(0xffffffff3f800000), 0x3f800000u);
  EXPECT_EQ(fpu::unbox_s(0x000000003f800000), fpu::kCanonicalNaN32);
  EXPECT_EQ(fpu::unbox_s(0xfffffffe3f800000), fpu::kCanonicalNaN32);
  EXPECT_EQ(fpu::unbox_s(0x7fffffff3f800000), fpu::kCanonicalNaN32);
  EXPECT_EQ(fpu::box_s(0x3f800000), 0xffffffff3f800000u);
  // An unboxed operand is the canonical (quiet) NaN: no NV.
  u32 flags = 0;
  EXPECT_EQ(fpu::add_s(fpu::unbox_s(0x3ff0000000000000), kOne, fpu::kRNE, flags), kCNaN);
  EXPECT_EQ(flags, 0u);
  EXPECT_EQ(fpu::class_s(fpu::unbox_s(0)), 1u << 9);
}

TEST(Fpu, SignInjection) {
  EXPECT_EQ(fpu::sgnj_s(kOne, kNeg0), kNegOne);
  EXPECT_EQ(fpu::sgnjn_s(kOne, kNeg0), kOne);
  EXPECT_EQ(fpu::sgnjx_s(kNegOne, kNeg0), kOne);
  EXPECT_EQ(fpu::sgnj_s(kSNaN, kNegOne), kSNaN | 0x80000000);  // NaNs are not canonicalized
  EXPECT_EQ(fpu::sgnjn_d(kDOne, kDOne), 0xbff0000000000000u);
  EXPECT_EQ(fpu::sgnjx_d(0xbff0000000000000, kDNeg0), kDOne);
  EXPECT_EQ(fpu::sgnj_d(kDSNaN, kDNeg0), kDSNaN | (1ull << 63));
}

// The host-unit path (RNE, RTZ, RDN, RUP) against the exact software path, which otherwise only
// serves RMM and the FMA fallback: many random operands, results and flags bit-exact.
TEST(Fpu, HostPathMatchesSoftwareInEveryMode) {
  std::mt19937_64 rng(12345);
  auto single = [&] {
    u32 bits = u32(rng());
    switch (rng() % 4) {
      case 0:
        return u64(bits);
      case 1:
        return u64((bits & 0x807fffff) | u32(115 + rng() % 25) << 23);
      case 2:
        return u64((bits & 0x807fffff) | u32(rng() % 30) << 23);
      default:
        return u64((bits & 0x807fffff) | u32(254 - rng() % 30) << 23);
    }
  };
  auto dbl = [&] {
    u64 bits = rng();
    switch (rng() % 4) {
      case 0:
        return bits;
      case 1:
        return (bits & 0x800fffffffffffff) | (993 + rng() % 61) << 52;
      case 2:
        return (bits & 0x800fffffffffffff) | (rng() % 60) << 52;
      default:
        return (bits & 0x800fffffffffffff) | (2046 - rng() % 60) << 52;
    }
  };
  int mismatches = 0;
  auto check = [&](const char* what, u64 host, u32 host_flags, u64 soft, u32 soft_flags, u64 a,
                   u64 b, u64 c, unsigned rm) {
    if (host == soft && host_flags == soft_flags) return;
    if (++mismatches > 20) return;
    ADD_FAILURE() << what << " rm=" << rm << std::hex << " a=0x" << a << " b=0x" << b << " c=0x"
                  << c << ": host 0x" << host << "/" << host_flags << " soft 0x" << soft << "/"
                  << soft_flags;
  };
  for (int i = 0; i < 200000; ++i) {
    unsigned rm = i % 4;
    u32 fh = 0, fs = 0;
    u64 a = single(), b = single(), c = single();
    switch ((i / 4) % 5) {
      case 0:
        check("add.s", fpu::add_s(a, b, rm, fh), fh, fpu::soft::add_s(a, b, rm, fs), fs, a, b, c,
              rm);
        break;
      case 1:
        check("mul.s", fpu::mul_s(a, b, rm, fh), fh, fpu::soft::mul_s(a, b, rm, fs), fs, a, b, c,
              rm);
        break;
      case 2:
        check("div.s", fpu::div_s(a, b, rm, fh), fh, fpu::soft::div_s(a, b, rm, fs), fs, a, b, c,
              rm);
        break;
      case 3:
        a &= 0x7fffffff;
        check("sqrt.s", fpu::sqrt_s(a, rm, fh), fh, fpu::soft::sqrt_s(a, rm, fs), fs, a, b, c, rm);
        break;
      default:
        check("madd.s", fpu::madd_s(a, b, c, rm, fh), fh, fpu::soft::madd_s(a, b, c, rm, fs), fs, a,
              b, c, rm);
    }
    fh = fs = 0;
    a = dbl(), b = dbl(), c = dbl();
    switch ((i / 4) % 6) {
      case 0:
        check("add.d", fpu::add_d(a, b, rm, fh), fh, fpu::soft::add_d(a, b, rm, fs), fs, a, b, c,
              rm);
        break;
      case 1:
        check("mul.d", fpu::mul_d(a, b, rm, fh), fh, fpu::soft::mul_d(a, b, rm, fs), fs, a, b, c,
              rm);
        break;
      case 2:
        check("div.d", fpu::div_d(a, b, rm, fh), fh, fpu::soft::div_d(a, b, rm, fs), fs, a, b, c,
              rm);
        break;
      case 3:
        a &= ~(1ull << 63);
        check("sqrt.d", fpu::sqrt_d(a, rm, fh), fh, fpu::soft::sqrt_d(a, rm, fs), fs, a, b, c, rm);
        break;
      case 4:
        check("cvt.s.d", fpu::cvt_s_d(a, rm, fh), fh, fpu::soft::cvt_s_d(a, rm, fs), fs, a, b, c,
              rm);
        break;
      default:
        check("madd.d", fpu::madd_d(a, b, c, rm, fh), fh, fpu::soft::madd_d(a, b, c, rm, fs), fs, a,
              b, c, rm);
    }
  }
  EXPECT_EQ(mismatches, 0);
}

// RMM never ties for a square root, so the public sqrt uses RNE there; the software path, which
// implements RMM literally, must agree.
TEST(Fpu, SquareRootRmmEqualsSoftware) {
  std::mt19937_64 rng(777);
  for (int i = 0; i < 100000; ++i) {
    u64 d = rng() >> 1;
    u32 s = u32(rng()) >> 1;
    u32 f1 = 0, f2 = 0, f3 = 0, f4 = 0;
    ASSERT_EQ(fpu::sqrt_d(d, fpu::kRMM, f1), fpu::soft::sqrt_d(d, fpu::kRMM, f2)) << std::hex << d;
    ASSERT_EQ(f1, f2);
    ASSERT_EQ(fpu::sqrt_s(s, fpu::kRMM, f3), fpu::soft::sqrt_s(s, fpu::kRMM, f4)) << std::hex << s;
    ASSERT_EQ(f3, f4);
  }
}

TEST(Fpu, LeavesHostRoundingModeAtDefault) {
  u32 flags = 0;
  fpu::add_d(kDOne, kDThird, fpu::kRUP, flags);
  fpu::madd_s(kOne, kTwo, kThree, fpu::kRTZ, flags);
  fpu::cvt_s_d(kDThird, fpu::kRDN, flags);
  unsigned mxcsr;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  EXPECT_EQ(mxcsr & ~0x3fu, 0x1f80u);
}

}  // namespace
}  // namespace vireo::riscv::fp_test
