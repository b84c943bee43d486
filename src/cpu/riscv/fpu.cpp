// RISC-V F/D arithmetic core: host SSE/FMA3 under MXCSR control for the four rounding modes the
// host has, exact software for RMM and for everything where SSE differs from RISC-V (NaN results,
// min/max, comparisons, saturating conversions, fclass).
#include "cpu/riscv/fpu.hpp"

#include <algorithm>
#include <array>
#include <type_traits>
#include <utility>

namespace vireo::riscv::fpu {
namespace {

using u128 = unsigned __int128;

// An IEEE-754 binary interchange format.
template <class Bits, int kExpBits, int kFracBits>
struct Format {
  using U = Bits;
  using S = std::make_signed_t<Bits>;
  static constexpr int kFrac = kFracBits;
  static constexpr int kP = kFracBits + 1;  // precision, hidden bit included
  static constexpr int kBias = (1 << (kExpBits - 1)) - 1;
  static constexpr int kEmin = 1 - kBias;
  static constexpr int kMaxBiased = (1 << kExpBits) - 1;  // the exponent of inf and NaN
  static constexpr U kSign = U(1) << (kExpBits + kFracBits);
  static constexpr U kFracMask = (U(1) << kFracBits) - 1;
  static constexpr U kInf = U(kMaxBiased) << kFracBits;
  static constexpr U kMaxFinite = kInf - 1;
  static constexpr U kQuietBit = U(1) << (kFracBits - 1);
  static constexpr U kCanonicalNaN = kInf | kQuietBit;

