// Shared runtime and macros of the bare-metal ISA tests (tests/isa/*.S).
//
// A test file includes this header, then writes its body after TEST_MAIN and
// ends with PASS. The runtime below resets the hart to a known state, parks
// every hart but hart 0 (unless TEST_SMP is defined before the include), and
// reports the outcome through the SiFive test device at 0x100000 (or through
// HTIF's tohost when TEST_HTIF is defined), which Vireo and QEMU's virt board
// both turn into the process exit status:
//   pass                    -> exit 0
//   TEST_CASE n mismatched  -> exit n            (1 <= n <= 127)
//   unexpected trap in n    -> exit n | 0x80     (cause, epc, tval printed)
// On failure a line is also printed on the 16550 UART at 0x10000000.
//
// QEMU72 (defined only when validating the tests on QEMU 7.2) relaxes the
// few checks where QEMU 7.2 predates the privileged spec 1.12; Vireo's ctest
// runs never define it.
//
// Register conventions: gp holds the current test number; t6 is the scratch
// register of TEST_CASE; the trap handlers preserve every register (they
// keep their own scratch in test_state), so a test may trap anywhere.
#ifndef VIREO_TEST_H
#define VIREO_TEST_H

// ---- Board ----
#define SIFIVE_TEST_BASE 0x100000
#define UART_BASE 0x10000000
#define CLINT_BASE 0x2000000
#define CLINT_MSIP(h) (CLINT_BASE + 4 * (h))
#define CLINT_MTIMECMP(h) (CLINT_BASE + 0x4000 + 8 * (h))
#define CLINT_MTIME (CLINT_BASE + 0xbff8)
#define RAM_BASE 0x80000000

// ---- CSR fields ----
#define MSTATUS_SIE 0x2
#define MSTATUS_MIE 0x8
#define MSTATUS_SPIE 0x20
#define MSTATUS_UBE 0x40
#define MSTATUS_MPIE 0x80
#define MSTATUS_SPP 0x100
#define MSTATUS_MPP 0x1800
#define MSTATUS_MPP_S 0x800
#define MSTATUS_MPP_M 0x1800
#define MSTATUS_FS 0x6000
#define MSTATUS_FS_INITIAL 0x2000
#define MSTATUS_FS_CLEAN 0x4000
#define MSTATUS_FS_DIRTY 0x6000
#define MSTATUS_MPRV 0x20000
#define MSTATUS_SUM 0x40000
#define MSTATUS_MXR 0x80000
#define MSTATUS_TVM 0x100000
#define MSTATUS_TW 0x200000
#define MSTATUS_TSR 0x400000
#define MSTATUS_SD 0x8000000000000000

#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

#define CAUSE_INTERRUPT 0x8000000000000000
#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS 1
#define CAUSE_ILLEGAL_INSN 2
#define CAUSE_BREAKPOINT 3
#define CAUSE_LOAD_MISALIGNED 4
#define CAUSE_LOAD_ACCESS 5
#define CAUSE_STORE_MISALIGNED 6
#define CAUSE_STORE_ACCESS 7
#define CAUSE_ECALL_U 8
#define CAUSE_ECALL_S 9
#define CAUSE_ECALL_M 11
#define CAUSE_FETCH_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT 13
#define CAUSE_STORE_PAGE_FAULT 15

#define IRQ_S_SOFT 1
#define IRQ_M_SOFT 3
#define IRQ_S_TIMER 5
#define IRQ_M_TIMER 7
#define IRQ_S_EXT 9
#define IRQ_M_EXT 11
#define MIP_SSIP (1 << IRQ_S_SOFT)
#define MIP_MSIP (1 << IRQ_M_SOFT)
#define MIP_STIP (1 << IRQ_S_TIMER)
#define MIP_MTIP (1 << IRQ_M_TIMER)

#define PMP_R 0x01
#define PMP_W 0x02
#define PMP_X 0x04
#define PMP_TOR 0x08
#define PMP_NA4 0x10
#define PMP_NAPOT 0x18
#define PMP_L 0x80

#define PTE_V 0x001
#define PTE_R 0x002
#define PTE_W 0x004
#define PTE_X 0x008
#define PTE_U 0x010
#define PTE_G 0x020
#define PTE_A 0x040
#define PTE_D 0x080

#define SATP_MODE_SV39 (8 << 60)
#define SATP_MODE_SV48 (9 << 60)
#define SATP_MODE_SV57 (10 << 60)

