// Traps and privilege transitions: illegal instruction (mcause, mtval = the
// encoding, mepc), ecall from M/S/U, ebreak, what a trap does to mstatus
// (MPP, MPIE, MIE), mret and sret (MPP/SPP, xPIE -> xIE, MPRV cleared),
// delegation with medeleg (U and S traps to S, M traps never delegated),
// the privilege checks: M CSRs from S, mret from S, sret from U, TSR, TVM, TW,
// and access faults for loads, stores and fetches where nothing is mapped
// (including misaligned ones in page 0, which a TLB must not mistake for a
// cached translation).
#include "vireo_test.h"

#define MPP_OF(s) ((s >> 11) & 3)

TEST_MAIN
  .option norvc

  // ---- Illegal instruction in M-mode ----
  TEST_NUM(1)
  SET_MRESUME(2f)
1:
  .word 0xffffffff  // not a RISC-V encoding
  j fail
2:
  CHECK_MTRAP(CAUSE_ILLEGAL_INSN, 0xffffffff)
  CHECK_MEPC(1b)
  CHECK_STATE(TS_MCOUNT, 1)

  TEST_NUM(2)
  SET_MRESUME(2f)
1:
  .word 0x7ff00073  // SYSTEM, funct3 0, not a defined instruction
  j fail
2:
  CHECK_MTRAP(CAUSE_ILLEGAL_INSN, 0x7ff00073)
  CHECK_MEPC(1b)

  // Writing a read-only CSR is illegal; reading it is not.
  TEST_NUM(3)
  csrr a0, mvendorid
  csrr a0, mhartid
  bnez a0, fail
  SET_MRESUME(2f)
1:
  csrw mhartid, a0
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
  // A compressed illegal encoding: mtval holds its 16 bits.
  TEST_NUM(4)
  SET_MRESUME(2f)
1:
  .2byte 0x0000
  .2byte 0x0001  // c.nop, keeps alignment
  j fail
2:
  CHECK_MTRAP(CAUSE_ILLEGAL_INSN, 0)
  CHECK_MEPC(1b)

  // ---- ecall and ebreak from M; what the trap does to mstatus ----
  TEST_NUM(5)
  li t0, MSTATUS_MIE
  csrs mstatus, t0  // mie is 0: no interrupt can be taken
  SET_MRESUME(2f)
1:
  ecall
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_ECALL_M)
  CHECK_MEPC(1b)
  la t0, test_state
  ld a0, TS_MSTATUS(t0)
  TEST_NUM(6)
  andi t1, a0, MSTATUS_MIE  // cleared by the trap
  bnez t1, fail
  andi t1, a0, MSTATUS_MPIE  // = the old MIE
  beqz t1, fail
  srli t1, a0, 11
  andi t1, t1, 3
  li t2, PRV_M
  bne t1, t2, fail

  TEST_NUM(7)
  SET_MRESUME(2f)
1:
  ebreak
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_BREAKPOINT)
  CHECK_MEPC(1b)

  // ---- mret to M: MIE <- MPIE, MPIE <- 1, MPP <- U ----
  TEST_NUM(8)
  li t0, MSTATUS_MIE
  csrc mstatus, t0
  li t0, MSTATUS_MPP | MSTATUS_MPIE
  csrs mstatus, t0
  la t0, 1f
  csrw mepc, t0
  mret
  j fail
1:
  csrr a0, mstatus
  andi t1, a0, MSTATUS_MIE
  beqz t1, fail
  andi t1, a0, MSTATUS_MPIE
  beqz t1, fail
  li t1, MSTATUS_MPP
  and t1, a0, t1
  bnez t1, fail
  li t0, MSTATUS_MIE
  csrc mstatus, t0

  // ---- mret to S (MPIE = 0), ecall from S; MPRV cleared by mret to S ----
  TEST_NUM(9)
  li t0, MSTATUS_MPIE
  csrc mstatus, t0
  li t0, MSTATUS_MPRV
  csrs mstatus, t0
  ENTER_PRIV(MSTATUS_MPP_S, 1f)
1:
  SET_MRESUME(3f)
2:
  ecall
  j fail
3:
  CHECK_STATE(TS_MCAUSE, CAUSE_ECALL_S)
  CHECK_MEPC(2b)
  TEST_NUM(10)
  la t0, test_state
  ld a0, TS_MSTATUS(t0)
  srli t1, a0, 11
  andi t1, t1, 3
  li t2, PRV_S
  bne t1, t2, fail
  andi t1, a0, MSTATUS_MPIE  // MIE was 0 in S (from MPIE = 0)
  bnez t1, fail
#ifndef QEMU72  // priv 1.12 behaviour that QEMU 7.2 lacks
  li t1, MSTATUS_MPRV
  and t1, a0, t1
  bnez t1, fail
#endif
  li t0, MSTATUS_MPRV
  csrc mstatus, t0

  // ---- mret to U, ecall from U ----
  TEST_NUM(11)
  ENTER_PRIV(0, 1f)
1:
  SET_MRESUME(3f)