  static bool sign(U x) { return x & kSign; }
  static int biased_exp(U x) { return int((x >> kFrac) & kMaxBiased); }
  static U mag(U x) { return x & ~kSign; }
  static bool is_nan(U x) { return mag(x) > kInf; }
  static bool is_snan(U x) { return is_nan(x) && !(x & kQuietBit); }
  static bool is_inf(U x) { return mag(x) == kInf; }
  static bool is_zero(U x) { return mag(x) == 0; }
  static U signed_zero(bool negative) { return negative ? kSign : 0; }
  static U signed_inf(bool negative) { return signed_zero(negative) | kInf; }
};
using F32 = Format<uint32_t, 8, 23>;
using F64 = Format<uint64_t, 11, 52>;
static_assert(F32::kCanonicalNaN == kCanonicalNaN32 && F64::kCanonicalNaN == kCanonicalNaN64);

int clz128(u128 x) {
  uint64_t hi = uint64_t(x >> 64);
  return hi ? std::countl_zero(hi) : 64 + std::countl_zero(uint64_t(x));
}
int msb128(u128 x) { return 127 - clz128(x); }

// ---------------------------------------------------------------------------------------------
// Exact software arithmetic (softfloat-style): operands become integer significands with
// exponents, results are computed exactly (or with a sticky bit jammed far below the rounding
// point) and rounded once by round_pack.

// A finite nonzero value: sig * 2^exp, the hidden bit included in sig.
struct Unpacked {
  bool sign;
  int exp;
  uint64_t sig;
};

template <class F>
Unpacked unpack(typename F::U x) {
  int biased = F::biased_exp(x);
  uint64_t frac = x & F::kFracMask;
  if (biased == 0) return {F::sign(x), F::kEmin - F::kFrac, frac};
  return {F::sign(x), biased - F::kBias - F::kFrac, frac | (uint64_t(1) << F::kFrac)};
}

// Shifts a (subnormal) significand up so its leading bit is bit kP-1.
template <class F>
Unpacked normalize(Unpacked x) {
  int shift = (F::kP - 1) - (63 - std::countl_zero(x.sig));
  return {x.sign, x.exp - shift, x.sig << shift};
}

bool rounds_up(unsigned rm, bool negative, bool lsb, bool round, bool sticky) {
  switch (rm) {
    case kRNE:
      return round && (sticky || lsb);
    case kRTZ:
      return false;
    case kRDN:
      return negative && (round || sticky);
    case kRUP:
      return !negative && (round || sticky);
    default:
      return round;  // RMM: ties away from zero
  }
}

// sig >> shift, with the first dropped bit (round) and whether any lower one is set (sticky).
// A negative shift moves left; the caller guarantees nothing is lost then.
struct Shifted {
  u128 kept;
  bool round, sticky;
};
Shifted shift_right_round(u128 sig, int shift) {
  if (shift <= 0) return {sig << -shift, false, false};
  if (shift > 128) return {0, false, sig != 0};
  u128 kept = shift == 128 ? 0 : sig >> shift;
  bool round = (sig >> (shift - 1)) & 1;
  u128 below = shift == 1 ? 0 : sig & ((u128(1) << (shift - 1)) - 1);
  return {kept, round, below != 0};
}

// sig * 2^shift, where bits shifted out on the right are ORed into bit 0 ("jamming"): exact
// enough whenever bit 0 lies below the eventual rounding point's round bit.
u128 shift_jam(u128 sig, int shift) {
  if (shift >= 0) return sig << shift;
  if (shift <= -128) return sig != 0;
  return (sig >> -shift) | ((sig & ((u128(1) << -shift) - 1)) != 0);
}

template <class F>
typename F::U overflow_result(bool negative, unsigned rm) {
  bool to_inf = rm == kRNE || rm == kRMM || (rm == kRDN && negative) || (rm == kRUP && !negative);
  return F::signed_zero(negative) | (to_inf ? F::kInf : F::kMaxFinite);
}

// Rounds the exact value (-1)^negative * sig * 2^exp (sig != 0) to format F. Tininess is
// detected after rounding, as RISC-V (and x86) do: the value is tiny when, rounded to kP bits
// with an unbounded exponent, it is still below 2^Emin. UF needs tiny and inexact.
template <class F>
typename F::U round_pack(bool negative, int exp, u128 sig, unsigned rm, uint32_t& flags) {
  using U = typename F::U;
  int lead = exp + msb128(sig);  // exponent of the leading bit
  int quantum = std::max(lead, F::kEmin) - (F::kP - 1);
  Shifted s = shift_right_round(sig, quantum - exp);
  uint64_t m = uint64_t(s.kept);
  if (s.round || s.sticky) {
    flags |= kNX;
    if (lead < F::kEmin) {
      bool tiny = true;
      if (lead == F::kEmin - 1) {
        Shifted unbounded = shift_right_round(sig, quantum - 1 - exp);
        bool carries = uint64_t(unbounded.kept) == (uint64_t(1) << F::kP) - 1 &&
                       rounds_up(rm, negative, true, unbounded.round, unbounded.sticky);
        tiny = !carries;
      }
      if (tiny) flags |= kUF;
    }
  }
  m += rounds_up(rm, negative, m & 1, s.round, s.sticky);
  if (m >> F::kP) {  // rounding carried into a new leading bit
    m >>= 1;
    ++quantum;
  }
  U sign = F::signed_zero(negative);
  if (!(m >> (F::kP - 1))) return sign | U(m);  // subnormal or zero
  int biased = quantum + (F::kP - 1) + F::kBias;
  if (biased >= F::kMaxBiased) {
    flags |= kOF | kNX;
    return overflow_result<F>(negative, rm);
  }
  return sign | (U(biased) << F::kFrac) | (U(m) & F::kFracMask);
}

// x + y for two exactly aligned magnitudes (common exponent `exp`) with their signs.
template <class F>
typename F::U round_sum(bool sx, u128 x, bool sy, u128 y, int exp, unsigned rm, uint32_t& flags) {
  if (sx == sy) return round_pack<F>(sx, exp, x + y, rm, flags);
  if (x == y)
    return F::signed_zero(rm == kRDN);  // exact cancellation: +0 except when rounding down
  if (x > y) return round_pack<F>(sx, exp, x - y, rm, flags);
  return round_pack<F>(sy, exp, y - x, rm, flags);
}

template <class F>
typename F::U invalid(uint32_t& flags) {
  flags |= kNV;
  return F::kCanonicalNaN;
}

// A NaN operand gives the canonical NaN (no payload propagation); a signaling one raises NV.
template <class F>
typename F::U propagate_nan(typename F::U a, typename F::U b, uint32_t& flags) {
  if (F::is_snan(a) || F::is_snan(b)) flags |= kNV;
  return F::kCanonicalNaN;
}

template <class F>
typename F::U soft_add(typename F::U a, typename F::U b, unsigned rm, uint32_t& flags) {
  if (F::is_nan(a) || F::is_nan(b)) return propagate_nan<F>(a, b, flags);
  if (F::is_inf(a)) {
    if (F::is_inf(b) && F::sign(a) != F::sign(b)) return invalid<F>(flags);
    return a;
  }
  if (F::is_inf(b)) return b;
  if (F::is_zero(a) && F::is_zero(b))
    return F::sign(a) == F::sign(b) ? a : F::signed_zero(rm == kRDN);
  if (F::is_zero(a)) return b;
  if (F::is_zero(b)) return a;
  Unpacked x = unpack<F>(a), y = unpack<F>(b);
  if (x.exp < y.exp) std::swap(x, y);
  // x's leading bit goes to bit 125 at most, leaving headroom for the carry of the sum.
  constexpr int kShift = 125 - (F::kP - 1);
  int common = x.exp - kShift;
  return round_sum<F>(x.sign, u128(x.sig) << kShift, y.sign, shift_jam(y.sig, y.exp - common),
                      common, rm, flags);
}

template <class F>
typename F::U soft_mul(typename F::U a, typename F::U b, unsigned rm, uint32_t& flags) {
  if (F::is_nan(a) || F::is_nan(b)) return propagate_nan<F>(a, b, flags);
  bool negative = F::sign(a) != F::sign(b);
  if (F::is_inf(a) || F::is_inf(b)) {
    if (F::is_zero(a) || F::is_zero(b)) return invalid<F>(flags);
    return F::signed_inf(negative);
  }
  if (F::is_zero(a) || F::is_zero(b)) return F::signed_zero(negative);
  Unpacked x = unpack<F>(a), y = unpack<F>(b);
  return round_pack<F>(negative, x.exp + y.exp, u128(x.sig) * y.sig, rm, flags);
}

template <class F>
typename F::U soft_div(typename F::U a, typename F::U b, unsigned rm, uint32_t& flags) {
  if (F::is_nan(a) || F::is_nan(b)) return propagate_nan<F>(a, b, flags);
  bool negative = F::sign(a) != F::sign(b);
  if (F::is_inf(a)) return F::is_inf(b) ? invalid<F>(flags) : F::signed_inf(negative);
  if (F::is_inf(b)) return F::signed_zero(negative);
  if (F::is_zero(b)) {
    if (F::is_zero(a)) return invalid<F>(flags);
    flags |= kDZ;
    return F::signed_inf(negative);
  }
  if (F::is_zero(a)) return F::signed_zero(negative);
  Unpacked x = normalize<F>(unpack<F>(a)), y = normalize<F>(unpack<F>(b));
  // Both significands in [2^(kP-1), 2^kP): the quotient has kP+2 or kP+3 bits, so the
  // remainder's sticky bit lands below the round bit.
  constexpr int kExtra = F::kP + 2;
  u128 numerator = u128(x.sig) << kExtra;
  u128 quotient = numerator / y.sig;
  bool remainder = numerator % y.sig != 0;
  return round_pack<F>(negative, x.exp - y.exp - kExtra, quotient | remainder, rm, flags);
}

u128 isqrt(u128 n) {
  // The long double estimate is within a unit or two; fix it up exactly.
  auto r = static_cast<uint64_t>(__builtin_sqrtl(static_cast<long double>(n)));
  while (u128(r) * r > n) --r;
  while (u128(r + 1) * (r + 1) <= n) ++r;
  return r;
}

template <class F>
typename F::U soft_sqrt(typename F::U a, unsigned rm, uint32_t& flags) {
  if (F::is_nan(a)) return propagate_nan<F>(a, a, flags);
  if (F::is_zero(a)) return a;
  if (F::sign(a)) return invalid<F>(flags);
  if (F::is_inf(a)) return a;
  Unpacked x = normalize<F>(unpack<F>(a));
  if (x.exp & 1) {
    x.sig <<= 1;
    --x.exp;
  }
  // Scale by 4^k so the integer root has at least kP+2 bits.
  constexpr int kHalfShift = (F::kP + 4) / 2;
  u128 n = u128(x.sig) << (2 * kHalfShift);
  u128 root = isqrt(n);
  bool remainder = root * root != n;
  return round_pack<F>(false, x.exp / 2 - kHalfShift, root | remainder, rm, flags);
}

template <class F>
typename F::U soft_madd(typename F::U a, typename F::U b, typename F::U c, unsigned rm,
                        uint32_t& flags) {
  bool inf_times_zero = (F::is_inf(a) && F::is_zero(b)) || (F::is_zero(a) && F::is_inf(b));
  if (F::is_nan(a) || F::is_nan(b) || F::is_nan(c)) {
    // RISC-V: inf*0 is invalid even when the addend is a quiet NaN.
    if (F::is_snan(a) || F::is_snan(b) || F::is_snan(c) || inf_times_zero) flags |= kNV;
    return F::kCanonicalNaN;
  }
  if (inf_times_zero) return invalid<F>(flags);
  bool product_negative = F::sign(a) != F::sign(b);
  if (F::is_inf(a) || F::is_inf(b)) {
    if (F::is_inf(c) && F::sign(c) != product_negative) return invalid<F>(flags);
    return F::signed_inf(product_negative);
  }
  if (F::is_inf(c)) return c;
  if (F::is_zero(a) || F::is_zero(b)) {
    if (!F::is_zero(c)) return c;
    return F::sign(c) == product_negative ? c : F::signed_zero(rm == kRDN);
  }
  Unpacked x = unpack<F>(a), y = unpack<F>(b);
  u128 product = u128(x.sig) * y.sig;
  int product_exp = x.exp + y.exp;
  // A nonzero exact sum rounds with the sign of the product even if it underflows to zero.
  if (F::is_zero(c)) return round_pack<F>(product_negative, product_exp, product, rm, flags);
  Unpacked z = unpack<F>(c);
  // Align so the larger leading bit sits at bit 125; the smaller operand is jammed when it
  // falls off the bottom, which happens only when it is far below the rounding point.
  int product_lead = product_exp + msb128(product);
  int addend_lead = z.exp + msb128(z.sig);
  int common = std::max(product_lead, addend_lead) - 125;
  return round_sum<F>(product_negative, shift_jam(product, product_exp - common), z.sign,
                      shift_jam(z.sig, z.exp - common), common, rm, flags);
}

uint32_t soft_cvt_s_d(uint64_t a, unsigned rm, uint32_t& flags) {
  if (F64::is_nan(a)) {
    propagate_nan<F64>(a, a, flags);
    return kCanonicalNaN32;
  }
  if (F64::is_inf(a)) return F32::signed_inf(F64::sign(a));
  if (F64::is_zero(a)) return F32::signed_zero(F64::sign(a));
  Unpacked x = unpack<F64>(a);
  return round_pack<F32>(x.sign, x.exp, x.sig, rm, flags);
}

// ---------------------------------------------------------------------------------------------
// Operations that need no rounding (or only integer rounding): always software.

// An order on non-NaN values as signed integers. `kSignedZeroOrdered` puts -0 below +0 (fmin,
// fmax); otherwise both zeros compare equal (feq, flt, fle).
template <class F, bool kSignedZeroOrdered>
typename F::S order_key(typename F::U x) {
  auto mag = typename F::S(F::mag(x));
  if (!F::sign(x)) return mag;
  return kSignedZeroOrdered ? -mag - 1 : -mag;
}

template <class F>
uint64_t compare_eq(typename F::U a, typename F::U b, uint32_t& flags) {
  if (F::is_nan(a) || F::is_nan(b)) {
    if (F::is_snan(a) || F::is_snan(b)) flags |= kNV;  // feq is a quiet comparison
    return 0;
  }
  return order_key<F, false>(a) == order_key<F, false>(b);
}

template <class F, bool kOrEqual>
uint64_t compare_less(typename F::U a, typename F::U b, uint32_t& flags) {
  if (F::is_nan(a) || F::is_nan(b)) {
    flags |= kNV;  // flt and fle are signaling comparisons
    return 0;
  }
  auto ka = order_key<F, false>(a), kb = order_key<F, false>(b);
  return kOrEqual ? ka <= kb : ka < kb;
}

// fmin/fmax as of F/D 2.2 (IEEE 754-2019 minimumNumber/maximumNumber).
template <class F, bool kMax>
typename F::U min_max(typename F::U a, typename F::U b, uint32_t& flags) {
  if (F::is_snan(a) || F::is_snan(b)) flags |= kNV;
  if (F::is_nan(a)) return F::is_nan(b) ? F::kCanonicalNaN : b;
  if (F::is_nan(b)) return a;
  bool a_less = order_key<F, true>(a) < order_key<F, true>(b);
  return a_less != kMax ? a : b;
}

template <class F>
uint64_t classify(typename F::U a) {
  bool negative = F::sign(a);
  if (F::is_nan(a)) return F::is_snan(a) ? 1u << 8 : 1u << 9;
  if (F::is_inf(a)) return negative ? 1u << 0 : 1u << 7;
  if (F::is_zero(a)) return negative ? 1u << 3 : 1u << 4;
  if (F::biased_exp(a) == 0) return negative ? 1u << 2 : 1u << 5;
  return negative ? 1u << 1 : 1u << 6;
}

// Float to integer, saturating per the RISC-V table: NaN and +out-of-range give the maximum,
// -out-of-range the minimum, with NV (and no NX); in range, NX when inexact.
template <class F>
uint64_t to_integer(typename F::U a, unsigned rm, bool is_signed, int width, uint32_t& flags) {
  const uint64_t max_mag = is_signed ? (uint64_t(1) << (width - 1)) - 1
                                     : (width == 64 ? ~uint64_t(0) : (uint64_t(1) << width) - 1);
  const bool negative = F::sign(a) && !F::is_nan(a);
  // The saturated result as a `width`-bit pattern.
  const uint64_t saturated = negative ? (is_signed ? ~max_mag : 0) : max_mag;
  auto widen = [&](uint64_t v) {
    return width == 32 ? uint64_t(int64_t(int32_t(uint32_t(v)))) : v;  // rd gets sext(result)
  };
  if (F::is_nan(a) || F::is_inf(a)) {
    flags |= kNV;
    return widen(saturated);
  }
  if (F::is_zero(a)) return 0;
  Unpacked x = unpack<F>(a);
  uint64_t magnitude;
  bool inexact = false;
  if (x.exp >= 0) {
    if (x.exp + (64 - std::countl_zero(x.sig)) > 64) {
      flags |= kNV;
      return widen(saturated);
    }
    magnitude = x.sig << x.exp;
  } else {
    Shifted s = shift_right_round(x.sig, -x.exp);
    magnitude = uint64_t(s.kept) + rounds_up(rm, negative, s.kept & 1, s.round, s.sticky);
    inexact = s.round || s.sticky;
  }
  bool fits =
      negative ? (is_signed ? magnitude <= max_mag + 1 : magnitude == 0) : magnitude <= max_mag;
  if (!fits) {
    flags |= kNV;
    return widen(saturated);
  }
  if (inexact) flags |= kNX;
  return widen(negative ? 0 - magnitude : magnitude);
}

// Integer (sign and magnitude) to float.
template <class F>
typename F::U from_integer(bool negative, uint64_t magnitude, unsigned rm, uint32_t& flags) {
  using U = typename F::U;
  if (magnitude == 0) return 0;
  if (magnitude >> F::kP) return round_pack<F>(negative, 0, magnitude, rm, flags);
  int lead = 63 - std::countl_zero(magnitude);  // exact: pack directly
  U frac = U(magnitude << (F::kP - 1 - lead)) & F::kFracMask;
  return F::signed_zero(negative) | (U(lead + F::kBias) << F::kFrac) | frac;
}

uint64_t magnitude_of(int64_t v) { return v < 0 ? 0 - uint64_t(v) : uint64_t(v); }

// ---------------------------------------------------------------------------------------------
// The host unit. Each wrapper runs one instruction under the given MXCSR and restores the
// default afterwards, all in one asm statement: the compiler can neither constant-fold the
// operation nor move it across the rounding-mode change. Returns MXCSR as the op left it.

constexpr uint32_t kDefaultMxcsr = 0x1f80;  // round to nearest, exceptions masked, no DAZ/FTZ
// Per RISC-V rm 0..3: MXCSR.RC is 0 nearest, 1 down, 2 up, 3 toward zero.
constexpr uint32_t kMxcsrForRm[4] = {kDefaultMxcsr, kDefaultMxcsr | 3u << 13,
                                     kDefaultMxcsr | 1u << 13, kDefaultMxcsr | 2u << 13};

// MXCSR flags (IE DE ZE OE UE PE in bits 0..5) to fflags; DE (denormal operand) has no RISC-V
// counterpart. The host and RISC-V agree on everything else, tininess after rounding included.
constexpr std::array<uint8_t, 64> kFlagsFromMxcsr = [] {
  std::array<uint8_t, 64> map{};
  for (unsigned s = 0; s < 64; ++s) {
    map[s] = uint8_t(((s & 1) ? kNV : 0) | ((s & 4) ? kDZ : 0) | ((s & 8) ? kOF : 0) |
                     ((s & 16) ? kUF : 0) | ((s & 32) ? kNX : 0));
  }
  return map;
}();

#define VIREO_HOST_BINARY(name, insn, T)                                                      \
  uint32_t name(T& x, T y, const uint32_t& mxcsr) {                                           \
    uint32_t status;                                                                          \
    asm volatile("ldmxcsr %[mode]\n\t" insn " %[y], %[x]\n\tstmxcsr %[st]\n\tldmxcsr %[dflt]" \
                 : [x] "+x"(x), [st] "=m"(status)                                             \
                 : [y] "x"(y), [mode] "m"(mxcsr), [dflt] "m"(kDefaultMxcsr));                 \
    return status;                                                                            \
  }
VIREO_HOST_BINARY(host_add, "addss", float)
VIREO_HOST_BINARY(host_sub, "subss", float)
VIREO_HOST_BINARY(host_mul, "mulss", float)
VIREO_HOST_BINARY(host_div, "divss", float)
VIREO_HOST_BINARY(host_sqrt, "sqrtss", float)  // x = sqrt(y)
VIREO_HOST_BINARY(host_add, "addsd", double)
VIREO_HOST_BINARY(host_sub, "subsd", double)
VIREO_HOST_BINARY(host_mul, "mulsd", double)
VIREO_HOST_BINARY(host_div, "divsd", double)
VIREO_HOST_BINARY(host_sqrt, "sqrtsd", double)
#undef VIREO_HOST_BINARY

// x = x*y + z, one rounding (FMA3; VEX-encoded, so it leaves the upper vector state clean).
#define VIREO_HOST_FMA(insn, T)                                                           \
  uint32_t host_fma(T& x, T y, T z, const uint32_t& mxcsr) {                              \
    uint32_t status;                                                                      \
    asm volatile("ldmxcsr %[mode]\n\t" insn                                               \
                 " %[z], %[y], %[x]\n\tstmxcsr %[st]\n\tldmxcsr %[dflt]"                  \
                 : [x] "+x"(x), [st] "=m"(status)                                         \
                 : [y] "x"(y), [z] "x"(z), [mode] "m"(mxcsr), [dflt] "m"(kDefaultMxcsr)); \
    return status;                                                                        \
  }
VIREO_HOST_FMA("vfmadd213ss", float)
VIREO_HOST_FMA("vfmadd213sd", double)
#undef VIREO_HOST_FMA

uint32_t host_narrow(float& x, double y, const uint32_t& mxcsr) {
  uint32_t status;
  asm volatile("ldmxcsr %[mode]\n\tcvtsd2ss %[y], %[x]\n\tstmxcsr %[st]\n\tldmxcsr %[dflt]"
               : [x] "=x"(x), [st] "=m"(status)
               : [y] "x"(y), [mode] "m"(mxcsr), [dflt] "m"(kDefaultMxcsr));
  return status;
}

// Zero-initialized (software FMA, still exact) until set, so use during static init is safe.
const bool g_host_has_fma = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("fma") != 0;
}();

template <class F>
using Host = std::conditional_t<std::is_same_v<F, F32>, float, double>;

// The host result: fflags from MXCSR, and any NaN replaced by the canonical NaN (the host
// propagates payloads and its default NaN is negative).
template <class F>
typename F::U host_result(Host<F> r, uint32_t status, uint32_t& flags) {
  flags |= kFlagsFromMxcsr[status & 63];
  auto bits = std::bit_cast<typename F::U>(r);
  return F::is_nan(bits) ? F::kCanonicalNaN : bits;
}

// ---- The fast path ("hardfloat", as QEMU calls it) ----
// Rounding to nearest with the guest's inexact flag already set (as it stays in FP code once
// one result was rounded), an operation on zero or normal operands whose result is finite and
// above the smallest normal can raise no flag the guest does not already hold: NV needs a NaN or
// an infinite operand (or 0/0), DZ a zero divisor, OF an infinite result, UF a tiny one, and NX
// is set. The host's own arithmetic under its default MXCSR (round to nearest, which the slow
// path restores after every operation) then gives the RISC-V result, without the slow path's
// MXCSR loads and stores, which cost more than the operation. Anything else takes the slow path.

template <class F>
bool is_normal(typename F::U x) {
  const int e = F::biased_exp(x);
  return e != 0 && e != F::kMaxBiased;
}
// A finite result above the smallest normal: the smallest normal itself may be a tiny result
// rounded up, which raises UF (tininess is detected after rounding, with unbounded exponent).
template <class F>
bool is_safe_result(typename F::U x) {
  return F::mag(x) > (typename F::U(1) << F::kFrac) && F::mag(x) < F::kInf;
}
template <class F>
bool is_zero_or_normal(typename F::U x) {
  return F::is_zero(x) || is_normal<F>(x);
}
bool fast_path_allowed(unsigned rm, uint32_t flags) { return rm == kRNE && (flags & kNX); }

// x*y + z with one rounding, and a square root, under the current (default) MXCSR. In asm: the
// library's sqrt would check its argument for errno, and FMA3 is not in the compiler's baseline.
#define VIREO_HOST_DEFAULT_MODE(T, fma_insn, sqrt_insn)                       \
  T host_fma_default(T x, T y, T z) {                                         \
    asm(fma_insn " %[z], %[y], %[x]" : [x] "+x"(x) : [y] "x"(y), [z] "x"(z)); \
    return x;                                                                 \
  }                                                                           \
  T host_sqrt_default(T y) {                                                  \
    T x;                                                                      \
    asm(sqrt_insn " %[y], %[x]" : [x] "=x"(x) : [y] "x"(y));                  \
    return x;                                                                 \
  }
VIREO_HOST_DEFAULT_MODE(float, "vfmadd213ss", "sqrtss")
VIREO_HOST_DEFAULT_MODE(double, "vfmadd213sd", "sqrtsd")
#undef VIREO_HOST_DEFAULT_MODE

enum class Op { kAdd, kSub, kMul, kDiv };

template <class F, Op kOp>
typename F::U arith(typename F::U a, typename F::U b, unsigned rm, uint32_t& flags) {
  if (fast_path_allowed(rm, flags) && is_zero_or_normal<F>(a) &&
      (kOp == Op::kDiv ? is_normal<F>(b) : is_zero_or_normal<F>(b))) [[likely]] {
    const auto x = std::bit_cast<Host<F>>(a);
    const auto y = std::bit_cast<Host<F>>(b);
    Host<F> r;
    if constexpr (kOp == Op::kAdd) r = x + y;
    if constexpr (kOp == Op::kSub) r = x - y;
    if constexpr (kOp == Op::kMul) r = x * y;
    if constexpr (kOp == Op::kDiv) r = x / y;
    const auto bits = std::bit_cast<typename F::U>(r);
    if (is_safe_result<F>(bits)) return bits;
    // A zero is exact when it comes from cancellation (x - x) or from a zero operand; from a
    // product or quotient of nonzero operands it is an underflow, for the slow path.
    if (F::is_zero(bits) &&
        (kOp == Op::kAdd || kOp == Op::kSub || F::is_zero(a) || (kOp == Op::kMul && F::is_zero(b))))
      return bits;
  }
  if (rm == kRMM) [[unlikely]] {
    if constexpr (kOp == Op::kAdd) return soft_add<F>(a, b, rm, flags);
    if constexpr (kOp == Op::kSub) return soft_add<F>(a, b ^ F::kSign, rm, flags);
    if constexpr (kOp == Op::kMul) return soft_mul<F>(a, b, rm, flags);
    if constexpr (kOp == Op::kDiv) return soft_div<F>(a, b, rm, flags);
  }
  auto x = std::bit_cast<Host<F>>(a);
  auto y = std::bit_cast<Host<F>>(b);
  uint32_t status;
  if constexpr (kOp == Op::kAdd) status = host_add(x, y, kMxcsrForRm[rm]);
  if constexpr (kOp == Op::kSub) status = host_sub(x, y, kMxcsrForRm[rm]);
  if constexpr (kOp == Op::kMul) status = host_mul(x, y, kMxcsrForRm[rm]);
  if constexpr (kOp == Op::kDiv) status = host_div(x, y, kMxcsrForRm[rm]);
  return host_result<F>(x, status, flags);
}

template <class F>
typename F::U square_root(typename F::U a, unsigned rm, uint32_t& flags) {
  // A square root is never exactly halfway between two floats of the same format (the square
  // of a kP+1-bit odd significand has too many bits), so RMM rounds like RNE.
  if (rm == kRMM) rm = kRNE;
  // The root of a positive normal is normal; that of a zero is the zero itself.
  if (fast_path_allowed(rm, flags) && is_zero_or_normal<F>(a) && (!F::sign(a) || F::is_zero(a)))
    return std::bit_cast<typename F::U>(host_sqrt_default(std::bit_cast<Host<F>>(a)));
  Host<F> x{};
  uint32_t status = host_sqrt(x, std::bit_cast<Host<F>>(a), kMxcsrForRm[rm]);
  return host_result<F>(x, status, flags);
}

template <class F>
typename F::U fused(typename F::U a, typename F::U b, typename F::U c, unsigned rm,
                    uint32_t& flags) {
  if (rm == kRMM || !g_host_has_fma) [[unlikely]]
    return soft_madd<F>(a, b, c, rm, flags);
  if (fast_path_allowed(rm, flags) && is_zero_or_normal<F>(a) && is_zero_or_normal<F>(b) &&
      is_zero_or_normal<F>(c)) [[likely]] {
    const auto bits = std::bit_cast<typename F::U>(host_fma_default(
        std::bit_cast<Host<F>>(a), std::bit_cast<Host<F>>(b), std::bit_cast<Host<F>>(c)));
    if (is_safe_result<F>(bits)) return bits;
  }
  auto x = std::bit_cast<Host<F>>(a);
  uint32_t status =
      host_fma(x, std::bit_cast<Host<F>>(b), std::bit_cast<Host<F>>(c), kMxcsrForRm[rm]);
  auto result = host_result<F>(x, status, flags);
  // RISC-V: inf*0 is invalid even when the addend is a quiet NaN (the host need not say so).
  if (result == F::kCanonicalNaN &&
      ((F::is_inf(a) && F::is_zero(b)) || (F::is_zero(a) && F::is_inf(b))))
    flags |= kNV;
  return result;
}

}  // namespace

