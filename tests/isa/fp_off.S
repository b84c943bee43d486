// mstatus.FS: with FS = Off every FP instruction and FP CSR access is an
// illegal instruction (mtval = the encoding), including compressed FP
// loads/stores; writing FP state from Initial or Clean makes FS Dirty and
// sets SD; sstatus exposes the same FS and SD bits to S-mode.
#include "vireo_test.h"
#include "fp.h"

// `insn` at a local label must raise illegal instruction with FS = Off.
#define EXPECT_ILLEGAL(num, insn...)          \
  TEST_NUM(num);                              \
  SET_MRESUME(91f);                           \
  90: insn;                                   \
  j fail;                                     \
  91: CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN); \
  CHECK_MEPC(90b)

TEST_MAIN
  la a2, fdata
  li t0, MSTATUS_FS
  csrc mstatus, t0
  TEST_NUM(1)
  csrr a0, mstatus
  li t1, MSTATUS_SD
  and t1, a0, t1
  bnez t1, fail  // nothing dirty

  EXPECT_ILLEGAL(2, flw fa0, 0(a2))
  EXPECT_ILLEGAL(3, fsd fa0, 0(a2))
  EXPECT_ILLEGAL(4, fadd.s fa0, fa1, fa2)
  EXPECT_ILLEGAL(5, fmadd.d fa0, fa1, fa2, fa3)
  EXPECT_ILLEGAL(6, fmv.x.w a0, fa0)
  EXPECT_ILLEGAL(7, fmv.d.x fa0, a0)
  EXPECT_ILLEGAL(8, fcvt.w.s a0, fa0)
  EXPECT_ILLEGAL(9, fclass.d a0, fa0)
  EXPECT_ILLEGAL(10, feq.s a0, fa0, fa1)
  EXPECT_ILLEGAL(11, frcsr a0)
  EXPECT_ILLEGAL(12, frflags a0)
  EXPECT_ILLEGAL(13, fsrm a0)
  EXPECT_ILLEGAL(14, .option push; .option rvc; c.fld fa0, 0(a2); c.nop; .option pop)
  EXPECT_ILLEGAL(15, .option push; .option rvc; c.fsdsp fa0, 0(sp); c.nop; .option pop)
  // mtval holds the encoding.
  EXPECT_ILLEGAL(16, .word 0x00c58553)  // fadd.s fa0, fa1, fa2, rne
  CHECK_STATE(TS_MTVAL, 0x00c58553)

  // ---- Initial -> Dirty on an FP register write ----
  TEST_NUM(17)
  li t0, MSTATUS_FS_INITIAL
  csrs mstatus, t0
  fmv.x.d a0, fa0  // a read does not need to dirty anything
  li t0, 1
  fmv.d.x fa0, t0
  csrr a0, mstatus
  li t1, MSTATUS_FS
  and t1, a0, t1
  li t2, MSTATUS_FS_DIRTY
  bne t1, t2, fail
  li t1, MSTATUS_SD
  and t1, a0, t1
  beqz t1, fail

  // ---- Clean -> Dirty on an fcsr write, and through sstatus ----
  TEST_NUM(18)
  li t0, MSTATUS_FS
  csrc mstatus, t0
  li t0, MSTATUS_FS_CLEAN
  csrs mstatus, t0
  csrr a0, sstatus
  li t1, MSTATUS_FS
  and t1, a0, t1
  li t2, MSTATUS_FS_CLEAN
  bne t1, t2, fail
  fsflagsi 1
  csrr a0, sstatus
  li t1, MSTATUS_FS
  and t1, a0, t1
  li t2, MSTATUS_FS_DIRTY
  bne t1, t2, fail
  li t1, MSTATUS_SD
  and t1, a0, t1
  beqz t1, fail

  // ---- S-mode turns FP off through sstatus ----
  TEST_NUM(19)
  ENTER_PRIV(MSTATUS_MPP_S, 1f)
1:
  fadd.d fa0, fa0, fa0  // on: fine
  li t0, MSTATUS_FS
  csrc sstatus, t0
  SET_MRESUME(3f)
2:
  fadd.d fa0, fa0, fa0
  j fail
3:
  CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(2b)

  PASS

  .section .data
  .align 3
fdata:
  .dword 0
