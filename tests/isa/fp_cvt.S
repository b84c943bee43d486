// Float-to-integer conversions saturate: NaN and +inf give the largest
// value, -inf and too-negative values the smallest, with NV; out-of-range
// unsigned targets clamp at 0 and all ones; 32-bit results are
// sign-extended to 64 bits (also for fcvt.wu). And fclass.s/fclass.d on
// every class.
#include "vireo_test.h"
#include "fp.h"

#define CVT_S(num, inst, flags, result, bits) \
  TEST_FP(num, flags, result, FSET_S(fa1, bits); inst a0, fa1, rtz)
#define CVT_D(num, inst, flags, result, bits) \
  TEST_FP(num, flags, result, FSET_D(fa1, bits); inst a0, fa1, rtz)

TEST_MAIN
  // ---- fcvt.w.s / fcvt.w.d ----
  CVT_S(1, fcvt.w.s, FLAG_NV, 0x000000007fffffff, S_QNAN)
  CVT_S(2, fcvt.w.s, FLAG_NV, 0x000000007fffffff, S_SNAN)
  CVT_S(3, fcvt.w.s, FLAG_NV, 0x000000007fffffff, 0xffc00000)  // negative NaN too
  CVT_S(4, fcvt.w.s, FLAG_NV, 0x000000007fffffff, S_INF)
  CVT_S(5, fcvt.w.s, FLAG_NV, 0xffffffff80000000, S_MINF)
  CVT_S(6, fcvt.w.s, FLAG_NV, 0x000000007fffffff, 0x4f32d05e)  // 3e9
  CVT_S(7, fcvt.w.s, FLAG_NV, 0xffffffff80000000, 0xcf32d05e)  // -3e9
  CVT_S(8, fcvt.w.s, 0, 0xffffffff80000000, 0xcf000000)        // -2^31 exactly
  CVT_S(9, fcvt.w.s, FLAG_NV, 0x000000007fffffff, 0x4f000000)  // 2^31
  CVT_D(10, fcvt.w.d, 0, 0x000000007fffffff, 0x41dfffffffc00000)  // 2^31 - 1
  CVT_D(11, fcvt.w.d, FLAG_NX, 0x000000007fffffff, 0x41dfffffffe00000)  // 2^31 - 0.5
  CVT_D(12, fcvt.w.d, FLAG_NV, 0xffffffff80000000, 0xc1e0000000200000)  // -2^31 - 1
  CVT_D(13, fcvt.w.d, FLAG_NV, 0x000000007fffffff, D_QNAN)
  CVT_D(14, fcvt.w.d, FLAG_NX, 0, 0x3fe0000000000000)  // 0.5 -> 0
  // ---- fcvt.wu ----
  CVT_S(15, fcvt.wu.s, FLAG_NV, 0xffffffffffffffff, S_QNAN)  // 0xffffffff, sign-extended
  CVT_S(16, fcvt.wu.s, FLAG_NV, 0xffffffffffffffff, S_INF)
  CVT_S(17, fcvt.wu.s, FLAG_NV, 0, S_MINF)
  CVT_S(18, fcvt.wu.s, FLAG_NV, 0, S_MONE)
  CVT_S(19, fcvt.wu.s, FLAG_NX, 0, 0xbf000000)  // -0.5 truncates to 0: only inexact
  CVT_S(20, fcvt.wu.s, 0, 0xffffffff80000000, 0x4f000000)  // 2^31 fits, sign-extended
  CVT_D(21, fcvt.wu.d, 0, 0xffffffffffffffff, 0x41efffffffe00000)  // 2^32 - 1
  CVT_D(22, fcvt.wu.d, FLAG_NV, 0xffffffffffffffff, 0x41f0000000000000)  // 2^32
  CVT_D(23, fcvt.wu.d, 0, 0, D_MZERO)
  // ---- fcvt.l / fcvt.lu ----
  CVT_D(24, fcvt.l.d, FLAG_NV, 0x7fffffffffffffff, D_QNAN)
  CVT_D(25, fcvt.l.d, FLAG_NV, 0x7fffffffffffffff, D_INF)
  CVT_D(26, fcvt.l.d, FLAG_NV, 0x8000000000000000, D_MINF)
  CVT_D(27, fcvt.l.d, FLAG_NV, 0x7fffffffffffffff, 0x43e0000000000000)  // 2^63
  CVT_D(28, fcvt.l.d, 0, 0x8000000000000000, 0xc3e0000000000000)        // -2^63 exactly
  CVT_D(29, fcvt.l.d, 0, 0x7ffffffffffffc00, 0x43dfffffffffffff)        // largest below 2^63
  CVT_S(30, fcvt.l.s, FLAG_NV, 0x8000000000000000, 0xdf000001)          // below -2^63
  CVT_D(31, fcvt.lu.d, FLAG_NV, 0xffffffffffffffff, D_SNAN)
  CVT_D(32, fcvt.lu.d, FLAG_NV, 0xffffffffffffffff, 0x43f0000000000000)  // 2^64
  CVT_D(33, fcvt.lu.d, FLAG_NV, 0, D_MONE)
  CVT_D(34, fcvt.lu.d, 0, 0x8000000000000000, 0x43e0000000000000)
  CVT_S(35, fcvt.lu.s, FLAG_NV, 0, S_MINF)
  CVT_S(36, fcvt.lu.s, FLAG_NX, 0, 0xbf7fffff)  // -0.99... -> 0: inexact only

  // ---- fclass.s ----
#define CLASS_S(num, result, bits) TEST_FP(num, 0, result, FSET_S(fa1, bits); fclass.s a0, fa1)
#define CLASS_D(num, result, bits) TEST_FP(num, 0, result, FSET_D(fa1, bits); fclass.d a0, fa1)
  CLASS_S(37, 0x001, S_MINF)
  CLASS_S(38, 0x002, S_MONE)
  CLASS_S(39, 0x004, 0x807fffff)  // negative subnormal
  CLASS_S(40, 0x008, S_MZERO)
  CLASS_S(41, 0x010, S_ZERO)
  CLASS_S(42, 0x020, S_MIN_SUB)
  CLASS_S(43, 0x040, S_MIN_NORMAL)
  CLASS_S(44, 0x080, S_INF)
  CLASS_S(45, 0x100, S_SNAN)
  CLASS_S(46, 0x200, S_QNAN)
  CLASS_S(47, 0x100, 0xffbfffff)  // negative sNaN is still just sNaN
  CLASS_S(48, 0x200, 0xffffffff)
  // ---- fclass.d ----
  CLASS_D(49, 0x001, D_MINF)
  CLASS_D(50, 0x002, 0x8010000000000000)
  CLASS_D(51, 0x004, 0x800fffffffffffff)
  CLASS_D(52, 0x008, D_MZERO)
  CLASS_D(53, 0x010, D_ZERO)
  CLASS_D(54, 0x020, D_MIN_SUB)
  CLASS_D(55, 0x040, D_MAX)
  CLASS_D(56, 0x080, D_INF)
  CLASS_D(57, 0x100, D_SNAN)
  CLASS_D(58, 0x200, D_QNAN)

  PASS
