// Instructions as data: every instruction is one row of a table (mask/match,
// operand format, semantics function, disassembly operands). The decoder, the
// interpreter and the disassembler all take their truth from these tables.
// Each extension file (isa/rv64i.cpp, isa/rv64m.cpp, ...) defines one table.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace vireo::riscv {

class Hart;
struct DecodedInsn;

// Semantics of one instruction. Contract:
//  - on success, writes results and advances h.pc (normally h.pc += d.len);
//  - on a trap (a Hart memory/CSR helper returned false, or the handler called
//    h.raise_exception / h.raise_illegal), returns at once without writing any
//    architectural state: the trap has already redirected pc.
using ExecFn = void (*)(Hart& h, const DecodedInsn& d);

// How operand fields are extracted from the 32-bit encoding.
enum class Format : uint8_t {
  kNone,    // no operands extracted (ecall, mret, ...)
  kR,       // rd, rs1, rs2, rm = funct3
  kR4,      // rd, rs1, rs2, rs3 = inst[31:27], rm = funct3
  kI,       // rd, rs1, imm = sext(inst[31:20]), rm = funct3
  kS,       // rs1, rs2, imm = sext store offset
  kB,       // rs1, rs2, imm = sext branch offset
  kU,       // rd, imm = sext(inst[31:12] << 12)
  kJ,       // rd, imm = sext jump offset
  kShift,   // rd, rs1, imm = shamt (inst[25:20])
  kShiftW,  // rd, rs1, imm = shamt (inst[24:20])
  kCsr,     // rd, rs1 (register, or the 5-bit uimm for csrr*i), imm = csr number
  kAmo,     // rd, rs1, rs2, rm = aq<<1 | rl
};

struct OpcodeDef {
  const char* name;  // assembler mnemonic, e.g. "addi"
  uint32_t mask;     // bits that must equal `match`
  uint32_t match;
  Format format;
  ExecFn exec;
  // Disassembly operands: comma-separated from rd, rs1, rs2, rs3 (integer
  // registers), frd, frs1, frs2, frs3 (FP registers), imm, off(rs1) for
  // memory operands, csr, uimm (rs1 field as immediate), rm. Also decides
  // whether rd names an integer register: when the list starts with "rd",
  // a destination of x0 is redirected to the write sink x[32].
  const char* args;
};

// The tables, one per extension file.
std::span<const OpcodeDef>
opcodes_rv64i();  // isa/rv64i.cpp (incl. fence, Zifencei handled in system)
std::span<const OpcodeDef> opcodes_rv64m();  // isa/rv64m.cpp
std::span<const OpcodeDef> opcodes_rv64a();  // isa/rv64a.cpp
std::span<const OpcodeDef> opcodes_rv64f();  // isa/rv64f.cpp
std::span<const OpcodeDef> opcodes_rv64d();  // isa/rv64d.cpp
std::span<const OpcodeDef> opcodes_zb();     // isa/zb.cpp (Zba, Zbb, Zbs)
std::span<const OpcodeDef>
opcodes_system();  // isa/system.cpp (Zicsr, ecall, ebreak, xret, wfi, sfence.vma, fence.i)

// One decoded instruction, as cached by the interpreter. Compressed
// instructions are expanded to their 32-bit equivalent and keep len = 2.
struct DecodedInsn {
  ExecFn exec;
  int64_t imm;
  uint32_t raw;               // the original encoding (16 bits for compressed)
  uint16_t op;                // index of the OpcodeDef in all_opcodes(), kInvalidOp if none
  uint8_t rd, rs1, rs2, rs3;  // rd may be 32 (the x0 write sink)
  uint8_t len;                // 2 or 4
  uint8_t rm;                 // funct3 / rounding mode / aq-rl
  uint8_t inline_op;          // InlineOp (isa/inline_ops.hpp): 0 = call exec
};

inline constexpr uint16_t kInvalidOp = 0xffff;

// All tables concatenated, in a fixed order (indices are DecodedInsn::op).
std::span<const OpcodeDef> all_opcodes();

// Decodes one instruction. `raw` holds 32 bits fetched at pc (only the low 16
// are meaningful for a compressed instruction, (raw & 3) != 3). An encoding
// that matches no table row decodes to an instruction whose exec raises an
// illegal-instruction exception with tval = the encoding.
DecodedInsn decode(uint32_t raw);

// Expands a 16-bit compressed instruction to its 32-bit equivalent; returns 0
// for an illegal or reserved encoding.
uint32_t expand_compressed(uint16_t c);

// Assembler text of a decoded instruction at `pc` (for --trace and tests).
std::string disassemble(const DecodedInsn& d, uint64_t pc);

}  // namespace vireo::riscv
