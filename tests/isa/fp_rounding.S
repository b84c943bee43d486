// Rounding modes and exception flags: each of RNE, RTZ, RDN, RUP, RMM as a
// static rm field and through frm with the dynamic mode, on inexact
// quotients, ties (where RNE and RMM differ), integer conversions and
// overflow; invalid rm values (5, 6 static; 5-7 in frm with dynamic) are
// illegal instructions; each flag NV, DZ, OF, UF, NX raised by a typical
// case, including underflow only when tiny and inexact.
#include "vireo_test.h"
#include "fp.h"

// result of `fdiv.s a/b` under static rounding mode `rm`.
#define DIV_S_RM(num, rm, result, a, b) \
  TEST_FP(num, FLAG_NX, BOX(result), FSET_S(fa1, a); FSET_S(fa2, b); fdiv.s fa0, fa1, fa2, rm; fmv.x.d a0, fa0)
// The same through frm and rm = dyn.
#define DIV_S_DYN(num, frmval, result, a, b)                                              \
  TEST_FP(num, FLAG_NX, BOX(result), li t0, frmval; fsrm t0; FSET_S(fa1, a); FSET_S(fa2, b); \
          fdiv.s fa0, fa1, fa2; fmv.x.d a0, fa0)
// fcvt.s.w of an integer under a static mode.
#define CVT_S_W_RM(num, rm, result, int)                                              \
  TEST_FP(num, FLAG_NX, BOX(result), li a2, int; fcvt.s.w fa0, a2, rm; fmv.x.d a0, fa0)
// fcvt.w.s of a single under a static mode.
#define CVT_W_S_RM(num, rm, result, bits) \
  TEST_FP(num, FLAG_NX, result, FSET_S(fa1, bits); fcvt.w.s a0, fa1, rm)

