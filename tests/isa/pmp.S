// PMP: S-mode accesses checked against NAPOT and TOR entries, by priority
// (lowest-numbered match wins): a no-permission NAPOT page inside an
// allowed region faults; a read-only NAPOT page faults on store; a TOR
// region allows data but not fetch; accesses matching no entry fault (load
// access fault 5, store 7, fetch 1, with the address in mtval); M-mode
// ignores unlocked entries; a locked entry binds M too and its pmpcfg and
// pmpaddr ignore writes.
#include "vireo_test.h"

#define IMAGE_BASE 0x80000000  // this test's image: first 1 MiB of RAM
#define TOR_LO 0x80100000      // RW, not X
#define TOR_HI 0x80101000
#define OUTSIDE 0x80101000     // no entry
#define RO_PAGE 0x80102000     // R only

#define NAPOT(base, size) (((base) | ((size) / 2 - 1)) >> 2)
#define CFG(entry, bits) ((bits) << (8 * (entry)))

// An S-mode access expected to fault into M: runs `insn` at a local label
// with a1 = `addr`, checks mcause, mtval, mepc, and returns to S-mode.
#define S_EXPECT_FAULT(num, cause, addr, insn...) \
  TEST_NUM(num);                                  \
  SET_MRESUME(91f);                               \
  li a1, addr;                                    \
  90: insn;                                       \
  j fail;                                         \
  91: CHECK_MTRAP(cause, addr);                   \
  CHECK_MEPC(90b);                                \
  ENTER_PRIV(MSTATUS_MPP_S, 92f);                 \
  92:

TEST_MAIN
  TEST_NUM(1)
  la t0, _end
  li t1, TOR_LO
  bgeu t0, t1, fail  // the image must fit in its NAPOT region

  // Memory contents (M-mode, before any entry applies).
  li t0, TOR_LO
  li t1, 0x7070
  sd t1, 0(t0)
  li t1, 0x8067  // ret
  li t0, TOR_LO + 64
  sw t1, 0(t0)
  li t0, RO_PAGE
  li t1, 0x7171
  sd t1, 0(t0)
  la t0, denied
  li t1, 0x7272
  sd t1, 0(t0)
  fence.i

  la t0, denied  // NAPOT(denied, 4096)
  ori t0, t0, 0x7ff
  srli t0, t0, 2
  csrw pmpaddr0, t0
  li t0, NAPOT(RO_PAGE, 4096)
  csrw pmpaddr1, t0
  li t0, TOR_LO >> 2
  csrw pmpaddr2, t0
  li t0, TOR_HI >> 2
  csrw pmpaddr3, t0
  li t0, NAPOT(IMAGE_BASE, 0x100000)
  csrw pmpaddr4, t0
  li t0, CFG(0, PMP_NAPOT) | CFG(1, PMP_NAPOT | PMP_R) | CFG(3, PMP_TOR | PMP_R | PMP_W) | CFG(4, PMP_NAPOT | PMP_R | PMP_W | PMP_X)
  csrw pmpcfg0, t0
  TEST_NUM(2)
  csrr t1, pmpcfg0
  bne t0, t1, fail
  li t0, NAPOT(RO_PAGE, 4096)
  csrr t1, pmpaddr1
  bne t0, t1, fail

  ENTER_PRIV(MSTATUS_MPP_S, 1f)
1:
  // ---- Allowed ----
  TEST_CASE(3, a0, 0x7070, li a1, TOR_LO; ld a0, 0(a1))
  TEST_CASE(4, a0, 0x5555, li a1, TOR_HI - 8; li a2, 0x5555; sd a2, 0(a1); ld a0, 0(a1))
  TEST_CASE(5, a0, 0x7171, li a1, RO_PAGE; ld a0, 0(a1))
  // ---- Denied ----
  S_EXPECT_FAULT(6, CAUSE_LOAD_ACCESS, OUTSIDE, ld a0, 0(a1))
  S_EXPECT_FAULT(7, CAUSE_STORE_ACCESS, OUTSIDE + 8, sd a0, 0(a1))
  S_EXPECT_FAULT(8, CAUSE_LOAD_ACCESS, TOR_HI, lw a0, 0(a1))  // first byte past TOR
  S_EXPECT_FAULT(9, CAUSE_STORE_ACCESS, RO_PAGE + 16, sd a0, 0(a1))
  S_EXPECT_FAULT(10, CAUSE_STORE_ACCESS, RO_PAGE + 8, amoadd.d a0, a0, (a1))
  // A fetch fault: mepc and mtval are the target.
  TEST_NUM(11)
  SET_MRESUME(2f)
  li a1, TOR_LO + 64
  jalr ra, a1
  j fail