#define MENVCFG_STCE 0x8000000000000000

// CSRs binutils 2.40 may not know by name.
#define CSR_STIMECMP 0x14d

// ---- test_state layout (one block of doublewords, see below) ----
#define TS_MSAVE1 0
#define TS_MSAVE2 8
#define TS_MCOUNT 16   // M-mode traps taken (expected ones)
#define TS_MCAUSE 24   // mcause of the last one
#define TS_MEPC 32     // mepc
#define TS_MTVAL 40    // mtval
#define TS_MSTATUS 48  // mstatus as seen by the handler
#define TS_MRESUME 56  // where to resume (M-mode); 0 = a trap is unexpected
#define TS_FAILING 64  // set once the test is failing: any trap then just exits
#define TS_SSAVE1 72
#define TS_SSAVE2 80
#define TS_SCOUNT 88
#define TS_SCAUSE 96
#define TS_SEPC 104
#define TS_STVAL 112
#define TS_SSTATUS 120
#define TS_SRESUME 128  // where to resume (S-mode); 0 = unexpected
#define TS_SIZE 136

// ---- Test macros ----

// Runs `code`, then fails test `num` unless register `testreg` equals
// `correctval`. `code` may be several instructions separated by ';' and must
// leave t6 alone.
#define TEST_CASE(num, testreg, correctval, code...) \
  TEST_NUM(num);                                     \
  code;                                              \
  li t6, correctval;                                 \
  bne testreg, t6, fail

// rd = op(rs1, rs2) and rd = op(rs1, imm), with rd distinct from, equal to
// the first and equal to the second source (rd may alias a source).
#define TEST_RR_OP(num, inst, result, val1, val2)          \
  TEST_CASE(num, a4, result, li a1, val1; li a2, val2;     \
            inst a4, a1, a2;                                \
            inst a1, a1, a2; bne a1, a4, fail;              \
            li a1, val1; inst a2, a1, a2; bne a2, a4, fail)
#define TEST_IMM_OP(num, inst, result, val1, imm)          \
  TEST_CASE(num, a4, result, li a1, val1; inst a4, a1, imm; \
            inst a1, a1, imm; bne a1, a4, fail)
#define TEST_R_OP(num, inst, result, val1)                 \
  TEST_CASE(num, a4, result, li a1, val1; inst a4, a1;      \
            inst a1, a1; bne a1, a4, fail)

// Sets the test number (gp) with a range check: the number becomes the exit
// status, so it must be non-zero and leave bit 7 for "unexpected trap".
#define TEST_NUM(num)                                \
  .if((num) < 1) || ((num) > 127);                   \
  .error "test numbers must be within 1..127";       \
  .endif;                                            \
  li gp, num

// Fails the current test unless the doubleword at test_state+off equals val.
#define CHECK_STATE(off, val) \
  la t0, test_state;          \
  ld t0, off(t0);             \
  li t1, val;                 \
  bne t0, t1, fail

// Checks the last recorded M-mode trap: cause, tval and epc (a label).
#define CHECK_MTRAP(cause, tval) \
  CHECK_STATE(TS_MCAUSE, cause); \
  CHECK_STATE(TS_MTVAL, tval)
#define CHECK_MEPC(label) \
  la t0, test_state;      \
  ld t0, TS_MEPC(t0);     \
  la t1, label;           \
  bne t0, t1, fail
#define CHECK_STRAP(cause, tval) \
  CHECK_STATE(TS_SCAUSE, cause); \
  CHECK_STATE(TS_STVAL, tval)
#define CHECK_SEPC(label) \
  la t0, test_state;      \
  ld t0, TS_SEPC(t0);     \
  la t1, label;           \
  bne t0, t1, fail

// The next trap taken into M-mode is expected: the generic handler records
// it and resumes at `label` in M-mode with mstatus.MIE clear (clobbers t0,t1).
#define SET_MRESUME(label) \
  la t0, label;            \
  la t1, test_state;       \
  sd t0, TS_MRESUME(t1)
// Same for a trap taken into S-mode (resumes in S-mode with SIE clear).
#define SET_SRESUME(label) \
  la t0, label;            \
  la t1, test_state;       \
  sd t0, TS_SRESUME(t1)

// Leaves M-mode for privilege `mpp` (an MSTATUS_MPP_* value or 0) at `label`.
#define ENTER_PRIV(mpp, label) \
  li t0, MSTATUS_MPP;          \
  csrc mstatus, t0;            \
  li t0, mpp;                  \
  csrs mstatus, t0;            \
  la t0, label;                \
  csrw mepc, t0;               \
  mret

