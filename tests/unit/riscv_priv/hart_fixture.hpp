// Test fixture for the privileged architecture: one or more harts on RAM at
// 0x80000000, a fake HartHost, a tiny instruction encoder, and a page-table
// builder for Sv39/Sv48/Sv57.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/bus.hpp"
#include "core/clock.hpp"
#include "core/guest_memory.hpp"
#include "cpu/riscv/csr.hpp"
#include "cpu/riscv/hart.hpp"

namespace vireo::riscv {

// White-box access to hart internals (declared a friend in hart.hpp).
class HartTestPeer {
 public:
  static bool in_wfi(const Hart& h) { return h.wfi_; }
  static uint64_t stimecmp(const Hart& h) { return h.stimecmp_; }
  static uint64_t satp(const Hart& h) { return h.satp_; }
  static uint64_t halt_poll_ns(const Hart& h) { return h.poll_ns_; }
  // Times the JIT's code buffer filled up and every block was dropped.
  static uint64_t jit_buffer_flushes(const Hart& h) {
    return h.jit_ ? h.jit_->buffer_flushes() : 0;
  }
};

namespace test {

inline constexpr uint64_t kRamBase = 0x80000000;
inline constexpr uint64_t kRamSize = 8 << 20;
inline constexpr uint64_t kCode = kRamBase;               // test programs
inline constexpr uint64_t kTables = kRamBase + 0x400000;  // page tables (bump-allocated)
inline constexpr uint64_t kData = kRamBase + 0x200000;    // data pages

class FakeHost : public HartHost {
 public:
  std::vector<Hart*> harts;
  std::atomic<bool> stop{false};
  StopKind stop_kind = StopKind::kPoweroff;
  int stop_code = -1;
  std::string console;
  std::string input;

