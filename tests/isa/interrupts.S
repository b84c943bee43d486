// Interrupts: vectored mtvec (each cause at base + 4 * cause, exceptions at
// base); machine software interrupt through the CLINT msip register; machine
// timer through mtimecmp; the priority of MSI over MTI when both are
// pending; wfi returning on a pending-and-enabled interrupt even with
// mstatus.MIE clear; a supervisor software interrupt raised by M through
// mip.SSIP and delegated with mideleg; and the Sstc supervisor timer
// (menvcfg.STCE, stimecmp written in S-mode) delivered to S as STI.
#include "vireo_test.h"

#define WAIT_TICKS 20000000  // 2 s of mtime: an interrupt that never comes fails

// Fails the current test unless the doubleword at `sym` equals `val`.
#define CHECK_WORD(sym, val) \
  la t0, sym;                \
  ld t0, 0(t0);              \
  li t1, val;                \
  bne t0, t1, fail

// Spins (M-mode) until the doubleword at `sym` reaches `val`, failing after
// WAIT_TICKS. Clobbers t0-t3.
#define M_WAIT_FOR(sym, val) \
  li t0, CLINT_MTIME;        \
  ld t1, 0(t0);              \
  li t2, WAIT_TICKS;         \
  add t1, t1, t2;            \
  1: ld t2, 0(t0);           \
  bgeu t2, t1, fail;         \
  la t3, sym;                \
  ld t3, 0(t3);              \
  li t2, val;                \
  bne t3, t2, 1b
// The same in S-mode, timed with rdtime.
#define S_WAIT_FOR(sym, val) \
  rdtime t1;                 \
  li t2, WAIT_TICKS;         \
  add t1, t1, t2;            \
  1: rdtime t2;              \
  bgeu t2, t1, fail;         \
  la t3, sym;                \
  ld t3, 0(t3);              \
  li t2, val;                \
  bne t3, t2, 1b

TEST_MAIN
  la t0, mvec
  ori t0, t0, 1  // vectored
  csrw mtvec, t0
  TEST_NUM(1)
  csrr t1, mtvec
  bne t0, t1, fail  // vectored mode is supported
  li t0, -1
  li t1, CLINT_MTIMECMP(0)
  sd t0, 0(t1)

  // ---- Exceptions still go to the base in vectored mode ----
  TEST_NUM(2)
  SET_MRESUME(1f)
  ecall
  j fail
1:
  CHECK_STATE(TS_MCAUSE, CAUSE_ECALL_M)

  // ---- Machine software interrupt: CLINT msip ----
  TEST_NUM(3)
  li t0, CLINT_MSIP(0)
  li t1, 1
  sw t1, 0(t0)
  // Pending is visible in mip before it is enabled.
  li t2, WAIT_TICKS