// From S/U-mode (ecall not delegated): back to M-mode at `label`.
#define ECALL_TO_M(label) \
  SET_MRESUME(label);     \
  ecall

#define PASS j pass

// Start of the test body: runs on hart 0 (every hart with TEST_SMP, a0 =
// hart id) in M-mode, MMU off, PMP open to S/U, FP on (fcsr = 0), no
// delegation, interrupts off, mtvec = the generic handler.
#define TEST_MAIN   \
  .section .text;   \
  .globl test_main; \
  test_main:

// ---- Runtime ----

  .section .text.init, "ax", @progbits
  .option norvc
  .globl _start
_start:
  csrr t0, mhartid
#ifndef TEST_SMP
  bnez t0, park
#endif
  la sp, stack_top
  slli t1, t0, 12
  sub sp, sp, t1
  la t1, mtrap_entry
  csrw mtvec, t1
  csrw mie, zero
  csrw mip, zero
  csrw medeleg, zero
  csrw mideleg, zero
  csrw satp, zero
  // Spec: when PMP is implemented and no entry matches, S/U accesses fail.
  // One NAPOT entry covering everything keeps S/U-mode tests independent of
  // the reset state of PMP.
  li t1, -1
  csrw pmpaddr0, t1
  li t1, PMP_NAPOT | PMP_R | PMP_W | PMP_X
  csrw pmpcfg0, t1
  li t1, MSTATUS_MPP | MSTATUS_MIE | MSTATUS_SIE | MSTATUS_MPRV | MSTATUS_FS
  csrc mstatus, t1
  li t1, MSTATUS_FS_INITIAL
  csrs mstatus, t1
  csrw fcsr, zero
  mv a0, t0
  li gp, 0
  j test_main

park:
  wfi
  j park

// Generic M-mode trap handler: records the trap in test_state and resumes
// at TS_MRESUME in M-mode; without a resume address the trap is unexpected.
  .align 2
  .globl mtrap_entry
mtrap_entry:
  csrw mscratch, t0
  la t0, test_state
  sd t1, TS_MSAVE1(t0)
  sd t2, TS_MSAVE2(t0)
  ld t1, TS_FAILING(t0)
  bnez t1, fail_exit
  ld t1, TS_MCOUNT(t0)
  addi t1, t1, 1
  sd t1, TS_MCOUNT(t0)
  csrr t1, mcause
  sd t1, TS_MCAUSE(t0)
  csrr t1, mepc
  sd t1, TS_MEPC(t0)
  csrr t1, mtval
  sd t1, TS_MTVAL(t0)
  csrr t1, mstatus
  sd t1, TS_MSTATUS(t0)
  ld t1, TS_MRESUME(t0)
  beqz t1, unexpected_mtrap
  sd zero, TS_MRESUME(t0)
  csrw mepc, t1
  li t1, MSTATUS_MPP
  csrs mstatus, t1
  li t1, MSTATUS_MPIE
  csrc mstatus, t1
  ld t1, TS_MSAVE1(t0)
  ld t2, TS_MSAVE2(t0)
  csrr t0, mscratch
  mret

unexpected_mtrap:
  li t1, 1
  sd t1, TS_FAILING(t0)
  la a0, msg_mtrap
  jal ra, print_str
  csrr a0, mcause
  jal ra, print_hex
  la a0, msg_epc
  jal ra, print_str
  csrr a0, mepc
  jal ra, print_hex
  la a0, msg_tval
  jal ra, print_str
  csrr a0, mtval
  jal ra, print_hex
  la a0, msg_nl
  jal ra, print_str
  ori gp, gp, 0x80
  j fail

// Generic S-mode trap handler (used once a test points stvec here): the same
// protocol with TS_S* and sret to S-mode.
  .align 2
  .globl strap_entry
strap_entry:
  csrw sscratch, t0
  la t0, test_state
  sd t1, TS_SSAVE1(t0)
  sd t2, TS_SSAVE2(t0)
  ld t1, TS_FAILING(t0)
  bnez t1, fail_exit
  ld t1, TS_SCOUNT(t0)
  addi t1, t1, 1
  sd t1, TS_SCOUNT(t0)
  csrr t1, scause
  sd t1, TS_SCAUSE(t0)
  csrr t1, sepc
  sd t1, TS_SEPC(t0)
  csrr t1, stval
  sd t1, TS_STVAL(t0)
  csrr t1, sstatus
  sd t1, TS_SSTATUS(t0)
  ld t1, TS_SRESUME(t0)
  beqz t1, unexpected_strap
  sd zero, TS_SRESUME(t0)
  csrw sepc, t1
  li t1, MSTATUS_SPP
  csrs sstatus, t1
  li t1, MSTATUS_SPIE
  csrc sstatus, t1
  ld t1, TS_SSAVE1(t0)
  ld t2, TS_SSAVE2(t0)
  csrr t0, sscratch
  sret

