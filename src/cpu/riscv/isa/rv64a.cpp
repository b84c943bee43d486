// RV64A: load-reserved/store-conditional and AMOs. Guest RAM is shared with
// other harts running on other host threads, so every access goes through the
// host pointer from Hart::atomic_ptr (which also raises misaligned, page and
// access faults) with host atomics. All orderings are seq_cst: that satisfies
// any aq/rl combination, and on x86 a locked RMW costs the same either way.
#include <type_traits>

#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"

namespace vireo::riscv {

namespace {

using i64 = int64_t;
using u64 = uint64_t;

// The architectural value of a loaded word or doubleword in a register.
template <class T>
u64 to_register(T value) {
  return static_cast<u64>(static_cast<i64>(static_cast<std::make_signed_t<T>>(value)));
}

template <class T>
void exec_lr(Hart& h, const DecodedInsn& d) {
  const u64 addr = h.x[d.rs1];
  uint8_t* host = h.atomic_ptr(addr, sizeof(T), /*for_lr=*/true);
  if (!host) return;
  const T value = __atomic_load_n(reinterpret_cast<T*>(host), __ATOMIC_SEQ_CST);
  h.reservation_addr = addr;
  h.reservation_value = value;
  h.reservation_valid = true;
  h.x[d.rd] = to_register(value);
  h.pc += d.len;
}

// Value-based reservation: the store succeeds iff the word still holds what
// lr read, checked and written in one compare-exchange. Any sc, successful or
// not, ends the reservation.
template <class T>
void exec_sc(Hart& h, const DecodedInsn& d) {
  const u64 addr = h.x[d.rs1];
  const T desired = static_cast<T>(h.x[d.rs2]);
  uint8_t* host = h.atomic_ptr(addr, sizeof(T), /*for_lr=*/false);
  if (!host) return;
  bool stored = false;
  if (h.reservation_valid && h.reservation_addr == addr) {
    T expected = static_cast<T>(h.reservation_value);
    stored = __atomic_compare_exchange_n(reinterpret_cast<T*>(host), &expected, desired,
                                         /*weak=*/false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  }
  h.reservation_valid = false;
  h.x[d.rd] = stored ? 0 : 1;
  h.pc += d.len;
}

// Read-modify-write AMOs with a direct host builtin.
enum class Rmw { kSwap, kAdd, kXor, kAnd, kOr };

template <class T, Rmw Kind>
void exec_amo(Hart& h, const DecodedInsn& d) {
  const T operand = static_cast<T>(h.x[d.rs2]);
  uint8_t* host = h.atomic_ptr(h.x[d.rs1], sizeof(T), /*for_lr=*/false);
  if (!host) return;
  T* p = reinterpret_cast<T*>(host);
  T old;
  if constexpr (Kind == Rmw::kSwap) old = __atomic_exchange_n(p, operand, __ATOMIC_SEQ_CST);
  if constexpr (Kind == Rmw::kAdd) old = __atomic_fetch_add(p, operand, __ATOMIC_SEQ_CST);
  if constexpr (Kind == Rmw::kXor) old = __atomic_fetch_xor(p, operand, __ATOMIC_SEQ_CST);
  if constexpr (Kind == Rmw::kAnd) old = __atomic_fetch_and(p, operand, __ATOMIC_SEQ_CST);
  if constexpr (Kind == Rmw::kOr) old = __atomic_fetch_or(p, operand, __ATOMIC_SEQ_CST);
  h.x[d.rd] = to_register(old);
  h.pc += d.len;
}

// min/max have no host builtin: a compare-exchange loop. Cmp is the signed or
// unsigned element type that decides the comparison.
template <class T, class Cmp, bool kMax>
void exec_amo_minmax(Hart& h, const DecodedInsn& d) {
  const T operand = static_cast<T>(h.x[d.rs2]);
  uint8_t* host = h.atomic_ptr(h.x[d.rs1], sizeof(T), /*for_lr=*/false);
  if (!host) return;
  T* p = reinterpret_cast<T*>(host);
  T old = __atomic_load_n(p, __ATOMIC_RELAXED);
  for (;;) {
    const bool keep_old = kMax ? static_cast<Cmp>(old) >= static_cast<Cmp>(operand)
                               : static_cast<Cmp>(old) <= static_cast<Cmp>(operand);
    const T result = keep_old ? old : operand;
    if (__atomic_compare_exchange_n(p, &old, result, /*weak=*/true, __ATOMIC_SEQ_CST,
                                    __ATOMIC_RELAXED)) {
      break;
    }
  }
  h.x[d.rd] = to_register(old);
  h.pc += d.len;
}

using u32 = uint32_t;
using i32 = int32_t;

constexpr uint32_t kLrMask = 0xf9f0707f;   // aq/rl free, rs2 must be 0
constexpr uint32_t kAmoMask = 0xf800707f;  // aq/rl free

constexpr OpcodeDef kOpcodes[] = {
    {"lr.w", kLrMask, 0x1000202f, Format::kAmo, exec_lr<u32>, "rd,(rs1)"},
    {"sc.w", kAmoMask, 0x1800202f, Format::kAmo, exec_sc<u32>, "rd,rs2,(rs1)"},
    {"amoswap.w", kAmoMask, 0x0800202f, Format::kAmo, exec_amo<u32, Rmw::kSwap>, "rd,rs2,(rs1)"},
    {"amoadd.w", kAmoMask, 0x0000202f, Format::kAmo, exec_amo<u32, Rmw::kAdd>, "rd,rs2,(rs1)"},
    {"amoxor.w", kAmoMask, 0x2000202f, Format::kAmo, exec_amo<u32, Rmw::kXor>, "rd,rs2,(rs1)"},
    {"amoand.w", kAmoMask, 0x6000202f, Format::kAmo, exec_amo<u32, Rmw::kAnd>, "rd,rs2,(rs1)"},
    {"amoor.w", kAmoMask, 0x4000202f, Format::kAmo, exec_amo<u32, Rmw::kOr>, "rd,rs2,(rs1)"},
    {"amomin.w", kAmoMask, 0x8000202f, Format::kAmo, exec_amo_minmax<u32, i32, false>,
     "rd,rs2,(rs1)"},
    {"amomax.w", kAmoMask, 0xa000202f, Format::kAmo, exec_amo_minmax<u32, i32, true>,
     "rd,rs2,(rs1)"},
    {"amominu.w", kAmoMask, 0xc000202f, Format::kAmo, exec_amo_minmax<u32, u32, false>,
     "rd,rs2,(rs1)"},
    {"amomaxu.w", kAmoMask, 0xe000202f, Format::kAmo, exec_amo_minmax<u32, u32, true>,
     "rd,rs2,(rs1)"},

    {"lr.d", kLrMask, 0x1000302f, Format::kAmo, exec_lr<u64>, "rd,(rs1)"},
    {"sc.d", kAmoMask, 0x1800302f, Format::kAmo, exec_sc<u64>, "rd,rs2,(rs1)"},
    {"amoswap.d", kAmoMask, 0x0800302f, Format::kAmo, exec_amo<u64, Rmw::kSwap>, "rd,rs2,(rs1)"},
    {"amoadd.d", kAmoMask, 0x0000302f, Format::kAmo, exec_amo<u64, Rmw::kAdd>, "rd,rs2,(rs1)"},
    {"amoxor.d", kAmoMask, 0x2000302f, Format::kAmo, exec_amo<u64, Rmw::kXor>, "rd,rs2,(rs1)"},
    {"amoand.d", kAmoMask, 0x6000302f, Format::kAmo, exec_amo<u64, Rmw::kAnd>, "rd,rs2,(rs1)"},
    {"amoor.d", kAmoMask, 0x4000302f, Format::kAmo, exec_amo<u64, Rmw::kOr>, "rd,rs2,(rs1)"},
    {"amomin.d", kAmoMask, 0x8000302f, Format::kAmo, exec_amo_minmax<u64, i64, false>,
     "rd,rs2,(rs1)"},
    {"amomax.d", kAmoMask, 0xa000302f, Format::kAmo, exec_amo_minmax<u64, i64, true>,
     "rd,rs2,(rs1)"},
    {"amominu.d", kAmoMask, 0xc000302f, Format::kAmo, exec_amo_minmax<u64, u64, false>,
     "rd,rs2,(rs1)"},
    {"amomaxu.d", kAmoMask, 0xe000302f, Format::kAmo, exec_amo_minmax<u64, u64, true>,
     "rd,rs2,(rs1)"},
};

}  // namespace

std::span<const OpcodeDef> opcodes_rv64a() { return kOpcodes; }

}  // namespace vireo::riscv
