// RV64I semantics: one test per instruction group, with the corner cases
// (sign extension, shift amounts, x0, link registers of compressed jumps).
#include "isa_test_support.hpp"

namespace vireo::riscv::testing {
namespace {

using RV64I = IsaTest;

TEST_F(RV64I, LuiSignExtends) {
  step(u_type("lui", a0, 0x80000));
  EXPECT_EQ(x(a0), 0xffffffff80000000ull);
  step(u_type("lui", a0, 0x12345));
  EXPECT_EQ(x(a0), 0x12345000ull);
}

TEST_F(RV64I, AuipcAddsToPc) {
  step(u_type("auipc", a0, 0x1));
  EXPECT_EQ(x(a0), kCodePc + 0x1000);
  step(u_type("auipc", a0, 0xfffff));
  EXPECT_EQ(x(a0), kCodePc - 0x1000);
}

TEST_F(RV64I, JalLinksAndJumps) {
  ASSERT_TRUE(exec(j_type(ra, -16)));
  EXPECT_EQ(hart().pc, kCodePc - 16);
  EXPECT_EQ(x(ra), kCodePc + 4);
  ASSERT_TRUE(exec(j_type(zero, 2048)));
  EXPECT_EQ(hart().pc, kCodePc + 2048);
}

TEST_F(RV64I, JalrClearsBitZeroAndReadsRs1BeforeLinking) {
  x(a0) = kRamBase + 0x2001;
  ASSERT_TRUE(exec(i_type("jalr", a0, a0, 4)));  // rd == rs1
  EXPECT_EQ(hart().pc, kRamBase + 0x2004);
  EXPECT_EQ(x(a0), kCodePc + 4);
  x(a1) = kRamBase + 0x3000;
  ASSERT_TRUE(exec(i_type("jalr", ra, a1, -2)));
  EXPECT_EQ(hart().pc, kRamBase + 0x2ffe);
}

TEST_F(RV64I, CompressedJumpsLinkPcPlusTwo) {
  x(a0) = kRamBase + 0x2000;
  ASSERT_TRUE(exec(0x9502));  // c.jalr a0
  EXPECT_EQ(hart().pc, kRamBase + 0x2000);
  EXPECT_EQ(x(ra), kCodePc + 2);
  ASSERT_TRUE(exec(0xbfc5));  // c.j .-16
  EXPECT_EQ(hart().pc, kCodePc - 16);
  x(ra) = kRamBase + 0x4000;
  ASSERT_TRUE(exec(0x8082));  // c.jr ra
  EXPECT_EQ(hart().pc, kRamBase + 0x4000);
}

TEST_F(RV64I, Branches) {
  struct Case {
    const char* name;
    uint64_t lhs, rhs;
    bool taken;
  };
  const Case cases[] = {
      {"beq", 5, 5, true},      {"beq", 5, 6, false},      {"bne", 5, 6, true},
      {"bne", 5, 5, false},     {"blt", ~0ull, 0, true},   {"blt", 0, ~0ull, false},
      {"bge", 0, ~0ull, true},  {"bge", 3, 3, true},       {"bge", ~0ull, 0, false},
      {"bltu", 0, ~0ull, true}, {"bltu", ~0ull, 0, false}, {"bgeu", ~0ull, 0, true},
      {"bgeu", 7, 7, true},     {"bgeu", 0, 1, false},
  };
  for (const Case& c : cases) {
    x(a1) = c.lhs, x(a2) = c.rhs;
    ASSERT_TRUE(exec(b_type(c.name, a1, a2, -8)));
    EXPECT_EQ(hart().pc, c.taken ? kCodePc - 8 : kCodePc + 4)
        << c.name << " " << c.lhs << "," << c.rhs;
  }
  x(a1) = 0;
  ASSERT_TRUE(exec(0xc191));  // c.beqz a1,.+4
  EXPECT_EQ(hart().pc, kCodePc + 4);
  ASSERT_TRUE(exec(0xe191));  // c.bnez a1,.+4: not taken, pc += 2
  EXPECT_EQ(hart().pc, kCodePc + 2);
}

TEST_F(RV64I, LoadsExtendBySignedness) {
  poke<uint64_t>(kData, 0x8000'0000'8000'8080ull);
  x(a1) = kData;
  step(i_type("lb", a0, a1, 0));
  EXPECT_EQ(x(a0), 0xffffffffffffff80ull);
  step(i_type("lbu", a0, a1, 0));
  EXPECT_EQ(x(a0), 0x80u);
  step(i_type("lh", a0, a1, 0));
  EXPECT_EQ(x(a0), 0xffffffffffff8080ull);
  step(i_type("lhu", a0, a1, 0));
  EXPECT_EQ(x(a0), 0x8080u);
  step(i_type("lw", a0, a1, 2));
  EXPECT_EQ(x(a0), 0x00008000u);
  step(i_type("lw", a0, a1, 4));
  EXPECT_EQ(x(a0), 0xffffffff80000000ull);
  step(i_type("lwu", a0, a1, 4));
  EXPECT_EQ(x(a0), 0x80000000u);
  step(i_type("ld", a0, a1, 0));
  EXPECT_EQ(x(a0), 0x8000'0000'8000'8080ull);
  x(a2) = kData + 8;
  step(i_type("ld", a0, a2, -8));
  EXPECT_EQ(x(a0), 0x8000'0000'8000'8080ull);
}

TEST_F(RV64I, MisalignedLoadsAndStoresArePerformed) {
  x(a1) = kData + 3;
  x(a2) = 0x1122334455667788ull;
  step(s_type("sd", a2, a1, 0));
  step(i_type("ld", a0, a1, 0));
  EXPECT_EQ(x(a0), 0x1122334455667788ull);
  EXPECT_EQ(peek<uint8_t>(kData + 3), 0x88);
}

TEST_F(RV64I, LoadToX0IsDiscarded) {
  poke<uint64_t>(kData, 42);
  x(a1) = kData;
  step(i_type("ld", zero, a1, 0));
  EXPECT_EQ(x(zero), 0u);
}

TEST_F(RV64I, StoresWriteOnlyTheirWidth) {
  poke<uint64_t>(kData, 0);
  x(a1) = kData;
  x(a2) = 0x1122334455667788ull;
  step(s_type("sb", a2, a1, 0));
  EXPECT_EQ(peek<uint64_t>(kData), 0x88u);
  step(s_type("sh", a2, a1, 2));
  EXPECT_EQ(peek<uint64_t>(kData), 0x77880088u);
  step(s_type("sw", a2, a1, 4));
  EXPECT_EQ(peek<uint64_t>(kData), 0x5566778877880088ull);
  x(a1) = kData + 16;
  step(s_type("sd", a2, a1, -8));
  EXPECT_EQ(peek<uint64_t>(kData + 8), 0x1122334455667788ull);
}

TEST_F(RV64I, LoadFaultLeavesRdAndRaisesTrap) {
  x(a0) = 1234;
  x(a1) = 0x10;  // no RAM there
  EXPECT_FALSE(exec(i_type("ld", a0, a1, 0)));
  EXPECT_EQ(x(a0), 1234u);
  EXPECT_EQ(csr(kMcause), exc::kLoadAccessFault);
  EXPECT_FALSE(exec(s_type("sd", a0, a1, 0)));
  EXPECT_EQ(csr(kMcause), exc::kStoreAccessFault);
}

TEST_F(RV64I, ImmediateAlu) {
  EXPECT_EQ(with_imm("addi", 5, -6), ~0ull);
  EXPECT_EQ(with_imm("addi", ~0ull, 1), 0u);
  EXPECT_EQ(with_imm("slti", ~0ull, 0), 1u);
  EXPECT_EQ(with_imm("slti", 0, -1), 0u);
  EXPECT_EQ(with_imm("sltiu", 0, -1), 1u) << "the immediate is sign-extended, then unsigned";
  EXPECT_EQ(with_imm("sltiu", ~0ull, -1), 0u);
  EXPECT_EQ(with_imm("xori", 0x0f, -1), ~0x0full);
  EXPECT_EQ(with_imm("ori", 0x100, 0x0f), 0x10fu);
  EXPECT_EQ(with_imm("andi", ~0ull, -2048), 0xfffffffffffff800ull);
}

TEST_F(RV64I, ImmediateShifts) {
  EXPECT_EQ(with_imm("slli", 1, 63), 0x8000000000000000ull);
  EXPECT_EQ(with_imm("srli", 0x8000000000000000ull, 63), 1u);
  EXPECT_EQ(with_imm("srai", 0x8000000000000000ull, 63), ~0ull);
  EXPECT_EQ(with_imm("srai", 0x4000000000000000ull, 62), 1u);
  EXPECT_EQ(with_imm("slliw", 1, 31), 0xffffffff80000000ull);
  EXPECT_EQ(with_imm("srliw", 0xffffffff80000000ull, 31), 1u);
  EXPECT_EQ(with_imm("srliw", 0xffffffff80000000ull, 0), 0xffffffff80000000ull);
  EXPECT_EQ(with_imm("sraiw", 0x80000000u, 31), ~0ull);
  EXPECT_EQ(with_imm("sraiw", 0x1'7fff'ffffull, 0), 0x7fffffffu);
}

TEST_F(RV64I, RegisterAlu) {
  EXPECT_EQ(binary("add", ~0ull, 2), 1u);
  EXPECT_EQ(binary("sub", 0, 1), ~0ull);
  EXPECT_EQ(binary("slt", ~0ull, 0), 1u);
  EXPECT_EQ(binary("slt", 0, ~0ull), 0u);
  EXPECT_EQ(binary("sltu", 0, ~0ull), 1u);
  EXPECT_EQ(binary("sltu", ~0ull, 0), 0u);
  EXPECT_EQ(binary("xor", 0xff00, 0x0ff0), 0xf0f0u);
  EXPECT_EQ(binary("or", 0xff00, 0x0ff0), 0xfff0u);
  EXPECT_EQ(binary("and", 0xff00, 0x0ff0), 0x0f00u);
}

TEST_F(RV64I, RegisterShiftsUseSixBits) {
  EXPECT_EQ(binary("sll", 1, 63), 0x8000000000000000ull);
  EXPECT_EQ(binary("sll", 1, 64 + 3), 8u);
  EXPECT_EQ(binary("srl", 0x8000000000000000ull, 63), 1u);
  EXPECT_EQ(binary("srl", 0x10, ~0ull - 63 + 4), 1u);  // low six bits = 4
  EXPECT_EQ(binary("sra", 0x8000000000000000ull, 63), ~0ull);
  EXPECT_EQ(binary("sra", 0x8000000000000000ull, 64), 0x8000000000000000ull);
}

TEST_F(RV64I, WordOpsSignExtendTheirResult) {
  EXPECT_EQ(with_imm("addiw", 0x7fffffff, 1), 0xffffffff80000000ull);
  EXPECT_EQ(with_imm("addiw", 0xffffffff00000000ull, 0), 0u) << "sext.w";
  EXPECT_EQ(binary("addw", 0x7fffffff, 1), 0xffffffff80000000ull);
  EXPECT_EQ(binary("subw", 0x80000000u, 1), 0x7fffffffu);
  EXPECT_EQ(binary("subw", 0, 1), ~0ull);
  EXPECT_EQ(binary("sllw", 1, 31), 0xffffffff80000000ull);
  EXPECT_EQ(binary("sllw", 1, 32), 1u) << "shift amount is five bits";
  EXPECT_EQ(binary("srlw", 0xffffffff80000000ull, 31), 1u);
  EXPECT_EQ(binary("srlw", 0x80000000u, 0), 0xffffffff80000000ull);
  EXPECT_EQ(binary("sraw", 0x80000000u, 31), ~0ull);
  EXPECT_EQ(binary("sraw", 0x80000000u, 63), ~0ull);
}

TEST_F(RV64I, WritesToX0AreDiscarded) {
  x(a1) = 5;
  step(i_type("addi", zero, a1, 1));
  step(r_type("add", zero, a1, a1));
  step(u_type("lui", zero, 1));
  step(0x4015);  // c.li zero,5 (a HINT)
  EXPECT_EQ(x(zero), 0u);
}

TEST_F(RV64I, CompressedArithmetic) {
  x(a0) = 41;
  step(0x0505);  // c.addi a0,1
  EXPECT_EQ(x(a0), 42u);
  x(a0) = 0x7fffffff;
  step(0x2505);  // c.addiw a0,1
  EXPECT_EQ(x(a0), 0xffffffff80000000ull);
  x(sp) = 0x1000;
  step(0x7139);  // c.addi16sp sp,-64
  EXPECT_EQ(x(sp), 0x1000u - 64);
  step(0x0028);  // c.addi4spn a0,sp,8
  EXPECT_EQ(x(a0), 0x1000u - 64 + 8);
}

TEST_F(RV64I, FencesAdvancePc) {
  step(0x0ff0000f);  // fence iorw,iorw
  step(0x8330000f);  // fence.tso
  step(0x0100000f);  // pause
  step(0x0000000f);  // fence 0,0
}

TEST_F(RV64I, IllegalInstructionTrapsWithEncoding) {
  EXPECT_FALSE(exec(0xffffffff));
  EXPECT_EQ(csr(kMcause), exc::kIllegalInsn);
  EXPECT_EQ(csr(kMtval), 0xffffffffu);
  EXPECT_FALSE(exec(0x0000));
  EXPECT_EQ(csr(kMcause), exc::kIllegalInsn);
  EXPECT_EQ(csr(kMtval), 0u);
  EXPECT_FALSE(exec(0x8002));  // c.jr zero: reserved
  EXPECT_EQ(csr(kMtval), 0x8002u);
}

}  // namespace
}  // namespace vireo::riscv::testing