1:
  addi t2, t2, -1
  beqz t2, fail
  csrr a0, mip
  andi a0, a0, MIP_MSIP
  beqz a0, 1b
  CHECK_WORD(m_irq_count, 0)
  TEST_NUM(4)
  li t0, MIP_MSIP
  csrw mie, t0
  csrsi mstatus, MSTATUS_MIE
  M_WAIT_FOR(m_irq_count, 1)
  csrci mstatus, MSTATUS_MIE
  CHECK_WORD(m_irq_causes, CAUSE_INTERRUPT | IRQ_M_SOFT)
  TEST_NUM(5)
  csrr a0, mip  // the handler cleared msip
  andi a0, a0, MIP_MSIP
  bnez a0, fail

  // ---- Machine timer interrupt: mtimecmp ----
  TEST_NUM(6)
  li t0, CLINT_MTIMECMP(0)
  sd zero, 0(t0)  // already due: MTIP pending
  csrr a0, mip
  andi a0, a0, MIP_MTIP
  beqz a0, fail
  li t1, -1
  sd t1, 0(t0)  // not due: MTIP clear
  csrr a0, mip
  andi a0, a0, MIP_MTIP
  bnez a0, fail
  TEST_NUM(7)
  li t0, MIP_MTIP
  csrw mie, t0
  csrsi mstatus, MSTATUS_MIE
  li t0, CLINT_MTIME
  ld t1, 0(t0)
  addi s2, t1, 1000  // 100 us from now
  li t0, CLINT_MTIMECMP(0)
  sd s2, 0(t0)
  M_WAIT_FOR(m_irq_count, 2)
  csrci mstatus, MSTATUS_MIE
  CHECK_WORD(m_irq_causes + 8, CAUSE_INTERRUPT | IRQ_M_TIMER)
  // The timer fired no earlier than mtimecmp.
  TEST_NUM(8)
  la t0, m_irq_times + 8
  ld t0, 0(t0)
  bltu t0, s2, fail

  // ---- MSI and MTI pending together: MSI is taken first ----
  TEST_NUM(9)
  li t0, CLINT_MTIMECMP(0)
  sd zero, 0(t0)
  li t0, CLINT_MSIP(0)
  li t1, 1
  sw t1, 0(t0)
  li t0, MIP_MSIP | MIP_MTIP
  csrw mie, t0
  csrsi mstatus, MSTATUS_MIE
  M_WAIT_FOR(m_irq_count, 4)
  csrci mstatus, MSTATUS_MIE
  CHECK_WORD(m_irq_causes + 16, CAUSE_INTERRUPT | IRQ_M_SOFT)
  CHECK_WORD(m_irq_causes + 24, CAUSE_INTERRUPT | IRQ_M_TIMER)

  // ---- wfi wakes on a pending, enabled interrupt while mstatus.MIE = 0 ----
  TEST_NUM(10)
  li t0, MIP_MTIP
  csrw mie, t0
  li t0, CLINT_MTIME
  ld t1, 0(t0)
  li t2, 2000
  add t1, t1, t2
  li t0, CLINT_MTIMECMP(0)
  sd t1, 0(t0)
  li t0, CLINT_MTIME
  ld t1, 0(t0)
  li t2, WAIT_TICKS
  add t1, t1, t2
1:
  wfi
  ld t2, 0(t0)
  bgeu t2, t1, fail
  csrr a0, mip
  andi a0, a0, MIP_MTIP
  beqz a0, 1b
  CHECK_WORD(m_irq_count, 4)  // not taken: MIE is clear
  li t0, -1
  li t1, CLINT_MTIMECMP(0)
  sd t0, 0(t1)
  csrw mie, zero

  // ---- Supervisor software interrupt, delegated ----
  TEST_NUM(11)
  la t0, s_irq_handler
  csrw stvec, t0
  li t0, MIP_SSIP | MIP_STIP
  csrw mideleg, t0
  csrr t1, mideleg
  and t1, t1, t0
  bne t0, t1, fail
  li t0, 7
  csrw mcounteren, t0  // S may read time (and, with STCE, stimecmp)
  li t0, MIP_SSIP
  csrs mip, t0  // M raises it; S takes it once enabled
  ENTER_PRIV(MSTATUS_MPP_S, 1f)
1:
  TEST_NUM(12)
  csrr a0, sip
  andi a0, a0, MIP_SSIP
  beqz a0, fail
  CHECK_WORD(s_irq_count, 0)
  li t0, MIP_SSIP
  csrs sie, t0
  csrsi sstatus, MSTATUS_SIE
  S_WAIT_FOR(s_irq_count, 1)
  csrci sstatus, MSTATUS_SIE
  CHECK_WORD(s_irq_causes, CAUSE_INTERRUPT | IRQ_S_SOFT)
  CHECK_WORD(m_irq_count, 4)
  ECALL_TO_M(2f)
2:

  // ---- Sstc: stimecmp written in S-mode raises STI in S ----
  TEST_NUM(13)
  li t0, MENVCFG_STCE
  csrs menvcfg, t0
  csrr t1, menvcfg
  and t1, t1, t0
  beqz t1, fail  // Sstc is implemented
  li t0, -1
  csrw CSR_STIMECMP, t0
  ENTER_PRIV(MSTATUS_MPP_S, 1f)
