// RV64F: single-precision floating point. The arithmetic lives in fpu.cpp (pure functions on bit
// patterns); the handlers, shared with RV64D in fp_exec.hpp, move operands between the register
// files, apply NaN-boxing (a single read from f[i] is the canonical NaN unless bits 63:32 are all
// ones; singles are written boxed), resolve the rounding mode and accrue fflags.
#include "cpu/riscv/fpu.hpp"
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"
#include "cpu/riscv/isa/fp_exec.hpp"

namespace vireo::riscv {

namespace {

using namespace fp_exec;
using P = SinglePrecision;

// fmv.x.w copies the raw low 32 bits (a non-boxed value too), sign-extended.
void exec_fmv_x_w(Hart& h, const DecodedInsn& d) {
  if (!h.fp_check(d)) return;
  h.x[d.rd] = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(h.f[d.rs1])));
  h.pc += d.len;
}

constexpr OpcodeDef kOpcodes[] = {
    {"flw", kFunct3Mask, 0x00002007, Format::kI, exec_load<P>, "frd,off(rs1)"},
    {"fsw", kFunct3Mask, 0x00002027, Format::kS, exec_store<P>, "frs2,off(rs1)"},

    {"fmadd.s", kR4Mask, 0x00000043, Format::kR4, exec_fused<P, fpu::madd_s>,
     "frd,frs1,frs2,frs3,rm"},
    {"fmsub.s", kR4Mask, 0x00000047, Format::kR4, exec_fused<P, fpu::msub_s>,
     "frd,frs1,frs2,frs3,rm"},
    {"fnmsub.s", kR4Mask, 0x0000004b, Format::kR4, exec_fused<P, fpu::nmsub_s>,
     "frd,frs1,frs2,frs3,rm"},
    {"fnmadd.s", kR4Mask, 0x0000004f, Format::kR4, exec_fused<P, fpu::nmadd_s>,
     "frd,frs1,frs2,frs3,rm"},

    {"fadd.s", kRmMask, 0x00000053, Format::kR, exec_binary<P, fpu::add_s>, "frd,frs1,frs2,rm"},
    {"fsub.s", kRmMask, 0x08000053, Format::kR, exec_binary<P, fpu::sub_s>, "frd,frs1,frs2,rm"},
    {"fmul.s", kRmMask, 0x10000053, Format::kR, exec_binary<P, fpu::mul_s>, "frd,frs1,frs2,rm"},
    {"fdiv.s", kRmMask, 0x18000053, Format::kR, exec_binary<P, fpu::div_s>, "frd,frs1,frs2,rm"},
    {"fsqrt.s", kRs2RmMask, 0x58000053, Format::kR, exec_fsqrt<P, fpu::sqrt_s>, "frd,frs1,rm"},

    {"fsgnj.s", kFunct7Mask, 0x20000053, Format::kR, exec_sign_inject<P, fpu::sgnj_s>,
     "frd,frs1,frs2"},
    {"fsgnjn.s", kFunct7Mask, 0x20001053, Format::kR, exec_sign_inject<P, fpu::sgnjn_s>,
     "frd,frs1,frs2"},
    {"fsgnjx.s", kFunct7Mask, 0x20002053, Format::kR, exec_sign_inject<P, fpu::sgnjx_s>,
     "frd,frs1,frs2"},
    {"fmin.s", kFunct7Mask, 0x28000053, Format::kR, exec_min_max<P, fpu::min_s>, "frd,frs1,frs2"},
    {"fmax.s", kFunct7Mask, 0x28001053, Format::kR, exec_min_max<P, fpu::max_s>, "frd,frs1,frs2"},

    {"fcvt.w.s", kRs2RmMask, 0xc0000053, Format::kR, exec_to_integer<P, fpu::cvt_w_s>,
     "rd,frs1,rm"},
    {"fcvt.wu.s", kRs2RmMask, 0xc0100053, Format::kR, exec_to_integer<P, fpu::cvt_wu_s>,
     "rd,frs1,rm"},
    {"fcvt.l.s", kRs2RmMask, 0xc0200053, Format::kR, exec_to_integer<P, fpu::cvt_l_s>,
     "rd,frs1,rm"},
    {"fcvt.lu.s", kRs2RmMask, 0xc0300053, Format::kR, exec_to_integer<P, fpu::cvt_lu_s>,
     "rd,frs1,rm"},
    {"fmv.x.w", kRs2Mask, 0xe0000053, Format::kR, exec_fmv_x_w, "rd,frs1"},
    {"fclass.s", kRs2Mask, 0xe0001053, Format::kR, exec_fclass<P, fpu::class_s>, "rd,frs1"},
    {"feq.s", kFunct7Mask, 0xa0002053, Format::kR, exec_compare<P, fpu::eq_s>, "rd,frs1,frs2"},
    {"flt.s", kFunct7Mask, 0xa0001053, Format::kR, exec_compare<P, fpu::lt_s>, "rd,frs1,frs2"},
    {"fle.s", kFunct7Mask, 0xa0000053, Format::kR, exec_compare<P, fpu::le_s>, "rd,frs1,frs2"},

    {"fcvt.s.w", kRs2RmMask, 0xd0000053, Format::kR, exec_from_integer<P, fpu::cvt_s_w>,
     "frd,rs1,rm"},
    {"fcvt.s.wu", kRs2RmMask, 0xd0100053, Format::kR, exec_from_integer<P, fpu::cvt_s_wu>,
     "frd,rs1,rm"},
    {"fcvt.s.l", kRs2RmMask, 0xd0200053, Format::kR, exec_from_integer<P, fpu::cvt_s_l>,
     "frd,rs1,rm"},
    {"fcvt.s.lu", kRs2RmMask, 0xd0300053, Format::kR, exec_from_integer<P, fpu::cvt_s_lu>,
     "frd,rs1,rm"},
    {"fmv.w.x", kRs2Mask, 0xf0000053, Format::kR, exec_fmv_from_x<P>, "frd,rs1"},
};

}  // namespace

std::span<const OpcodeDef> opcodes_rv64f() { return kOpcodes; }

}  // namespace vireo::riscv
