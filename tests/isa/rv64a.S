// RV64A on one hart: every AMO in .w and .d form (old value returned, .w
// sign-extended; memory updated), LR/SC success and the failures the spec
// requires (no reservation, reservation consumed by a previous SC, SC to
// another address), and the misaligned-address traps.
#include "vireo_test.h"

// mem = init; rd = amo(mem, src); check rd == old (sign-extended for .w),
// then check the new memory value with a plain load.
#define TEST_AMO_D(num, inst, init, src, newval)                         \
  TEST_CASE(num, a4, init, la a1, amo_data; li a2, init; sd a2, 0(a1);   \
            li a3, src; inst a4, a3, (a1));                               \
  la a1, amo_data; ld a5, 0(a1); li t6, newval; bne a5, t6, fail
#define TEST_AMO_W(num, inst, init, src, oldsext, newval)                 \
  TEST_CASE(num, a4, oldsext, la a1, amo_data; li a2, 0x5a5a5a5a5a5a5a5a; \
            sd a2, 0(a1); li a2, init; sw a2, 0(a1);                      \
            li a3, src; inst a4, a3, (a1));                               \
  la a1, amo_data; ld a5, 0(a1); li t6, (0x5a5a5a5a00000000 | (newval));  \
  bne a5, t6, fail