1:
  TEST_NUM(14)
  csrr a0, sip  // stimecmp is far in the future: STIP clear
  andi a0, a0, MIP_STIP
  bnez a0, fail
  li t0, MIP_STIP
  csrs sie, t0
  csrsi sstatus, MSTATUS_SIE
  rdtime t0
  addi t0, t0, 1000
  csrw CSR_STIMECMP, t0
  S_WAIT_FOR(s_irq_count, 2)
  csrci sstatus, MSTATUS_SIE
  CHECK_WORD(s_irq_causes + 8, CAUSE_INTERRUPT | IRQ_S_TIMER)
  CHECK_WORD(m_irq_count, 4)
  TEST_NUM(15)
  csrr a0, sip  // the handler moved stimecmp back to the future
  andi a0, a0, MIP_STIP
  bnez a0, fail
  ECALL_TO_M(2f)
2:
  // With STCE clear, stimecmp is not accessible from S.
  TEST_NUM(16)
  li t0, MENVCFG_STCE
  csrc menvcfg, t0
  ENTER_PRIV(MSTATUS_MPP_S, 1f)
1:
  SET_MRESUME(2f)
  csrr a0, CSR_STIMECMP
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN)

  PASS

// ---- Handlers ----
  .section .text
  .align 8
  .option push
  .option norvc  // one 4-byte jump per vector slot
mvec:
  j mtrap_entry    // 0: exceptions
  j bad_irq        // 1: SSI (delegated, must not come here)
  j bad_irq        // 2
  j m_irq_handler  // 3: MSI
  j bad_irq        // 4
  j bad_irq        // 5: STI (delegated)
  j bad_irq        // 6
  j m_irq_handler  // 7: MTI
  j bad_irq        // 8
  j bad_irq        // 9
  j bad_irq        // 10
  j bad_irq        // 11
  .option pop

bad_irq:
  li gp, 0x7d
  j fail

// Logs (cause, mtime) and silences the source: msip = 0 for MSI,
// mtimecmp = max for MTI.
m_irq_handler:
  csrw mscratch, t0
  la t0, irq_save
  sd t1, 0(t0)
  sd t2, 8(t0)
  la t0, m_irq_count
  ld t1, 0(t0)
  slli t1, t1, 3
  la t2, m_irq_causes
  add t2, t2, t1
  csrr t0, mcause
  sd t0, 0(t2)
  la t2, m_irq_times
  add t2, t2, t1
  li t0, CLINT_MTIME
  ld t0, 0(t0)
  sd t0, 0(t2)
  la t0, m_irq_count
  ld t1, 0(t0)
  addi t1, t1, 1
  sd t1, 0(t0)
  csrr t1, mcause
  slli t1, t1, 1  // drop the interrupt bit
  li t2, IRQ_M_SOFT << 1
  bne t1, t2, 1f
  li t0, CLINT_MSIP(0)
  sw zero, 0(t0)
  j 2f
1:
  li t0, CLINT_MTIMECMP(0)
  li t1, -1
  sd t1, 0(t0)
2:
  la t0, irq_save
  ld t1, 0(t0)
  ld t2, 8(t0)
  csrr t0, mscratch
  mret

// S-mode (direct mode): logs scause; clears sip.SSIP or moves stimecmp.
  .align 2
s_irq_handler:
  csrw sscratch, t0
  la t0, irq_save
  sd t1, 16(t0)
  sd t2, 24(t0)
  csrr t1, scause
  bgez t1, 3f  // an exception: hand it to the generic handler's logic
  la t0, s_irq_count
  ld t2, 0(t0)
  addi t2, t2, 1
  sd t2, 0(t0)
  addi t2, t2, -1
  slli t2, t2, 3
  la t0, s_irq_causes
  add t0, t0, t2
  sd t1, 0(t0)
  slli t1, t1, 1
  li t2, IRQ_S_SOFT << 1
  bne t1, t2, 1f
  li t0, MIP_SSIP
  csrc sip, t0
  j 2f
1:
  li t0, -1
  csrw CSR_STIMECMP, t0
2:
  la t0, irq_save
  ld t1, 16(t0)
  ld t2, 24(t0)
  csrr t0, sscratch
  sret
3:
  la t0, irq_save
  ld t1, 16(t0)
  ld t2, 24(t0)
  csrr t0, sscratch
  j strap_entry

  .section .data
  .align 3
irq_save: .dword 0, 0, 0, 0
m_irq_count: .dword 0
m_irq_causes: .fill 8, 8, 0
m_irq_times: .fill 8, 8, 0
s_irq_count: .dword 0
s_irq_causes: .fill 8, 8, 0