TEST_MAIN
  // ---- 1/3 and -1/3 (inexact, below the tie) ----
  DIV_S_RM(1, rne, 0x3eaaaaab, S_ONE, S_THREE)
  DIV_S_RM(2, rtz, 0x3eaaaaaa, S_ONE, S_THREE)
  DIV_S_RM(3, rdn, 0x3eaaaaaa, S_ONE, S_THREE)
  DIV_S_RM(4, rup, 0x3eaaaaab, S_ONE, S_THREE)
  DIV_S_RM(5, rmm, 0x3eaaaaab, S_ONE, S_THREE)
  DIV_S_RM(6, rne, 0xbeaaaaab, S_MONE, S_THREE)
  DIV_S_RM(7, rtz, 0xbeaaaaaa, S_MONE, S_THREE)
  DIV_S_RM(8, rdn, 0xbeaaaaab, S_MONE, S_THREE)
  DIV_S_RM(9, rup, 0xbeaaaaaa, S_MONE, S_THREE)
  DIV_S_RM(10, rmm, 0xbeaaaaab, S_MONE, S_THREE)
  // 2/3 = 0x3f2aaaaa|aaa...: RNE rounds up, RTZ down.
  DIV_S_RM(11, rne, 0x3f2aaaab, S_TWO, S_THREE)
  DIV_S_RM(12, rtz, 0x3f2aaaaa, S_TWO, S_THREE)

  // ---- The same through frm (rm = dyn) ----
  DIV_S_DYN(13, RM_RNE, 0xbeaaaaab, S_MONE, S_THREE)
  DIV_S_DYN(14, RM_RTZ, 0xbeaaaaaa, S_MONE, S_THREE)
  DIV_S_DYN(15, RM_RDN, 0xbeaaaaab, S_MONE, S_THREE)
  DIV_S_DYN(16, RM_RUP, 0xbeaaaaaa, S_MONE, S_THREE)
  DIV_S_DYN(17, RM_RMM, 0xbeaaaaab, S_MONE, S_THREE)
  // A static mode overrides frm.
  TEST_FP(18, FLAG_NX, BOX(0x3eaaaaab), li t0, RM_RTZ; fsrm t0; FSET_S(fa1, S_ONE); FSET_S(fa2, S_THREE); fdiv.s fa0, fa1, fa2, rne; fmv.x.d a0, fa0)
  fsrmi RM_RNE

  // ---- Ties: 2^24 + 1 and 2^24 + 3 are halfway between two singles ----
  CVT_S_W_RM(19, rne, 0x4b800000, 16777217)  // to even: down
  CVT_S_W_RM(20, rmm, 0x4b800001, 16777217)  // away from zero: up
  CVT_S_W_RM(21, rtz, 0x4b800000, 16777217)
  CVT_S_W_RM(22, rdn, 0x4b800000, 16777217)
  CVT_S_W_RM(23, rup, 0x4b800001, 16777217)
  CVT_S_W_RM(24, rne, 0x4b800002, 16777219)  // to even: up
  CVT_S_W_RM(25, rne, 0xcb800000, -16777217)
  CVT_S_W_RM(26, rmm, 0xcb800001, -16777217)
  CVT_S_W_RM(27, rdn, 0xcb800001, -16777217)
  CVT_S_W_RM(28, rup, 0xcb800000, -16777217)
  TEST_FP(29, FLAG_NX, 0x4340000000000000, li a2, 9007199254740993; fcvt.d.l fa0, a2, rne; fmv.x.d a0, fa0)
  TEST_FP(30, FLAG_NX, 0x4340000000000001, li a2, 9007199254740993; fcvt.d.l fa0, a2, rmm; fmv.x.d a0, fa0)
  // Through frm as well.
  TEST_FP(31, FLAG_NX, BOX(0x4b800001), fsrmi RM_RMM; li a2, 16777217; fcvt.s.w fa0, a2; fmv.x.d a0, fa0)
  fsrmi RM_RNE

  // ---- Float to integer: 2.5 and -2.5 ----
  CVT_W_S_RM(32, rne, 2, 0x40200000)
  CVT_W_S_RM(33, rtz, 2, 0x40200000)
  CVT_W_S_RM(34, rdn, 2, 0x40200000)
  CVT_W_S_RM(35, rup, 3, 0x40200000)
  CVT_W_S_RM(36, rmm, 3, 0x40200000)
  CVT_W_S_RM(37, rne, -2, 0xc0200000)
  CVT_W_S_RM(38, rtz, -2, 0xc0200000)
  CVT_W_S_RM(39, rdn, -3, 0xc0200000)
  CVT_W_S_RM(40, rup, -2, 0xc0200000)
  CVT_W_S_RM(41, rmm, -3, 0xc0200000)
  TEST_FP(42, FLAG_NX, 4, fsrmi RM_RUP; FSET_D(fa1, 0x400c000000000000); fcvt.l.d a0, fa1)  // 3.5 -> 4 (dyn)
  fsrmi RM_RNE

  // ---- Overflow depends on the mode: infinity or the largest finite ----
  TEST_FP(43, FLAG_OF | FLAG_NX, BOX(S_INF), FSET_S(fa1, S_MAX); FSET_S(fa2, S_TWO); fmul.s fa0, fa1, fa2, rne; fmv.x.d a0, fa0)
  TEST_FP(44, FLAG_OF | FLAG_NX, BOX(S_MAX), FSET_S(fa1, S_MAX); FSET_S(fa2, S_TWO); fmul.s fa0, fa1, fa2, rtz; fmv.x.d a0, fa0)
  TEST_FP(45, FLAG_OF | FLAG_NX, BOX(S_MAX), FSET_S(fa1, S_MAX); FSET_S(fa2, S_TWO); fmul.s fa0, fa1, fa2, rdn; fmv.x.d a0, fa0)
  TEST_FP(46, FLAG_OF | FLAG_NX, BOX(0xff7fffff), FSET_S(fa1, 0xff7fffff); FSET_S(fa2, S_TWO); fmul.s fa0, fa1, fa2, rup; fmv.x.d a0, fa0)
  TEST_FP(47, FLAG_OF | FLAG_NX, D_MINF, FSET_D(fa1, 0xffefffffffffffff); FSET_D(fa2, D_TWO); fmul.d fa0, fa1, fa2, rmm; fmv.x.d a0, fa0)

  // ---- Each flag ----
  TEST_FP_S1(48, fsqrt.s, FLAG_NV, S_QNAN, S_MONE)
  TEST_FP_S2(49, fmul.s, FLAG_NV, S_QNAN, S_ZERO, S_INF)
  TEST_FP_D2(50, fsub.d, FLAG_NV, D_QNAN, D_INF, D_INF)
  TEST_FP_D3(51, fmadd.d, FLAG_NV, D_QNAN, D_ZERO, D_INF, D_ONE)
  TEST_FP_S2(52, fdiv.s, FLAG_DZ, S_INF, S_ONE, S_ZERO)
  TEST_FP_S2(53, fdiv.s, FLAG_DZ, S_MINF, S_ONE, S_MZERO)
  TEST_FP_D2(54, fdiv.d, FLAG_DZ, D_MINF, D_MONE, D_ZERO)
  TEST_FP_S2(55, fdiv.s, FLAG_NV, S_QNAN, S_ZERO, S_ZERO)  // 0/0 is invalid, not DZ
  TEST_FP_S2(56, fdiv.s, 0, S_ZERO, S_ONE, S_INF)
  TEST_FP_D2(57, fadd.d, FLAG_OF | FLAG_NX, D_INF, D_MAX, D_MAX)
  // Underflow: tiny and inexact. 2^-149 * 0.5 rounds (tie, to even) to 0.
  TEST_FP_S2(58, fmul.s, FLAG_UF | FLAG_NX, S_ZERO, S_MIN_SUB, S_HALF)
  // ... and to the smallest subnormal under RUP.
  TEST_FP(59, FLAG_UF | FLAG_NX, BOX(S_MIN_SUB), FSET_S(fa1, S_MIN_SUB); FSET_S(fa2, S_HALF); fmul.s fa0, fa1, fa2, rup; fmv.x.d a0, fa0)
  // A tiny but exact result raises nothing.
  TEST_FP_S2(60, fmul.s, 0, 0x00400000, S_MIN_NORMAL, S_HALF)
  TEST_FP_D2(61, fmul.d, FLAG_UF | FLAG_NX, 0x0008000000000000, 0x0010000000000001, D_HALF)
  TEST_FP_S2(62, fadd.s, FLAG_NX, S_ONE, S_ONE, 0x33000000)  // 1 + 2^-25
  TEST_FP_S1(63, fsqrt.s, 0, S_MZERO, S_MZERO)               // sqrt(-0) = -0, valid

  // ---- Invalid rounding modes are illegal instructions ----
  TEST_NUM(64)
  SET_MRESUME(2f)
1:
  .word 0x00c5d553  // fadd.s fa0, fa1, fa2 with rm = 5
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
  TEST_NUM(65)
  SET_MRESUME(2f)
1:
  .word 0x00c5e553  // rm = 6
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN)
  // frm = 5, 6, 7 with rm = dyn: illegal when the instruction runs.
  TEST_NUM(66)
  li t0, 5
  fsrm t0
  SET_MRESUME(2f)
1:
  fadd.s fa0, fa1, fa2  // dyn
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
  TEST_NUM(67)
  li t0, 7
  fsrm t0
  SET_MRESUME(2f)
1:
  fcvt.w.d a0, fa1  // dyn
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN)
  // Instructions without rounding ignore frm.
  TEST_FP(68, 0, 1, FSET_S(fa1, S_ONE); feq.s a0, fa1, fa1)
  fsrmi RM_RNE

  PASS
