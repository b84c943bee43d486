// NaNs: NaN-boxing (a single whose upper 32 bits are not all ones reads as
// the canonical NaN; moves and stores see the raw bits), canonical NaN
// results (payloads and signs never propagate through arithmetic), signaling
// NaN inputs raising NV, fmin/fmax with signed zeros and NaNs, and quiet
// (feq) versus signaling (flt, fle) comparisons.
#include "vireo_test.h"
#include "fp.h"

#define UNBOXED 0x000000003f800000  // 1.0f without its box
#define HALF_BOXED 0xfffffffe3f800000

TEST_MAIN
  // ---- NaN-boxing ----
  TEST_FP(1, 0, BOX(S_QNAN), FSET_D(fa1, UNBOXED); FSET_S(fa2, S_ONE); fadd.s fa0, fa1, fa2; fmv.x.d a0, fa0)
  TEST_FP(2, 0, BOX(S_QNAN), FSET_D(fa1, HALF_BOXED); fadd.s fa0, fa1, fa1; fmv.x.d a0, fa0)
  TEST_FP(3, 0, BOX(S_QNAN), FSET_D(fa1, UNBOXED); fsgnj.s fa0, fa1, fa1; fmv.x.d a0, fa0)
  TEST_FP(4, 0, BOX(0xffc00000), FSET_D(fa1, UNBOXED); FSET_S(fa2, S_MONE); fsgnj.s fa0, fa1, fa2; fmv.x.d a0, fa0)
  TEST_FP(5, 0, 0x200, FSET_D(fa1, UNBOXED); fclass.s a0, fa1)  // quiet NaN
  TEST_FP(6, 0, 0, FSET_D(fa1, UNBOXED); feq.s a0, fa1, fa1)   // quiet: no NV
  TEST_FP(7, FLAG_NV, 0, FSET_D(fa1, UNBOXED); flt.s a0, fa1, fa1)
  TEST_FP(8, 0, D_QNAN, FSET_D(fa1, UNBOXED); fcvt.d.s fa0, fa1; fmv.x.d a0, fa0)
  TEST_FP(9, FLAG_NV, 0x7fffffff, FSET_D(fa1, UNBOXED); fcvt.w.s a0, fa1)
  TEST_FP(10, 0, BOX(S_ONE), FSET_D(fa1, UNBOXED); FSET_S(fa2, S_ONE); fmin.s fa0, fa1, fa2; fmv.x.d a0, fa0)
  // fmv.x.w and fsw move the low 32 bits whatever the box.
  TEST_FP(11, 0, 0x000000003f800000, FSET_D(fa1, UNBOXED); fmv.x.w a0, fa1)
  TEST_FP(12, 0, 0x3f800000, FSET_D(fa1, UNBOXED); la a2, scratch; fsw fa1, 0(a2); lwu a0, 0(a2))
  // A double operation sees all 64 bits (a boxed single is just a NaN).
  TEST_FP(13, 0, BOX(S_ONE), FSET_S(fa1, S_ONE); fsgnj.d fa0, fa1, fa1; fmv.x.d a0, fa0)

  // ---- Canonical NaN results ----
  TEST_FP_S2(14, fadd.s, FLAG_NV, S_QNAN, S_SNAN, S_ONE)
  TEST_FP_S2(15, fadd.s, 0, S_QNAN, 0x7fc12345, S_ONE)   // payload dropped
  TEST_FP_S2(16, fmul.s, 0, S_QNAN, 0xffc00000, S_ONE)   // sign dropped
  TEST_FP_D2(17, fadd.d, FLAG_NV, D_QNAN, D_ONE, D_SNAN)
  TEST_FP_D2(18, fdiv.d, 0, D_QNAN, 0xfff8000000012345, D_ONE)
  TEST_FP_D3(19, fmadd.d, 0, D_QNAN, 0x7ff8000000000abc, D_ONE, D_ONE)
  TEST_FP_S1(20, fsqrt.s, FLAG_NV, S_QNAN, 0xff800001)
  TEST_FP(21, 0, D_QNAN, FSET_S(fa1, 0xffc12345); fcvt.d.s fa0, fa1; fmv.x.d a0, fa0)
  TEST_FP(22, FLAG_NV, BOX(S_QNAN), FSET_D(fa1, 0x7ff4000000000000); fcvt.s.d fa0, fa1; fmv.x.d a0, fa0)
  // 0 * inf + qNaN: the qNaN input wins, NV is raised (invalid product).
  TEST_FP_S3(23, fmadd.s, FLAG_NV, S_QNAN, S_ZERO, S_INF, S_QNAN)

  // ---- fmin / fmax ----
  TEST_FP_S2(24, fmin.s, 0, S_MZERO, S_ZERO, S_MZERO)
  TEST_FP_S2(25, fmin.s, 0, S_MZERO, S_MZERO, S_ZERO)
  TEST_FP_S2(26, fmax.s, 0, S_ZERO, S_ZERO, S_MZERO)
  TEST_FP_S2(27, fmax.s, 0, S_ZERO, S_MZERO, S_ZERO)
  TEST_FP_D2(28, fmin.d, 0, D_MZERO, D_MZERO, D_ZERO)
  TEST_FP_D2(29, fmax.d, 0, D_ZERO, D_MZERO, D_ZERO)
  // One NaN: the other operand; sNaN also raises NV.
  TEST_FP_S2(30, fmin.s, 0, S_MONE, S_QNAN, S_MONE)
  TEST_FP_S2(31, fmax.s, 0, S_MONE, S_MONE, S_QNAN)
  TEST_FP_S2(32, fmin.s, FLAG_NV, S_ONE, S_SNAN, S_ONE)
  TEST_FP_D2(33, fmax.d, FLAG_NV, D_ONE, D_ONE, D_SNAN)
  TEST_FP_D2(34, fmin.d, 0, D_TWO, 0x7ff8000000012345, D_TWO)
  // Two NaNs: the canonical NaN.
  TEST_FP_S2(35, fmin.s, 0, S_QNAN, 0x7fc12345, 0xffc00001)
  TEST_FP_D2(36, fmax.d, FLAG_NV, D_QNAN, D_SNAN, 0x7ff8000000000001)
  TEST_FP_S2(37, fmax.s, 0, S_INF, S_MINF, S_INF)

  // ---- Comparisons with NaNs ----
  TEST_FP_S_INT2(38, feq.s, 0, 0, S_QNAN, S_QNAN)
  TEST_FP_S_INT2(39, feq.s, FLAG_NV, 0, S_SNAN, S_ONE)  // feq signals only for sNaN
  TEST_FP_S_INT2(40, flt.s, FLAG_NV, 0, S_QNAN, S_ONE)
  TEST_FP_S_INT2(41, fle.s, FLAG_NV, 0, S_ONE, S_QNAN)
  TEST_FP_D_INT2(42, feq.d, 0, 0, D_ONE, D_QNAN)
  TEST_FP_D_INT2(43, feq.d, FLAG_NV, 0, D_SNAN, D_SNAN)
  TEST_FP_D_INT2(44, flt.d, FLAG_NV, 0, D_QNAN, D_QNAN)
  TEST_FP_D_INT2(45, fle.d, FLAG_NV, 0, D_SNAN, D_ONE)

  PASS

  .section .data
  .align 3
scratch:
  .dword 0
