// HTIF console output: a syscall-style request, as riscv-tests' printf
// does it: tohost = address of magic_mem {SYS_write (64), fd 1, buffer,
// length}; the host prints the buffer and answers through fromhost. The run
// then ends with tohost = 1. ctest checks the printed line.
#define TEST_HTIF
#include "vireo_test.h"

#define SYS_WRITE 64
#define WAIT_LOOPS 10000000

TEST_MAIN
  la a0, magic_mem
  li t0, SYS_WRITE
  sd t0, 0(a0)
  li t0, 1
  sd t0, 8(a0)
  la t0, message
  sd t0, 16(a0)
  la t0, message
  la t1, message_end
  sub t0, t1, t0
  sd t0, 24(a0)
  fence
  la a1, tohost
  sd a0, 0(a1)
  // Wait for the host's answer. Bounded: a host that does not answer (QEMU
  // 7.2 ignores the request) does not hang the test; the output check is
  // what matters.
  la a2, fromhost
  li a3, WAIT_LOOPS
1:
  ld a4, 0(a2)
  bnez a4, 2f
  addi a3, a3, -1
  bnez a3, 1b
2:
  sd zero, 0(a2)
  PASS

  .section .data
  .align 6
magic_mem:
  .dword 0, 0, 0, 0, 0, 0, 0, 0
message:
  .ascii "vireo htif console ok\n"
message_end:
