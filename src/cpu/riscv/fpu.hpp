// The arithmetic core of the RISC-V F and D extensions: pure functions on IEEE-754 bit patterns,
// exact per IEEE-754-2008 and the RISC-V unprivileged spec (canonical NaNs, 2.2 fmin/fmax,
// saturating conversions, tininess after rounding). No hart needed: the interpreter tables
// (isa/rv64f.cpp, isa/rv64d.cpp) and a future JIT call these.
//
// Conventions: `rm` is an effective RISC-V rounding mode 0..4 (never 7: the caller resolves the
// dynamic mode); exception flags raised by an operation are ORed into `flags` (fflags bits).
// Implementation: the host SSE/FMA3 unit under MXCSR control for RNE/RTZ/RDN/RUP, exact software
// for RMM (no host equivalent) and whatever SSE does differently. The host MXCSR is left at its
// default (0x1f80: round to nearest, all exceptions masked) after every call.
#pragma once

#include <bit>
#include <cstdint>

namespace vireo::riscv::fpu {

// Rounding-mode encodings of the rm field and frm.
inline constexpr unsigned kRNE = 0, kRTZ = 1, kRDN = 2, kRUP = 3, kRMM = 4;

// fflags bits (the same values as vireo::riscv::fflag, kept here so this module stands alone).
inline constexpr uint32_t kNX = 1, kUF = 2, kOF = 4, kDZ = 8, kNV = 16;

inline constexpr uint32_t kCanonicalNaN32 = 0x7fc00000;
inline constexpr uint64_t kCanonicalNaN64 = 0x7ff8000000000000;

// NaN-boxing of singles in the 64-bit f registers: a single is valid only when bits 63:32 are
// all ones; otherwise it reads as the canonical NaN.
inline uint32_t unbox_s(uint64_t reg) {
  return (reg >> 32) == 0xffffffff ? static_cast<uint32_t>(reg) : kCanonicalNaN32;
}
inline uint64_t box_s(uint32_t value) { return 0xffffffff00000000ull | value; }

// ---- Single precision ----
uint32_t add_s(uint32_t a, uint32_t b, unsigned rm, uint32_t& flags);
uint32_t sub_s(uint32_t a, uint32_t b, unsigned rm, uint32_t& flags);
uint32_t mul_s(uint32_t a, uint32_t b, unsigned rm, uint32_t& flags);
uint32_t div_s(uint32_t a, uint32_t b, unsigned rm, uint32_t& flags);
uint32_t sqrt_s(uint32_t a, unsigned rm, uint32_t& flags);
// Fused, one rounding: madd = a*b+c, msub = a*b-c, nmsub = -(a*b)+c, nmadd = -(a*b)-c.
uint32_t madd_s(uint32_t a, uint32_t b, uint32_t c, unsigned rm, uint32_t& flags);
uint32_t msub_s(uint32_t a, uint32_t b, uint32_t c, unsigned rm, uint32_t& flags);
uint32_t nmsub_s(uint32_t a, uint32_t b, uint32_t c, unsigned rm, uint32_t& flags);
uint32_t nmadd_s(uint32_t a, uint32_t b, uint32_t c, unsigned rm, uint32_t& flags);
uint32_t min_s(uint32_t a, uint32_t b, uint32_t& flags);
uint32_t max_s(uint32_t a, uint32_t b, uint32_t& flags);
uint64_t eq_s(uint32_t a, uint32_t b, uint32_t& flags);  // 1 or 0
uint64_t lt_s(uint32_t a, uint32_t b, uint32_t& flags);
uint64_t le_s(uint32_t a, uint32_t b, uint32_t& flags);
uint64_t class_s(uint32_t a);  // fclass mask: one of bits 0..9
// Float to integer: the value written to rd (32-bit results sign-extended, incl. wu).
uint64_t cvt_w_s(uint32_t a, unsigned rm, uint32_t& flags);
uint64_t cvt_wu_s(uint32_t a, unsigned rm, uint32_t& flags);
uint64_t cvt_l_s(uint32_t a, unsigned rm, uint32_t& flags);
uint64_t cvt_lu_s(uint32_t a, unsigned rm, uint32_t& flags);
// Integer to float: `x` is the whole source register; w/wu use its low 32 bits.
uint32_t cvt_s_w(uint64_t x, unsigned rm, uint32_t& flags);
uint32_t cvt_s_wu(uint64_t x, unsigned rm, uint32_t& flags);
uint32_t cvt_s_l(uint64_t x, unsigned rm, uint32_t& flags);
uint32_t cvt_s_lu(uint64_t x, unsigned rm, uint32_t& flags);

// Sign injection never canonicalizes (the caller unboxes the inputs).
inline uint32_t sgnj_s(uint32_t a, uint32_t b) { return (a & 0x7fffffff) | (b & 0x80000000); }
inline uint32_t sgnjn_s(uint32_t a, uint32_t b) { return (a & 0x7fffffff) | (~b & 0x80000000); }
inline uint32_t sgnjx_s(uint32_t a, uint32_t b) { return a ^ (b & 0x80000000); }

// ---- Double precision ----
uint64_t add_d(uint64_t a, uint64_t b, unsigned rm, uint32_t& flags);
uint64_t sub_d(uint64_t a, uint64_t b, unsigned rm, uint32_t& flags);
uint64_t mul_d(uint64_t a, uint64_t b, unsigned rm, uint32_t& flags);
uint64_t div_d(uint64_t a, uint64_t b, unsigned rm, uint32_t& flags);
uint64_t sqrt_d(uint64_t a, unsigned rm, uint32_t& flags);
uint64_t madd_d(uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint32_t& flags);
uint64_t msub_d(uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint32_t& flags);
uint64_t nmsub_d(uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint32_t& flags);
uint64_t nmadd_d(uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint32_t& flags);
uint64_t min_d(uint64_t a, uint64_t b, uint32_t& flags);
uint64_t max_d(uint64_t a, uint64_t b, uint32_t& flags);
uint64_t eq_d(uint64_t a, uint64_t b, uint32_t& flags);
uint64_t lt_d(uint64_t a, uint64_t b, uint32_t& flags);
uint64_t le_d(uint64_t a, uint64_t b, uint32_t& flags);
uint64_t class_d(uint64_t a);
uint64_t cvt_w_d(uint64_t a, unsigned rm, uint32_t& flags);
uint64_t cvt_wu_d(uint64_t a, unsigned rm, uint32_t& flags);
uint64_t cvt_l_d(uint64_t a, unsigned rm, uint32_t& flags);
uint64_t cvt_lu_d(uint64_t a, unsigned rm, uint32_t& flags);
uint64_t cvt_d_w(uint64_t x, unsigned rm, uint32_t& flags);
uint64_t cvt_d_wu(uint64_t x, unsigned rm, uint32_t& flags);
uint64_t cvt_d_l(uint64_t x, unsigned rm, uint32_t& flags);
uint64_t cvt_d_lu(uint64_t x, unsigned rm, uint32_t& flags);
// Between the formats: narrowing rounds; widening is exact (only NaNs raise flags).
uint32_t cvt_s_d(uint64_t a, unsigned rm, uint32_t& flags);
uint64_t cvt_d_s(uint32_t a, uint32_t& flags);

inline uint64_t sgnj_d(uint64_t a, uint64_t b) { return (a & ~(1ull << 63)) | (b & (1ull << 63)); }
inline uint64_t sgnjn_d(uint64_t a, uint64_t b) {
  return (a & ~(1ull << 63)) | (~b & (1ull << 63));
}
inline uint64_t sgnjx_d(uint64_t a, uint64_t b) { return a ^ (b & (1ull << 63)); }

// Exact software implementations of the rounding operations, in every rounding mode. The public
// functions above use them for RMM (and for FMA on hosts without FMA3); exposed so that tests can
// check the host-unit path against them.
namespace soft {
uint32_t add_s(uint32_t a, uint32_t b, unsigned rm, uint32_t& flags);
uint32_t mul_s(uint32_t a, uint32_t b, unsigned rm, uint32_t& flags);
uint32_t div_s(uint32_t a, uint32_t b, unsigned rm, uint32_t& flags);
uint32_t sqrt_s(uint32_t a, unsigned rm, uint32_t& flags);
uint32_t madd_s(uint32_t a, uint32_t b, uint32_t c, unsigned rm, uint32_t& flags);
uint32_t cvt_s_d(uint64_t a, unsigned rm, uint32_t& flags);
uint64_t add_d(uint64_t a, uint64_t b, unsigned rm, uint32_t& flags);
uint64_t mul_d(uint64_t a, uint64_t b, unsigned rm, uint32_t& flags);
uint64_t div_d(uint64_t a, uint64_t b, unsigned rm, uint32_t& flags);
uint64_t sqrt_d(uint64_t a, unsigned rm, uint32_t& flags);
uint64_t madd_d(uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint32_t& flags);
}  // namespace soft

// True when the host has FMA3 and the fused operations use it (else exact software).
bool host_has_fma();

}  // namespace vireo::riscv::fpu
