// What the RISC-V execution fuzz targets (fuzz_riscv_exec, fuzz_riscv_jit)
// share: the input layout, the MMIO device and host they run against, and the
// set-up of a hart from an input. Header-only: each fuzz target is one
// translation unit.
//
// Input layout (little-endian; a short input is zero-padded):
//   [0, 32)    control header (struct Control below): starting privilege,
//              translation mode and root page, trap delegation, interrupt
//              enables, trap vectors, PMP configuration, fcsr, which hart
//              flavour (with or without the built-in SBI); five bytes left
//              to each target
//   [32, 160)  seeds of x1..x16 (x17..x31 and f0..f31 derive from them)
//   [160, ...) the body, copied to RAM at kRamBase: code, data, and the page
//              tables a non-bare satp points into
// A register seed with its two top bits clear becomes a pointer into RAM, so
// loads and stores often hit memory instead of faulting.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "core/bus.hpp"
#include "cpu/riscv/csr.hpp"
#include "cpu/riscv/hart.hpp"

namespace vireo::riscv::fuzz {

inline constexpr uint64_t kRamBase = 0x80000000;
inline constexpr uint64_t kRamSize = 1 << 20;
inline constexpr uint64_t kMmioBase = 0x10000000;  // a device that answers anything
inline constexpr uint64_t kMmioSize = 0x1000;
inline constexpr size_t kControlSize = 32;
inline constexpr size_t kSeedCount = 16;
inline constexpr size_t kHeaderSize = kControlSize + 8 * kSeedCount;

struct Control {
  uint8_t mode;  // bits 0-1 priv (0 U, 1 S, else M); 2 built-in SBI hart; 3 FS on;
                 // 4 PMP from the input (else open); 5 MPRV; 6 SUM; 7 MXR
  uint8_t satp;  // bits 0-1: bare, Sv39, Sv48, Sv57; bits 2-7: root page index
  uint16_t medeleg;
  uint16_t mideleg;
  uint16_t mie;
  uint32_t entry;  // pc offset into the body
  uint32_t mtvec;  // RAM offset; bit 0 = vectored
  uint32_t stvec;
  uint32_t pmpcfg;  // pmpcfg0 entries 0-3 (their addresses come from seeds x13..x16)
  uint8_t fcsr;
  uint8_t counters;     // bit 0: menvcfg.STCE; bits 1-7 -> mcounteren
  uint8_t mstatus_hi;   // bits 0-2: TVM, TW, TSR; bit 3: MIE; bit 4: SIE; bits 5-6 MPP
  uint8_t reserved[5];  // free for the target (fuzz_riscv_jit: its run slices)
};
static_assert(sizeof(Control) == kControlSize);

class FuzzDevice final : public BusDevice {
 public:
  uint64_t read(uint64_t offset, unsigned) override { return 0x0123456789abcdefull ^ offset; }
  void write(uint64_t, unsigned, uint64_t) override {}
};

class FuzzHost final : public HartHost {
 public:
  Hart* current = nullptr;
  bool stop = false;
  uint32_t hart_count() const override { return 1; }
  Hart* hart(uint32_t id) override { return id == 0 ? current : nullptr; }
  void request_stop(StopKind, int) override { stop = true; }
  bool stop_requested() const override { return stop; }
  void sbi_console_write(std::span<const uint8_t>) override {}
  int sbi_console_read() override { return -1; }
};

inline uint64_t seed_value(uint64_t seed) {
  return (seed >> 62) == 0 ? kRamBase + (seed % kRamSize) : seed;
}

// An input, split into its parts.
struct Input {
  Control c;
  uint64_t seeds[kSeedCount];
  const uint8_t* body = nullptr;
  size_t body_size = 0;

  Input(const uint8_t* data, size_t size) {
    uint8_t header[kHeaderSize] = {};
    std::memcpy(header, data, size < kHeaderSize ? size : kHeaderSize);
    std::memcpy(&c, header, sizeof(c));
    std::memcpy(seeds, header + kControlSize, sizeof(seeds));
    if (size > kHeaderSize) {
      body = data + kHeaderSize;
      body_size = std::min<size_t>(size - kHeaderSize, kRamSize);
    }
  }

