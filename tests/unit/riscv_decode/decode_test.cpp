// Decoder tests: the tables are exact (no two rows overlap), the lookup finds
// every row, and operands are extracted per Format as isa.hpp documents.
#include <gtest/gtest.h>

#include <random>
#include <string_view>

#include "cpu/riscv/isa.hpp"

namespace vireo::riscv {
namespace {

std::string_view name_of(const DecodedInsn& d) {
  if (d.op == kInvalidOp) return "<illegal>";
  return all_opcodes()[d.op].name;
}

TEST(DecodeTables, AllOpcodesConcatenatesEveryTableInOrder) {
  size_t expected = 0;
  for (auto table : {opcodes_rv64i(), opcodes_rv64m(), opcodes_rv64a(), opcodes_rv64f(),
                     opcodes_rv64d(), opcodes_zb(), opcodes_system()}) {
    expected += table.size();
  }
  EXPECT_EQ(all_opcodes().size(), expected);
  ASSERT_FALSE(opcodes_rv64i().empty());
  EXPECT_STREQ(all_opcodes()[0].name, opcodes_rv64i()[0].name);
  EXPECT_LT(all_opcodes().size(), size_t{kInvalidOp});
}

TEST(DecodeTables, RowsAreWellFormed) {
  for (const OpcodeDef& row : all_opcodes()) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(row.match & ~row.mask, 0u) << "match has bits outside the mask";
    EXPECT_EQ(row.match & 3, 3u) << "32-bit encodings only";
    EXPECT_EQ(row.mask & 0x7f, 0x7fu) << "the major opcode must be fixed";
    EXPECT_NE(row.exec, nullptr);
    EXPECT_NE(row.args, nullptr);
  }
}

// Two rows overlap iff no bit is fixed to different values in both. The tables
// must be exact: there are no intentional overlaps.
TEST(DecodeTables, NoTwoRowsOverlap) {
  const auto rows = all_opcodes();
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = i + 1; j < rows.size(); ++j) {
      const uint32_t both_fixed = rows[i].mask & rows[j].mask;
      EXPECT_NE(both_fixed & (rows[i].match ^ rows[j].match), 0u)
          << rows[i].name << " overlaps " << rows[j].name;
    }
  }
}

// Any filling of a row's free bits decodes to that row (the rows are exact, so
// this checks the lookup structure, including rows that leave funct3 free).
TEST(DecodeTables, EveryRowDecodesToItself) {
  std::mt19937 rng(42);
  const auto rows = all_opcodes();
  for (size_t i = 0; i < rows.size(); ++i) {
    for (int trial = 0; trial < 16; ++trial) {
      const uint32_t fill = trial == 0 ? 0 : trial == 1 ? ~0u : static_cast<uint32_t>(rng());
      const uint32_t raw = rows[i].match | (fill & ~rows[i].mask);
      const DecodedInsn d = decode(raw);
      ASSERT_EQ(d.op, i) << rows[i].name << " raw=0x" << std::hex << raw << " decoded as "
                         << name_of(d);
      EXPECT_EQ(d.exec, rows[i].exec);
      EXPECT_EQ(d.raw, raw);
      EXPECT_EQ(d.len, 4);
    }
  }
}

TEST(Decode, UnknownEncodingsAreIllegalWithTheirEncoding) {
  for (uint32_t raw : {0xffffffffu, 0x0000007fu, 0x0000003fu, 0x0000001fu, 0xfe00707bu}) {
    const DecodedInsn d = decode(raw);
    EXPECT_EQ(d.op, kInvalidOp) << std::hex << raw;
    EXPECT_NE(d.exec, nullptr);
    EXPECT_EQ(d.raw, raw);
    EXPECT_EQ(d.len, 4);
  }
  // Reserved funct7 of OP: neither base, M nor Zb.
  EXPECT_EQ(decode(0x7e000033).op, kInvalidOp);
  // slli with a funct6 no extension defines.
  EXPECT_EQ(decode(0x7c001013).op, kInvalidOp);
  // lr with rs2 != 0 is reserved.
  EXPECT_EQ(decode(0x1015252f).op, kInvalidOp);
}