TEST_MAIN
  TEST_AMO_D(1, amoswap.d, 0x0123456789abcdef, 0xfedcba9876543210, 0xfedcba9876543210)
  TEST_AMO_D(2, amoadd.d, 0x7fffffffffffffff, 1, 0x8000000000000000)
  TEST_AMO_D(3, amoxor.d, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xf0f0f0f0f0f0f0f0)
  TEST_AMO_D(4, amoand.d, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0x0f000f000f000f00)
  TEST_AMO_D(5, amoor.d, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xfff0fff0fff0fff0)
  TEST_AMO_D(6, amomin.d, 0x8000000000000000, 1, 0x8000000000000000)
  TEST_AMO_D(7, amomin.d, 5, -3, -3)
  TEST_AMO_D(8, amomax.d, 0x8000000000000000, 1, 1)
  TEST_AMO_D(9, amomax.d, -5, -3, -3)
  TEST_AMO_D(10, amominu.d, 0x8000000000000000, 1, 1)
  TEST_AMO_D(11, amomaxu.d, 0x8000000000000000, 1, 0x8000000000000000)
  TEST_AMO_D(12, amomaxu.d, 5, -1, -1)
  TEST_AMO_D(13, amoadd.d.aqrl, 100, -1, 99)

  TEST_AMO_W(14, amoswap.w, 0x80000000, 0x12345678, 0xffffffff80000000, 0x12345678)
  TEST_AMO_W(15, amoadd.w, 0x7fffffff, 1, 0x7fffffff, 0x80000000)
  TEST_AMO_W(16, amoadd.w, 0xffffffff, 0x100000001, 0xffffffffffffffff, 0)  // upper source bits ignored
  TEST_AMO_W(17, amoxor.w, 0xff00ff00, 0x0ff00ff0, 0xffffffffff00ff00, 0xf0f0f0f0)
  TEST_AMO_W(18, amoand.w, 0xff00ff00, 0x0ff00ff0, 0xffffffffff00ff00, 0x0f000f00)
  TEST_AMO_W(19, amoor.w, 0x0000ff00, 0x0ff00ff0, 0x000000000000ff00, 0x0ff0fff0)
  // Signed/unsigned comparisons look at 32 bits only.
  TEST_AMO_W(20, amomin.w, 0x80000000, 0x7fffffff, 0xffffffff80000000, 0x80000000)
  TEST_AMO_W(21, amomin.w, 1, 0x00000000ffffffff, 1, 0xffffffff)
  TEST_AMO_W(22, amomax.w, 0x80000000, 0x00000000ffffffff, 0xffffffff80000000, 0xffffffff)
  TEST_AMO_W(23, amominu.w, 0x80000000, 0xffffffff00000001, 0xffffffff80000000, 1)
  TEST_AMO_W(24, amomaxu.w, 0x7fffffff, 0x0000000080000000, 0x7fffffff, 0x80000000)
  TEST_AMO_W(25, amomaxu.w.aq, 0xffffffff, 0, 0xffffffffffffffff, 0xffffffff)

  // amoswap with rd = x0 still writes memory.
  TEST_CASE(26, a5, 77, la a1, amo_data; li a3, 77; amoswap.d x0, a3, (a1); ld a5, 0(a1))
  // rd == rs2: the old value lands in rd, memory gets the source.
  TEST_CASE(27, a3, 77, la a1, amo_data; li a3, 5; amoadd.d a3, a3, (a1); ld a5, 0(a1); li t6, 82; bne a5, t6, fail)

  // ---- LR/SC ----
  // No LR has run since reset: SC fails and does not write.
  TEST_CASE(28, a4, 1, la a1, lrsc_data; li a2, 11; sd a2, 0(a1); li a3, 22; sc.d a4, a3, (a1); snez a4, a4; ld a5, 0(a1); li t6, 11; bne a5, t6, fail)
  // LR then SC succeeds (rd = 0) and writes.
  TEST_CASE(29, a5, 33, la a1, lrsc_data; lr.d a2, (a1); li t6, 11; bne a2, t6, fail; li a3, 33; sc.d a4, a3, (a1); bnez a4, fail; ld a5, 0(a1))
  // The reservation was consumed by that SC: a second SC fails.
  TEST_CASE(30, a5, 33, la a1, lrsc_data; li a3, 44; sc.d a4, a3, (a1); beqz a4, fail; ld a5, 0(a1))
  // SC to an address other than the reserved one fails.
  TEST_CASE(31, a5, 0, la a1, lrsc_data; sd zero, 8(a1); lr.d a2, (a1); li a3, 55; addi a6, a1, 8; sc.d a4, a3, (a6); beqz a4, fail; ld a5, 8(a1))
  // lr.w sign-extends; sc.w writes 32 bits only.
  TEST_CASE(32, a2, 0xffffffff80000001, la a1, lrsc_data; li a2, 0x1111111180000001; sd a2, 0(a1); lr.w a2, (a1))
  TEST_CASE(33, a5, 0x1111111122222222, la a1, lrsc_data; li a3, 0x22222222; sc.w a4, a3, (a1); bnez a4, fail; ld a5, 0(a1))
  // A classic LR/SC increment loop.
  TEST_CASE(34, a5, 0x1111111122222222 + 100, la a1, lrsc_data; li a6, 100; 1: lr.d.aq a2, (a1); addi a2, a2, 1; sc.d.rl a4, a2, (a1); bnez a4, 1b; addi a6, a6, -1; bnez a6, 1b; ld a5, 0(a1))

  // ---- Misaligned atomics trap (address in mtval) ----
  TEST_NUM(35)
  SET_MRESUME(1f)
  la a1, amo_data + 4
  amoadd.d a4, a3, (a1)
  j fail
1:
  la a2, amo_data + 4
  CHECK_STATE(TS_MCAUSE, CAUSE_STORE_MISALIGNED)
  la t0, test_state
  ld t0, TS_MTVAL(t0)
  bne t0, a2, fail

  TEST_NUM(36)
  SET_MRESUME(1f)
  la a1, amo_data + 2
  amoswap.w a4, a3, (a1)
  j fail
1:
  CHECK_STATE(TS_MCAUSE, CAUSE_STORE_MISALIGNED)

  TEST_NUM(37)
  SET_MRESUME(1f)
  la a1, lrsc_data + 1
  lr.w a4, (a1)
  j fail
1:
  CHECK_STATE(TS_MCAUSE, CAUSE_LOAD_MISALIGNED)
  la a2, lrsc_data + 1
  la t0, test_state
  ld t0, TS_MTVAL(t0)
  bne t0, a2, fail

  PASS

  .section .data
  .align 4
amo_data:
  .dword 0, 0
lrsc_data:
  .dword 0, 0
