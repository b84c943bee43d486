// RV64A across two harts (run with --cpus 2): both harts increment one shared
// counter with amoadd and another with an LR/SC loop N times each; hart 0
// waits for both to finish and checks that no increment was lost.
#define TEST_SMP
#include "vireo_test.h"

#define N 20000
#define TIMEOUT_TICKS (10 * 10000000)  // 10 s of the 10 MHz mtime

TEST_MAIN
  // Every hart arrives here with a0 = its hart id.
  csrr t0, mhartid
  TEST_CASE(1, a0, 0, sub a0, a0, t0)
  csrr s0, mhartid
  li t0, 2
  bgeu s0, t0, park  // harts beyond the second take no part

  // Start barrier, so that the loops really overlap. Bounded: with a single
  // hart the test fails (test 2) instead of hanging.
  TEST_NUM(2)
  la a1, arrived
  li a2, 1
  amoadd.w zero, a2, (a1)
  li t0, CLINT_MTIME
  ld t1, 0(t0)
  li t2, TIMEOUT_TICKS
  add t1, t1, t2
  li a3, 2
1:
  ld t2, 0(t0)
  bgeu t2, t1, fail
  lw a4, 0(a1)
  blt a4, a3, 1b

  la a1, amo_counter
  li a2, N
1:
  li a3, 1
  amoadd.d zero, a3, (a1)
  addi a2, a2, -1
  bnez a2, 1b

  la a1, lrsc_counter
  li a2, N
1:
  lr.w a4, (a1)
  addi a4, a4, 1
  sc.w a5, a4, (a1)
  bnez a5, 1b
  addi a2, a2, -1
  bnez a2, 1b

  // Mixed: amoadd.w into the LR/SC counter while the other hart may be in
  // its LR/SC loop; an AMO must break the other hart's reservation.
  li a2, N
1:
  li a3, 1
  amoadd.w zero, a3, (a1)
  addi a2, a2, -1
  bnez a2, 1b

  la a1, finished
  li a2, 1
  amoadd.w zero, a2, (a1)
  bnez s0, park

  // Hart 0: wait (bounded) for hart 1.
  TEST_NUM(3)
  li t0, CLINT_MTIME
  ld t1, 0(t0)
  li t2, TIMEOUT_TICKS
  add t1, t1, t2
1:
  ld t2, 0(t0)
  bgeu t2, t1, fail
  lw a4, 0(a1)
  li a3, 2
  blt a4, a3, 1b
  fence

  TEST_CASE(4, a0, 2 * N, la a1, amo_counter; ld a0, 0(a1))
  TEST_CASE(5, a0, 4 * N, la a1, lrsc_counter; lwu a0, 0(a1))
  PASS

  .section .data
  .align 6
arrived: .word 0
  .align 6
finished: .word 0
  .align 6
amo_counter: .dword 0
  .align 6
lrsc_counter: .dword 0
