// Shared fixture for instruction-semantics tests: one hart in M-mode with RAM
// at kRamBase and no translation, and encoders that build instructions from
// the decoder's own table rows (whose encodings the riscv_decode tests check
// against binutils), so each test reads like assembly.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "core/bus.hpp"
#include "core/clock.hpp"
#include "core/guest_memory.hpp"
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"

namespace vireo::riscv::testing {

// ABI register numbers used by the tests.
enum Reg : uint32_t {
  zero = 0,
  ra = 1,
  sp = 2,
  t0 = 5,
  t1 = 6,
  a0 = 10,
  a1 = 11,
  a2 = 12,
  a3 = 13
};

inline const OpcodeDef& row(std::string_view name) {
  for (const OpcodeDef& r : all_opcodes()) {
    if (name == r.name) return r;
  }
  ADD_FAILURE() << "no table row named " << name;
  static const OpcodeDef kNone{"<none>", 0, 0, Format::kNone, nullptr, ""};
  return kNone;
}

// rd, rs1, rs2 register forms (also the unary Zbb ops with rs2 = 0, and AMOs
// with aq/rl in `aqrl`).
inline uint32_t r_type(std::string_view name, uint32_t rd, uint32_t rs1, uint32_t rs2 = 0,
                       uint32_t aqrl = 0) {
  return row(name).match | rd << 7 | rs1 << 15 | rs2 << 20 | aqrl << 25;
}
// rd, rs1, imm forms: I-type immediates, loads, jalr and shift amounts.
inline uint32_t i_type(std::string_view name, uint32_t rd, uint32_t rs1, int32_t imm) {
  return row(name).match | rd << 7 | rs1 << 15 | (static_cast<uint32_t>(imm) & 0xfff) << 20;
}
inline uint32_t s_type(std::string_view name, uint32_t rs2, uint32_t rs1, int32_t imm) {
  const uint32_t u = static_cast<uint32_t>(imm);
  return row(name).match | (u & 0x1f) << 7 | rs1 << 15 | rs2 << 20 | ((u >> 5) & 0x7f) << 25;
}
inline uint32_t b_type(std::string_view name, uint32_t rs1, uint32_t rs2, int32_t imm) {
  const uint32_t u = static_cast<uint32_t>(imm);
  return row(name).match | ((u >> 11) & 1) << 7 | ((u >> 1) & 0xf) << 8 | rs1 << 15 | rs2 << 20 |
         ((u >> 5) & 0x3f) << 25 | ((u >> 12) & 1) << 31;
}
inline uint32_t u_type(std::string_view name, uint32_t rd, uint32_t imm20) {
  return row(name).match | rd << 7 | imm20 << 12;
}
inline uint32_t j_type(uint32_t rd, int32_t imm) {
  const uint32_t u = static_cast<uint32_t>(imm);
  return row("jal").match | rd << 7 | ((u >> 12) & 0xff) << 12 | ((u >> 11) & 1) << 20 |
         ((u >> 1) & 0x3ff) << 21 | ((u >> 20) & 1) << 31;
}

class IsaTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kRamBase = 0x80000000;
  static constexpr uint64_t kRamSize = 1 << 20;
  static constexpr uint64_t kCodePc = kRamBase + 0x1000;
  static constexpr uint64_t kData = kRamBase + 0x8000;  // scratch data for memory tests
  static constexpr uint16_t kMcause = 0x342;
  static constexpr uint16_t kMtval = 0x343;
  static constexpr uint16_t kMtvec = 0x305;
  static constexpr uint64_t kTrapVector = kRamBase + 0x100;

  IsaTest();
  ~IsaTest() override;

  Hart& hart() { return *hart_; }
  uint64_t& x(unsigned reg) { return hart_->x[reg]; }

  // Executes one instruction (32-bit or 16-bit encoding) at kCodePc through
  // the decoder and the row's handler. Returns true when no trap was taken
  // (pc advanced by the instruction length or was set by a jump).
  bool exec(uint32_t raw, uint64_t pc = kCodePc) {
    hart_->pc = pc;
    const DecodedInsn d = decode(raw);
    d.exec(*hart_, d);
    EXPECT_EQ(hart_->x[0], 0u) << "x0 must stay zero";
    return hart_->pc != kTrapVector;
  }
  // Executes a non-jump instruction and checks that pc advanced by its length.
  void step(uint32_t raw) {
    ASSERT_TRUE(exec(raw)) << "unexpected trap, mcause=" << csr(kMcause);
    ASSERT_EQ(hart_->pc, kCodePc + ((raw & 3) == 3 ? 4 : 2));
  }
  // Binary operation shorthand: rd = op(rs1, rs2) with a1, a2 -> a0.
  uint64_t binary(std::string_view name, uint64_t lhs, uint64_t rhs) {
    x(a1) = lhs, x(a2) = rhs;
    step(r_type(name, a0, a1, a2));
    return x(a0);
  }
  uint64_t unary(std::string_view name, uint64_t value) {
    x(a1) = value;
    step(r_type(name, a0, a1));
    return x(a0);
  }
  uint64_t with_imm(std::string_view name, uint64_t value, int32_t imm) {
    x(a1) = value;
    step(i_type(name, a0, a1, imm));
    return x(a0);
  }

  uint64_t csr(uint16_t number) {
    uint64_t value = 0;
    EXPECT_TRUE(hart_->csr_read(number, value));
    return value;
  }

  template <class T>
  T peek(uint64_t addr) {
    T value;
    std::memcpy(&value, ram(addr), sizeof(T));
    return value;
  }
  template <class T>
  void poke(uint64_t addr, T value) {
    std::memcpy(ram(addr), &value, sizeof(T));
  }

 private:
  uint8_t* ram(uint64_t addr);

  class NullHost;

  GuestMemory memory_;
  Bus bus_{"test"};
  GuestClock clock_{10'000'000};
  std::unique_ptr<NullHost> host_;
  std::unique_ptr<HartShared> shared_;
  std::unique_ptr<Hart> hart_;
};

}  // namespace vireo::riscv::testing
