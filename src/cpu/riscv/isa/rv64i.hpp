// RV64I base integer semantics, shared by the opcode table (isa/rv64i.cpp)
// and the interpreter's inlined dispatch (interp.cpp). Every body reads its
// sources before writing rd (rd may equal a source); a memory helper that
// returns false has already taken the trap.
#pragma once

#include <cstdint>
#include <type_traits>

#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"

namespace vireo::riscv::rv64i {

using i64 = int64_t;
using u64 = uint64_t;

inline i64 sext32(u64 v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

// ---- How a body becomes an ExecFn ----
//
// The semantics are bodies that leave pc alone (or take the instruction's pc
// as an argument and return the next one): the interpreter inlines them with
// pc in a host register; these wrappers give the opcode tables a plain ExecFn
// that keeps pc in the Hart.

// Never traps, does not need pc: pc moves to the next instruction.
template <void (*Body)(Hart&, const DecodedInsn&)>
void exec_seq(Hart& h, const DecodedInsn& d) {
  Body(h, d);
  h.pc += d.len;
}
// Never traps, reads its own pc.
template <void (*Body)(Hart&, const DecodedInsn&, u64 pc)>
void exec_seq_pc(Hart& h, const DecodedInsn& d) {
  Body(h, d, h.pc);
  h.pc += d.len;
}
// Never traps, returns the next pc.
template <u64 (*Body)(Hart&, const DecodedInsn&, u64 pc)>
void exec_jump(Hart& h, const DecodedInsn& d) {
  h.pc = Body(h, d, h.pc);
}
// May trap: returns false when it did (h.pc, which must hold the
// instruction's address on entry, then holds the trap vector).
template <bool (*Body)(Hart&, const DecodedInsn&)>
void exec_mem(Hart& h, const DecodedInsn& d) {
  if (Body(h, d)) h.pc += d.len;
}

// ---- Upper immediates and jumps ----

inline void lui(Hart& h, const DecodedInsn& d) { h.x[d.rd] = d.imm; }
inline void auipc(Hart& h, const DecodedInsn& d, u64 pc) { h.x[d.rd] = pc + d.imm; }
inline u64 jal(Hart& h, const DecodedInsn& d, u64 pc) {
  h.x[d.rd] = pc + d.len;
  return pc + d.imm;
}
inline u64 jalr(Hart& h, const DecodedInsn& d, u64 pc) {
  // Targets are always 2-aligned once bit 0 is cleared, and C is present, so
  // there is no misaligned-fetch case. The target is read before rd is written.
  const u64 target = (h.x[d.rs1] + d.imm) & ~u64{1};
  h.x[d.rd] = pc + d.len;
  return target;
}

// ---- Branches ----

template <bool (*Taken)(u64, u64)>
inline u64 branch(Hart& h, const DecodedInsn& d, u64 pc) {
  return pc + (Taken(h.x[d.rs1], h.x[d.rs2]) ? d.imm : d.len);
}
inline bool eq(u64 a, u64 b) { return a == b; }
inline bool ne(u64 a, u64 b) { return a != b; }
inline bool lt(u64 a, u64 b) { return static_cast<i64>(a) < static_cast<i64>(b); }
inline bool ge(u64 a, u64 b) { return static_cast<i64>(a) >= static_cast<i64>(b); }
inline bool ltu(u64 a, u64 b) { return a < b; }
inline bool geu(u64 a, u64 b) { return a >= b; }

// ---- Loads and stores ----

// T is the guest access type; its signedness decides the extension to 64 bits.
template <class T>
inline bool load(Hart& h, const DecodedInsn& d) {
  using Unsigned = std::make_unsigned_t<T>;
  Unsigned value;
  if (!h.load<Unsigned>(h.x[d.rs1] + d.imm, value)) return false;
  h.x[d.rd] = static_cast<u64>(static_cast<i64>(static_cast<T>(value)));
  return true;
}
template <class T>
inline bool store(Hart& h, const DecodedInsn& d) {
  return h.store<T>(h.x[d.rs1] + d.imm, static_cast<T>(h.x[d.rs2]));
}

// ---- Register-immediate and register-register ALU ----

// One template per shape keeps each instruction a one-line operation.
template <u64 (*Op)(u64, u64)>
inline void alu_imm(Hart& h, const DecodedInsn& d) {
  h.x[d.rd] = Op(h.x[d.rs1], static_cast<u64>(d.imm));
}
template <u64 (*Op)(u64, u64)>
inline void alu_reg(Hart& h, const DecodedInsn& d) {
  h.x[d.rd] = Op(h.x[d.rs1], h.x[d.rs2]);
}

inline u64 op_add(u64 a, u64 b) { return a + b; }
inline u64 op_sub(u64 a, u64 b) { return a - b; }
inline u64 op_slt(u64 a, u64 b) { return static_cast<i64>(a) < static_cast<i64>(b); }
inline u64 op_sltu(u64 a, u64 b) { return a < b; }
inline u64 op_xor(u64 a, u64 b) { return a ^ b; }
inline u64 op_or(u64 a, u64 b) { return a | b; }
inline u64 op_and(u64 a, u64 b) { return a & b; }
inline u64 op_sll(u64 a, u64 b) { return a << (b & 63); }
inline u64 op_srl(u64 a, u64 b) { return a >> (b & 63); }
inline u64 op_sra(u64 a, u64 b) { return static_cast<u64>(static_cast<i64>(a) >> (b & 63)); }

inline u64 op_addw(u64 a, u64 b) { return sext32(a + b); }
inline u64 op_subw(u64 a, u64 b) { return sext32(a - b); }
inline u64 op_sllw(u64 a, u64 b) { return sext32(static_cast<uint32_t>(a) << (b & 31)); }
inline u64 op_srlw(u64 a, u64 b) { return sext32(static_cast<uint32_t>(a) >> (b & 31)); }
inline u64 op_sraw(u64 a, u64 b) { return static_cast<u64>(static_cast<int32_t>(a) >> (b & 31)); }

}  // namespace vireo::riscv::rv64i
