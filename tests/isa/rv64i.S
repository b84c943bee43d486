// RV64I: integer arithmetic, shifts, compares, upper immediates, loads and
// stores (sign/zero extension), branches, jumps, x0, and the Zicntr counters.
#include "vireo_test.h"

TEST_MAIN
  // Base encodings only: compressed forms have their own test.
  .option norvc

  // ---- Register-register ----
  TEST_RR_OP(1, add, 0x0000000000000000, 0, 0)
  TEST_RR_OP(2, add, 0xffffffff80000000, 0xffffffff80000000, 0)
  TEST_RR_OP(3, add, 0x0000000080007ffe, 0x000000007fffffff, 0x0000000000007fff)
  TEST_RR_OP(4, add, 0x0000000000000000, -1, 1)
  TEST_RR_OP(5, sub, 0xffffffffffff8001, 0x0000000000000000, 0x0000000000007fff)
  TEST_RR_OP(6, sub, 0x8000000000000000, 0x7fffffffffffffff, -1)
  TEST_RR_OP(7, sll, 0x8000000000000000, 1, 63)
  TEST_RR_OP(8, sll, 0x0000000000000002, 1, 65)  // only 6 bits of shamt count
  TEST_RR_OP(9, srl, 0x0000000000000001, 0x8000000000000000, 63)
  TEST_RR_OP(10, sra, 0xffffffffffffffff, 0x8000000000000000, 63)
  TEST_RR_OP(11, sra, 0xffffffffc0000000, 0xffffffff80000000, 0xffffffffffffffc1)
  TEST_RR_OP(12, slt, 1, -1, 0)
  TEST_RR_OP(13, slt, 0, 0x7fffffffffffffff, 0x8000000000000000)
  TEST_RR_OP(14, sltu, 0, -1, 0)
  TEST_RR_OP(15, sltu, 1, 0x7fffffffffffffff, 0x8000000000000000)
  TEST_RR_OP(16, xor, 0xf0f0f0f0, 0xff00ff00, 0x0ff00ff0)
  TEST_RR_OP(17, or, 0xfff0fff0, 0xff00ff00, 0x0ff00ff0)
  TEST_RR_OP(18, and, 0x0f000f00, 0xff00ff00, 0x0ff00ff0)

  // ---- 32-bit register-register: results sign-extended from bit 31 ----
  TEST_RR_OP(19, addw, 0xffffffff80000000, 0x7fffffff, 1)
  TEST_RR_OP(20, addw, 0x0000000000000000, 0x00000001ffffffff, 0x0000000100000001)
  TEST_RR_OP(21, subw, 0x000000007fffffff, 0xffffffff80000000, 1)
  TEST_RR_OP(22, sllw, 0xffffffff80000000, 1, 31)
  TEST_RR_OP(23, sllw, 0x0000000000000002, 1, 33)  // only 5 bits count
  TEST_RR_OP(24, srlw, 0x0000000000000001, 0xffffffff80000000, 31)
  TEST_RR_OP(25, srlw, 0x000000007fffffff, 0x00000000ffffffff, 0xffffffffffffffe1)
  TEST_RR_OP(26, sraw, 0xffffffffffffffff, 0x0000000080000000, 31)
  TEST_RR_OP(27, sraw, 0x0000000000000001, 0xffffffff00000002, 1)

  // ---- Register-immediate ----
  TEST_IMM_OP(28, addi, 0xfffffffffffff800, 0, -2048)
  TEST_IMM_OP(29, addi, 0x80000000000007fe, 0x7fffffffffffffff, 0x7ff)
  TEST_IMM_OP(30, slti, 1, -1, 0)
  TEST_IMM_OP(31, slti, 0, 0, -1)
  TEST_IMM_OP(32, sltiu, 1, 0, -1)  // imm sign-extended, then compared unsigned
  TEST_IMM_OP(33, sltiu, 0, -1, 5)
  TEST_IMM_OP(34, xori, 0xffffffffff00f00f, 0x0000000000ff0f00, -241)  // 0xf0f
  TEST_IMM_OP(35, ori, 0xffffffffffffff0f, 0xffffffffff00ff00, 0xf0f - 0x1000)
  TEST_IMM_OP(36, andi, 0x00000000000000f0, 0xffffffffff00fff0, 0x0f0)
  TEST_IMM_OP(37, slli, 0x8000000000000000, 1, 63)
  TEST_IMM_OP(38, srli, 0x0000000000000001, 0x8000000000000000, 63)
  TEST_IMM_OP(39, srai, 0xffffffffffffff80, 0x8000000000000000, 56)
  TEST_IMM_OP(40, addiw, 0xffffffff80000000, 0x7fffffff, 1)
  TEST_IMM_OP(41, addiw, 0x0000000000000000, 0xffffffff00000001, -1)
  TEST_IMM_OP(42, slliw, 0xffffffff80000000, 1, 31)
  TEST_IMM_OP(43, srliw, 0x0000000000000001, 0xffffffff80000000, 31)
  TEST_IMM_OP(44, sraiw, 0xffffffffffffffff, 0x0000000080000000, 31)
  TEST_IMM_OP(45, sraiw, 0x0000000000000000, 0xffffffff7fffffff, 31)

  // ---- Upper immediates ----
  TEST_CASE(46, a0, 0xffffffff80000000, lui a0, 0x80000)
  TEST_CASE(47, a0, 0x000000007ffff000, lui a0, 0x7ffff)
  TEST_CASE(48, a0, 0, 1: auipc a0, 0x80000; la a1, 1b; sub a0, a0, a1; li a2, 0xffffffff80000000; sub a0, a0, a2)
  TEST_CASE(49, a0, 8, 1: auipc a0, 0; la a1, 1b; sub a0, a1, a0; addi a0, a0, 8)

  // ---- x0 is hardwired ----
  TEST_CASE(50, x0, 0, li t0, 5; addi x0, t0, 7; add x0, t0, t0; lui x0, 0x12345)
  TEST_CASE(51, a0, 0, li a0, -1; add a0, x0, x0)

  // ---- Loads: sign and zero extension ----
  TEST_CASE(52, a0, 0xffffffffffffff80, la a1, load_data; lb a0, 0(a1))
  TEST_CASE(53, a0, 0x0000000000000080, la a1, load_data; lbu a0, 0(a1))
  TEST_CASE(54, a0, 0xffffffffffff9080, la a1, load_data; lh a0, 0(a1))
  TEST_CASE(55, a0, 0x0000000000009080, la a1, load_data; lhu a0, 0(a1))
  TEST_CASE(56, a0, 0xffffffffb0a09080, la a1, load_data; lw a0, 0(a1))
  TEST_CASE(57, a0, 0x00000000b0a09080, la a1, load_data; lwu a0, 0(a1))
  TEST_CASE(58, a0, 0x71615141b0a09080, la a1, load_data; ld a0, 0(a1))
  TEST_CASE(59, a0, 0x0000000071615141, la a1, load_data + 8; lw a0, -4(a1))
  TEST_CASE(60, a0, 0x0000000000000071, la a1, load_data + 2048; lb a0, -2041(a1))

  // ---- Stores ----
  TEST_CASE(61, a0, 0xffffffffffffffaa, la a1, store_data; sd zero, 0(a1); li a2, 0xaa; sb a2, 0(a1); lb a0, 0(a1))
  TEST_CASE(62, a0, 0x00000000beefaa00, la a1, store_data; sd zero, 0(a1); li a2, 0x1234beef; sh a2, 2(a1); li a2, 0xaa00; sh a2, 0(a1); lwu a0, 0(a1))
  TEST_CASE(63, a0, 0x89abcdef00000000, la a1, store_data; sd zero, 0(a1); li a2, 0x0123456789abcdef; sw a2, 4(a1); ld a0, 0(a1))
  TEST_CASE(64, a0, 0x0123456789abcdef, la a1, store_data + 16; li a2, 0x0123456789abcdef; sd a2, -8(a1); ld a0, -8(a1))
  // A store whose base equals its data register.
  TEST_CASE(65, a0, 1, la a1, store_data; sd a1, 0(a1); ld a0, 0(a1); sub a0, a0, a1; seqz a0, a0)
  // A load whose destination is its base register.
  TEST_CASE(66, a1, 0x71615141b0a09080, la a1, load_data; ld a1, 0(a1))

  // ---- Branches (taken must skip the fail jump, not taken must fall through) ----