  uint32_t hart_count() const override { return static_cast<uint32_t>(harts.size()); }
  Hart* hart(uint32_t id) override { return id < harts.size() ? harts[id] : nullptr; }
  void request_stop(StopKind kind, int exit_code) override {
    stop = true;
    stop_kind = kind;
    stop_code = exit_code;
  }
  bool stop_requested() const override { return stop; }
  void sbi_console_write(std::span<const uint8_t> bytes) override {
    console.append(bytes.begin(), bytes.end());
  }
  int sbi_console_read() override {
    if (input.empty()) return -1;
    const int c = static_cast<uint8_t>(input.front());
    input.erase(input.begin());
    return c;
  }
};

// A device recording the last access, for MMIO tests.
class RecordingDevice : public BusDevice {
 public:
  uint64_t last_offset = ~0ull, last_value = 0;
  unsigned last_size = 0;
  uint64_t read_value = 0x1122334455667788;
  uint64_t read(uint64_t offset, unsigned size) override {
    last_offset = offset;
    last_size = size;
    return size == 8 ? read_value : read_value & ((1ull << (8 * size)) - 1);
  }
  void write(uint64_t offset, unsigned size, uint64_t value) override {
    last_offset = offset;
    last_size = size;
    last_value = value;
  }
};

// ---- A tiny RV64 encoder ----
namespace enc {
inline uint32_t i_type(uint32_t op, unsigned rd, unsigned f3, unsigned rs1, int32_t imm) {
  return op | rd << 7 | f3 << 12 | rs1 << 15 | (static_cast<uint32_t>(imm) & 0xfff) << 20;
}
inline uint32_t s_type(uint32_t op, unsigned f3, unsigned rs1, unsigned rs2, int32_t imm) {
  const uint32_t u = static_cast<uint32_t>(imm);
  return op | (u & 0x1f) << 7 | f3 << 12 | rs1 << 15 | rs2 << 20 | ((u >> 5) & 0x7f) << 25;
}
inline uint32_t addi(unsigned rd, unsigned rs1, int32_t imm) {
  return i_type(0x13, rd, 0, rs1, imm);
}
inline uint32_t add(unsigned rd, unsigned rs1, unsigned rs2) {
  return 0x33 | rd << 7 | rs1 << 15 | rs2 << 20;
}
inline uint32_t ld(unsigned rd, unsigned rs1, int32_t imm) { return i_type(0x03, rd, 3, rs1, imm); }
inline uint32_t sd(unsigned rs2, unsigned rs1, int32_t imm) {
  return s_type(0x23, 3, rs1, rs2, imm);
}
inline uint32_t sw(unsigned rs2, unsigned rs1, int32_t imm) {
  return s_type(0x23, 2, rs1, rs2, imm);
}
inline uint32_t csrrw(unsigned rd, uint16_t csr, unsigned rs1) {
  return i_type(0x73, rd, 1, rs1, csr);
}
inline uint32_t csrrs(unsigned rd, uint16_t csr, unsigned rs1) {
  return i_type(0x73, rd, 2, rs1, csr);
}
inline uint32_t csrrc(unsigned rd, uint16_t csr, unsigned rs1) {
  return i_type(0x73, rd, 3, rs1, csr);
}
inline uint32_t csrrwi(unsigned rd, uint16_t csr, unsigned uimm) {
  return i_type(0x73, rd, 5, uimm, csr);
}
inline uint32_t csrrsi(unsigned rd, uint16_t csr, unsigned uimm) {
  return i_type(0x73, rd, 6, uimm, csr);
}
inline uint32_t jal_self() { return 0x0000006f; }   // j . (spin)
inline uint32_t jal(unsigned rd, int32_t offset) {  // offset: even, within +-1 MiB
  const uint32_t u = static_cast<uint32_t>(offset);
  return 0x6f | rd << 7 | (u & 0xff000) | ((u >> 11) & 1) << 20 | ((u >> 1) & 0x3ff) << 21 |
         ((u >> 20) & 1) << 31;
}
inline constexpr uint32_t kEcall = 0x00000073, kEbreak = 0x00100073;
inline constexpr uint32_t kMret = 0x30200073, kSret = 0x10200073, kWfi = 0x10500073;
inline constexpr uint32_t kSfenceVma = 0x12000073, kFenceI = 0x0000100f;
inline constexpr uint16_t kCNop = 0x0001;
}  // namespace enc

// Registers by ABI name.
inline constexpr unsigned kRa = 1, kSp = 2, kT0 = 5, kT1 = 6, kT2 = 7, kA0 = 10, kA1 = 11, kA2 = 12,
                          kA3 = 13, kA4 = 14, kA5 = 15, kA6 = 16, kA7 = 17;

class HartFixture : public ::testing::Test {
 protected:
  // Harts [0, jit_harts) translate hot code (HartConfig::jit, with a code
  // buffer of jit_code_bytes); the others only interpret.
  explicit HartFixture(unsigned harts = 1, bool builtin_sbi = false,
                       std::vector<std::pair<uint64_t, uint64_t>> bus_ranges = {},
                       unsigned jit_harts = 0, size_t jit_code_bytes = Jit::kDefaultCodeBytes)
      : bus_ranges_(std::move(bus_ranges)), bus_("test") {
    EXPECT_TRUE(memory_.add_ram(GuestAddr(kRamBase), kRamSize).has_value());
    shared_ = std::make_unique<HartShared>(memory_);
    for (unsigned i = 0; i < harts; ++i) {
      HartConfig config;
      config.hart_id = i;
      config.builtin_sbi = builtin_sbi;
      config.bus_ranges_in_ram = bus_ranges_;
      config.jit = i < jit_harts;
      config.jit_code_bytes = jit_code_bytes;
      harts_.push_back(std::make_unique<Hart>(config, memory_, bus_, clock_, host_, *shared_));
      host_.harts.push_back(harts_.back().get());
    }
  }

  Hart& hart(unsigned i = 0) { return *harts_[i]; }

  // ---- Memory helpers ----
  void poke32(uint64_t addr, uint32_t v) { ASSERT_TRUE(memory_.write_obj(GuestAddr(addr), v)); }
  void poke64(uint64_t addr, uint64_t v) { ASSERT_TRUE(memory_.write_obj(GuestAddr(addr), v)); }
  uint64_t peek64(uint64_t addr) { return *memory_.read_obj<uint64_t>(GuestAddr(addr)); }
  uint32_t peek32(uint64_t addr) { return *memory_.read_obj<uint32_t>(GuestAddr(addr)); }
  // Writes 32-bit instructions at `addr`; returns the address after them.
  // Like a hart's store, the write invalidates decoded copies of the page
  // (poke32 does not: it behaves like DMA, which needs FENCE.I).
  uint64_t code(uint64_t addr, std::initializer_list<uint32_t> insns) {
    for (uint32_t insn : insns) {
      poke32(addr, insn);
      HartShared::invalidate_on_store(*shared_->code_state(addr));
      addr += 4;
    }
    return addr;
  }

