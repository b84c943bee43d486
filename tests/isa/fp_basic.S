// F and D basics: arithmetic, fused multiply-add (all four forms), square
// root, sign injection, moves between register files, compares, loads and
// stores (flw NaN-boxes), conversions between single and double and to and
// from integers, and the fcsr/frm/fflags CSR views.
#include "vireo_test.h"
#include "fp.h"

TEST_MAIN
  // ---- Single arithmetic ----
  TEST_FP_S2(1, fadd.s, 0, S_THREE, S_ONE, S_TWO)
  TEST_FP_S2(2, fsub.s, 0, S_MONE, S_ONE, S_TWO)
  TEST_FP_S2(3, fmul.s, 0, 0x40c00000, S_TWO, S_THREE)  // 6
  TEST_FP_S2(4, fdiv.s, 0, 0x3fc00000, S_THREE, S_TWO)  // 1.5
  TEST_FP_S2(5, fdiv.s, FLAG_NX, 0x3eaaaaab, S_ONE, S_THREE)
  TEST_FP_S1(6, fsqrt.s, 0, 0x40400000, 0x41100000)  // sqrt(9) = 3
  TEST_FP_S1(7, fsqrt.s, FLAG_NX, 0x3fb504f3, S_TWO)
  TEST_FP_S3(8, fmadd.s, 0, 0x40e00000, S_TWO, S_THREE, S_ONE)   // 2*3+1 = 7
  TEST_FP_S3(9, fmsub.s, 0, 0x40a00000, S_TWO, S_THREE, S_ONE)   // 2*3-1 = 5
  TEST_FP_S3(10, fnmsub.s, 0, 0xc0a00000, S_TWO, S_THREE, S_ONE) // -(2*3)+1 = -5
  TEST_FP_S3(11, fnmadd.s, 0, 0xc0e00000, S_TWO, S_THREE, S_ONE) // -(2*3)-1 = -7
  // Fused: one rounding. (1+2^-23)*(1-2^-23) - 1 = -2^-46 exactly.
  TEST_FP_S3(12, fmsub.s, 0, 0xa8800000, 0x3f800001, 0x3f7ffffe, S_ONE)

  // ---- Double arithmetic ----
  TEST_FP_D2(13, fadd.d, 0, D_THREE, D_ONE, D_TWO)
  TEST_FP_D2(14, fsub.d, 0, D_MONE, D_ONE, D_TWO)
  TEST_FP_D2(15, fmul.d, 0, 0x4018000000000000, D_TWO, D_THREE)
  TEST_FP_D2(16, fdiv.d, FLAG_NX, 0x3fd5555555555555, D_ONE, D_THREE)
  TEST_FP_D1(17, fsqrt.d, FLAG_NX, 0x3ff6a09e667f3bcd, D_TWO)
  TEST_FP_D3(18, fmadd.d, 0, 0x401c000000000000, D_TWO, D_THREE, D_ONE)
  TEST_FP_D3(19, fmsub.d, 0, 0x4014000000000000, D_TWO, D_THREE, D_ONE)
  TEST_FP_D3(20, fnmsub.d, 0, 0xc014000000000000, D_TWO, D_THREE, D_ONE)
  TEST_FP_D3(21, fnmadd.d, 0, 0xc01c000000000000, D_TWO, D_THREE, D_ONE)
  TEST_FP_D3(22, fmsub.d, 0, 0xb970000000000000, 0x3ff0000000000001, 0x3feffffffffffffe, D_ONE)

  // ---- Sign injection (bit operations: no flags, NaNs kept as they are) ----
  TEST_FP_S2(23, fsgnj.s, 0, 0xbf800000, S_ONE, S_MONE)
  TEST_FP_S2(24, fsgnjn.s, 0, 0x3f800000, S_ONE, S_MONE)
  TEST_FP_S2(25, fsgnjx.s, 0, 0x3f800000, S_MONE, S_MONE)
  TEST_FP_S2(26, fsgnj.s, 0, 0xff812345, 0x7f812345, S_MONE)  // sNaN payload kept, no NV
  TEST_FP_D2(27, fsgnj.d, 0, 0xbff0000000000000, D_ONE, D_MONE)
  TEST_FP_D2(28, fsgnjn.d, 0, 0x7ff0000000000001, 0xfff0000000000001, D_MONE)
  TEST_FP_D2(29, fsgnjx.d, 0, 0x3ff0000000000000, D_MONE, D_MONE)
  // fneg/fabs are sign injections.
  TEST_FP(30, 0, BOX(0x3f800000), FSET_S(fa1, S_MONE); fabs.s fa0, fa1; fmv.x.d a0, fa0)
  TEST_FP(31, 0, 0x8000000000000000, FSET_D(fa1, D_ZERO); fneg.d fa0, fa1; fmv.x.d a0, fa0)

  // ---- Moves between register files ----
  TEST_FP(32, 0, 0xffffffff80000001, li a2, 0x1234567880000001; fmv.w.x fa0, a2; fmv.x.w a0, fa0)  // sign-extended
  TEST_FP(33, 0, BOX(0x80000001), li a2, 0x1234567880000001; fmv.w.x fa0, a2; fmv.x.d a0, fa0)  // boxed
  TEST_FP(34, 0, 0x123456789abcdef0, li a2, 0x123456789abcdef0; fmv.d.x fa0, a2; fmv.x.d a0, fa0)

  // ---- Compares ----
  TEST_FP_S_INT2(35, feq.s, 0, 1, S_ONE, S_ONE)
  TEST_FP_S_INT2(36, feq.s, 0, 1, S_ZERO, S_MZERO)  // +0 == -0
  TEST_FP_S_INT2(37, flt.s, 0, 1, S_MONE, S_ONE)
  TEST_FP_S_INT2(38, flt.s, 0, 0, S_ONE, S_ONE)
  TEST_FP_S_INT2(39, fle.s, 0, 1, S_ONE, S_ONE)
  TEST_FP_S_INT2(40, fle.s, 0, 0, S_TWO, S_ONE)
  TEST_FP_D_INT2(41, feq.d, 0, 0, D_ONE, D_TWO)
  TEST_FP_D_INT2(42, flt.d, 0, 0, D_ZERO, D_MZERO)
  TEST_FP_D_INT2(43, fle.d, 0, 1, D_MINF, D_MAX)

  // ---- Loads and stores ----
  TEST_FP(44, 0, BOX(0x40490fdb), la a2, fdata; flw fa0, 0(a2); fmv.x.d a0, fa0)
  TEST_FP(45, 0, 0x400921fb54442d18, la a2, fdata; fld fa0, 8(a2); fmv.x.d a0, fa0)
  TEST_FP(46, 0, 0x0000000040490fdb, la a2, fdata; flw fa0, 0(a2); fsw fa0, 16(a2); lwu a0, 16(a2))
  TEST_FP(47, 0, 0x400921fb54442d18, la a2, fdata; fld fa0, 8(a2); fsd fa0, 24(a2); ld a0, 24(a2))

  // ---- Conversions ----
  TEST_FP(48, 0, 0x400921fb60000000, FSET_S(fa1, 0x40490fdb); fcvt.d.s fa0, fa1; fmv.x.d a0, fa0)
  TEST_FP(49, FLAG_NX, BOX(0x40490fdb), FSET_D(fa1, 0x400921fb54442d18); fcvt.s.d fa0, fa1; fmv.x.d a0, fa0)
  TEST_FP(50, FLAG_OF | FLAG_NX, BOX(S_INF), FSET_D(fa1, D_MAX); fcvt.s.d fa0, fa1; fmv.x.d a0, fa0)
  TEST_FP(51, 0, BOX(0xc0400000), li a2, -3; fcvt.s.w fa0, a2; fmv.x.d a0, fa0)
  TEST_FP(52, 0, BOX(0x43800000), li a2, 0xffffffff00000100; fcvt.s.wu fa0, a2; fmv.x.d a0, fa0)  // low word only
  TEST_FP(53, FLAG_NX, BOX(0x4f800000), li a2, 0xffffffff; fcvt.s.wu fa0, a2; fmv.x.d a0, fa0)
  TEST_FP(54, 0, 0xc008000000000000, li a2, 0x12345678fffffffd; fcvt.d.w fa0, a2; fmv.x.d a0, fa0)  // low word only
  TEST_FP(55, 0, 0x43e0000000000000, li a2, 0x8000000000000000; fcvt.d.lu fa0, a2; fmv.x.d a0, fa0)
  TEST_FP(56, 0, 0xc3e0000000000000, li a2, 0x8000000000000000; fcvt.d.l fa0, a2; fmv.x.d a0, fa0)
  TEST_FP(57, 0, 0xfffffffffffffffd, FSET_D(fa1, 0xc008000000000000); fcvt.l.d a0, fa1, rtz)
  TEST_FP(58, 0, 0x0000000000000003, FSET_S(fa1, S_THREE); fcvt.wu.s a0, fa1, rtz)
  TEST_FP(59, FLAG_NX, 0x0000000000000001, FSET_S(fa1, 0x3fc00000); fcvt.lu.s a0, fa1, rtz)  // 1.5 -> 1
  TEST_FP(60, 0, 0xffffffffffffffff, FSET_D(fa1, D_MONE); fcvt.w.d a0, fa1, rtz)

  // ---- fcsr, frm, fflags ----
  TEST_FP(61, 0x1f, 0xff, li a2, 0xff; fscsr a2; frcsr a0)  // 8 bits: frm(7:5), fflags(4:0)
  TEST_CASE(62, a0, 7, li a2, 0xff; fscsr a2; frrm a0)
  TEST_CASE(63, a0, 0x41, li a2, 0x02; fsrm a2; li a2, 0x1; fsflags a2; frcsr a0)
  TEST_CASE(64, a0, 0x75, fsrmi a0, 3; li t6, 2; bne a0, t6, fail; frrm a0; li t6, 3; bne a0, t6, fail; fsflagsi 0x15; frcsr a0)
  // Flags accrue (sticky) across instructions.
  TEST_FP(65, FLAG_NX | FLAG_DZ, BOX(S_INF), FSET_S(fa1, S_ONE); FSET_S(fa2, S_THREE); fdiv.s fa0, fa1, fa2; FSET_S(fa2, S_ZERO); fdiv.s fa0, fa1, fa2; fmv.x.d a0, fa0)
  fscsr zero

  PASS

  .section .data
  .align 3
fdata:
  .word 0x40490fdb, 0        // pi, single
  .dword 0x400921fb54442d18  // pi, double
  .dword 0, 0
