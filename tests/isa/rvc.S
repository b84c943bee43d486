// RVC: every RV64C instruction written explicitly (c.* mnemonics), checked
// against the result of its 32-bit expansion; 32-bit instructions at
// 2-aligned addresses and across a page boundary; the all-zero parcel and
// reserved encodings are illegal; c.ebreak traps with mepc at itself.
#include "vireo_test.h"

TEST_MAIN
  .option rvc
  // Private stack frame for the sp-relative forms.
  la sp, c_stack + 256

  // ---- CI / CR arithmetic ----
  TEST_CASE(1, a0, 5, c.li a0, 5)
  TEST_CASE(2, a0, -32, c.li a0, -32)
  TEST_CASE(3, a0, 36, c.li a0, 5; c.addi a0, 31)
  TEST_CASE(4, a0, -27, c.li a0, 5; c.addi a0, -32)
  TEST_CASE(5, s1, 0xffffffff80000000, li s1, 0x7fffffff; c.addiw s1, 1)
  TEST_CASE(6, s1, 0x0000000000000007, li s1, 0xffffffff00000007; c.addiw s1, 0)  // sext.w
  TEST_CASE(7, a0, 0x1f000, c.lui a0, 0x1f)
  TEST_CASE(8, a0, 0xfffffffffffe0000, c.lui a0, 0xfffe0)
  TEST_CASE(9, a0, 0x8000000000000000, c.li a0, 1; c.slli a0, 63)
  TEST_CASE(10, a2, 0x0000000000000001, li a2, 0x8000000000000000; c.srli a2, 63)
  TEST_CASE(11, a2, 0xffffffffffffffff, li a2, 0x8000000000000000; c.srai a2, 63)
  TEST_CASE(12, a3, 0x0000000000000010, li a3, 0xff; c.andi a3, 0x10)
  TEST_CASE(13, a3, 0x00000000000000e0, li a3, 0xff; c.andi a3, -32)
  TEST_CASE(14, a0, 0x3, c.li a0, 7; c.li a1, 4; c.sub a0, a1)
  TEST_CASE(15, a0, 0x3, c.li a0, 7; c.li a1, 4; c.xor a0, a1)
  TEST_CASE(16, a0, 0x7, c.li a0, 3; c.li a1, 4; c.or a0, a1)
  TEST_CASE(17, a0, 0x4, c.li a0, 6; c.li a1, 13; c.and a0, a1)
  TEST_CASE(18, a0, 0xffffffff80000000, li a0, 0x7fffffff; c.li a1, -1; c.subw a0, a1)
  TEST_CASE(19, a0, 0xffffffff80000000, li a0, 0x17fffffff; c.li a1, 1; c.addw a0, a1)
  TEST_CASE(20, t2, 0x1234, li t0, 0x1234; c.mv t2, t0)
  TEST_CASE(21, t2, 0x1240, li t0, 0x1234; c.li t2, 12; c.add t2, t0)
  TEST_CASE(22, a0, 0, c.li a0, 0; c.nop)
  // sp-relative address computation.
  TEST_CASE(23, a0, 1, c.addi4spn a0, sp, 1020; sub a0, a0, sp; addi a0, a0, -1020; seqz a0, a0)
  TEST_CASE(24, a0, 1, mv s0, sp; c.addi16sp sp, -512; sub a0, s0, sp; addi a0, a0, -512; seqz a0, a0; c.addi16sp sp, 496; c.addi16sp sp, 16)

  // ---- Loads and stores: CL/CS (x8-x15) and sp-relative forms ----
  TEST_CASE(25, a0, 0xffffffff89abcdef, la a1, c_data; c.lw a0, 0(a1))
  TEST_CASE(26, a0, 0x0123456789abcdef, la a1, c_data; c.ld a0, 0(a1))
  TEST_CASE(27, a0, 0xffffffffdeadbeef, la a1, c_scratch; li a2, 0xdeadbeef; c.sw a2, 124(a1); lw a0, 124(a1))
  TEST_CASE(28, a0, 0x0011223344556677, la a1, c_scratch; li a2, 0x0011223344556677; c.sd a2, 248(a1); ld a0, 248(a1))
  TEST_CASE(29, t3, 0xffffffff87654321, li a2, 0x87654321; c.swsp a2, 252(sp); c.lwsp t3, 252(sp))
  TEST_CASE(30, t3, 0x1122334455667788, li a2, 0x1122334455667788; c.sdsp a2, 504(sp); c.ldsp t3, 504(sp))
  TEST_CASE(31, a0, 0x400921fb54442d18, la a1, c_data; c.fld fa0, 8(a1); fmv.x.d a0, fa0)
  TEST_CASE(32, a0, 0x400921fb54442d18, la a1, c_scratch; c.fsd fa0, 16(a1); ld a0, 16(a1))
  TEST_CASE(33, a0, 0x400921fb54442d18, c.fsdsp fa0, 8(sp); c.fldsp ft1, 8(sp); fmv.x.d a0, ft1)

  // ---- Control transfer ----
  TEST_CASE(34, a0, 1, c.li a0, 0; c.j 1f; c.li a0, 2; 1: c.addi a0, 1)
  TEST_CASE(35, a0, 1, c.li a0, 0; c.li a1, 0; c.beqz a1, 1f; c.li a0, 2; 1: c.addi a0, 1)
  TEST_CASE(36, a0, 3, c.li a0, 0; c.li a1, 1; c.beqz a1, 1f; c.li a0, 2; 1: c.addi a0, 1)
  TEST_CASE(37, a0, 1, c.li a0, 0; c.li a1, 1; c.bnez a1, 1f; c.li a0, 2; 1: c.addi a0, 1)
  TEST_CASE(38, a0, 10, c.li a0, 0; c.li a1, 10; 1: c.addi a0, 1; c.addi a1, -1; c.bnez a1, 1b)

  // c.jr and c.jalr; c.jalr links pc + 2.
  TEST_NUM(39)
  la t0, 1f
  c.jr t0
  j fail