  // ---- CSR helpers (as M-mode, whatever the current privilege) ----
  uint64_t csr(uint16_t n, unsigned i = 0) {
    const Priv saved = hart(i).priv;
    hart(i).set_priv(Priv::kMachine);
    uint64_t v = 0;
    EXPECT_TRUE(hart(i).csr_read(n, v)) << std::hex << "csr " << n;
    hart(i).set_priv(saved);
    return v;
  }
  void set_csr(uint16_t n, uint64_t v, unsigned i = 0) {
    const Priv saved = hart(i).priv;
    hart(i).set_priv(Priv::kMachine);
    EXPECT_TRUE(hart(i).csr_write(n, v)) << std::hex << "csr " << n;
    hart(i).set_priv(saved);
  }

  // Opens PMP for S/U over all memory (entry 15, so tests can use the lower ones).
  void open_pmp() {
    set_csr(csr::kPmpaddr0 + 15, ~0ull);
    set_csr(csr::kPmpcfg0 + 2, uint64_t{csr::pmp::kR | csr::pmp::kW | csr::pmp::kX |
                                        (csr::pmp::kNapot << csr::pmp::kAShift)}
                                   << 56);
  }

  // ---- Page tables ----
  uint64_t next_table_ = kTables;
  uint64_t alloc_table() {
    const uint64_t t = next_table_;
    next_table_ += 4096;
    EXPECT_TRUE(memory_.fill(GuestAddr(t), 0, 4096).has_value());
    return t;
  }
  uint64_t root_ = 0;
  unsigned levels_ = 3;
  // Starts a fresh address space of the given mode (8 Sv39, 9 Sv48, 10 Sv57)
  // and writes satp.
  void new_address_space(uint64_t mode = csr::satp::kModeSv39) {
    levels_ = static_cast<unsigned>(mode) - 5;
    root_ = alloc_table();
    set_csr(csr::kSatp, mode << 60 | root_ >> 12);
  }
  // Maps `va` to `pa` with a leaf at `level` (0 = 4 KiB, 1 = 2 MiB, ...).
  // Returns the guest-physical address of the leaf PTE.
  uint64_t map(uint64_t va, uint64_t pa, uint64_t flags, unsigned level = 0) {
    uint64_t table = root_;
    for (unsigned l = levels_ - 1; l > level; --l) {
      const uint64_t slot = table + ((va >> (12 + 9 * l)) & 0x1ff) * 8;
      uint64_t pte = peek64(slot);
      if (!(pte & pte::kV)) {
        pte = (alloc_table() >> 12) << 10 | pte::kV;
        poke64(slot, pte);
      }
      table = (pte >> 10) << 12;
    }
    const uint64_t slot = table + ((va >> (12 + 9 * level)) & 0x1ff) * 8;
    poke64(slot, (pa >> 12) << 10 | flags);
    return slot;
  }

  // Runs until the hart stops making progress or `max` instructions.
  uint64_t run(uint64_t max = 1000, unsigned i = 0) { return hart(i).run_for(max); }

  GuestMemory memory_;
  std::vector<std::pair<uint64_t, uint64_t>> bus_ranges_;
  Bus bus_;
  GuestClock clock_{10'000'000};
  FakeHost host_;
  std::unique_ptr<HartShared> shared_;
  std::vector<std::unique_ptr<Hart>> harts_;
};

inline constexpr uint64_t kRWX = pte::kV | pte::kR | pte::kW | pte::kX | pte::kA | pte::kD;
inline constexpr uint64_t kRW = pte::kV | pte::kR | pte::kW | pte::kA | pte::kD;

}  // namespace test
}  // namespace vireo::riscv