  // The hart flavour with the built-in SBI (S-mode ECALLs served by sbi.cpp).
  bool builtin_sbi() const { return (c.mode & 4) != 0; }
};

// Guest RAM (kRamSize bytes at `ram`) holds the body, zeroes after it.
inline void load_ram(uint8_t* ram, const Input& in) {
  std::memset(ram, 0, kRamSize);
  if (in.body_size) std::memcpy(ram, in.body, in.body_size);
}

// Resets `h` and sets it up as the input says: pc, registers, CSRs (written
// in M-mode), then the starting privilege.
inline void setup_hart(Hart& h, const Input& in) {
  const Control& c = in.c;
  const uint64_t* seeds = in.seeds;
  const uint64_t entry = kRamBase + ((in.body_size ? c.entry % in.body_size : 0) & ~uint64_t{1});
  h.reset(entry, Priv::kMachine, seed_value(seeds[9]), seed_value(seeds[10]), 0);

  for (unsigned i = 1; i <= 31; ++i) {
    const uint64_t s = seeds[(i - 1) % kSeedCount];
    h.x[i] = seed_value(i <= kSeedCount ? s : s * 0x9e3779b97f4a7c15ull + i);
  }
  for (unsigned i = 0; i < 32; ++i) {
    const uint64_t s = seeds[i % kSeedCount] ^ (0xbf58476d1ce4e5b9ull * (i + 1));
    // Mostly properly boxed singles or ordinary doubles, sometimes raw bits.
    h.f[i] = (i & 3) == 0 ? (s | 0xffffffff00000000ull) : s;
  }

  // CSRs are written in M-mode, then the hart drops to the chosen privilege.
  uint64_t mstatus = 0;
  if (c.mode & 8) mstatus |= csr::mstatus::kFSInitial;
  if (c.mode & 32) mstatus |= csr::mstatus::kMPRV;
  if (c.mode & 64) mstatus |= csr::mstatus::kSUM;
  if (c.mode & 128) mstatus |= csr::mstatus::kMXR;
  if (c.mstatus_hi & 1) mstatus |= csr::mstatus::kTVM;
  if (c.mstatus_hi & 2) mstatus |= csr::mstatus::kTW;
  if (c.mstatus_hi & 4) mstatus |= csr::mstatus::kTSR;
  if (c.mstatus_hi & 8) mstatus |= csr::mstatus::kMIE;
  if (c.mstatus_hi & 16) mstatus |= csr::mstatus::kSIE;
  mstatus |= static_cast<uint64_t>((c.mstatus_hi >> 5) & 3) << csr::mstatus::kMPPShift;
  h.csr_write(csr::kMstatus, mstatus);
  if (c.mode & 8) h.csr_write(csr::kFcsr, c.fcsr);
  if (!(c.mode & 4)) {  // the SBI flavour keeps its own delegation set-up
    h.csr_write(csr::kMedeleg, c.medeleg);
    h.csr_write(csr::kMideleg, c.mideleg);
  }
  h.csr_write(csr::kMie, c.mie);
  h.csr_write(csr::kMtvec, kRamBase + c.mtvec % kRamSize);
  h.csr_write(csr::kStvec, kRamBase + c.stvec % kRamSize);
  h.csr_write(csr::kMenvcfg, (c.counters & 1) ? csr::envcfg::kSTCE : 0);
  h.csr_write(csr::kMcounteren, c.counters >> 1);
  if (c.mode & 16) {
    for (unsigned i = 0; i < 4; ++i) h.csr_write(csr::kPmpaddr0 + i, seeds[12 + i] >> 2);
    h.csr_write(csr::kPmpcfg0, c.pmpcfg);
  } else {
    h.csr_write(csr::kPmpaddr0, ~uint64_t{0});
    h.csr_write(csr::kPmpcfg0, 0x1f);  // NAPOT, RWX over everything
  }
  if (const unsigned mode = c.satp & 3; mode != 0) {
    const uint64_t pages = std::max<uint64_t>(1, (in.body_size + 4095) / 4096);
    const uint64_t root = kRamBase / 4096 + (c.satp >> 2) % pages;
    h.csr_write(csr::kSatp, (uint64_t{7 + mode} << 60) | root);
  }
  const unsigned p = c.mode & 3;
  h.set_priv(p == 0 ? Priv::kUser : p == 1 ? Priv::kSupervisor : Priv::kMachine);
}

}  // namespace vireo::riscv::fuzz