bool host_has_fma() { return g_host_has_fma; }

// ---- Single precision ----
uint32_t add_s(uint32_t a, uint32_t b, unsigned rm, uint32_t& flags) {
  return arith<F32, Op::kAdd>(a, b, rm, flags);
}
uint32_t sub_s(uint32_t a, uint32_t b, unsigned rm, uint32_t& flags) {
  return arith<F32, Op::kSub>(a, b, rm, flags);
}
uint32_t mul_s(uint32_t a, uint32_t b, unsigned rm, uint32_t& flags) {
  return arith<F32, Op::kMul>(a, b, rm, flags);
}
uint32_t div_s(uint32_t a, uint32_t b, unsigned rm, uint32_t& flags) {
  return arith<F32, Op::kDiv>(a, b, rm, flags);
}
uint32_t sqrt_s(uint32_t a, unsigned rm, uint32_t& flags) { return square_root<F32>(a, rm, flags); }
// Negating an operand flips only its sign bit, which is exactly -(a*b) or -c, signed zeros
// included; NaN signs do not matter since NaN results are canonical.
uint32_t madd_s(uint32_t a, uint32_t b, uint32_t c, unsigned rm, uint32_t& flags) {
  return fused<F32>(a, b, c, rm, flags);
}
uint32_t msub_s(uint32_t a, uint32_t b, uint32_t c, unsigned rm, uint32_t& flags) {
  return fused<F32>(a, b, c ^ F32::kSign, rm, flags);
}
uint32_t nmsub_s(uint32_t a, uint32_t b, uint32_t c, unsigned rm, uint32_t& flags) {
  return fused<F32>(a ^ F32::kSign, b, c, rm, flags);
}
uint32_t nmadd_s(uint32_t a, uint32_t b, uint32_t c, unsigned rm, uint32_t& flags) {
  return fused<F32>(a ^ F32::kSign, b, c ^ F32::kSign, rm, flags);
}
uint32_t min_s(uint32_t a, uint32_t b, uint32_t& flags) { return min_max<F32, false>(a, b, flags); }
uint32_t max_s(uint32_t a, uint32_t b, uint32_t& flags) { return min_max<F32, true>(a, b, flags); }
uint64_t eq_s(uint32_t a, uint32_t b, uint32_t& flags) { return compare_eq<F32>(a, b, flags); }
uint64_t lt_s(uint32_t a, uint32_t b, uint32_t& flags) {
  return compare_less<F32, false>(a, b, flags);
}
uint64_t le_s(uint32_t a, uint32_t b, uint32_t& flags) {
  return compare_less<F32, true>(a, b, flags);
}
uint64_t class_s(uint32_t a) { return classify<F32>(a); }
uint64_t cvt_w_s(uint32_t a, unsigned rm, uint32_t& flags) {
  return to_integer<F32>(a, rm, true, 32, flags);
}
uint64_t cvt_wu_s(uint32_t a, unsigned rm, uint32_t& flags) {
  return to_integer<F32>(a, rm, false, 32, flags);
}
uint64_t cvt_l_s(uint32_t a, unsigned rm, uint32_t& flags) {
  return to_integer<F32>(a, rm, true, 64, flags);
}
uint64_t cvt_lu_s(uint32_t a, unsigned rm, uint32_t& flags) {
  return to_integer<F32>(a, rm, false, 64, flags);
}
uint32_t cvt_s_w(uint64_t x, unsigned rm, uint32_t& flags) {
  auto v = int32_t(uint32_t(x));
  return from_integer<F32>(v < 0, magnitude_of(v), rm, flags);
}
uint32_t cvt_s_wu(uint64_t x, unsigned rm, uint32_t& flags) {
  return from_integer<F32>(false, uint32_t(x), rm, flags);
}
uint32_t cvt_s_l(uint64_t x, unsigned rm, uint32_t& flags) {
  auto v = int64_t(x);
  return from_integer<F32>(v < 0, magnitude_of(v), rm, flags);
}
uint32_t cvt_s_lu(uint64_t x, unsigned rm, uint32_t& flags) {
  return from_integer<F32>(false, x, rm, flags);
}

