// Zba, Zbb, Zbs: every instruction, with the edge cases of each (zero
// inputs for the counts, shift amounts masked to 6/5 bits, the .uw forms
// zero-extending the low word, W forms sign-extending their results).
#include "vireo_test.h"

TEST_MAIN
  .option norvc

  // ---- Zba ----
  TEST_RR_OP(1, add.uw, 0x00000001ffffffff, 0xffffffff80000000 + 0x7fffffff, 0x0000000100000000)
  TEST_RR_OP(2, add.uw, 0x0000000080000005, 0x1234567880000000, 5)
  TEST_RR_OP(3, sh1add, 0x0000000000000007, 3, 1)
  TEST_RR_OP(4, sh1add, 0x0000000000000000, 0x8000000000000000, 0)  // bit 63 shifted out
  TEST_RR_OP(5, sh2add, 0x000000000000000d, 3, 1)
  TEST_RR_OP(6, sh3add, 0x0000000000000019, 3, 1)
  TEST_RR_OP(7, sh1add.uw, 0x00000001fffffffe, 0xffffffffffffffff, 0)
  TEST_RR_OP(8, sh2add.uw, 0x00000003fffffffb, 0xffffffffffffffff, -1)
  TEST_RR_OP(9, sh3add.uw, 0x0000000000000010, 0xffffffff00000001, 8)
  TEST_IMM_OP(10, slli.uw, 0x00000001fffffffe, 0xffffffffffffffff, 1)
  TEST_IMM_OP(11, slli.uw, 0xffffffff00000000, 0x12345678ffffffff, 32)
  TEST_IMM_OP(12, slli.uw, 0x8000000000000000, 0x0000000000000001, 63)

  // ---- Zbb: logic with negate ----
  TEST_RR_OP(13, andn, 0xf000f000, 0xff00ff00, 0xffffffff0ff00ff0)
  TEST_RR_OP(14, orn, 0x00000000ff0fff0f, 0xff00ff00, 0xffffffff0ff00ff0)
  TEST_RR_OP(15, xnor, 0xffffffff0f0f0f0f, 0xff00ff00, 0x0ff00ff0)

  // ---- Zbb: counts ----
  TEST_R_OP(16, clz, 64, 0)
  TEST_R_OP(17, clz, 0, 0x8000000000000000)
  TEST_R_OP(18, clz, 63, 1)
  TEST_R_OP(19, clzw, 32, 0xffffffff00000000)
  TEST_R_OP(20, clzw, 0, 0x80000000)
  TEST_R_OP(21, clzw, 31, 0x0000000100000001)
  TEST_R_OP(22, ctz, 64, 0)
  TEST_R_OP(23, ctz, 63, 0x8000000000000000)
  TEST_R_OP(24, ctz, 4, 0xf0)
  TEST_R_OP(25, ctzw, 32, 0xffffffff00000000)
  TEST_R_OP(26, ctzw, 31, 0x80000000)
  TEST_R_OP(27, cpop, 64, -1)
  TEST_R_OP(28, cpop, 0, 0)
  TEST_R_OP(29, cpop, 3, 0x8000000100000002)
  TEST_R_OP(30, cpopw, 32, -1)
  TEST_R_OP(31, cpopw, 1, 0xffffffff00000001)

  // ---- Zbb: min/max ----
  TEST_RR_OP(32, max, 1, -1, 1)
  TEST_RR_OP(33, max, 0x7fffffffffffffff, 0x8000000000000000, 0x7fffffffffffffff)
  TEST_RR_OP(34, maxu, -1, -1, 1)
  TEST_RR_OP(35, min, -1, -1, 1)
  TEST_RR_OP(36, min, 0x8000000000000000, 0x8000000000000000, 0x7fffffffffffffff)
  TEST_RR_OP(37, minu, 1, -1, 1)

  // ---- Zbb: sign and zero extension ----
  TEST_R_OP(38, sext.b, 0xffffffffffffff80, 0x1234567890abcd80)
  TEST_R_OP(39, sext.b, 0x000000000000007f, 0xffffffffffffff7f)
  TEST_R_OP(40, sext.h, 0xffffffffffff8000, 0x1234567890ab8000)
  TEST_R_OP(41, sext.h, 0x0000000000007fff, 0xffffffffffff7fff)
  TEST_R_OP(42, zext.h, 0x000000000000ffff, 0xffffffffffffffff)

  // ---- Zbb: rotations ----
  TEST_RR_OP(43, rol, 0x0000000000000003, 0x8000000000000001, 1)
  TEST_RR_OP(44, rol, 0x0000000000000003, 0x8000000000000001, 65)  // 6-bit amount
  TEST_RR_OP(45, ror, 0xc000000000000000, 0x8000000000000001, 1)
  TEST_RR_OP(46, ror, 0x8000000000000001, 0x8000000000000001, 0)
  TEST_IMM_OP(47, rori, 0x2000000000000000, 0x8000000000000000, 2)
  TEST_IMM_OP(48, rori, 0x0000000000000003, 0x8000000000000001, 63)
  TEST_RR_OP(49, rolw, 0x0000000000000003, 0x0000000080000001, 1)
  TEST_RR_OP(50, rolw, 0xffffffff80000000, 0xffffffff40000000, 33)  // 5-bit amount, sext
  TEST_RR_OP(51, rorw, 0xffffffffc0000000, 0x0000000080000001, 1)
  TEST_IMM_OP(52, roriw, 0xffffffff80000000, 0x1234567800000001, 1)
  TEST_IMM_OP(53, roriw, 0x0000000012345678, 0xffffffff12345678, 0)

  // ---- Zbb: byte operations ----
  TEST_R_OP(54, orc.b, 0xff00ff0000ffff00, 0x0100800000017f00)
  TEST_R_OP(55, orc.b, 0x0000000000000000, 0)
  TEST_R_OP(56, rev8, 0xefcdab8967452301, 0x0123456789abcdef)

  // ---- Zbs ----
  TEST_RR_OP(57, bset, 0x8000000000000001, 1, 63)
  TEST_RR_OP(58, bset, 0x0000000000000003, 1, 65)  // index mod 64
  TEST_RR_OP(59, bclr, 0x7fffffffffffffff, -1, 63)
  TEST_RR_OP(60, binv, 0x0000000000000000, 0x0000000000000100, 8)
  TEST_RR_OP(61, binv, 0x0000000000000101, 0x0000000000000001, 8)
  TEST_RR_OP(62, bext, 1, 0x8000000000000000, 63)
  TEST_RR_OP(63, bext, 0, 0x7fffffffffffffff, 127)
  TEST_IMM_OP(64, bseti, 0x0000000100000000, 0, 32)
  TEST_IMM_OP(65, bclri, 0xfffffffeffffffff, -1, 32)
  TEST_IMM_OP(66, binvi, 0x8000000000000000, 0, 63)
  TEST_IMM_OP(67, bexti, 1, 0x0000000100000000, 32)
  TEST_IMM_OP(68, bexti, 0, 0x0000000100000000, 31)

  PASS
