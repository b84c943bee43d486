// Macros of the FP tests: operands are given as bit patterns, results are
// compared as bit patterns together with the exception flags they raised.
// Single-precision results are read with fmv.x.d, so their NaN-boxing
// (bits 63:32 all ones) is checked as well.
#ifndef VIREO_FP_H
#define VIREO_FP_H

// Bit patterns.
#define S_ONE 0x3f800000
#define S_TWO 0x40000000
#define S_THREE 0x40400000
#define S_HALF 0x3f000000
#define S_MONE 0xbf800000
#define S_INF 0x7f800000
#define S_MINF 0xff800000
#define S_QNAN 0x7fc00000  // canonical
#define S_SNAN 0x7f800001
#define S_MAX 0x7f7fffff
#define S_MIN_NORMAL 0x00800000
#define S_MIN_SUB 0x00000001
#define S_ZERO 0x00000000
#define S_MZERO 0x80000000
#define BOX(s) (0xffffffff00000000 | (s))

#define D_ONE 0x3ff0000000000000
#define D_TWO 0x4000000000000000
#define D_THREE 0x4008000000000000
#define D_HALF 0x3fe0000000000000
#define D_MONE 0xbff0000000000000
#define D_INF 0x7ff0000000000000
#define D_MINF 0xfff0000000000000
#define D_QNAN 0x7ff8000000000000  // canonical
#define D_SNAN 0x7ff0000000000001
#define D_MAX 0x7fefffffffffffff
#define D_MIN_NORMAL 0x0010000000000000
#define D_MIN_SUB 0x0000000000000001
#define D_ZERO 0x0000000000000000
#define D_MZERO 0x8000000000000000

#define FLAG_NX 0x01
#define FLAG_UF 0x02
#define FLAG_OF 0x04
#define FLAG_DZ 0x08
#define FLAG_NV 0x10

#define RM_RNE 0
#define RM_RTZ 1
#define RM_RDN 2
#define RM_RUP 3
#define RM_RMM 4
#define RM_DYN 7

// f register `f` = raw 64 bits (no boxing added) / a boxed single.
#define FSET_D(f, bits) \
  li t0, bits;          \
  fmv.d.x f, t0
#define FSET_S(f, bits) \
  li t0, bits;          \
  fmv.w.x f, t0

// Clears fflags, runs `code` (which leaves its result in a0), then fails
// unless a0 == result and fflags == flags.
#define TEST_FP(num, flags, result, code...) \
  TEST_NUM(num);                             \
  fsflags zero;                              \
  code;                                      \
  frflags a1;                                \
  li t6, result;                             \
  bne a0, t6, fail;                          \
  li t6, flags;                              \
  bne a1, t6, fail

// Two- and three-operand FP arithmetic with an explicit instruction suffix
// (e.g. `fadd.s ... , rtz`): result read as raw 64 bits.
#define TEST_FP_S2(num, inst, flags, result, a, b) \
  TEST_FP(num, flags, BOX(result), FSET_S(fa1, a); FSET_S(fa2, b); inst fa0, fa1, fa2; fmv.x.d a0, fa0)
#define TEST_FP_D2(num, inst, flags, result, a, b) \
  TEST_FP(num, flags, result, FSET_D(fa1, a); FSET_D(fa2, b); inst fa0, fa1, fa2; fmv.x.d a0, fa0)
#define TEST_FP_S3(num, inst, flags, result, a, b, c)                          \
  TEST_FP(num, flags, BOX(result), FSET_S(fa1, a); FSET_S(fa2, b); FSET_S(fa3, c); \
          inst fa0, fa1, fa2, fa3; fmv.x.d a0, fa0)
#define TEST_FP_D3(num, inst, flags, result, a, b, c)                    \
  TEST_FP(num, flags, result, FSET_D(fa1, a); FSET_D(fa2, b); FSET_D(fa3, c); \
          inst fa0, fa1, fa2, fa3; fmv.x.d a0, fa0)
#define TEST_FP_S1(num, inst, flags, result, a) \
  TEST_FP(num, flags, BOX(result), FSET_S(fa1, a); inst fa0, fa1; fmv.x.d a0, fa0)
#define TEST_FP_D1(num, inst, flags, result, a) \
  TEST_FP(num, flags, result, FSET_D(fa1, a); inst fa0, fa1; fmv.x.d a0, fa0)
// FP compare / class / convert-to-integer: the result is an integer register.
#define TEST_FP_S_INT2(num, inst, flags, result, a, b) \
  TEST_FP(num, flags, result, FSET_S(fa1, a); FSET_S(fa2, b); inst a0, fa1, fa2)
#define TEST_FP_D_INT2(num, inst, flags, result, a, b) \
  TEST_FP(num, flags, result, FSET_D(fa1, a); FSET_D(fa2, b); inst a0, fa1, fa2)

#endif  // VIREO_FP_H