// ---- Double precision ----
uint64_t add_d(uint64_t a, uint64_t b, unsigned rm, uint32_t& flags) {
  return arith<F64, Op::kAdd>(a, b, rm, flags);
}
uint64_t sub_d(uint64_t a, uint64_t b, unsigned rm, uint32_t& flags) {
  return arith<F64, Op::kSub>(a, b, rm, flags);
}
uint64_t mul_d(uint64_t a, uint64_t b, unsigned rm, uint32_t& flags) {
  return arith<F64, Op::kMul>(a, b, rm, flags);
}
uint64_t div_d(uint64_t a, uint64_t b, unsigned rm, uint32_t& flags) {
  return arith<F64, Op::kDiv>(a, b, rm, flags);
}
uint64_t sqrt_d(uint64_t a, unsigned rm, uint32_t& flags) { return square_root<F64>(a, rm, flags); }
uint64_t madd_d(uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint32_t& flags) {
  return fused<F64>(a, b, c, rm, flags);
}
uint64_t msub_d(uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint32_t& flags) {
  return fused<F64>(a, b, c ^ F64::kSign, rm, flags);
}
uint64_t nmsub_d(uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint32_t& flags) {
  return fused<F64>(a ^ F64::kSign, b, c, rm, flags);
}
uint64_t nmadd_d(uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint32_t& flags) {
  return fused<F64>(a ^ F64::kSign, b, c ^ F64::kSign, rm, flags);
}
uint64_t min_d(uint64_t a, uint64_t b, uint32_t& flags) { return min_max<F64, false>(a, b, flags); }
uint64_t max_d(uint64_t a, uint64_t b, uint32_t& flags) { return min_max<F64, true>(a, b, flags); }
uint64_t eq_d(uint64_t a, uint64_t b, uint32_t& flags) { return compare_eq<F64>(a, b, flags); }
uint64_t lt_d(uint64_t a, uint64_t b, uint32_t& flags) {
  return compare_less<F64, false>(a, b, flags);
}
uint64_t le_d(uint64_t a, uint64_t b, uint32_t& flags) {
  return compare_less<F64, true>(a, b, flags);
}
uint64_t class_d(uint64_t a) { return classify<F64>(a); }
uint64_t cvt_w_d(uint64_t a, unsigned rm, uint32_t& flags) {
  return to_integer<F64>(a, rm, true, 32, flags);
}
uint64_t cvt_wu_d(uint64_t a, unsigned rm, uint32_t& flags) {
  return to_integer<F64>(a, rm, false, 32, flags);
}
uint64_t cvt_l_d(uint64_t a, unsigned rm, uint32_t& flags) {
  return to_integer<F64>(a, rm, true, 64, flags);
}
uint64_t cvt_lu_d(uint64_t a, unsigned rm, uint32_t& flags) {
  return to_integer<F64>(a, rm, false, 64, flags);
}
uint64_t cvt_d_w(uint64_t x, unsigned rm, uint32_t& flags) {
  auto v = int32_t(uint32_t(x));
  return from_integer<F64>(v < 0, magnitude_of(v), rm, flags);
}
uint64_t cvt_d_wu(uint64_t x, unsigned rm, uint32_t& flags) {
  return from_integer<F64>(false, uint32_t(x), rm, flags);
}
uint64_t cvt_d_l(uint64_t x, unsigned rm, uint32_t& flags) {
  auto v = int64_t(x);
  return from_integer<F64>(v < 0, magnitude_of(v), rm, flags);
}
uint64_t cvt_d_lu(uint64_t x, unsigned rm, uint32_t& flags) {
  return from_integer<F64>(false, x, rm, flags);
}

