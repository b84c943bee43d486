// RV64I base integer instructions: the encodings (the semantics live in
// isa/rv64i.hpp, where the interpreter can inline them) and fence.
#include "cpu/riscv/isa/rv64i.hpp"
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"

namespace vireo::riscv {

namespace {

using namespace rv64i;

// fence, fence.tso and pause. Other harts run on other host threads, so a
// fence ordering memory accesses (pred and succ both name r or w) becomes a
// host fence; device accesses (i, o) are synchronous calls and need nothing,
// and pause (pred=w, succ=0) is a pure hint.
void exec_fence(Hart& h, const DecodedInsn& d) {
  constexpr unsigned kReadWrite = 0b0011;  // the r and w bits of pred/succ
  const unsigned pred = (d.imm >> 4) & 0xf, succ = d.imm & 0xf;
  if ((pred & kReadWrite) && (succ & kReadWrite)) __atomic_thread_fence(__ATOMIC_SEQ_CST);
  h.pc += d.len;
}

constexpr uint32_t kOpcodeMask = 0x0000007f;
constexpr uint32_t kFunct3Mask = 0x0000707f;
constexpr uint32_t kFunct6Mask = 0xfc00707f;
constexpr uint32_t kFunct7Mask = 0xfe00707f;

constexpr OpcodeDef kOpcodes[] = {
    {"lui", kOpcodeMask, 0x00000037, Format::kU, exec_seq<lui>, "rd,imm"},
    {"auipc", kOpcodeMask, 0x00000017, Format::kU, exec_seq_pc<auipc>, "rd,imm"},
    {"jal", kOpcodeMask, 0x0000006f, Format::kJ, exec_jump<jal>, "rd,imm"},
    {"jalr", kFunct3Mask, 0x00000067, Format::kI, exec_jump<jalr>, "rd,off(rs1)"},

    {"beq", kFunct3Mask, 0x00000063, Format::kB, exec_jump<branch<eq>>, "rs1,rs2,imm"},
    {"bne", kFunct3Mask, 0x00001063, Format::kB, exec_jump<branch<ne>>, "rs1,rs2,imm"},
    {"blt", kFunct3Mask, 0x00004063, Format::kB, exec_jump<branch<lt>>, "rs1,rs2,imm"},
    {"bge", kFunct3Mask, 0x00005063, Format::kB, exec_jump<branch<ge>>, "rs1,rs2,imm"},
    {"bltu", kFunct3Mask, 0x00006063, Format::kB, exec_jump<branch<ltu>>, "rs1,rs2,imm"},
    {"bgeu", kFunct3Mask, 0x00007063, Format::kB, exec_jump<branch<geu>>, "rs1,rs2,imm"},

    {"lb", kFunct3Mask, 0x00000003, Format::kI, exec_mem<load<int8_t>>, "rd,off(rs1)"},
    {"lh", kFunct3Mask, 0x00001003, Format::kI, exec_mem<load<int16_t>>, "rd,off(rs1)"},
    {"lw", kFunct3Mask, 0x00002003, Format::kI, exec_mem<load<int32_t>>, "rd,off(rs1)"},
    {"ld", kFunct3Mask, 0x00003003, Format::kI, exec_mem<load<int64_t>>, "rd,off(rs1)"},
    {"lbu", kFunct3Mask, 0x00004003, Format::kI, exec_mem<load<uint8_t>>, "rd,off(rs1)"},
    {"lhu", kFunct3Mask, 0x00005003, Format::kI, exec_mem<load<uint16_t>>, "rd,off(rs1)"},
    {"lwu", kFunct3Mask, 0x00006003, Format::kI, exec_mem<load<uint32_t>>, "rd,off(rs1)"},

    {"sb", kFunct3Mask, 0x00000023, Format::kS, exec_mem<store<uint8_t>>, "rs2,off(rs1)"},
    {"sh", kFunct3Mask, 0x00001023, Format::kS, exec_mem<store<uint16_t>>, "rs2,off(rs1)"},
    {"sw", kFunct3Mask, 0x00002023, Format::kS, exec_mem<store<uint32_t>>, "rs2,off(rs1)"},
    {"sd", kFunct3Mask, 0x00003023, Format::kS, exec_mem<store<uint64_t>>, "rs2,off(rs1)"},

    {"addi", kFunct3Mask, 0x00000013, Format::kI, exec_seq<alu_imm<op_add>>, "rd,rs1,imm"},
    {"slti", kFunct3Mask, 0x00002013, Format::kI, exec_seq<alu_imm<op_slt>>, "rd,rs1,imm"},
    {"sltiu", kFunct3Mask, 0x00003013, Format::kI, exec_seq<alu_imm<op_sltu>>, "rd,rs1,imm"},
    {"xori", kFunct3Mask, 0x00004013, Format::kI, exec_seq<alu_imm<op_xor>>, "rd,rs1,imm"},
    {"ori", kFunct3Mask, 0x00006013, Format::kI, exec_seq<alu_imm<op_or>>, "rd,rs1,imm"},
    {"andi", kFunct3Mask, 0x00007013, Format::kI, exec_seq<alu_imm<op_and>>, "rd,rs1,imm"},
    {"slli", kFunct6Mask, 0x00001013, Format::kShift, exec_seq<alu_imm<op_sll>>, "rd,rs1,imm"},
    {"srli", kFunct6Mask, 0x00005013, Format::kShift, exec_seq<alu_imm<op_srl>>, "rd,rs1,imm"},
    {"srai", kFunct6Mask, 0x40005013, Format::kShift, exec_seq<alu_imm<op_sra>>, "rd,rs1,imm"},

    {"add", kFunct7Mask, 0x00000033, Format::kR, exec_seq<alu_reg<op_add>>, "rd,rs1,rs2"},
    {"sub", kFunct7Mask, 0x40000033, Format::kR, exec_seq<alu_reg<op_sub>>, "rd,rs1,rs2"},
    {"sll", kFunct7Mask, 0x00001033, Format::kR, exec_seq<alu_reg<op_sll>>, "rd,rs1,rs2"},
    {"slt", kFunct7Mask, 0x00002033, Format::kR, exec_seq<alu_reg<op_slt>>, "rd,rs1,rs2"},
    {"sltu", kFunct7Mask, 0x00003033, Format::kR, exec_seq<alu_reg<op_sltu>>, "rd,rs1,rs2"},
    {"xor", kFunct7Mask, 0x00004033, Format::kR, exec_seq<alu_reg<op_xor>>, "rd,rs1,rs2"},
    {"srl", kFunct7Mask, 0x00005033, Format::kR, exec_seq<alu_reg<op_srl>>, "rd,rs1,rs2"},
    {"sra", kFunct7Mask, 0x40005033, Format::kR, exec_seq<alu_reg<op_sra>>, "rd,rs1,rs2"},
    {"or", kFunct7Mask, 0x00006033, Format::kR, exec_seq<alu_reg<op_or>>, "rd,rs1,rs2"},
    {"and", kFunct7Mask, 0x00007033, Format::kR, exec_seq<alu_reg<op_and>>, "rd,rs1,rs2"},

    {"addiw", kFunct3Mask, 0x0000001b, Format::kI, exec_seq<alu_imm<op_addw>>, "rd,rs1,imm"},
    {"slliw", kFunct7Mask, 0x0000101b, Format::kShiftW, exec_seq<alu_imm<op_sllw>>, "rd,rs1,imm"},
    {"srliw", kFunct7Mask, 0x0000501b, Format::kShiftW, exec_seq<alu_imm<op_srlw>>, "rd,rs1,imm"},
    {"sraiw", kFunct7Mask, 0x4000501b, Format::kShiftW, exec_seq<alu_imm<op_sraw>>, "rd,rs1,imm"},
    {"addw", kFunct7Mask, 0x0000003b, Format::kR, exec_seq<alu_reg<op_addw>>, "rd,rs1,rs2"},
    {"subw", kFunct7Mask, 0x4000003b, Format::kR, exec_seq<alu_reg<op_subw>>, "rd,rs1,rs2"},
    {"sllw", kFunct7Mask, 0x0000103b, Format::kR, exec_seq<alu_reg<op_sllw>>, "rd,rs1,rs2"},
    {"srlw", kFunct7Mask, 0x0000503b, Format::kR, exec_seq<alu_reg<op_srlw>>, "rd,rs1,rs2"},
    {"sraw", kFunct7Mask, 0x4000503b, Format::kR, exec_seq<alu_reg<op_sraw>>, "rd,rs1,rs2"},

    // One row for every fence: fence.tso (fm=1000) and pause (pred=w, succ=0)
    // are fences too, and unknown fm values must behave as a plain fence, so
    // separate rows could not be exact. The disassembler names the variants.
    {"fence", kFunct3Mask, 0x0000000f, Format::kI, exec_fence, "pred,succ"},
};

}  // namespace

std::span<const OpcodeDef> opcodes_rv64i() { return kOpcodes; }

}  // namespace vireo::riscv
