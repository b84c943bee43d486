// RV64M semantics: the operations behind rv64i::alu_reg, shared by the
// opcode table (isa/rv64m.cpp) and the interpreter's inlined dispatch.
// Division by zero and signed overflow have defined results in RISC-V (no
// trap), so every case is handled here before the host divides: a host
// SIGFPE would kill the whole VMM.
#pragma once

#include <cstdint>
#include <limits>

namespace vireo::riscv::rv64m {

using i64 = int64_t;
using u64 = uint64_t;
using i32 = int32_t;
using u32 = uint32_t;

inline u64 sext32(u32 v) { return static_cast<u64>(static_cast<i64>(static_cast<i32>(v))); }

inline u64 op_mul(u64 a, u64 b) { return a * b; }
inline u64 op_mulh(u64 a, u64 b) {
  return static_cast<u64>((static_cast<__int128>(static_cast<i64>(a)) * static_cast<i64>(b)) >> 64);
}
inline u64 op_mulhsu(u64 a, u64 b) {
  // |a| <= 2^63 and b < 2^64, so the signed 128-bit product cannot overflow.
  return static_cast<u64>((static_cast<__int128>(static_cast<i64>(a)) * static_cast<__int128>(b)) >>
                          64);
}
inline u64 op_mulhu(u64 a, u64 b) {
  return static_cast<u64>((static_cast<unsigned __int128>(a) * b) >> 64);
}

inline u64 op_div(u64 a, u64 b) {
  const i64 sa = static_cast<i64>(a), sb = static_cast<i64>(b);
  if (sb == 0) return ~u64{0};
  if (sa == std::numeric_limits<i64>::min() && sb == -1) return a;
  return static_cast<u64>(sa / sb);
}
inline u64 op_divu(u64 a, u64 b) { return b == 0 ? ~u64{0} : a / b; }
inline u64 op_rem(u64 a, u64 b) {
  const i64 sa = static_cast<i64>(a), sb = static_cast<i64>(b);
  if (sb == 0) return a;
  if (sa == std::numeric_limits<i64>::min() && sb == -1) return 0;
  return static_cast<u64>(sa % sb);
}
inline u64 op_remu(u64 a, u64 b) { return b == 0 ? a : a % b; }

inline u64 op_mulw(u64 a, u64 b) { return sext32(static_cast<u32>(a) * static_cast<u32>(b)); }
inline u64 op_divw(u64 a, u64 b) {
  const i32 sa = static_cast<i32>(a), sb = static_cast<i32>(b);
  if (sb == 0) return ~u64{0};
  if (sa == std::numeric_limits<i32>::min() && sb == -1) return sext32(static_cast<u32>(sa));
  return sext32(static_cast<u32>(sa / sb));
}
inline u64 op_divuw(u64 a, u64 b) {
  const u32 ua = static_cast<u32>(a), ub = static_cast<u32>(b);
  return ub == 0 ? ~u64{0} : sext32(ua / ub);
}
inline u64 op_remw(u64 a, u64 b) {
  const i32 sa = static_cast<i32>(a), sb = static_cast<i32>(b);
  if (sb == 0) return sext32(static_cast<u32>(sa));
  if (sa == std::numeric_limits<i32>::min() && sb == -1) return 0;
  return sext32(static_cast<u32>(sa % sb));
}
inline u64 op_remuw(u64 a, u64 b) {
  const u32 ua = static_cast<u32>(a), ub = static_cast<u32>(b);
  return sext32(ub == 0 ? ua : ua % ub);
}

}  // namespace vireo::riscv::rv64m