uint32_t cvt_s_d(uint64_t a, unsigned rm, uint32_t& flags) {
  if (rm == kRMM) [[unlikely]]
    return soft_cvt_s_d(a, rm, flags);
  float x;
  uint32_t status = host_narrow(x, std::bit_cast<double>(a), kMxcsrForRm[rm]);
  return host_result<F32>(x, status, flags);
}

uint64_t cvt_d_s(uint32_t a, uint32_t& flags) {
  if (F32::is_nan(a)) {
    propagate_nan<F32>(a, a, flags);
    return kCanonicalNaN64;
  }
  if (F32::is_inf(a)) return F64::signed_inf(F32::sign(a));
  if (F32::is_zero(a)) return F64::signed_zero(F32::sign(a));
  // Every single is exactly a double: round_pack neither rounds nor raises here.
  Unpacked x = unpack<F32>(a);
  return round_pack<F64>(x.sign, x.exp, x.sig, kRNE, flags);
}

// ---- Software reference entry points ----
namespace soft {
uint32_t add_s(uint32_t a, uint32_t b, unsigned rm, uint32_t& flags) {
  return soft_add<F32>(a, b, rm, flags);
}
uint32_t mul_s(uint32_t a, uint32_t b, unsigned rm, uint32_t& flags) {
  return soft_mul<F32>(a, b, rm, flags);
}
uint32_t div_s(uint32_t a, uint32_t b, unsigned rm, uint32_t& flags) {
  return soft_div<F32>(a, b, rm, flags);
}
uint32_t sqrt_s(uint32_t a, unsigned rm, uint32_t& flags) { return soft_sqrt<F32>(a, rm, flags); }
uint32_t madd_s(uint32_t a, uint32_t b, uint32_t c, unsigned rm, uint32_t& flags) {
  return soft_madd<F32>(a, b, c, rm, flags);
}
uint32_t cvt_s_d(uint64_t a, unsigned rm, uint32_t& flags) { return soft_cvt_s_d(a, rm, flags); }
uint64_t add_d(uint64_t a, uint64_t b, unsigned rm, uint32_t& flags) {
  return soft_add<F64>(a, b, rm, flags);
}
uint64_t mul_d(uint64_t a, uint64_t b, unsigned rm, uint32_t& flags) {
  return soft_mul<F64>(a, b, rm, flags);
}
uint64_t div_d(uint64_t a, uint64_t b, unsigned rm, uint32_t& flags) {
  return soft_div<F64>(a, b, rm, flags);
}
uint64_t sqrt_d(uint64_t a, unsigned rm, uint32_t& flags) { return soft_sqrt<F64>(a, rm, flags); }
uint64_t madd_d(uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint32_t& flags) {
  return soft_madd<F64>(a, b, c, rm, flags);
}
}  // namespace soft

}  // namespace vireo::riscv::fpu
