// The F/D operations as uniform rows (encoding, operand kinds, the fpu function), shared by the
// table-driven tests and the differential test against Unicorn.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cpu/riscv/fpu.hpp"
#include "fp_encode.hpp"
#include "unicorn_oracle.hpp"

namespace vireo::riscv::fp_test {

namespace fpu = vireo::riscv::fpu;

enum class Reg : uint8_t { kS, kD, kX };

// One instruction under test: its encoding (rm field clear), operand and result kinds, and
// the fpu function that must agree with the oracle. Operands arrive as the 32-bit single, the
// 64-bit double or the 64-bit integer register.
struct OpCase {
  const char* name;
  uint32_t insn;
  bool has_rm;
  Reg src;
  int sources;
  Reg dst;
  uint64_t (*fn)(uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint32_t& flags);
};

// Register numbers follow the oracle's convention.
inline constexpr unsigned F1 = UnicornOracle::kFrs1, F2 = UnicornOracle::kFrs2,
                          F3 = UnicornOracle::kFrs3, FD = UnicornOracle::kFrd;
inline constexpr unsigned X1 = UnicornOracle::kXrs1, XD = UnicornOracle::kXrd;

using u32 = uint32_t;
using u64 = uint64_t;

inline const std::vector<OpCase>& all_cases() {
  static const std::vector<OpCase> cases = {
      // ---- single ----
      {"fadd.s", op_fp(0x00, FD, F1, F2, 0), true, Reg::kS, 2, Reg::kS,
       [](u64 a, u64 b, u64, unsigned rm, u32& f) -> u64 { return fpu::add_s(a, b, rm, f); }},
      {"fsub.s", op_fp(0x04, FD, F1, F2, 0), true, Reg::kS, 2, Reg::kS,
       [](u64 a, u64 b, u64, unsigned rm, u32& f) -> u64 { return fpu::sub_s(a, b, rm, f); }},
      {"fmul.s", op_fp(0x08, FD, F1, F2, 0), true, Reg::kS, 2, Reg::kS,
       [](u64 a, u64 b, u64, unsigned rm, u32& f) -> u64 { return fpu::mul_s(a, b, rm, f); }},
      {"fdiv.s", op_fp(0x0c, FD, F1, F2, 0), true, Reg::kS, 2, Reg::kS,
       [](u64 a, u64 b, u64, unsigned rm, u32& f) -> u64 { return fpu::div_s(a, b, rm, f); }},
      {"fsqrt.s", op_fp(0x2c, FD, F1, 0, 0), true, Reg::kS, 1, Reg::kS,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::sqrt_s(a, rm, f); }},
      {"fmadd.s", r4(0x43, 0, FD, F1, F2, F3, 0), true, Reg::kS, 3, Reg::kS,
       [](u64 a, u64 b, u64 c, unsigned rm, u32& f) -> u64 { return fpu::madd_s(a, b, c, rm, f); }},
      {"fmsub.s", r4(0x47, 0, FD, F1, F2, F3, 0), true, Reg::kS, 3, Reg::kS,
       [](u64 a, u64 b, u64 c, unsigned rm, u32& f) -> u64 { return fpu::msub_s(a, b, c, rm, f); }},
      {"fnmsub.s", r4(0x4b, 0, FD, F1, F2, F3, 0), true, Reg::kS, 3, Reg::kS,
       [](u64 a, u64 b, u64 c, unsigned rm, u32& f) -> u64 {
         return fpu::nmsub_s(a, b, c, rm, f);
       }},
      {"fnmadd.s", r4(0x4f, 0, FD, F1, F2, F3, 0), true, Reg::kS, 3, Reg::kS,
       [](u64 a, u64 b, u64 c, unsigned rm, u32& f) -> u64 {
         return fpu::nmadd_s(a, b, c, rm, f);
       }},
      {"fmin.s", op_fp(0x14, FD, F1, F2, 0), false, Reg::kS, 2, Reg::kS,
       [](u64 a, u64 b, u64, unsigned, u32& f) -> u64 { return fpu::min_s(a, b, f); }},
      {"fmax.s", op_fp(0x14, FD, F1, F2, 1), false, Reg::kS, 2, Reg::kS,
       [](u64 a, u64 b, u64, unsigned, u32& f) -> u64 { return fpu::max_s(a, b, f); }},
      {"feq.s", op_fp(0x50, XD, F1, F2, 2), false, Reg::kS, 2, Reg::kX,
       [](u64 a, u64 b, u64, unsigned, u32& f) -> u64 { return fpu::eq_s(a, b, f); }},
      {"flt.s", op_fp(0x50, XD, F1, F2, 1), false, Reg::kS, 2, Reg::kX,
       [](u64 a, u64 b, u64, unsigned, u32& f) -> u64 { return fpu::lt_s(a, b, f); }},
      {"fle.s", op_fp(0x50, XD, F1, F2, 0), false, Reg::kS, 2, Reg::kX,
       [](u64 a, u64 b, u64, unsigned, u32& f) -> u64 { return fpu::le_s(a, b, f); }},
      {"fclass.s", op_fp(0x70, XD, F1, 0, 1), false, Reg::kS, 1, Reg::kX,
       [](u64 a, u64, u64, unsigned, u32&) -> u64 { return fpu::class_s(a); }},
      {"fcvt.w.s", op_fp(0x60, XD, F1, 0, 0), true, Reg::kS, 1, Reg::kX,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_w_s(a, rm, f); }},
      {"fcvt.wu.s", op_fp(0x60, XD, F1, 1, 0), true, Reg::kS, 1, Reg::kX,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_wu_s(a, rm, f); }},
      {"fcvt.l.s", op_fp(0x60, XD, F1, 2, 0), true, Reg::kS, 1, Reg::kX,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_l_s(a, rm, f); }},
      {"fcvt.lu.s", op_fp(0x60, XD, F1, 3, 0), true, Reg::kS, 1, Reg::kX,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_lu_s(a, rm, f); }},
      {"fcvt.s.w", op_fp(0x68, FD, X1, 0, 0), true, Reg::kX, 1, Reg::kS,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_s_w(a, rm, f); }},
      {"fcvt.s.wu", op_fp(0x68, FD, X1, 1, 0), true, Reg::kX, 1, Reg::kS,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_s_wu(a, rm, f); }},
      {"fcvt.s.l", op_fp(0x68, FD, X1, 2, 0), true, Reg::kX, 1, Reg::kS,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_s_l(a, rm, f); }},
      {"fcvt.s.lu", op_fp(0x68, FD, X1, 3, 0), true, Reg::kX, 1, Reg::kS,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_s_lu(a, rm, f); }},
      // ---- double ----
      {"fadd.d", op_fp(0x01, FD, F1, F2, 0), true, Reg::kD, 2, Reg::kD,
       [](u64 a, u64 b, u64, unsigned rm, u32& f) -> u64 { return fpu::add_d(a, b, rm, f); }},
      {"fsub.d", op_fp(0x05, FD, F1, F2, 0), true, Reg::kD, 2, Reg::kD,
       [](u64 a, u64 b, u64, unsigned rm, u32& f) -> u64 { return fpu::sub_d(a, b, rm, f); }},
      {"fmul.d", op_fp(0x09, FD, F1, F2, 0), true, Reg::kD, 2, Reg::kD,
       [](u64 a, u64 b, u64, unsigned rm, u32& f) -> u64 { return fpu::mul_d(a, b, rm, f); }},
      {"fdiv.d", op_fp(0x0d, FD, F1, F2, 0), true, Reg::kD, 2, Reg::kD,
       [](u64 a, u64 b, u64, unsigned rm, u32& f) -> u64 { return fpu::div_d(a, b, rm, f); }},
      {"fsqrt.d", op_fp(0x2d, FD, F1, 0, 0), true, Reg::kD, 1, Reg::kD,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::sqrt_d(a, rm, f); }},
      {"fmadd.d", r4(0x43, 1, FD, F1, F2, F3, 0), true, Reg::kD, 3, Reg::kD,
       [](u64 a, u64 b, u64 c, unsigned rm, u32& f) -> u64 { return fpu::madd_d(a, b, c, rm, f); }},
      {"fmsub.d", r4(0x47, 1, FD, F1, F2, F3, 0), true, Reg::kD, 3, Reg::kD,
       [](u64 a, u64 b, u64 c, unsigned rm, u32& f) -> u64 { return fpu::msub_d(a, b, c, rm, f); }},
      {"fnmsub.d", r4(0x4b, 1, FD, F1, F2, F3, 0), true, Reg::kD, 3, Reg::kD,
       [](u64 a, u64 b, u64 c, unsigned rm, u32& f) -> u64 {
         return fpu::nmsub_d(a, b, c, rm, f);
       }},
      {"fnmadd.d", r4(0x4f, 1, FD, F1, F2, F3, 0), true, Reg::kD, 3, Reg::kD,
       [](u64 a, u64 b, u64 c, unsigned rm, u32& f) -> u64 {
         return fpu::nmadd_d(a, b, c, rm, f);
       }},
      {"fmin.d", op_fp(0x15, FD, F1, F2, 0), false, Reg::kD, 2, Reg::kD,
       [](u64 a, u64 b, u64, unsigned, u32& f) -> u64 { return fpu::min_d(a, b, f); }},
      {"fmax.d", op_fp(0x15, FD, F1, F2, 1), false, Reg::kD, 2, Reg::kD,
       [](u64 a, u64 b, u64, unsigned, u32& f) -> u64 { return fpu::max_d(a, b, f); }},
      {"feq.d", op_fp(0x51, XD, F1, F2, 2), false, Reg::kD, 2, Reg::kX,
       [](u64 a, u64 b, u64, unsigned, u32& f) -> u64 { return fpu::eq_d(a, b, f); }},
      {"flt.d", op_fp(0x51, XD, F1, F2, 1), false, Reg::kD, 2, Reg::kX,
       [](u64 a, u64 b, u64, unsigned, u32& f) -> u64 { return fpu::lt_d(a, b, f); }},
      {"fle.d", op_fp(0x51, XD, F1, F2, 0), false, Reg::kD, 2, Reg::kX,
       [](u64 a, u64 b, u64, unsigned, u32& f) -> u64 { return fpu::le_d(a, b, f); }},
      {"fclass.d", op_fp(0x71, XD, F1, 0, 1), false, Reg::kD, 1, Reg::kX,
       [](u64 a, u64, u64, unsigned, u32&) -> u64 { return fpu::class_d(a); }},
      {"fcvt.w.d", op_fp(0x61, XD, F1, 0, 0), true, Reg::kD, 1, Reg::kX,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_w_d(a, rm, f); }},
      {"fcvt.wu.d", op_fp(0x61, XD, F1, 1, 0), true, Reg::kD, 1, Reg::kX,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_wu_d(a, rm, f); }},
      {"fcvt.l.d", op_fp(0x61, XD, F1, 2, 0), true, Reg::kD, 1, Reg::kX,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_l_d(a, rm, f); }},
      {"fcvt.lu.d", op_fp(0x61, XD, F1, 3, 0), true, Reg::kD, 1, Reg::kX,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_lu_d(a, rm, f); }},
      {"fcvt.d.w", op_fp(0x69, FD, X1, 0, 0), true, Reg::kX, 1, Reg::kD,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_d_w(a, rm, f); }},
      {"fcvt.d.wu", op_fp(0x69, FD, X1, 1, 0), true, Reg::kX, 1, Reg::kD,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_d_wu(a, rm, f); }},
      {"fcvt.d.l", op_fp(0x69, FD, X1, 2, 0), true, Reg::kX, 1, Reg::kD,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_d_l(a, rm, f); }},
      {"fcvt.d.lu", op_fp(0x69, FD, X1, 3, 0), true, Reg::kX, 1, Reg::kD,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_d_lu(a, rm, f); }},
      // ---- between formats ----
      {"fcvt.s.d", op_fp(0x20, FD, F1, 1, 0), true, Reg::kD, 1, Reg::kS,
       [](u64 a, u64, u64, unsigned rm, u32& f) -> u64 { return fpu::cvt_s_d(a, rm, f); }},
      {"fcvt.d.s", op_fp(0x21, FD, F1, 0, 0), true, Reg::kS, 1, Reg::kD,
       [](u64 a, u64, u64, unsigned, u32& f) -> u64 { return fpu::cvt_d_s(a, f); }},
  };
  return cases;
}