#define TEST_BR_TAKEN(num, inst, v1, v2) \
  TEST_NUM(num); li a1, v1; li a2, v2; inst a1, a2, 1f; j fail; 1:
#define TEST_BR_NOT_TAKEN(num, inst, v1, v2) \
  TEST_NUM(num); li a1, v1; li a2, v2; inst a1, a2, fail
  TEST_BR_TAKEN(67, beq, -1, -1)
  TEST_BR_NOT_TAKEN(68, beq, 0, 1)
  TEST_BR_TAKEN(69, bne, 0, 1)
  TEST_BR_NOT_TAKEN(70, bne, 5, 5)
  TEST_BR_TAKEN(71, blt, -1, 0)
  TEST_BR_NOT_TAKEN(72, blt, 0, -1)
  TEST_BR_NOT_TAKEN(73, blt, 3, 3)
  TEST_BR_TAKEN(74, bge, 0, -1)
  TEST_BR_TAKEN(75, bge, 3, 3)
  TEST_BR_NOT_TAKEN(76, bge, -1, 0)
  TEST_BR_TAKEN(77, bltu, 0, -1)
  TEST_BR_NOT_TAKEN(78, bltu, -1, 0)
  TEST_BR_TAKEN(79, bgeu, -1, 0)
  TEST_BR_TAKEN(80, bgeu, 7, 7)
  TEST_BR_NOT_TAKEN(81, bgeu, 0, -1)
  // A backward branch: a loop of 10 iterations.
  TEST_CASE(82, a0, 10, li a0, 0; li a1, 10; 1: addi a0, a0, 1; blt a0, a1, 1b)

  // ---- Jumps ----
  TEST_NUM(83)
  jal ra, 1f
