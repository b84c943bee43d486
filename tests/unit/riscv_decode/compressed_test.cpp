// RV64C expansion tests. The expected 32-bit forms come from GNU binutils 2.40
// (riscv64-unknown-elf-as/objdump -M no-aliases, -march=rv64gc): each 16-bit
// encoding was disassembled, rewritten as its 32-bit equivalent and assembled
// with .option norvc. The full 49152-encoding sweep agreed except for
// c.addi16sp with immediate 0, which the spec reserves and objdump accepts.
#include <gtest/gtest.h>

#include "cpu/riscv/isa.hpp"

namespace vireo::riscv {
namespace {

struct Expansion {
  uint16_t compressed;
  uint32_t expanded;
};

constexpr Expansion kExpansions[] = {
    {0x9006, 0x00100033},  // c.add zero,ra
    {0x9ffe, 0x01ff8fb3},  // c.add t6,t6
    {0x955a, 0x01650533},  // c.add a0,s6
    {0x9faa, 0x00af8fb3},  // c.add t6,a0
    {0x927e, 0x01f20233},  // c.add tp,t6
    {0x0001, 0x00000013},  // c.addi zero,0
    {0x1ffd, 0xffff8f93},  // c.addi t6,-1
    {0x1945, 0xff190913},  // c.addi s2,-15
    {0x0315, 0x00530313},  // c.addi t1,5
    {0x04a1, 0x00848493},  // c.addi s1,8
    {0x717d, 0xff010113},  // c.addi16sp sp,-16
    {0x6131, 0x14010113},  // c.addi16sp sp,320
    {0x7139, 0xfc010113},  // c.addi16sp sp,-64
    {0x611d, 0x1a010113},  // c.addi16sp sp,416
    {0x0020, 0x00810413},  // c.addi4spn s0,sp,8
    {0x1ffc, 0x3fc10793},  // c.addi4spn a5,sp,1020
    {0x1d3c, 0x2b810793},  // c.addi4spn a5,sp,696
    {0x105c, 0x02410793},  // c.addi4spn a5,sp,36
    {0x06fc, 0x34c10793},  // c.addi4spn a5,sp,844
    {0x2081, 0x0000809b},  // c.addiw ra,0
    {0x3ffd, 0xffff8f9b},  // c.addiw t6,-1
    {0x21b1, 0x00c1819b},  // c.addiw gp,12
    {0x2341, 0x0103031b},  // c.addiw t1,16
    {0x2e61, 0x018e0e1b},  // c.addiw t3,24
    {0x9c21, 0x0084043b},  // c.addw s0,s0
    {0x9fbd, 0x00f787bb},  // c.addw a5,a5
    {0x9f35, 0x00d7073b},  // c.addw a4,a3
    {0x9ca1, 0x008484bb},  // c.addw s1,s0
    {0x9db9, 0x00e585bb},  // c.addw a1,a4
    {0x8c61, 0x00847433},  // c.and s0,s0
    {0x8ffd, 0x00f7f7b3},  // c.and a5,a5
    {0x8ced, 0x00b4f4b3},  // c.and s1,a1
    {0x8f79, 0x00e77733},  // c.and a4,a4
    {0x8c7d, 0x00f47433},  // c.and s0,a5
    {0x8801, 0x00047413},  // c.andi s0,0
    {0x9bfd, 0xfff7f793},  // c.andi a5,-1
    {0x89f9, 0x01e5f593},  // c.andi a1,30
    {0x8b91, 0x0047f793},  // c.andi a5,4
    {0x88fd, 0x01f4f493},  // c.andi s1,31
    {0xc001, 0x00040063},  // c.beqz s0,12002
    {0xdffd, 0xfe078fe3},  // c.beqz a5,14ffa
    {0xd961, 0xfc0508e3},  // c.beqz a0,145e2
    {0xc32d, 0x06070163},  // c.beqz a4,12526
    {0xce25, 0x06060c63},  // c.beqz a2,135b0
    {0xe001, 0x00041063},  // c.bnez s0,15002
    {0xfffd, 0xfe079fe3},  // c.bnez a5,17ffa
    {0xe2f9, 0x0c069363},  // c.bnez a3,1553c
    {0xe885, 0x02049863},  // c.bnez s1,15cf8
    {0xf289, 0xf00691e3},  // c.bnez a3,16ad0
    {0x9002, 0x00100073},  // c.ebreak
    {0x2000, 0x00043407},  // c.fld fs0,0(s0)
    {0x3ffc, 0x0f87b787},  // c.fld fa5,248(a5)
    {0x2938, 0x05053707},  // c.fld fa4,80(a0)
    {0x2788, 0x0087b507},  // c.fld fa0,8(a5)
    {0x33bc, 0x0607b787},  // c.fld fa5,96(a5)
    {0x2002, 0x00013007},  // c.fldsp ft0,0(sp)
    {0x3ffe, 0x1f813f87},  // c.fldsp ft11,504(sp)
    {0x2b92, 0x10013b87},  // c.fldsp fs7,256(sp)
    {0x269a, 0x18013687},  // c.fldsp fa3,384(sp)
    {0x2c06, 0x04013c07},  // c.fldsp fs8,64(sp)
    {0xa000, 0x00843027},  // c.fsd fs0,0(s0)
    {0xbffc, 0x0ef7bc27},  // c.fsd fa5,248(a5)
    {0xb7d4, 0x0ad7b427},  // c.fsd fa3,168(a5)
    {0xa63c, 0x04f63427},  // c.fsd fa5,72(a2)
    {0xa404, 0x00943427},  // c.fsd fs1,8(s0)
    {0xa002, 0x00013027},  // c.fsdsp ft0,0(sp)
    {0xbffe, 0x1ff13c27},  // c.fsdsp ft11,504(sp)
    {0xa3d2, 0x1d413027},  // c.fsdsp fs4,448(sp)
    {0xad2e, 0x08b13c27},  // c.fsdsp fa1,152(sp)
    {0xbfc6, 0x1f113c27},  // c.fsdsp fa7,504(sp)
    {0xa001, 0x0000006f},  // c.j f002
    {0xbffd, 0xfffff06f},  // c.j 11ffa
    {0xbb5d, 0xdb7ff06f},  // c.j 116c2
    {0xb419, 0xa07ff06f},  // c.j 1082c
    {0xbdcd, 0xef3ff06f},  // c.j 11ba6
    {0x9082, 0x000080e7},  // c.jalr ra
    {0x9f82, 0x000f80e7},  // c.jalr t6
    {0x9982, 0x000980e7},  // c.jalr s3
    {0x9f02, 0x000f00e7},  // c.jalr t5
    {0x9782, 0x000780e7},  // c.jalr a5
    {0x8082, 0x00008067},  // c.jr ra
    {0x8f82, 0x000f8067},  // c.jr t6
    {0x8602, 0x00060067},  // c.jr a2
    {0x8502, 0x00050067},  // c.jr a0
    {0x8402, 0x00040067},  // c.jr s0
    {0x6000, 0x00043403},  // c.ld s0,0(s0)
    {0x7ffc, 0x0f87b783},  // c.ld a5,248(a5)
    {0x6b80, 0x0107b403},  // c.ld s0,16(a5)
    {0x6f9c, 0x0187b783},  // c.ld a5,24(a5)
    {0x653c, 0x04853783},  // c.ld a5,72(a0)
    {0x6082, 0x00013083},  // c.ldsp ra,0(sp)
    {0x7ffe, 0x1f813f83},  // c.ldsp t6,504(sp)
    {0x7362, 0x03813303},  // c.ldsp t1,56(sp)
    {0x6a1a, 0x18013a03},  // c.ldsp s4,384(sp)
    {0x71ce, 0x0f013183},  // c.ldsp gp,240(sp)
    {0x4001, 0x00000013},  // c.li zero,0
    {0x5ffd, 0xfff00f93},  // c.li t6,-1
    {0x5fad, 0xfeb00f93},  // c.li t6,-21
    {0x55f9, 0xffe00593},  // c.li a1,-2
    {0x5cb9, 0xfee00c93},  // c.li s9,-18
    {0x6005, 0x00001037},  // c.lui zero,0x1
    {0x7ffd, 0xffffffb7},  // c.lui t6,0xfffff
    {0x6a05, 0x00001a37},  // c.lui s4,0x1
    {0x74f9, 0xffffe4b7},  // c.lui s1,0xffffe
    {0x62e9, 0x0001a2b7},  // c.lui t0,0x1a
    {0x4000, 0x00042403},  // c.lw s0,0(s0)
    {0x5ffc, 0x07c7a783},  // c.lw a5,124(a5)
    {0x478c, 0x0087a583},  // c.lw a1,8(a5)
    {0x5ac0, 0x0346a403},  // c.lw s0,52(a3)
    {0x4a8c, 0x0106a583},  // c.lw a1,16(a3)
    {0x4082, 0x00012083},  // c.lwsp ra,0(sp)
    {0x5ffe, 0x0fc12f83},  // c.lwsp t6,252(sp)
    {0x593a, 0x0ac12903},  // c.lwsp s2,172(sp)
    {0x4b72, 0x01c12b03},  // c.lwsp s6,28(sp)
    {0x455e, 0x0d412503},  // c.lwsp a0,212(sp)
    {0x8006, 0x00100033},  // c.mv zero,ra
    {0x8ffe, 0x01f00fb3},  // c.mv t6,t6
    {0x8f6a, 0x01a00f33},  // c.mv t5,s10
    {0x8816, 0x00500833},  // c.mv a6,t0
    {0x86f6, 0x01d006b3},  // c.mv a3,t4
    {0x8c41, 0x00846433},  // c.or s0,s0
    {0x8fdd, 0x00f7e7b3},  // c.or a5,a5
    {0x8c55, 0x00d46433},  // c.or s0,a3
    {0x8cc5, 0x0094e4b3},  // c.or s1,s1
    {0x8ec1, 0x0086e6b3},  // c.or a3,s0
    {0xe000, 0x00843023},  // c.sd s0,0(s0)
    {0xfffc, 0x0ef7bc23},  // c.sd a5,248(a5)
    {0xf5c4, 0x0a95b423},  // c.sd s1,168(a1)
    {0xf668, 0x0ea63423},  // c.sd a0,232(a2)
    {0xffc8, 0x0aa7bc23},  // c.sd a0,184(a5)
    {0xe002, 0x00013023},  // c.sdsp zero,0(sp)
    {0xfffe, 0x1ff13c23},  // c.sdsp t6,504(sp)
    {0xfd32, 0x0ac13c23},  // c.sdsp a2,184(sp)
    {0xe466, 0x01913423},  // c.sdsp s9,8(sp)
    {0xe5fe, 0x0df13423},  // c.sdsp t6,200(sp)
    {0x0006, 0x00101013},  // c.slli zero,0x1
    {0x1ffe, 0x03ff9f93},  // c.slli t6,0x3f
    {0x1eba, 0x02ee9e93},  // c.slli t4,0x2e
    {0x08ea, 0x01a89893},  // c.slli a7,0x1a
    {0x0faa, 0x00af9f93},  // c.slli t6,0xa
    {0x0002, 0x00001013},  // c.slli64 zero
    {0x0f82, 0x000f9f93},  // c.slli64 t6
    {0x0202, 0x00021213},  // c.slli64 tp
    {0x0182, 0x00019193},  // c.slli64 gp
    {0x0982, 0x00099993},  // c.slli64 s3
    {0x8405, 0x40145413},  // c.srai s0,0x1
    {0x97fd, 0x43f7d793},  // c.srai a5,0x3f
    {0x954d, 0x43355513},  // c.srai a0,0x33
    {0x94bd, 0x42f4d493},  // c.srai s1,0x2f
    {0x9591, 0x4245d593},  // c.srai a1,0x24
    {0x8401, 0x40045413},  // c.srai64 s0
    {0x8781, 0x4007d793},  // c.srai64 a5
    {0x8501, 0x40055513},  // c.srai64 a0
    {0x8681, 0x4006d693},  // c.srai64 a3
    {0x8005, 0x00145413},  // c.srli s0,0x1
    {0x93fd, 0x03f7d793},  // c.srli a5,0x3f
    {0x8331, 0x00c75713},  // c.srli a4,0xc
    {0x9339, 0x02e75713},  // c.srli a4,0x2e
    {0x9179, 0x03e55513},  // c.srli a0,0x3e
    {0x8001, 0x00045413},  // c.srli64 s0
    {0x8381, 0x0007d793},  // c.srli64 a5
    {0x8281, 0x0006d693},  // c.srli64 a3
    {0x8181, 0x0005d593},  // c.srli64 a1
    {0x8c01, 0x40840433},  // c.sub s0,s0
    {0x8f9d, 0x40f787b3},  // c.sub a5,a5
    {0x8e95, 0x40d686b3},  // c.sub a3,a3
    {0x8d15, 0x40d50533},  // c.sub a0,a3
    {0x8c99, 0x40e484b3},  // c.sub s1,a4
    {0x9c01, 0x4084043b},  // c.subw s0,s0
    {0x9f9d, 0x40f787bb},  // c.subw a5,a5
    {0x9c1d, 0x40f4043b},  // c.subw s0,a5
    {0x9d8d, 0x40b585bb},  // c.subw a1,a1
    {0xc000, 0x00842023},  // c.sw s0,0(s0)
    {0xdffc, 0x06f7ae23},  // c.sw a5,124(a5)
    {0xd264, 0x06962223},  // c.sw s1,100(a2)
    {0xc844, 0x00942a23},  // c.sw s1,20(s0)
    {0xcfd8, 0x00e7ae23},  // c.sw a4,28(a5)
    {0xc002, 0x00012023},  // c.swsp zero,0(sp)
    {0xdffe, 0x0ff12e23},  // c.swsp t6,252(sp)
    {0xd976, 0x0bd12823},  // c.swsp t4,176(sp)
    {0xd906, 0x0a112823},  // c.swsp ra,176(sp)
    {0xdfc6, 0x0f112e23},  // c.swsp a7,252(sp)
    {0x8c21, 0x00844433},  // c.xor s0,s0
    {0x8fbd, 0x00f7c7b3},  // c.xor a5,a5
    {0x8ca9, 0x00a4c4b3},  // c.xor s1,a0
    {0x8d35, 0x00d54533},  // c.xor a0,a3
    {0x8fa5, 0x0097c7b3},  // c.xor a5,s1
};

TEST(ExpandCompressed, MatchesBinutils) {
  for (const auto& e : kExpansions) {
    EXPECT_EQ(expand_compressed(e.compressed), e.expanded)
        << std::hex << "c=0x" << e.compressed << " want 0x" << e.expanded;
  }
}

TEST(ExpandCompressed, ExpansionDecodesWithCompressedLength) {
  for (const auto& e : kExpansions) {
    const DecodedInsn d = decode(e.compressed);
    const DecodedInsn full = decode(e.expanded);
    SCOPED_TRACE(e.compressed);
    EXPECT_EQ(d.op, full.op);
    EXPECT_EQ(d.len, 2);
    EXPECT_EQ(d.raw, e.compressed);
    if (full.op != kInvalidOp) {  // FP loads/stores need the D table
      EXPECT_EQ(d.rd, full.rd);
      EXPECT_EQ(d.rs1, full.rs1);
      EXPECT_EQ(d.rs2, full.rs2);
      EXPECT_EQ(d.imm, full.imm);
    }
  }
}

// Reserved encodings expand to 0 and decode as illegal with the 16-bit
// encoding as trap value.
TEST(ExpandCompressed, ReservedEncodingsAreIllegal) {
  constexpr uint16_t kReserved[] = {
      0x0000,  // all zeros (c.unimp)
      0x0004,  // c.addi4spn with immediate 0
      0x001c,  // c.addi4spn with immediate 0, other rd'
      0x8000,  // Q0 funct3=100
      0x9c00,  // Q0 funct3=100, other bits
      0x2001,  // c.addiw with rd=0
      0x203d,  // c.addiw with rd=0, imm=15
      0x6081,  // c.lui ra,0 (immediate 0)
      0x6101,  // c.addi16sp sp,0
      0x9c41,  // Q1 funct3=100, c[12]=1, funct2=10: reserved
      0x9c61,  // Q1 funct3=100, c[12]=1, funct2=11: reserved
      0x8002,  // c.jr with rs1=0
      0x4002,  // c.lwsp with rd=0
      0x5002,  // c.lwsp with rd=0, offset 32
      0x6002,  // c.ldsp with rd=0
      0x707e,  // c.ldsp with rd=0, full offset
  };
  for (uint16_t c : kReserved) {
    EXPECT_EQ(expand_compressed(c), 0u) << std::hex << "c=0x" << c;
    const DecodedInsn d = decode(c);
    EXPECT_EQ(d.op, kInvalidOp) << std::hex << "c=0x" << c;
    EXPECT_EQ(d.raw, c);
    EXPECT_EQ(d.len, 2);
  }
}

TEST(ExpandCompressed, NotCompressedIsZero) {
  EXPECT_EQ(expand_compressed(0x0013), 0u);
  EXPECT_EQ(expand_compressed(0xffff), 0u);
}

// Whole-space sweep: the number of legal encodings matches binutils, and each
// expansion is a 32-bit form.
TEST(ExpandCompressed, WholeSpaceExpandsToThirtyTwoBitForms) {
  int legal = 0;
  for (uint32_t c = 0; c < 0x10000; ++c) {
    if ((c & 3) == 3) continue;
    const uint32_t e = expand_compressed(static_cast<uint16_t>(c));
    if (e == 0) continue;
    ++legal;
    ASSERT_EQ(e & 3, 3u) << std::hex << c;
  }
  // 49152 16-bit encodings, of which binutils rejects 2408 (plus c.addi16sp 0).
  EXPECT_EQ(legal, 49152 - 2408 - 1);
}

}  // namespace
}  // namespace vireo::riscv