2:
  ecall
  j fail
3:
  CHECK_STATE(TS_MCAUSE, CAUSE_ECALL_U)
  CHECK_MEPC(2b)
  la t0, test_state
  ld a0, TS_MSTATUS(t0)
  srli t1, a0, 11
  andi t1, t1, 3
  bnez t1, fail

  // ---- Privilege checks in S-mode ----
  // An M-mode CSR from S is illegal, with the encoding in mtval.
  TEST_NUM(12)
  ENTER_PRIV(MSTATUS_MPP_S, 1f)
1:
  SET_MRESUME(3f)
2:
  csrr a0, mstatus
  j fail
3:
  CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(2b)
  CHECK_STATE(TS_MTVAL, 0x30002573)  // csrr a0, mstatus
  // mret from S is illegal.
  TEST_NUM(13)
  ENTER_PRIV(MSTATUS_MPP_S, 1f)
1:
  SET_MRESUME(3f)
2:
  mret
  j fail
3:
  CHECK_MTRAP(CAUSE_ILLEGAL_INSN, 0x30200073)
  CHECK_MEPC(2b)
  // sret from U is illegal.
  TEST_NUM(14)
  ENTER_PRIV(0, 1f)
1:
  SET_MRESUME(3f)
2:
  sret
  j fail
3:
  CHECK_MTRAP(CAUSE_ILLEGAL_INSN, 0x10200073)
  // S CSRs from U are illegal too.
  TEST_NUM(15)
  ENTER_PRIV(0, 1f)
1:
  SET_MRESUME(3f)
  csrr a0, sstatus
  j fail
3:
  CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN)
  // mstatus.TSR: sret in S is illegal.
  TEST_NUM(16)
  li t0, MSTATUS_TSR
  csrs mstatus, t0
  ENTER_PRIV(MSTATUS_MPP_S, 1f)
1:
  SET_MRESUME(3f)
  sret
  j fail
3:
  CHECK_MTRAP(CAUSE_ILLEGAL_INSN, 0x10200073)
  li t0, MSTATUS_TSR
  csrc mstatus, t0
  // mstatus.TVM: satp and sfence.vma in S are illegal.
  TEST_NUM(17)
  li t0, MSTATUS_TVM
  csrs mstatus, t0
  ENTER_PRIV(MSTATUS_MPP_S, 1f)
1:
  SET_MRESUME(3f)
  csrr a0, satp
  j fail
3:
  CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN)
  TEST_NUM(18)
  ENTER_PRIV(MSTATUS_MPP_S, 1f)
1:
  SET_MRESUME(3f)
  sfence.vma
  j fail
3:
  CHECK_MTRAP(CAUSE_ILLEGAL_INSN, 0x12000073)
  li t0, MSTATUS_TVM
  csrc mstatus, t0
  // mstatus.TW: wfi in S with nothing pending must trap.
  TEST_NUM(19)
  li t0, MSTATUS_TW
  csrs mstatus, t0
  ENTER_PRIV(MSTATUS_MPP_S, 1f)
1:
  SET_MRESUME(3f)
  wfi
  j fail
3:
  CHECK_MTRAP(CAUSE_ILLEGAL_INSN, 0x10500073)
  li t0, MSTATUS_TW
  csrc mstatus, t0

  // ---- sret executed in M: SPP -> privilege, SIE <- SPIE, SPIE <- 1, SPP <- U ----
  TEST_NUM(20)
  la t0, strap_entry
  csrw stvec, t0
  li t0, MSTATUS_SPP | MSTATUS_SPIE
  csrs mstatus, t0
  li t0, MSTATUS_SIE
  csrc mstatus, t0
  la t0, 1f
  csrw sepc, t0
  sret
  j fail
1:
  // Now in S-mode.
  csrr a0, sstatus
  andi t1, a0, MSTATUS_SIE
  beqz t1, fail
  andi t1, a0, MSTATUS_SPIE
  beqz t1, fail
  andi t1, a0, MSTATUS_SPP
  bnez t1, fail
  TEST_NUM(21)
  SET_MRESUME(3f)
2:
  ecall  // proves we are in S
  j fail
3:
  CHECK_STATE(TS_MCAUSE, CAUSE_ECALL_S)

  // ---- medeleg: U and S traps to S ----
  TEST_NUM(22)
  li t0, (1 << CAUSE_ECALL_U) | (1 << CAUSE_ILLEGAL_INSN) | (1 << CAUSE_BREAKPOINT)
  csrw medeleg, t0
  csrr t1, medeleg
  bne t0, t1, fail
  la t0, strap_entry
  csrw stvec, t0
  li t0, MSTATUS_SIE
  csrs mstatus, t0  // S-mode SIE = 1 before the trap: becomes SPIE
  ENTER_PRIV(0, 1f)
1:
  // U-mode: ecall goes to S, which resumes in S at 3f.
  SET_SRESUME(3f)
2:
  ecall
  j fail
