// RV64D: double-precision floating point, and the conversions between singles and doubles. The
// arithmetic lives in fpu.cpp; the handlers, shared with RV64F in fp_exec.hpp, move operands
// between the register files, resolve the rounding mode and accrue fflags. Doubles use all 64 bits
// of f[i]; the single operand of fcvt.d.s is unboxed and the single result of fcvt.s.d is written
// NaN-boxed.
#include "cpu/riscv/fpu.hpp"
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"
#include "cpu/riscv/isa/fp_exec.hpp"

namespace vireo::riscv {

namespace {

using namespace fp_exec;
using P = DoublePrecision;

void exec_fmv_x_d(Hart& h, const DecodedInsn& d) {
  if (!h.fp_check(d)) return;
  h.x[d.rd] = h.f[d.rs1];
  h.pc += d.len;
}

// ---- Between the formats ----

void exec_fcvt_s_d(Hart& h, const DecodedInsn& d) {
  unsigned rm;
  if (!h.fp_check_rm(d, rm)) return;
  SinglePrecision::write(h, d.rd, fpu::cvt_s_d(DoublePrecision::read(h, d.rs1), rm, h.fflags));
  h.fp_dirty();
  h.pc += d.len;
}

void exec_fcvt_d_s(Hart& h, const DecodedInsn& d) {
  unsigned rm;  // exact, but a reserved rm is still illegal
  if (!h.fp_check_rm(d, rm)) return;
  DoublePrecision::write(h, d.rd, fpu::cvt_d_s(SinglePrecision::read(h, d.rs1), h.fflags));
  h.fp_dirty();
  h.pc += d.len;
}

constexpr OpcodeDef kOpcodes[] = {
    {"fld", kFunct3Mask, 0x00003007, Format::kI, exec_load<P>, "frd,off(rs1)"},
    {"fsd", kFunct3Mask, 0x00003027, Format::kS, exec_store<P>, "frs2,off(rs1)"},

    {"fmadd.d", kR4Mask, 0x02000043, Format::kR4, exec_fused<P, fpu::madd_d>,
     "frd,frs1,frs2,frs3,rm"},
    {"fmsub.d", kR4Mask, 0x02000047, Format::kR4, exec_fused<P, fpu::msub_d>,
     "frd,frs1,frs2,frs3,rm"},
    {"fnmsub.d", kR4Mask, 0x0200004b, Format::kR4, exec_fused<P, fpu::nmsub_d>,
     "frd,frs1,frs2,frs3,rm"},
    {"fnmadd.d", kR4Mask, 0x0200004f, Format::kR4, exec_fused<P, fpu::nmadd_d>,
     "frd,frs1,frs2,frs3,rm"},

    {"fadd.d", kRmMask, 0x02000053, Format::kR, exec_binary<P, fpu::add_d>, "frd,frs1,frs2,rm"},
    {"fsub.d", kRmMask, 0x0a000053, Format::kR, exec_binary<P, fpu::sub_d>, "frd,frs1,frs2,rm"},
    {"fmul.d", kRmMask, 0x12000053, Format::kR, exec_binary<P, fpu::mul_d>, "frd,frs1,frs2,rm"},
    {"fdiv.d", kRmMask, 0x1a000053, Format::kR, exec_binary<P, fpu::div_d>, "frd,frs1,frs2,rm"},
    {"fsqrt.d", kRs2RmMask, 0x5a000053, Format::kR, exec_fsqrt<P, fpu::sqrt_d>, "frd,frs1,rm"},

    {"fsgnj.d", kFunct7Mask, 0x22000053, Format::kR, exec_sign_inject<P, fpu::sgnj_d>,
     "frd,frs1,frs2"},
    {"fsgnjn.d", kFunct7Mask, 0x22001053, Format::kR, exec_sign_inject<P, fpu::sgnjn_d>,
     "frd,frs1,frs2"},
    {"fsgnjx.d", kFunct7Mask, 0x22002053, Format::kR, exec_sign_inject<P, fpu::sgnjx_d>,
     "frd,frs1,frs2"},
    {"fmin.d", kFunct7Mask, 0x2a000053, Format::kR, exec_min_max<P, fpu::min_d>, "frd,frs1,frs2"},
    {"fmax.d", kFunct7Mask, 0x2a001053, Format::kR, exec_min_max<P, fpu::max_d>, "frd,frs1,frs2"},

    {"fcvt.s.d", kRs2RmMask, 0x40100053, Format::kR, exec_fcvt_s_d, "frd,frs1,rm"},
    {"fcvt.d.s", kRs2RmMask, 0x42000053, Format::kR, exec_fcvt_d_s, "frd,frs1,rm"},

    {"fcvt.w.d", kRs2RmMask, 0xc2000053, Format::kR, exec_to_integer<P, fpu::cvt_w_d>,
     "rd,frs1,rm"},
    {"fcvt.wu.d", kRs2RmMask, 0xc2100053, Format::kR, exec_to_integer<P, fpu::cvt_wu_d>,
     "rd,frs1,rm"},
    {"fcvt.l.d", kRs2RmMask, 0xc2200053, Format::kR, exec_to_integer<P, fpu::cvt_l_d>,
     "rd,frs1,rm"},
    {"fcvt.lu.d", kRs2RmMask, 0xc2300053, Format::kR, exec_to_integer<P, fpu::cvt_lu_d>,
     "rd,frs1,rm"},
    {"fmv.x.d", kRs2Mask, 0xe2000053, Format::kR, exec_fmv_x_d, "rd,frs1"},
    {"fclass.d", kRs2Mask, 0xe2001053, Format::kR, exec_fclass<P, fpu::class_d>, "rd,frs1"},
    {"feq.d", kFunct7Mask, 0xa2002053, Format::kR, exec_compare<P, fpu::eq_d>, "rd,frs1,frs2"},
    {"flt.d", kFunct7Mask, 0xa2001053, Format::kR, exec_compare<P, fpu::lt_d>, "rd,frs1,frs2"},
    {"fle.d", kFunct7Mask, 0xa2000053, Format::kR, exec_compare<P, fpu::le_d>, "rd,frs1,frs2"},

    {"fcvt.d.w", kRs2RmMask, 0xd2000053, Format::kR, exec_from_integer<P, fpu::cvt_d_w>,
     "frd,rs1,rm"},
    {"fcvt.d.wu", kRs2RmMask, 0xd2100053, Format::kR, exec_from_integer<P, fpu::cvt_d_wu>,
     "frd,rs1,rm"},
    {"fcvt.d.l", kRs2RmMask, 0xd2200053, Format::kR, exec_from_integer<P, fpu::cvt_d_l>,
     "frd,rs1,rm"},
    {"fcvt.d.lu", kRs2RmMask, 0xd2300053, Format::kR, exec_from_integer<P, fpu::cvt_d_lu>,
     "frd,rs1,rm"},
    {"fmv.d.x", kRs2Mask, 0xf2000053, Format::kR, exec_fmv_from_x<P>, "frd,rs1"},
};

}  // namespace

std::span<const OpcodeDef> opcodes_rv64d() { return kOpcodes; }

}  // namespace vireo::riscv