TEST(Decode, IllegalCompressedKeepsSixteenBits) {
  const DecodedInsn d = decode(0xabcd0000);  // upper half is the next instruction
  EXPECT_EQ(d.op, kInvalidOp);
  EXPECT_EQ(d.raw, 0u);
  EXPECT_EQ(d.len, 2);
}

TEST(Decode, ITypeOperands) {
  const DecodedInsn d = decode(0xfff58513);  // addi a0,a1,-1
  EXPECT_EQ(name_of(d), "addi");
  EXPECT_EQ(d.rd, 10);
  EXPECT_EQ(d.rs1, 11);
  EXPECT_EQ(d.imm, -1);
  EXPECT_EQ(d.rm, 0);
  const DecodedInsn ld = decode(0x7ff13783);  // ld a5,2047(sp)
  EXPECT_EQ(name_of(ld), "ld");
  EXPECT_EQ(ld.imm, 2047);
  EXPECT_EQ(ld.rm, 3);
}

TEST(Decode, STypeOperands) {
  const DecodedInsn d = decode(0xfef13c23);  // sd a5,-8(sp)
  EXPECT_EQ(name_of(d), "sd");
  EXPECT_EQ(d.rs1, 2);
  EXPECT_EQ(d.rs2, 15);
  EXPECT_EQ(d.imm, -8);
  EXPECT_EQ(d.rd, 0) << "stores have no rd: not redirected";
  EXPECT_EQ(decode(0x80a53023).imm, -2048);  // sd a0,-2048(a0)
}

TEST(Decode, BTypeOperands) {
  EXPECT_EQ(decode(0x00b50863).imm, 16);     // beq a0,a1,.+16
  EXPECT_EQ(decode(0xfeb51ee3).imm, -4);     // bne a0,a1,.-4
  EXPECT_EQ(decode(0x80000063).imm, -4096);  // beq zero,zero,.-4096
  EXPECT_EQ(decode(0x7e000fe3).imm, 4094);   // beq zero,zero,.+4094
  const DecodedInsn d = decode(0x00b50863);
  EXPECT_EQ(d.rs1, 10);
  EXPECT_EQ(d.rs2, 11);
}

TEST(Decode, UAndJTypeOperands) {
  const DecodedInsn lui = decode(0xfffff537);  // lui a0,0xfffff
  EXPECT_EQ(name_of(lui), "lui");
  EXPECT_EQ(lui.rd, 10);
  EXPECT_EQ(lui.imm, -4096);
  EXPECT_EQ(decode(0x12345517).imm, 0x12345000);  // auipc a0,0x12345
  EXPECT_EQ(decode(0xff1ff0ef).imm, -16);         // jal ra,.-16
  EXPECT_EQ(decode(0x800000ef).imm, -(1 << 20));  // jal ra,.-1MiB
  EXPECT_EQ(decode(0x7ffff0ef).imm, (1 << 20) - 2);
  EXPECT_EQ(decode(0x0010006f).imm, 2048);  // jal zero,.+2048 (imm[11])
}

TEST(Decode, ShiftOperands) {
  const DecodedInsn slli = decode(0x03f59513);  // slli a0,a1,63
  EXPECT_EQ(name_of(slli), "slli");
  EXPECT_EQ(slli.imm, 63);
  const DecodedInsn srai = decode(0x43f5d513);  // srai a0,a1,63
  EXPECT_EQ(name_of(srai), "srai");
  EXPECT_EQ(srai.imm, 63) << "the funct6 bit 30 is not part of the shift amount";
  const DecodedInsn sraiw = decode(0x41f5d51b);  // sraiw a0,a1,31
  EXPECT_EQ(name_of(sraiw), "sraiw");
  EXPECT_EQ(sraiw.imm, 31);
  EXPECT_EQ(decode(0x0205951b).op, kInvalidOp) << "slliw with shamt[5] set is reserved";
}