unexpected_strap:
  li t1, 1
  sd t1, TS_FAILING(t0)
  la a0, msg_strap
  jal ra, print_str
  csrr a0, scause
  jal ra, print_hex
  la a0, msg_epc
  jal ra, print_str
  csrr a0, sepc
  jal ra, print_hex
  la a0, msg_tval
  jal ra, print_str
  csrr a0, stval
  jal ra, print_hex
  la a0, msg_nl
  jal ra, print_str
  ori gp, gp, 0x80
  j fail

  .globl fail
fail:
  // From here on any trap (a fault while printing, say) goes straight to
  // fail_exit; gp is kept.
  la t0, test_state
  li t1, 1
  sd t1, TS_FAILING(t0)
  la a0, msg_fail
  jal ra, print_str
  andi a0, gp, 0x7f
  jal ra, print_hex
  la a0, msg_nl
  jal ra, print_str
fail_exit:
  // Status 0 would read as a pass.
  bnez gp, 1f
  li gp, 0x7e
1:
#ifdef TEST_HTIF
  slli t1, gp, 1
  ori t1, t1, 1
  la t0, tohost
  sd t1, 0(t0)
#else
  slli t1, gp, 16
  li t2, 0x3333
  or t1, t1, t2
  li t0, SIFIVE_TEST_BASE
  sw t1, 0(t0)
#endif
2:
  j 2b

  .globl pass
pass:
  fence
#ifdef TEST_HTIF
  li t1, 1
  la t0, tohost
  sd t1, 0(t0)
#else
  li t1, 0x5555
  li t0, SIFIVE_TEST_BASE
  sw t1, 0(t0)
#endif
1:
  j 1b

// print_str(a0 = NUL-terminated string), print_hex(a0 = value): leaf
// routines for the failure path only (clobber t0-t3, a0-a2). The UART is
// polled with a bound so a missing or stuck UART cannot hang the report.
print_str:
#ifndef TEST_HTIF
  li t0, UART_BASE
1:
  lbu a1, 0(a0)
  beqz a1, 3f
  li t2, 100000
2:
  lbu t1, 5(t0)
  andi t1, t1, 0x20
  addi t2, t2, -1
  bnez t2, 4f
  li t1, 1
4:
  beqz t1, 2b
  sb a1, 0(t0)
  addi a0, a0, 1
  j 1b
3:
#endif
  ret

print_hex:
#ifndef TEST_HTIF
  li t0, UART_BASE
  li t3, 60
1:
  srl a1, a0, t3
  andi a1, a1, 0xf
  addi a1, a1, '0'
  li t1, '9'
  ble a1, t1, 2f
  addi a1, a1, 'a' - '9' - 1
2:
  li t2, 100000
5:
  lbu t1, 5(t0)
  andi t1, t1, 0x20
  addi t2, t2, -1
  bnez t2, 4f
  li t1, 1
4:
  beqz t1, 5b
  sb a1, 0(t0)
  addi t3, t3, -4
  bgez t3, 1b
#endif
  ret

  .section .rodata
msg_fail: .string "FAIL: test 0x"
msg_mtrap: .string "unexpected M-mode trap: mcause=0x"
msg_strap: .string "unexpected S-mode trap: scause=0x"
msg_epc: .string " epc=0x"
msg_tval: .string " tval=0x"
msg_nl: .string "\r\n"

  .section .data
  .align 6
  .globl test_state
test_state:
  .fill TS_SIZE / 8, 8, 0

  .section .bss
  .align 12
stack_bottom:
  .skip 4096 * 4
stack_top:

#ifdef TEST_HTIF
  .section .tohost, "aw", @progbits
  .align 6
  .globl tohost
tohost:
  .dword 0
  .size tohost, 8
  .align 6
  .globl fromhost
fromhost:
  .dword 0
  .size fromhost, 8
#endif

  .section .text
  .option rvc

#endif  // VIREO_TEST_H
