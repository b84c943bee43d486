// RV64F: single-precision floating point. The arithmetic lives in fpu.cpp (pure functions on bit
// patterns); these handlers move operands between the register files, apply NaN-boxing (a
// single read from f[i] is the canonical NaN unless bits 63:32 are all ones; singles are written
// boxed), resolve the rounding mode and accrue fflags.
#include "cpu/riscv/fpu.hpp"
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"

namespace vireo::riscv {

namespace {

static_assert(fpu::kNX == fflag::kNX && fpu::kUF == fflag::kUF && fpu::kOF == fflag::kOF &&
              fpu::kDZ == fflag::kDZ && fpu::kNV == fflag::kNV);

using u32 = uint32_t;
using u64 = uint64_t;

u32 single(const Hart& h, unsigned reg) { return fpu::unbox_s(h.f[reg]); }
void set_single(Hart& h, unsigned reg, u32 value) { h.f[reg] = fpu::box_s(value); }

// ---- Loads and stores: bits move unchanged (no canonicalization, no boxing check) ----

void exec_flw(Hart& h, const DecodedInsn& d) {
  if (!h.fp_check(d)) return;
  u32 value;
  if (!h.load<u32>(h.x[d.rs1] + d.imm, value)) return;
  set_single(h, d.rd, value);
  h.fp_dirty();
  h.pc += d.len;
}

void exec_fsw(Hart& h, const DecodedInsn& d) {
  if (!h.fp_check(d)) return;
  if (!h.store<u32>(h.x[d.rs1] + d.imm, static_cast<u32>(h.f[d.rs2]))) return;
  h.pc += d.len;
}

// ---- Rounding arithmetic ----

template <u32 (*Op)(u32, u32, unsigned, u32&)>
void exec_binary(Hart& h, const DecodedInsn& d) {
  unsigned rm;
  if (!h.fp_check_rm(d, rm)) return;
  set_single(h, d.rd, Op(single(h, d.rs1), single(h, d.rs2), rm, h.fflags));
  h.fp_dirty();
  h.pc += d.len;
}

template <u32 (*Op)(u32, u32, u32, unsigned, u32&)>
void exec_fused(Hart& h, const DecodedInsn& d) {
  unsigned rm;
  if (!h.fp_check_rm(d, rm)) return;
  set_single(h, d.rd, Op(single(h, d.rs1), single(h, d.rs2), single(h, d.rs3), rm, h.fflags));
  h.fp_dirty();
  h.pc += d.len;
}

void exec_fsqrt(Hart& h, const DecodedInsn& d) {
  unsigned rm;
  if (!h.fp_check_rm(d, rm)) return;
  set_single(h, d.rd, fpu::sqrt_s(single(h, d.rs1), rm, h.fflags));
  h.fp_dirty();
  h.pc += d.len;
}

// ---- Sign injection, min/max (no rounding mode: funct3 selects the operation) ----

template <u32 (*Op)(u32, u32)>
void exec_sign_inject(Hart& h, const DecodedInsn& d) {
  if (!h.fp_check(d)) return;
  set_single(h, d.rd, Op(single(h, d.rs1), single(h, d.rs2)));
  h.fp_dirty();
  h.pc += d.len;
}

template <u32 (*Op)(u32, u32, u32&)>
void exec_min_max(Hart& h, const DecodedInsn& d) {
  if (!h.fp_check(d)) return;
  set_single(h, d.rd, Op(single(h, d.rs1), single(h, d.rs2), h.fflags));
  h.fp_dirty();
  h.pc += d.len;
}

// ---- Results in an integer register ----

template <u64 (*Op)(u32, u32, u32&)>
void exec_compare(Hart& h, const DecodedInsn& d) {
  if (!h.fp_check(d)) return;
  h.x[d.rd] = Op(single(h, d.rs1), single(h, d.rs2), h.fflags);
  h.fp_dirty();  // fflags may have changed
  h.pc += d.len;
}

void exec_fclass(Hart& h, const DecodedInsn& d) {
  if (!h.fp_check(d)) return;
  h.x[d.rd] = fpu::class_s(single(h, d.rs1));
  h.pc += d.len;
}

template <u64 (*Op)(u32, unsigned, u32&)>
void exec_to_integer(Hart& h, const DecodedInsn& d) {
  unsigned rm;
  if (!h.fp_check_rm(d, rm)) return;
  h.x[d.rd] = Op(single(h, d.rs1), rm, h.fflags);
  h.fp_dirty();
  h.pc += d.len;
}

template <u32 (*Op)(u64, unsigned, u32&)>
void exec_from_integer(Hart& h, const DecodedInsn& d) {
  unsigned rm;
  if (!h.fp_check_rm(d, rm)) return;
  set_single(h, d.rd, Op(h.x[d.rs1], rm, h.fflags));
  h.fp_dirty();
  h.pc += d.len;
}

// fmv.x.w copies the raw low 32 bits (a non-boxed value too), sign-extended.
void exec_fmv_x_w(Hart& h, const DecodedInsn& d) {
  if (!h.fp_check(d)) return;
  h.x[d.rd] = static_cast<u64>(static_cast<int64_t>(static_cast<int32_t>(h.f[d.rs1])));
  h.pc += d.len;
}

void exec_fmv_w_x(Hart& h, const DecodedInsn& d) {
  if (!h.fp_check(d)) return;
  set_single(h, d.rd, static_cast<u32>(h.x[d.rs1]));
  h.fp_dirty();
  h.pc += d.len;
}

constexpr uint32_t kFunct3Mask = 0x0000707f;  // opcode, funct3
constexpr uint32_t kR4Mask = 0x0600007f;      // opcode, fmt
constexpr uint32_t kRmMask = 0xfe00007f;      // opcode, funct7; funct3 is rm
constexpr uint32_t kRs2RmMask = 0xfff0007f;   // opcode, funct7, rs2; funct3 is rm
constexpr uint32_t kFunct7Mask = 0xfe00707f;  // opcode, funct7, funct3
constexpr uint32_t kRs2Mask = 0xfff0707f;     // opcode, funct7, rs2, funct3

constexpr OpcodeDef kOpcodes[] = {
    {"flw", kFunct3Mask, 0x00002007, Format::kI, exec_flw, "frd,off(rs1)"},
    {"fsw", kFunct3Mask, 0x00002027, Format::kS, exec_fsw, "frs2,off(rs1)"},

    {"fmadd.s", kR4Mask, 0x00000043, Format::kR4, exec_fused<fpu::madd_s>, "frd,frs1,frs2,frs3,rm"},
    {"fmsub.s", kR4Mask, 0x00000047, Format::kR4, exec_fused<fpu::msub_s>, "frd,frs1,frs2,frs3,rm"},
    {"fnmsub.s", kR4Mask, 0x0000004b, Format::kR4, exec_fused<fpu::nmsub_s>,
     "frd,frs1,frs2,frs3,rm"},
    {"fnmadd.s", kR4Mask, 0x0000004f, Format::kR4, exec_fused<fpu::nmadd_s>,
     "frd,frs1,frs2,frs3,rm"},

    {"fadd.s", kRmMask, 0x00000053, Format::kR, exec_binary<fpu::add_s>, "frd,frs1,frs2,rm"},
    {"fsub.s", kRmMask, 0x08000053, Format::kR, exec_binary<fpu::sub_s>, "frd,frs1,frs2,rm"},
    {"fmul.s", kRmMask, 0x10000053, Format::kR, exec_binary<fpu::mul_s>, "frd,frs1,frs2,rm"},
    {"fdiv.s", kRmMask, 0x18000053, Format::kR, exec_binary<fpu::div_s>, "frd,frs1,frs2,rm"},
    {"fsqrt.s", kRs2RmMask, 0x58000053, Format::kR, exec_fsqrt, "frd,frs1,rm"},

    {"fsgnj.s", kFunct7Mask, 0x20000053, Format::kR, exec_sign_inject<fpu::sgnj_s>,
     "frd,frs1,frs2"},
    {"fsgnjn.s", kFunct7Mask, 0x20001053, Format::kR, exec_sign_inject<fpu::sgnjn_s>,
     "frd,frs1,frs2"},
    {"fsgnjx.s", kFunct7Mask, 0x20002053, Format::kR, exec_sign_inject<fpu::sgnjx_s>,
     "frd,frs1,frs2"},
    {"fmin.s", kFunct7Mask, 0x28000053, Format::kR, exec_min_max<fpu::min_s>, "frd,frs1,frs2"},
    {"fmax.s", kFunct7Mask, 0x28001053, Format::kR, exec_min_max<fpu::max_s>, "frd,frs1,frs2"},

    {"fcvt.w.s", kRs2RmMask, 0xc0000053, Format::kR, exec_to_integer<fpu::cvt_w_s>, "rd,frs1,rm"},
    {"fcvt.wu.s", kRs2RmMask, 0xc0100053, Format::kR, exec_to_integer<fpu::cvt_wu_s>, "rd,frs1,rm"},
    {"fcvt.l.s", kRs2RmMask, 0xc0200053, Format::kR, exec_to_integer<fpu::cvt_l_s>, "rd,frs1,rm"},
    {"fcvt.lu.s", kRs2RmMask, 0xc0300053, Format::kR, exec_to_integer<fpu::cvt_lu_s>, "rd,frs1,rm"},
    {"fmv.x.w", kRs2Mask, 0xe0000053, Format::kR, exec_fmv_x_w, "rd,frs1"},
    {"fclass.s", kRs2Mask, 0xe0001053, Format::kR, exec_fclass, "rd,frs1"},
    {"feq.s", kFunct7Mask, 0xa0002053, Format::kR, exec_compare<fpu::eq_s>, "rd,frs1,frs2"},
    {"flt.s", kFunct7Mask, 0xa0001053, Format::kR, exec_compare<fpu::lt_s>, "rd,frs1,frs2"},
    {"fle.s", kFunct7Mask, 0xa0000053, Format::kR, exec_compare<fpu::le_s>, "rd,frs1,frs2"},

    {"fcvt.s.w", kRs2RmMask, 0xd0000053, Format::kR, exec_from_integer<fpu::cvt_s_w>, "frd,rs1,rm"},
    {"fcvt.s.wu", kRs2RmMask, 0xd0100053, Format::kR, exec_from_integer<fpu::cvt_s_wu>,
     "frd,rs1,rm"},
    {"fcvt.s.l", kRs2RmMask, 0xd0200053, Format::kR, exec_from_integer<fpu::cvt_s_l>, "frd,rs1,rm"},
    {"fcvt.s.lu", kRs2RmMask, 0xd0300053, Format::kR, exec_from_integer<fpu::cvt_s_lu>,
     "frd,rs1,rm"},
    {"fmv.w.x", kRs2Mask, 0xf0000053, Format::kR, exec_fmv_w_x, "frd,rs1"},
};

}  // namespace

std::span<const OpcodeDef> opcodes_rv64f() { return kOpcodes; }

}  // namespace vireo::riscv