TEST(Decode, AmoOperands) {
  const DecodedInsn d = decode(0x06b6252f);  // amoadd.w.aqrl a0,a1,(a2)
  EXPECT_EQ(name_of(d), "amoadd.w");
  EXPECT_EQ(d.rd, 10);
  EXPECT_EQ(d.rs1, 12);
  EXPECT_EQ(d.rs2, 11);
  EXPECT_EQ(d.rm, 3);
  EXPECT_EQ(decode(0x1405b52f).rm, 2);  // lr.d.aq: aq<<1
  EXPECT_EQ(decode(0x1205b52f).rm, 1);  // lr.d.rl
}

TEST(Decode, X0DestinationGoesToTheWriteSink) {
  EXPECT_EQ(decode(0x00000013).rd, 32);               // addi zero,zero,0
  EXPECT_EQ(decode(0x00000037).rd, 32);               // lui zero,0
  EXPECT_EQ(decode(0x0000006f).rd, 32);               // jal zero,0
  EXPECT_EQ(decode(0x00050067).rd, 32);               // jalr zero,0(a0)
  EXPECT_EQ(decode(0x00003003).rd, 32);               // ld zero,0(zero)
  EXPECT_EQ(decode(0x0000202f | 0x08000000).rd, 32);  // amoswap.w zero,zero,(zero)
  EXPECT_EQ(decode(0x00000033).rs1, 0) << "sources keep x0";
  EXPECT_EQ(decode(0x00050513).rd, 10);
}

TEST(Decode, CompressedDecodesAsItsExpansion) {
  const DecodedInsn d = decode(0x12340505);  // c.addi a0,1 (upper half ignored)
  EXPECT_EQ(name_of(d), "addi");
  EXPECT_EQ(d.len, 2);
  EXPECT_EQ(d.raw, 0x0505u);
  EXPECT_EQ(d.rd, 10);
  EXPECT_EQ(d.rs1, 10);
  EXPECT_EQ(d.imm, 1);

  const DecodedInsn ldsp = decode(0x67a2);  // c.ldsp a5,8(sp)
  EXPECT_EQ(name_of(ldsp), "ld");
  EXPECT_EQ(ldsp.rd, 15);
  EXPECT_EQ(ldsp.rs1, 2);
  EXPECT_EQ(ldsp.imm, 8);

  const DecodedInsn j = decode(0xbfc5);  // c.j .-16
  EXPECT_EQ(name_of(j), "jal");
  EXPECT_EQ(j.rd, 32);
  EXPECT_EQ(j.imm, -16);

  const DecodedInsn jalr = decode(0x9502);  // c.jalr a0
  EXPECT_EQ(name_of(jalr), "jalr");
  EXPECT_EQ(jalr.rd, 1);
  EXPECT_EQ(jalr.rs1, 10);
}

TEST(Decode, CompressedHintsAreNoOpWritesToTheSink) {
  for (uint16_t hint : {0x0001, 0x0005, 0x4015, 0x802a, 0x902a, 0x0002, 0x6005, 0x0502}) {
    const DecodedInsn d = decode(hint);
    SCOPED_TRACE(hint);
    ASSERT_NE(d.op, kInvalidOp);
    if (d.rd != 32) {  // slli/srli by 0: rd keeps its value
      EXPECT_EQ(d.imm, 0);
    }
  }
  EXPECT_EQ(decode(0x4015).rd, 32);  // c.li zero,5
  EXPECT_EQ(decode(0x802a).rd, 32);  // c.mv zero,a0
  EXPECT_EQ(decode(0x6005).rd, 32);  // c.lui zero,1
}

}  // namespace
}  // namespace vireo::riscv
