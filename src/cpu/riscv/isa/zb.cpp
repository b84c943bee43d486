// Bit-manipulation extensions Zba (address generation), Zbb (basic bit
// manipulation) and Zbs (single-bit instructions), RV64 encodings.
#include <bit>

#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"

namespace vireo::riscv {

namespace {

using i64 = int64_t;
using u64 = uint64_t;
using u32 = uint32_t;

inline u64 sext32(u64 v) { return static_cast<u64>(static_cast<i64>(static_cast<int32_t>(v))); }
inline u64 zext32(u64 v) { return static_cast<u32>(v); }

template <u64 (*Op)(u64, u64)>
void exec_reg(Hart& h, const DecodedInsn& d) {
  h.x[d.rd] = Op(h.x[d.rs1], h.x[d.rs2]);
  h.pc += d.len;
}
template <u64 (*Op)(u64, u64)>
void exec_imm(Hart& h, const DecodedInsn& d) {
  h.x[d.rd] = Op(h.x[d.rs1], static_cast<u64>(d.imm));
  h.pc += d.len;
}
template <u64 (*Op)(u64)>
void exec_unary(Hart& h, const DecodedInsn& d) {
  h.x[d.rd] = Op(h.x[d.rs1]);
  h.pc += d.len;
}

// ---- Zba ----
u64 op_add_uw(u64 a, u64 b) { return zext32(a) + b; }
template <unsigned kShift>
u64 op_shadd(u64 a, u64 b) {
  return (a << kShift) + b;
}
template <unsigned kShift>
u64 op_shadd_uw(u64 a, u64 b) {
  return (zext32(a) << kShift) + b;
}
u64 op_slli_uw(u64 a, u64 shamt) { return zext32(a) << (shamt & 63); }

// ---- Zbb ----
u64 op_andn(u64 a, u64 b) { return a & ~b; }
u64 op_orn(u64 a, u64 b) { return a | ~b; }
u64 op_xnor(u64 a, u64 b) { return ~(a ^ b); }
u64 op_max(u64 a, u64 b) { return static_cast<i64>(a) > static_cast<i64>(b) ? a : b; }
u64 op_maxu(u64 a, u64 b) { return a > b ? a : b; }
u64 op_min(u64 a, u64 b) { return static_cast<i64>(a) < static_cast<i64>(b) ? a : b; }
u64 op_minu(u64 a, u64 b) { return a < b ? a : b; }
u64 op_rol(u64 a, u64 b) { return std::rotl(a, static_cast<int>(b & 63)); }
u64 op_ror(u64 a, u64 b) { return std::rotr(a, static_cast<int>(b & 63)); }
u64 op_rolw(u64 a, u64 b) {
  return sext32(std::rotl(static_cast<u32>(a), static_cast<int>(b & 31)));
}
u64 op_rorw(u64 a, u64 b) {
  return sext32(std::rotr(static_cast<u32>(a), static_cast<int>(b & 31)));
}

// std::countl_zero and friends are defined for 0 (they return the width),
// which is exactly what the ISA asks for.
u64 op_clz(u64 a) { return std::countl_zero(a); }
u64 op_ctz(u64 a) { return std::countr_zero(a); }
u64 op_cpop(u64 a) { return std::popcount(a); }
u64 op_clzw(u64 a) { return std::countl_zero(static_cast<u32>(a)); }
u64 op_ctzw(u64 a) { return std::countr_zero(static_cast<u32>(a)); }
u64 op_cpopw(u64 a) { return std::popcount(static_cast<u32>(a)); }
u64 op_sext_b(u64 a) { return static_cast<u64>(static_cast<i64>(static_cast<int8_t>(a))); }
u64 op_sext_h(u64 a) { return static_cast<u64>(static_cast<i64>(static_cast<int16_t>(a))); }
u64 op_zext_h(u64 a) { return static_cast<uint16_t>(a); }
u64 op_rev8(u64 a) { return __builtin_bswap64(a); }
// Each byte becomes 0xff when any of its bits is set, else 0x00.
u64 op_orc_b(u64 a) {
  constexpr u64 kLow7 = 0x7f7f7f7f7f7f7f7full;
  const u64 nonzero = (((a & kLow7) + kLow7) | a) & ~kLow7;  // bit 7 of each non-zero byte
  return (nonzero >> 7) * 0xff;
}

// ---- Zbs ----
u64 op_bclr(u64 a, u64 b) { return a & ~(u64{1} << (b & 63)); }
u64 op_bext(u64 a, u64 b) { return (a >> (b & 63)) & 1; }
u64 op_binv(u64 a, u64 b) { return a ^ (u64{1} << (b & 63)); }
u64 op_bset(u64 a, u64 b) { return a | (u64{1} << (b & 63)); }

constexpr uint32_t kFunct6Mask = 0xfc00707f;
constexpr uint32_t kFunct7Mask = 0xfe00707f;
constexpr uint32_t kFunct12Mask = 0xfff0707f;  // funct7 and the rs2 field fixed

constexpr OpcodeDef kOpcodes[] = {
    // Zba
    {"add.uw", kFunct7Mask, 0x0800003b, Format::kR, exec_reg<op_add_uw>, "rd,rs1,rs2"},
    {"sh1add", kFunct7Mask, 0x20002033, Format::kR, exec_reg<op_shadd<1>>, "rd,rs1,rs2"},
    {"sh2add", kFunct7Mask, 0x20004033, Format::kR, exec_reg<op_shadd<2>>, "rd,rs1,rs2"},
    {"sh3add", kFunct7Mask, 0x20006033, Format::kR, exec_reg<op_shadd<3>>, "rd,rs1,rs2"},
    {"sh1add.uw", kFunct7Mask, 0x2000203b, Format::kR, exec_reg<op_shadd_uw<1>>, "rd,rs1,rs2"},
    {"sh2add.uw", kFunct7Mask, 0x2000403b, Format::kR, exec_reg<op_shadd_uw<2>>, "rd,rs1,rs2"},
    {"sh3add.uw", kFunct7Mask, 0x2000603b, Format::kR, exec_reg<op_shadd_uw<3>>, "rd,rs1,rs2"},
    {"slli.uw", kFunct6Mask, 0x0800101b, Format::kShift, exec_imm<op_slli_uw>, "rd,rs1,imm"},

    // Zbb
    {"andn", kFunct7Mask, 0x40007033, Format::kR, exec_reg<op_andn>, "rd,rs1,rs2"},
    {"orn", kFunct7Mask, 0x40006033, Format::kR, exec_reg<op_orn>, "rd,rs1,rs2"},
    {"xnor", kFunct7Mask, 0x40004033, Format::kR, exec_reg<op_xnor>, "rd,rs1,rs2"},
    {"clz", kFunct12Mask, 0x60001013, Format::kR, exec_unary<op_clz>, "rd,rs1"},
    {"ctz", kFunct12Mask, 0x60101013, Format::kR, exec_unary<op_ctz>, "rd,rs1"},
    {"cpop", kFunct12Mask, 0x60201013, Format::kR, exec_unary<op_cpop>, "rd,rs1"},
    {"clzw", kFunct12Mask, 0x6000101b, Format::kR, exec_unary<op_clzw>, "rd,rs1"},
    {"ctzw", kFunct12Mask, 0x6010101b, Format::kR, exec_unary<op_ctzw>, "rd,rs1"},
    {"cpopw", kFunct12Mask, 0x6020101b, Format::kR, exec_unary<op_cpopw>, "rd,rs1"},
    {"max", kFunct7Mask, 0x0a006033, Format::kR, exec_reg<op_max>, "rd,rs1,rs2"},
    {"maxu", kFunct7Mask, 0x0a007033, Format::kR, exec_reg<op_maxu>, "rd,rs1,rs2"},
    {"min", kFunct7Mask, 0x0a004033, Format::kR, exec_reg<op_min>, "rd,rs1,rs2"},
    {"minu", kFunct7Mask, 0x0a005033, Format::kR, exec_reg<op_minu>, "rd,rs1,rs2"},
    {"sext.b", kFunct12Mask, 0x60401013, Format::kR, exec_unary<op_sext_b>, "rd,rs1"},
    {"sext.h", kFunct12Mask, 0x60501013, Format::kR, exec_unary<op_sext_h>, "rd,rs1"},
    {"zext.h", kFunct12Mask, 0x0800403b, Format::kR, exec_unary<op_zext_h>, "rd,rs1"},
    {"rol", kFunct7Mask, 0x60001033, Format::kR, exec_reg<op_rol>, "rd,rs1,rs2"},
    {"rolw", kFunct7Mask, 0x6000103b, Format::kR, exec_reg<op_rolw>, "rd,rs1,rs2"},
    {"ror", kFunct7Mask, 0x60005033, Format::kR, exec_reg<op_ror>, "rd,rs1,rs2"},
    {"rorw", kFunct7Mask, 0x6000503b, Format::kR, exec_reg<op_rorw>, "rd,rs1,rs2"},
    {"rori", kFunct6Mask, 0x60005013, Format::kShift, exec_imm<op_ror>, "rd,rs1,imm"},
    {"roriw", kFunct7Mask, 0x6000501b, Format::kShiftW, exec_imm<op_rorw>, "rd,rs1,imm"},
    {"orc.b", kFunct12Mask, 0x28705013, Format::kR, exec_unary<op_orc_b>, "rd,rs1"},
    {"rev8", kFunct12Mask, 0x6b805013, Format::kR, exec_unary<op_rev8>, "rd,rs1"},

    // Zbs
    {"bclr", kFunct7Mask, 0x48001033, Format::kR, exec_reg<op_bclr>, "rd,rs1,rs2"},
    {"bext", kFunct7Mask, 0x48005033, Format::kR, exec_reg<op_bext>, "rd,rs1,rs2"},
    {"binv", kFunct7Mask, 0x68001033, Format::kR, exec_reg<op_binv>, "rd,rs1,rs2"},
    {"bset", kFunct7Mask, 0x28001033, Format::kR, exec_reg<op_bset>, "rd,rs1,rs2"},
    {"bclri", kFunct6Mask, 0x48001013, Format::kShift, exec_imm<op_bclr>, "rd,rs1,imm"},
    {"bexti", kFunct6Mask, 0x48005013, Format::kShift, exec_imm<op_bext>, "rd,rs1,imm"},
    {"binvi", kFunct6Mask, 0x68001013, Format::kShift, exec_imm<op_binv>, "rd,rs1,imm"},
    {"bseti", kFunct6Mask, 0x28001013, Format::kShift, exec_imm<op_bset>, "rd,rs1,imm"},
};

}  // namespace

std::span<const OpcodeDef> opcodes_zb() { return kOpcodes; }

}  // namespace vireo::riscv
