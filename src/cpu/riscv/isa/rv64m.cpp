// RV64M: integer multiply and divide. Division by zero and signed overflow
// have defined results in RISC-V (no trap), so every case is handled here
// before the host divides: a host SIGFPE would kill the whole VMM.
#include <limits>

#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"

namespace vireo::riscv {

namespace {

using i64 = int64_t;
using u64 = uint64_t;
using i32 = int32_t;
using u32 = uint32_t;

inline u64 sext32(u32 v) { return static_cast<u64>(static_cast<i64>(static_cast<i32>(v))); }

template <u64 (*Op)(u64, u64)>
void exec_mul_div(Hart& h, const DecodedInsn& d) {
  h.x[d.rd] = Op(h.x[d.rs1], h.x[d.rs2]);
  h.pc += d.len;
}

u64 op_mul(u64 a, u64 b) { return a * b; }
u64 op_mulh(u64 a, u64 b) {
  return static_cast<u64>((static_cast<__int128>(static_cast<i64>(a)) * static_cast<i64>(b)) >> 64);
}
u64 op_mulhsu(u64 a, u64 b) {
  // |a| <= 2^63 and b < 2^64, so the signed 128-bit product cannot overflow.
  return static_cast<u64>((static_cast<__int128>(static_cast<i64>(a)) * static_cast<__int128>(b)) >>
                          64);
}
u64 op_mulhu(u64 a, u64 b) {
  return static_cast<u64>((static_cast<unsigned __int128>(a) * b) >> 64);
}

u64 op_div(u64 a, u64 b) {
  const i64 sa = static_cast<i64>(a), sb = static_cast<i64>(b);
  if (sb == 0) return ~u64{0};
  if (sa == std::numeric_limits<i64>::min() && sb == -1) return a;
  return static_cast<u64>(sa / sb);
}
u64 op_divu(u64 a, u64 b) { return b == 0 ? ~u64{0} : a / b; }
u64 op_rem(u64 a, u64 b) {
  const i64 sa = static_cast<i64>(a), sb = static_cast<i64>(b);
  if (sb == 0) return a;
  if (sa == std::numeric_limits<i64>::min() && sb == -1) return 0;
  return static_cast<u64>(sa % sb);
}
u64 op_remu(u64 a, u64 b) { return b == 0 ? a : a % b; }

u64 op_mulw(u64 a, u64 b) { return sext32(static_cast<u32>(a) * static_cast<u32>(b)); }
u64 op_divw(u64 a, u64 b) {
  const i32 sa = static_cast<i32>(a), sb = static_cast<i32>(b);
  if (sb == 0) return ~u64{0};
  if (sa == std::numeric_limits<i32>::min() && sb == -1) return sext32(static_cast<u32>(sa));
  return sext32(static_cast<u32>(sa / sb));
}
u64 op_divuw(u64 a, u64 b) {
  const u32 ua = static_cast<u32>(a), ub = static_cast<u32>(b);
  return ub == 0 ? ~u64{0} : sext32(ua / ub);
}
u64 op_remw(u64 a, u64 b) {
  const i32 sa = static_cast<i32>(a), sb = static_cast<i32>(b);
  if (sb == 0) return sext32(static_cast<u32>(sa));
  if (sa == std::numeric_limits<i32>::min() && sb == -1) return 0;
  return sext32(static_cast<u32>(sa % sb));
}
u64 op_remuw(u64 a, u64 b) {
  const u32 ua = static_cast<u32>(a), ub = static_cast<u32>(b);
  return sext32(ub == 0 ? ua : ua % ub);
}

constexpr uint32_t kFunct7Mask = 0xfe00707f;

constexpr OpcodeDef kOpcodes[] = {
    {"mul", kFunct7Mask, 0x02000033, Format::kR, exec_mul_div<op_mul>, "rd,rs1,rs2"},
    {"mulh", kFunct7Mask, 0x02001033, Format::kR, exec_mul_div<op_mulh>, "rd,rs1,rs2"},
    {"mulhsu", kFunct7Mask, 0x02002033, Format::kR, exec_mul_div<op_mulhsu>, "rd,rs1,rs2"},
    {"mulhu", kFunct7Mask, 0x02003033, Format::kR, exec_mul_div<op_mulhu>, "rd,rs1,rs2"},
    {"div", kFunct7Mask, 0x02004033, Format::kR, exec_mul_div<op_div>, "rd,rs1,rs2"},
    {"divu", kFunct7Mask, 0x02005033, Format::kR, exec_mul_div<op_divu>, "rd,rs1,rs2"},
    {"rem", kFunct7Mask, 0x02006033, Format::kR, exec_mul_div<op_rem>, "rd,rs1,rs2"},
    {"remu", kFunct7Mask, 0x02007033, Format::kR, exec_mul_div<op_remu>, "rd,rs1,rs2"},
    {"mulw", kFunct7Mask, 0x0200003b, Format::kR, exec_mul_div<op_mulw>, "rd,rs1,rs2"},
    {"divw", kFunct7Mask, 0x0200403b, Format::kR, exec_mul_div<op_divw>, "rd,rs1,rs2"},
    {"divuw", kFunct7Mask, 0x0200503b, Format::kR, exec_mul_div<op_divuw>, "rd,rs1,rs2"},
    {"remw", kFunct7Mask, 0x0200603b, Format::kR, exec_mul_div<op_remw>, "rd,rs1,rs2"},
    {"remuw", kFunct7Mask, 0x0200703b, Format::kR, exec_mul_div<op_remuw>, "rd,rs1,rs2"},
};

}  // namespace

std::span<const OpcodeDef> opcodes_rv64m() { return kOpcodes; }

}  // namespace vireo::riscv
