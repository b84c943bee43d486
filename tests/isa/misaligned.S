// Misaligned loads and stores are performed, not trapped: every size at
// every misaligned offset (integer and FP), across a page boundary with the
// MMU off, and in S-mode under Sv39 across two virtual pages whose physical
// pages are not adjacent; a misaligned load whose second page is unmapped
// takes a load page fault.
#include "vireo_test.h"
#include "vm.h"

// Virtual pages for the S-mode part: two adjacent virtual pages backed by
// physical pages in reverse order, then an unmapped page.
#define VA_SPLIT 0x40000000

TEST_MAIN
  // ---- Loads at every offset of an 8-byte-aligned pattern ----
  TEST_CASE(1, a0, 0xffffffffffff8281, la a1, pattern; lh a0, 1(a1))
  TEST_CASE(2, a0, 0x0000000000008887, la a1, pattern; lhu a0, 7(a1))
  TEST_CASE(3, a0, 0xffffffff84838281, la a1, pattern; lw a0, 1(a1))
  TEST_CASE(4, a0, 0xffffffff85848382, la a1, pattern; lw a0, 2(a1))
  TEST_CASE(5, a0, 0x0000000086858483, la a1, pattern; lwu a0, 3(a1))
  TEST_CASE(6, a0, 0x8887868584838281, la a1, pattern; ld a0, 1(a1))
  TEST_CASE(7, a0, 0x8988878685848382, la a1, pattern; ld a0, 2(a1))
  TEST_CASE(8, a0, 0x8a89888786858483, la a1, pattern; ld a0, 3(a1))
  TEST_CASE(9, a0, 0x8b8a898887868584, la a1, pattern; ld a0, 4(a1))
  TEST_CASE(10, a0, 0x8c8b8a8988878685, la a1, pattern; ld a0, 5(a1))
  TEST_CASE(11, a0, 0x8d8c8b8a89888786, la a1, pattern; ld a0, 6(a1))
  TEST_CASE(12, a0, 0x8e8d8c8b8a898887, la a1, pattern; ld a0, 7(a1))

  // ---- Stores at misaligned offsets write exactly their bytes ----
#define CLEAR_BUF la a1, buf; li a2, -1; sd a2, 0(a1); sd a2, 8(a1)
  TEST_CASE(13, a0, 0xffffffffff1234ff, CLEAR_BUF; li a2, 0x1234; sh a2, 1(a1); ld a0, 0(a1))
  TEST_CASE(14, a0, 0x34ffffffffffffff, CLEAR_BUF; li a2, 0x1234; sh a2, 7(a1); ld a0, 0(a1); lbu a3, 8(a1); li t6, 0x12; bne a3, t6, fail)
  TEST_CASE(15, a0, 0xff89abcdefffffff, CLEAR_BUF; li a2, 0x89abcdef; sw a2, 3(a1); ld a0, 0(a1))
  TEST_CASE(16, a0, 0xcdefffffffffffff, CLEAR_BUF; li a2, 0x89abcdef; sw a2, 6(a1); ld a0, 0(a1); ld a3, 8(a1); li t6, 0xffffffffffff89ab; bne a3, t6, fail)
  TEST_CASE(17, a0, 0x23456789abcdefff, CLEAR_BUF; li a2, 0x0123456789abcdef; sd a2, 1(a1); ld a0, 0(a1); ld a3, 8(a1); li t6, 0xffffffffffffff01; bne a3, t6, fail)
  TEST_CASE(18, a0, 0xefffffffffffffff, CLEAR_BUF; li a2, 0x0123456789abcdef; sd a2, 7(a1); ld a0, 0(a1); ld a3, 8(a1); li t6, 0xff0123456789abcd; bne a3, t6, fail)

  // ---- FP loads and stores ----
  TEST_CASE(19, a0, 0x8887868584838281, la a1, pattern; fld fa0, 1(a1); fmv.x.d a0, fa0)
  TEST_CASE(20, a0, 0xffffffff86858483, la a1, pattern; flw fa0, 3(a1); fmv.x.w a0, fa0)
  TEST_CASE(21, a0, 0x8887868584838281, CLEAR_BUF; la a3, pattern; fld fa0, 1(a3); fsd fa0, 5(a1); ld a0, 5(a1))
  TEST_CASE(22, a0, 0xffffffff84838281, CLEAR_BUF; la a3, pattern; flw fa0, 1(a3); fsw fa0, 2(a1); lw a0, 2(a1))

  // ---- Across a page boundary, MMU off ----
  TEST_CASE(23, a0, 0x0000000005040302, la a1, cross + 4094; lwu a0, 0(a1))
  TEST_CASE(24, a0, 0x0007060504030201, la a1, cross + 4093; ld a0, 0(a1))
  TEST_CASE(25, a0, 0x1122334455667788, la a1, cross + 4093; li a2, 0x1122334455667788; sd a2, 0(a1); ld a0, 0(a1); lbu a3, 2(a1); li t6, 0x66; bne a3, t6, fail; lbu a3, 3(a1); li t6, 0x55; bne a3, t6, fail)

  // ---- S-mode under Sv39: a virtual page pair backed by distant frames ----
  TEST_NUM(26)
  jal ra, vm_init
  li a0, VA_SPLIT
  la a1, frames + 2 * 4096
  li a2, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  li a3, 0
  jal ra, vm_map
  li a0, VA_SPLIT + 4096
  la a1, frames
  li a2, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  li a3, 0
  jal ra, vm_map
  jal ra, vm_enable
  // Page faults go to S-mode; returning to M uses ecall (not delegated).
  li t0, (1 << CAUSE_LOAD_PAGE_FAULT) | (1 << CAUSE_STORE_PAGE_FAULT)
  csrw medeleg, t0
  la t0, strap_entry
  csrw stvec, t0
  ENTER_PRIV(MSTATUS_MPP_S, s_code)

