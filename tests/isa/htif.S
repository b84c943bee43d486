// HTIF exit: this ELF defines tohost/fromhost (in .tohost), so the run ends
// when a value is stored to tohost: 1 = pass, (code << 1) | 1 = exit code.
// The test device is not used at all.
#define TEST_HTIF
#include "vireo_test.h"

TEST_MAIN
  TEST_CASE(1, a0, 3, li a0, 1; addi a0, a0, 2)
  // fromhost starts out zero and tohost is ordinary memory to read.
  TEST_CASE(2, a0, 0, la a1, fromhost; ld a0, 0(a1))
  PASS