2:
  j fail
1:
  la a0, 2b
  bne ra, a0, fail

  TEST_NUM(84)
  la a1, 1f
  jalr t0, 0(a1)
2:
  j fail
1:
  la a0, 2b
  bne t0, a0, fail

  // jalr clears bit 0 of the target, and rd == rs1 reads rs1 before linking.
  TEST_NUM(85)
  la a1, 1f - 3
  jalr a1, 4(a1)
2:
  j fail
1:
  la a0, 2b
  bne a1, a0, fail

  // jal x0 (plain jump) links nothing.
  TEST_CASE(86, a0, 1, li a0, 0; j 1f; li a0, 2; 1: addi a0, a0, 1)

  // ---- Zicntr: counters move forward ----
  TEST_CASE(87, a0, 1, rdinstret a1; nop; nop; nop; rdinstret a2; sub a0, a2, a1; sltiu a0, a0, 3; xori a0, a0, 1)
  TEST_CASE(88, a0, 1, rdcycle a1; li a3, 100; 1: addi a3, a3, -1; bnez a3, 1b; rdcycle a2; sltu a0, a1, a2)
  TEST_CASE(89, a0, 1, rdtime a1; li a3, 100000; 1: addi a3, a3, -1; bnez a3, 1b; rdtime a2; sltu a0, a1, a2)
  // mtime at the CLINT and the time CSR are the same clock.
  TEST_CASE(90, a0, 1, rdtime a1; li a3, CLINT_MTIME; ld a2, 0(a3); rdtime a4; sltu a0, a2, a1; xori a0, a0, 1; sltu a5, a4, a2; xori a5, a5, 1; and a0, a0, a5)

  // ---- fence, fence.i are accepted ----
  TEST_CASE(91, a0, 0, fence; fence rw, rw; fence.i; li a0, 0)

  PASS

  .section .data
  .align 3
load_data:
  .byte 0x80, 0x90, 0xa0, 0xb0, 0x41, 0x51, 0x61, 0x71
  .fill 2048, 1, 0
store_data:
  .dword 0, 0, 0, 0
