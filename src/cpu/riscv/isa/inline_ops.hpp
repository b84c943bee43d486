// The instructions the interpreter inlines into its dispatch loop instead of
// calling through DecodedInsn::exec: the hot integer instructions. The
// semantics are the very functions the opcode tables hold (isa/rv64i.hpp,
// isa/rv64m.hpp); this list only names them and says how control continues
// after each, so the loop can skip the checks an instruction cannot need.
//
//   seq, seq_pc: never traps, never changes translation: the next instruction
//                is the next slot (seq_pc bodies read their own pc).
//   jump:        never traps, returns the next pc (branches, jumps).
//   mem:         may trap, or (a store) invalidate the page being run.
#pragma once

#include <cstdint>

#include "cpu/riscv/isa.hpp"
#include "cpu/riscv/isa/rv64i.hpp"
#include "cpu/riscv/isa/rv64m.hpp"

// X(name, body, flow): the opcode table holds rv64i::exec_<flow><body>.
// clang-format off
#define VIREO_RISCV_INLINE_OPS(X) \
  X(lui,    rv64i::lui,                       seq) \
  X(auipc,  rv64i::auipc,                     seq_pc) \
  X(jal,    rv64i::jal,                       jump) \
  X(jalr,   rv64i::jalr,                      jump) \
  X(beq,    rv64i::branch<rv64i::eq>,         jump) \
  X(bne,    rv64i::branch<rv64i::ne>,         jump) \
  X(blt,    rv64i::branch<rv64i::lt>,         jump) \
  X(bge,    rv64i::branch<rv64i::ge>,         jump) \
  X(bltu,   rv64i::branch<rv64i::ltu>,        jump) \
  X(bgeu,   rv64i::branch<rv64i::geu>,        jump) \
  X(lb,     rv64i::load<int8_t>,              mem) \
  X(lh,     rv64i::load<int16_t>,             mem) \
  X(lw,     rv64i::load<int32_t>,             mem) \
  X(ld,     rv64i::load<int64_t>,             mem) \
  X(lbu,    rv64i::load<uint8_t>,             mem) \
  X(lhu,    rv64i::load<uint16_t>,            mem) \
  X(lwu,    rv64i::load<uint32_t>,            mem) \
  X(sb,     rv64i::store<uint8_t>,            mem) \
  X(sh,     rv64i::store<uint16_t>,           mem) \
  X(sw,     rv64i::store<uint32_t>,           mem) \
  X(sd,     rv64i::store<uint64_t>,           mem) \
  X(addi,   rv64i::alu_imm<rv64i::op_add>,    seq) \
  X(slti,   rv64i::alu_imm<rv64i::op_slt>,    seq) \
  X(sltiu,  rv64i::alu_imm<rv64i::op_sltu>,   seq) \
  X(xori,   rv64i::alu_imm<rv64i::op_xor>,    seq) \
  X(ori,    rv64i::alu_imm<rv64i::op_or>,     seq) \
  X(andi,   rv64i::alu_imm<rv64i::op_and>,    seq) \
  X(slli,   rv64i::alu_imm<rv64i::op_sll>,    seq) \
  X(srli,   rv64i::alu_imm<rv64i::op_srl>,    seq) \
  X(srai,   rv64i::alu_imm<rv64i::op_sra>,    seq) \
  X(add,    rv64i::alu_reg<rv64i::op_add>,    seq) \
  X(sub,    rv64i::alu_reg<rv64i::op_sub>,    seq) \
  X(sll,    rv64i::alu_reg<rv64i::op_sll>,    seq) \
  X(slt,    rv64i::alu_reg<rv64i::op_slt>,    seq) \
  X(sltu,   rv64i::alu_reg<rv64i::op_sltu>,   seq) \
  X(xor,    rv64i::alu_reg<rv64i::op_xor>,    seq) \
  X(srl,    rv64i::alu_reg<rv64i::op_srl>,    seq) \
  X(sra,    rv64i::alu_reg<rv64i::op_sra>,    seq) \
  X(or,     rv64i::alu_reg<rv64i::op_or>,     seq) \
  X(and,    rv64i::alu_reg<rv64i::op_and>,    seq) \
  X(addiw,  rv64i::alu_imm<rv64i::op_addw>,   seq) \
  X(slliw,  rv64i::alu_imm<rv64i::op_sllw>,   seq) \
  X(srliw,  rv64i::alu_imm<rv64i::op_srlw>,   seq) \
  X(sraiw,  rv64i::alu_imm<rv64i::op_sraw>,   seq) \
  X(addw,   rv64i::alu_reg<rv64i::op_addw>,   seq) \
  X(subw,   rv64i::alu_reg<rv64i::op_subw>,   seq) \
  X(sllw,   rv64i::alu_reg<rv64i::op_sllw>,   seq) \
  X(srlw,   rv64i::alu_reg<rv64i::op_srlw>,   seq) \
  X(sraw,   rv64i::alu_reg<rv64i::op_sraw>,   seq) \
  X(mul,    rv64i::alu_reg<rv64m::op_mul>,    seq) \
  X(mulh,   rv64i::alu_reg<rv64m::op_mulh>,   seq) \
  X(mulhsu, rv64i::alu_reg<rv64m::op_mulhsu>, seq) \
  X(mulhu,  rv64i::alu_reg<rv64m::op_mulhu>,  seq) \
  X(div,    rv64i::alu_reg<rv64m::op_div>,    seq) \
  X(divu,   rv64i::alu_reg<rv64m::op_divu>,   seq) \
  X(rem,    rv64i::alu_reg<rv64m::op_rem>,    seq) \
  X(remu,   rv64i::alu_reg<rv64m::op_remu>,   seq) \
  X(mulw,   rv64i::alu_reg<rv64m::op_mulw>,   seq) \
  X(divw,   rv64i::alu_reg<rv64m::op_divw>,   seq) \
  X(divuw,  rv64i::alu_reg<rv64m::op_divuw>,  seq) \
  X(remw,   rv64i::alu_reg<rv64m::op_remw>,   seq) \
  X(remuw,  rv64i::alu_reg<rv64m::op_remuw>,  seq)
// clang-format on

namespace vireo::riscv {

// DecodedInsn::inline_op values. The length is part of the dispatch where
// it is known, so the next slot's address does not wait on a load of this
// one's length: every inlined row and kInlineCall come in pairs, the 4-byte
// form then the compressed form.
enum InlineOp : uint8_t {
  kInlineNone = 0,     // call exec; the length is known only after the call (lazy decode)
  kInlinePageEnd = 1,  // the slot past the end of a page
  kInlineCall = 2,     // call exec (an instruction not inlined)
  kInlineCall_c = 3,
#define VIREO_INLINE_ENUM(name, body, flow) kInline_##name, kInline_c_##name,
  VIREO_RISCV_INLINE_OPS(VIREO_INLINE_ENUM)
#undef VIREO_INLINE_ENUM
      kInlineCount
};

// The 4-byte form of the op for the instruction whose handler is `exec`:
// its inlined row, or kInlineCall.
uint8_t inline_op_for(ExecFn exec);

// The form of `op` for an instruction of `len` bytes.
inline uint8_t inline_op_for_len(uint8_t op, unsigned len) {
  return op >= kInlineCall && len == 2 ? static_cast<uint8_t>(op + 1) : op;
}

}  // namespace vireo::riscv