1:
  TEST_NUM(40)
  la t0, 2f
  c.jalr t0
3:
  j fail
2:
  la t1, 3b
  bne ra, t1, fail

  // ---- 32-bit instructions at 2-aligned, not 4-aligned, addresses ----
  TEST_NUM(41)
  .balign 4
  c.nop
  li a0, 0x12345
  addi a0, a0, 1
  jal t0, 1f
  j fail
1:
  li t6, 0x12346
  bne a0, t6, fail

  // ---- A 32-bit instruction straddling a page boundary ----
  TEST_NUM(42)
  j 1f
  .balign 4096
  .skip 4096 - 64
1:
  .option norvc
  .rept 15
  nop
  .endr
  .option rvc
  c.nop            // now at page end - 2
  lui a0, 0x54321  // its second half is on the next page
  srli a0, a0, 12
  li t6, 0x54321
  bne a0, t6, fail

  // ---- Illegal and reserved encodings ----
  // The all-zero parcel is defined illegal.
  TEST_NUM(43)
  SET_MRESUME(2f)
1:
  .2byte 0x0000
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
  // c.lui with a zero immediate is reserved.
  TEST_NUM(44)
  SET_MRESUME(2f)
1:
  .2byte 0x6501  // c.lui a0, 0
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
  // c.addi16sp with a zero immediate is reserved.
  TEST_NUM(45)
  SET_MRESUME(2f)
1:
  .2byte 0x6101
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN)
  // c.lwsp with rd = x0 is reserved.
  TEST_NUM(46)
  SET_MRESUME(2f)
1:
  .2byte 0x4002
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN)
  // c.jr with rs1 = x0 is reserved.
  TEST_NUM(47)
  SET_MRESUME(2f)
1:
  .2byte 0x8002
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_ILLEGAL_INSN)

  // ---- c.ebreak ----
  TEST_NUM(48)
  SET_MRESUME(2f)
1:
  c.ebreak
  j fail
2:
  CHECK_STATE(TS_MCAUSE, CAUSE_BREAKPOINT)
  CHECK_MEPC(1b)

  PASS

  .section .data
  .align 4
c_data:
  .dword 0x0123456789abcdef
  .dword 0x400921fb54442d18  // pi
  .align 4
c_scratch:
  .skip 256
  .align 4
c_stack:
  .skip 1024