inline bool is_snan_s(u64 x) { return (x & 0x7fc00000) == 0x7f800000 && (x & 0x003fffff); }
inline bool is_snan_d(u64 x) {
  return (x & 0x7ff8000000000000) == 0x7ff0000000000000 && (x & 0x0007ffffffffffff);
}
inline bool is_inf_times_zero(Reg r, u64 a, u64 b) {
  u64 inf = r == Reg::kS ? 0x7f800000 : 0x7ff0000000000000;
  u64 mag_mask = r == Reg::kS ? 0x7fffffff : 0x7fffffffffffffff;
  u64 ma = a & mag_mask, mb = b & mag_mask;
  return (ma == inf && mb == 0) || (ma == 0 && mb == inf);
}

// Adjusts the oracle's answer where QEMU 5.0 predates the spec (F/D 2.2):
//  - fmin/fmax with a signaling NaN input returned the canonical NaN; 2.2 returns the other
//    operand (when it is not a NaN), still raising NV;
//  - fused multiply-add with inf*0 and a quiet-NaN addend did not raise NV; the spec requires it.
// Both adjusted answers are what qemu-system-riscv64 7.2 (which implements 2.2) gives.
inline void known_qemu_difference(const OpCase& op, u64 a, u64 b, u64& want, u32& want_flags) {
  std::string name = op.name;
  if (name.starts_with("fmin") || name.starts_with("fmax")) {
    bool single = op.src == Reg::kS;
    auto snan = single ? is_snan_s : is_snan_d;
    auto nan = [&](u64 x) {
      return single ? (x & 0x7fffffff) > 0x7f800000 : (x & ~(1ull << 63)) > 0x7ff0000000000000;
    };
    if (snan(a) && !nan(b)) want = b;
    if (snan(b) && !nan(a)) want = a;
  }
  if (op.sources == 3 && is_inf_times_zero(op.src, a, b)) want_flags |= fpu::kNV;
}

inline const OpCase& find_case(std::string_view name) {
  for (const OpCase& c : all_cases())
    if (name == c.name) return c;
  __builtin_trap();  // a typo in a test table
}

inline void PrintTo(const OpCase& op, std::ostream* os) { *os << op.name; }

}  // namespace vireo::riscv::fp_test
