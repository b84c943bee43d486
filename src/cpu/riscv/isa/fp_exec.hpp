// The handlers and table rows RV64F and RV64D share (isa/rv64f.cpp, isa/rv64d.cpp), per precision.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "cpu/riscv/fpu.hpp"
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"

namespace vireo::riscv::fp_exec {

static_assert(fpu::kNX == fflag::kNX && fpu::kUF == fflag::kUF && fpu::kOF == fflag::kOF &&
              fpu::kDZ == fflag::kDZ && fpu::kNV == fflag::kNV);

inline constexpr uint32_t kFunct3Mask = 0x0000707f;  // opcode, funct3
inline constexpr uint32_t kR4Mask = 0x0600007f;      // opcode, fmt
inline constexpr uint32_t kRmMask = 0xfe00007f;      // opcode, funct7; funct3 is rm
inline constexpr uint32_t kRs2RmMask = 0xfff0007f;   // opcode, funct7, rs2; funct3 is rm
inline constexpr uint32_t kFunct7Mask = 0xfe00707f;  // opcode, funct7, funct3
inline constexpr uint32_t kRs2Mask = 0xfff0707f;     // opcode, funct7, rs2, funct3

// Precision policies: the operand width and how an operand moves through the 64-bit f registers.
// A single is read NaN-boxed (the canonical NaN unless bits 63:32 are all ones) and written boxed;
// a double uses the raw 64 bits.
struct SinglePrecision {
  using Bits = uint32_t;
  static Bits read(const Hart& h, unsigned reg) { return fpu::unbox_s(h.f[reg]); }
  static void write(Hart& h, unsigned reg, Bits value) { h.f[reg] = fpu::box_s(value); }
};

struct DoublePrecision {
  using Bits = uint64_t;
  static Bits read(const Hart& h, unsigned reg) { return h.f[reg]; }
  static void write(Hart& h, unsigned reg, Bits value) { h.f[reg] = value; }
};

// The fpu.cpp signature each handler takes for operand type B; a handler static_asserts that its
// operation fits its policy (so a _d operation cannot be paired with SinglePrecision).
template <class B>
using BinaryOp = B (*)(B, B, unsigned, uint32_t&);
template <class B>
using FusedOp = B (*)(B, B, B, unsigned, uint32_t&);
template <class B>
using UnaryOp = B (*)(B, unsigned, uint32_t&);
template <class B>
using SignInjectOp = B (*)(B, B);
template <class B>
using MinMaxOp = B (*)(B, B, uint32_t&);
template <class B>
using CompareOp = uint64_t (*)(B, B, uint32_t&);
template <class B>
using ClassOp = uint64_t (*)(B);
template <class B>
using ToIntegerOp = uint64_t (*)(B, unsigned, uint32_t&);
template <class B>
using FromIntegerOp = B (*)(uint64_t, unsigned, uint32_t&);

template <auto Op, template <class> class Sig, class P>
inline constexpr bool kOpFits = std::is_same_v<decltype(Op), Sig<typename P::Bits>>;

// ---- Loads and stores: bits move unchanged (no canonicalization, no boxing check) ----

template <class P>
void exec_load(Hart& h, const DecodedInsn& d) {
  if (!h.fp_check(d)) return;
  typename P::Bits value;
  if (!h.load<typename P::Bits>(h.x[d.rs1] + d.imm, value)) return;
  P::write(h, d.rd, value);
  h.fp_dirty();
  h.pc += d.len;
}

template <class P>
void exec_store(Hart& h, const DecodedInsn& d) {
  if (!h.fp_check(d)) return;
  // The raw low bits of the register, not the unboxed operand.
  if (!h.store<typename P::Bits>(h.x[d.rs1] + d.imm, static_cast<typename P::Bits>(h.f[d.rs2])))
    return;
  h.pc += d.len;
}

// ---- Rounding arithmetic ----

template <class P, auto Op>
void exec_binary(Hart& h, const DecodedInsn& d) {
  static_assert(kOpFits<Op, BinaryOp, P>);
  unsigned rm;
  if (!h.fp_check_rm(d, rm)) return;
  P::write(h, d.rd, Op(P::read(h, d.rs1), P::read(h, d.rs2), rm, h.fflags));
  h.fp_dirty();
  h.pc += d.len;
}

template <class P, auto Op>
void exec_fused(Hart& h, const DecodedInsn& d) {
  static_assert(kOpFits<Op, FusedOp, P>);
  unsigned rm;
  if (!h.fp_check_rm(d, rm)) return;
  P::write(h, d.rd, Op(P::read(h, d.rs1), P::read(h, d.rs2), P::read(h, d.rs3), rm, h.fflags));
  h.fp_dirty();
  h.pc += d.len;
}

template <class P, auto Op>
void exec_fsqrt(Hart& h, const DecodedInsn& d) {
  static_assert(kOpFits<Op, UnaryOp, P>);
  unsigned rm;
  if (!h.fp_check_rm(d, rm)) return;
  P::write(h, d.rd, Op(P::read(h, d.rs1), rm, h.fflags));
  h.fp_dirty();
  h.pc += d.len;
}

// ---- Sign injection, min/max (no rounding mode: funct3 selects the operation) ----

template <class P, auto Op>
void exec_sign_inject(Hart& h, const DecodedInsn& d) {
  static_assert(kOpFits<Op, SignInjectOp, P>);
  if (!h.fp_check(d)) return;
  P::write(h, d.rd, Op(P::read(h, d.rs1), P::read(h, d.rs2)));
  h.fp_dirty();
  h.pc += d.len;
}

template <class P, auto Op>
void exec_min_max(Hart& h, const DecodedInsn& d) {
  static_assert(kOpFits<Op, MinMaxOp, P>);
  if (!h.fp_check(d)) return;
  P::write(h, d.rd, Op(P::read(h, d.rs1), P::read(h, d.rs2), h.fflags));
  h.fp_dirty();
  h.pc += d.len;
}

// ---- Results in an integer register ----

template <class P, auto Op>
void exec_compare(Hart& h, const DecodedInsn& d) {
  static_assert(kOpFits<Op, CompareOp, P>);
  if (!h.fp_check(d)) return;
  h.x[d.rd] = Op(P::read(h, d.rs1), P::read(h, d.rs2), h.fflags);
  h.fp_dirty();  // fflags may have changed
  h.pc += d.len;
}

template <class P, auto Op>
void exec_fclass(Hart& h, const DecodedInsn& d) {
  static_assert(kOpFits<Op, ClassOp, P>);
  if (!h.fp_check(d)) return;
  h.x[d.rd] = Op(P::read(h, d.rs1));
  h.pc += d.len;
}

template <class P, auto Op>
void exec_to_integer(Hart& h, const DecodedInsn& d) {
  static_assert(kOpFits<Op, ToIntegerOp, P>);
  unsigned rm;
  if (!h.fp_check_rm(d, rm)) return;
  h.x[d.rd] = Op(P::read(h, d.rs1), rm, h.fflags);
  h.fp_dirty();
  h.pc += d.len;
}

// ---- From an integer register ----

// fcvt.[sd].w and fcvt.[sd].wu may be exact, but like every instruction with an rm field they
// still reject a reserved rounding mode.
template <class P, auto Op>
void exec_from_integer(Hart& h, const DecodedInsn& d) {
  static_assert(kOpFits<Op, FromIntegerOp, P>);
  unsigned rm;
  if (!h.fp_check_rm(d, rm)) return;
  P::write(h, d.rd, Op(h.x[d.rs1], rm, h.fflags));
  h.fp_dirty();
  h.pc += d.len;
}

// fmv.w.x / fmv.d.x: the low bits of x[rs1], unchanged (a single is written boxed).
template <class P>
void exec_fmv_from_x(Hart& h, const DecodedInsn& d) {
  if (!h.fp_check(d)) return;
  P::write(h, d.rd, static_cast<typename P::Bits>(h.x[d.rs1]));
  h.fp_dirty();
  h.pc += d.len;
}

// ---- The table ----

}  // namespace vireo::riscv::fp_exec