s_code:
  TEST_NUM(27)
  li a1, VA_SPLIT + 4096 - 3
  li a2, 0x8877665544332211
  sd a2, 0(a1)
  ld a0, 0(a1)
  bne a0, a2, fail
  TEST_NUM(28)
  // Through the identity map: the first 3 bytes at the end of frame 2, the
  // other 5 at the start of frame 0.
  la a3, frames + 3 * 4096 - 3
  lbu a0, 0(a3)
  li t6, 0x11
  bne a0, t6, fail
  lbu a0, 2(a3)
  li t6, 0x33
  bne a0, t6, fail
  la a3, frames
  lw a0, 0(a3)
  li t6, 0x77665544
  bne a0, t6, fail
  lbu a0, 4(a3)
  li t6, 0x88
  bne a0, t6, fail
  TEST_NUM(29)
  li a1, VA_SPLIT + 4096 - 1
  lh a0, 0(a1)
  li t6, 0x4433
  bne a0, t6, fail
  lw a0, -1(a1)
  li t6, 0x44332211 >> 8 | 0x55000000
  bne a0, t6, fail

  // A misaligned load whose second half is on an unmapped page faults.
  TEST_NUM(30)
  SET_SRESUME(1f)
  li a1, VA_SPLIT + 2 * 4096 - 2
  li a0, 0x5a
  lw a0, 0(a1)
  j fail
1:
  li t6, 0x5a  // rd not written
  bne a0, t6, fail
  CHECK_STATE(TS_SCAUSE, CAUSE_LOAD_PAGE_FAULT)
  // stval: the faulting portion (the next page) or the access address.
  la t0, test_state
  ld t0, TS_STVAL(t0)
  li t1, VA_SPLIT + 2 * 4096
  beq t0, t1, 2f
  li t1, VA_SPLIT + 2 * 4096 - 2
  bne t0, t1, fail
2:
  ECALL_TO_M(m_done)

m_done:
  csrw satp, zero
  sfence.vma
  PASS

  .section .data
  .align 3
pattern:
  .byte 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87
  .byte 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f
buf:
  .dword 0, 0, 0
  .align 12
cross:
  .skip 4096 - 4
  .byte 0x00, 0x01, 0x02, 0x03  // the last bytes of a page,
  .byte 0x04, 0x05, 0x06, 0x07  // the first of the next
  .skip 4096 - 8
  .section .bss
  .align 12
frames:
  .skip 3 * 4096
