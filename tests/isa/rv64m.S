// RV64M: multiplication (low and high halves, signed/unsigned mixes), division
// and remainder including the division-by-zero and signed-overflow results
// the spec defines instead of trapping, and the 32-bit W forms.
#include "vireo_test.h"

TEST_MAIN
  .option norvc

  TEST_RR_OP(1, mul, 0x0000000000001200, 0x0000000000000090, 0x0000000000000020)
  TEST_RR_OP(2, mul, 0xfffffffffffffffe, -1, 2)
  TEST_RR_OP(3, mul, 0x0000000000000001, -1, -1)
  TEST_RR_OP(4, mul, 0x8000000000000000, 0x8000000000000000, 3)
  TEST_RR_OP(5, mulh, 0xffffffffffffffff, -1, 1)
  TEST_RR_OP(6, mulh, 0xffffffffffffffff, -1, 0x7fffffffffffffff)
  TEST_RR_OP(7, mulh, 0x4000000000000000, 0x8000000000000000, 0x8000000000000000)
  TEST_RR_OP(8, mulhu, 0xfffffffffffffffe, -1, -1)
  TEST_RR_OP(9, mulhu, 0x0000000000000000, 0x7fffffff, 0x7fffffff)
  TEST_RR_OP(10, mulhu, 0x4000000000000000, 0x8000000000000000, 0x8000000000000000)
  TEST_RR_OP(11, mulhsu, 0xffffffffffffffff, -1, -1)  // (-1) * (2^64-1)
  TEST_RR_OP(12, mulhsu, 0x0000000000000000, 1, -1)
  TEST_RR_OP(13, mulhsu, 0xc000000000000000, 0x8000000000000000, 0x8000000000000000)
  TEST_RR_OP(14, mulw, 0xffffffff80000000, 0x0000000040000000, 2)
  TEST_RR_OP(15, mulw, 0x0000000000000001, 0xffffffffffffffff, 0x00000000ffffffff)
  TEST_RR_OP(16, mulw, 0x0000000000000000, 0x0000000100000000, 0x0000000100000000)

  // ---- Division ----
  TEST_RR_OP(17, div, 0x0000000000000003, 20, 6)
  TEST_RR_OP(18, div, 0xfffffffffffffffd, -20, 6)  // rounds toward zero
  TEST_RR_OP(19, div, 0xfffffffffffffffd, 20, -6)
  TEST_RR_OP(20, div, 0x0000000000000003, -20, -6)
  TEST_RR_OP(21, div, 0x8000000000000000, 0x8000000000000000, -1)  // overflow
  TEST_RR_OP(22, div, 0xffffffffffffffff, 5, 0)                    // by zero
  TEST_RR_OP(23, div, 0xffffffffffffffff, 0x8000000000000000, 0)
  TEST_RR_OP(24, divu, 0x0000000000000003, 20, 6)
  TEST_RR_OP(25, divu, 0x2aaaaaaaaaaaaaa7, -20, 6)
  TEST_RR_OP(26, divu, 0x0000000000000000, 20, -6)
  TEST_RR_OP(27, divu, 0xffffffffffffffff, 5, 0)
  TEST_RR_OP(28, rem, 0x0000000000000002, 20, 6)
  TEST_RR_OP(29, rem, 0xfffffffffffffffe, -20, 6)  // sign of the dividend
  TEST_RR_OP(30, rem, 0x0000000000000002, 20, -6)
  TEST_RR_OP(31, rem, 0xfffffffffffffffe, -20, -6)
  TEST_RR_OP(32, rem, 0x0000000000000000, 0x8000000000000000, -1)  // overflow
  TEST_RR_OP(33, rem, 0xfffffffffffffffb, -5, 0)                   // by zero: dividend
  TEST_RR_OP(34, remu, 0x0000000000000002, 20, 6)
  TEST_RR_OP(35, remu, 0x0000000000000002, -20, 6)
  TEST_RR_OP(36, remu, 0x0000000000000014, 20, -6)
  TEST_RR_OP(37, remu, 0xfffffffffffffffb, -5, 0)

  // ---- 32-bit division: operands are the low words, results sign-extended ----
  TEST_RR_OP(38, divw, 0xfffffffffffffffd, 0x00000000ffffffec, 6)  // -20 / 6
  TEST_RR_OP(39, divw, 0xffffffff80000000, 0x0000000080000000, -1)  // overflow
  TEST_RR_OP(40, divw, 0xffffffffffffffff, 0x1234567800000005, 0)  // by zero
  TEST_RR_OP(41, divw, 0x0000000000000002, 0xffffffff00000004, 0x1111111100000002)
  TEST_RR_OP(42, divuw, 0x000000002aaaaaa7, 0x00000000ffffffec, 6)
  TEST_RR_OP(43, divuw, 0xffffffffffffffff, 5, 0)  // by zero: all ones, sign-extended
  TEST_RR_OP(44, divuw, 0x0000000000000001, 0xffffffff80000000, 0x0000000080000000)
  TEST_RR_OP(45, remw, 0xfffffffffffffffe, 0x00000000ffffffec, 6)
  TEST_RR_OP(46, remw, 0x0000000000000000, 0x0000000080000000, -1)  // overflow
  TEST_RR_OP(47, remw, 0xffffffff80000001, 0x1234567880000001, 0)  // by zero: sext(low word)
  TEST_RR_OP(48, remuw, 0x0000000000000002, 0x00000000ffffffec, 6)
  TEST_RR_OP(49, remuw, 0xffffffff80000001, 0x0000000080000001, 0)  // by zero: sext(low word)
  TEST_RR_OP(50, remuw, 0x0000000000000000, 0x00000001ffffffff, 0xffffffff)

  PASS