2:
  CHECK_MTRAP(CAUSE_FETCH_ACCESS, TOR_LO + 64)
  CHECK_STATE(TS_MEPC, TOR_LO + 64)
  ENTER_PRIV(MSTATUS_MPP_S, 1f)
1:
  // A misaligned load straddling the end of the TOR region is partly
  // outside: it faults (mtval: the access or the faulting part's address).
  TEST_NUM(21)
  SET_MRESUME(2f)
  li a1, TOR_HI - 2
  lw a0, 0(a1)
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_LOAD_ACCESS)
  la t0, test_state
  ld t0, TS_MTVAL(t0)
  li t1, TOR_HI
  beq t0, t1, 3f
  li t1, TOR_HI - 2
  bne t0, t1, fail
3:
  ENTER_PRIV(MSTATUS_MPP_S, 1f)
1:
  // Entry 0 (no permissions) wins over entry 4 (RWX) that also matches.
  TEST_NUM(12)
  SET_MRESUME(2f)
  la a1, denied
1:
  ld a0, 0(a1)
  j fail
2:
  la a1, denied
  CHECK_STATE(TS_MCAUSE, CAUSE_LOAD_ACCESS)
  la t0, test_state
  ld t0, TS_MTVAL(t0)
  bne t0, a1, fail
  CHECK_MEPC(1b)
  // The faulting store did not write.
  TEST_CASE(13, a0, 0x7171, li a1, RO_PAGE; ld a0, 0(a1))

  // ---- M-mode ignores unlocked entries ----
  TEST_CASE(14, a0, 0x7272, la a1, denied; ld a0, 0(a1))
  TEST_CASE(15, a0, 0x6666, li a1, OUTSIDE; li a2, 0x6666; sd a2, 0(a1); ld a0, 0(a1))

  // ---- A locked entry applies to M-mode and cannot be changed ----
  TEST_NUM(16)
  la t0, locked
  ori t0, t0, 0x7ff
  srli t0, t0, 2
  csrw pmpaddr0, t0
  li t0, CFG(0, PMP_NAPOT | PMP_R | PMP_L) | CFG(1, PMP_NAPOT | PMP_R) | CFG(3, PMP_TOR | PMP_R | PMP_W) | CFG(4, PMP_NAPOT | PMP_R | PMP_W | PMP_X)
  csrw pmpcfg0, t0
  TEST_CASE(17, a0, 0x4c4c, la a1, locked; ld a0, 0(a1))
  TEST_NUM(18)
  SET_MRESUME(2f)
  la a1, locked
1:
  sd zero, 0(a1)
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_STORE_ACCESS)
  CHECK_MEPC(1b)
  TEST_NUM(19)
  csrr t0, pmpcfg0
  andi t1, t0, 0xff
  li t2, PMP_NAPOT | PMP_R | PMP_L
  bne t1, t2, fail
  andi t0, t0, -256
  csrw pmpcfg0, t0  // try to clear entry 0: ignored
  csrr t1, pmpcfg0
  andi t1, t1, 0xff
  bne t1, t2, fail
  csrr t0, pmpaddr0
  csrw pmpaddr0, zero  // ignored too
  csrr t1, pmpaddr0
  bne t0, t1, fail
  TEST_CASE(20, a0, 0x4c4c, la a1, locked; ld a0, 0(a1))

  PASS

  .section .data
  .align 12
denied:
  .dword 0
  .align 12
locked:
  .dword 0x4c4c
  .align 12