3:
  CHECK_STRAP(CAUSE_ECALL_U, 0)
  CHECK_SEPC(2b)
  CHECK_STATE(TS_MCOUNT, 17)  // no M-mode trap since test 21
  TEST_NUM(23)
  la t0, test_state
  ld a0, TS_SSTATUS(t0)
  andi t1, a0, MSTATUS_SPP  // came from U
  bnez t1, fail
  andi t1, a0, MSTATUS_SIE  // cleared by the trap
  bnez t1, fail
  // In S now (resumed by the handler): an illegal instruction goes to S.
  TEST_NUM(24)
  SET_SRESUME(3f)
2:
  .word 0xffffffff
  j fail
3:
  CHECK_STRAP(CAUSE_ILLEGAL_INSN, 0xffffffff)
  CHECK_SEPC(2b)
  la t0, test_state
  ld a0, TS_SSTATUS(t0)
  andi t1, a0, MSTATUS_SPP  // came from S
  beqz t1, fail
  // ecall from S is not delegated: goes to M.
  TEST_NUM(25)
  SET_MRESUME(3f)
  ecall
  j fail
3:
  CHECK_STATE(TS_MCAUSE, CAUSE_ECALL_S)
  CHECK_STATE(TS_SCOUNT, 2)
  // Traps taken in M are never delegated, whatever medeleg says.
  TEST_NUM(26)
  SET_MRESUME(3f)
  .word 0xffffffff
  j fail
3:
  CHECK_MTRAP(CAUSE_ILLEGAL_INSN, 0xffffffff)
  CHECK_STATE(TS_SCOUNT, 2)
  csrw medeleg, zero

  // ---- mepc[0] is always zero (IALIGN = 16) ----
  TEST_NUM(27)
#ifndef QEMU72  // QEMU 7.2 keeps bit 0 (masks it only on mret)
  li t0, 0x80000003
  csrw mepc, t0
  csrr a0, mepc
  li t6, 0x80000002
  bne a0, t6, fail
#endif

  // ---- mscratch / sscratch are plain read-write ----
  TEST_CASE(28, a0, 0x123456789abcdef0, li t0, 0x123456789abcdef0; csrw mscratch, t0; csrr a0, mscratch)
  TEST_CASE(29, a0, 0x0fedcba987654321, li t0, 0x0fedcba987654321; csrw sscratch, t0; csrr a0, sscratch)
  // csrrw returns the old value; csrrs/csrrc with x0 do not write.
  TEST_CASE(30, a0, 0x0fedcba987654321, li t0, 5; csrrw a0, sscratch, t0; csrr a1, sscratch; li t6, 5; bne a1, t6, fail)
  TEST_CASE(31, a0, 7, li t0, 2; csrrs a1, sscratch, t0; csrrci a1, sscratch, 1; csrrs a0, sscratch, x0; csrrwi a1, sscratch, 7; csrr a0, sscratch)

  // ---- Nothing is mapped at 0: access faults, mtval = the address ----
#define EXPECT_ACCESS_FAULT(num, cause, addr, insn...) \
  TEST_NUM(num);                                      \
  SET_MRESUME(92f);                                   \
  li a1, addr;                                        \
  91: insn;                                           \
  j fail;                                             \
  92: CHECK_MTRAP(cause, addr);                       \
  CHECK_MEPC(91b)
  EXPECT_ACCESS_FAULT(32, CAUSE_LOAD_ACCESS, 0x0, ld a0, 0(a1))
  EXPECT_ACCESS_FAULT(33, CAUSE_STORE_ACCESS, 0x8, sw a0, 0(a1))
  // Misaligned: mtval may name the access or the part of it that faulted
  // (QEMU gives the aligned-down address for loads): within 8 bytes.
#define EXPECT_MISALIGNED_FAULT(num, cause, addr, insn...) \
  TEST_NUM(num);                                          \
  SET_MRESUME(92f);                                       \
  li a1, addr;                                            \
  91: insn;                                               \
  j fail;                                                 \
  92: CHECK_STATE(TS_MCAUSE, cause);                      \
  CHECK_MEPC(91b);                                        \
  la t0, test_state;                                      \
  ld t0, TS_MTVAL(t0);                                    \
  addi t0, t0, 8 - (addr);                                \
  sltiu t0, t0, 16;                                       \
  beqz t0, fail
  EXPECT_MISALIGNED_FAULT(34, CAUSE_STORE_ACCESS, 0xf1, sd a0, 0(a1))
  EXPECT_MISALIGNED_FAULT(35, CAUSE_LOAD_ACCESS, 0x1, lw a0, 0(a1))
  EXPECT_MISALIGNED_FAULT(36, CAUSE_LOAD_ACCESS, 0x3, lh a0, 0(a1))
  EXPECT_MISALIGNED_FAULT(37, CAUSE_STORE_ACCESS, 0x7f9, sd a0, 0(a1))
  TEST_NUM(38)
  SET_MRESUME(2f)
  li a1, 0x40
  jalr ra, a1
  j fail
2:
  CHECK_MTRAP(CAUSE_FETCH_ACCESS, 0x40)
  CHECK_STATE(TS_MEPC, 0x40)

  PASS
