// libFuzzer target: runs arbitrary bytes as RISC-V code on one hart and
// requires only that the host survives (no crash, no sanitizer report, no
// hang: every run is bounded by an instruction budget).
//
// Input layout (little-endian; a short input is zero-padded):
//   [0, 32)    control header (struct Control below): starting privilege,
//              translation mode and root page, trap delegation, interrupt
//              enables, trap vectors, PMP configuration, fcsr, which hart
//              flavour (with or without the built-in SBI)
//   [32, 160)  seeds of x1..x16 (x17..x31 and f0..f31 derive from them)
//   [160, ...) the body, copied to RAM at kRamBase: code, data, and the page
//              tables a non-bare satp points into
// A register seed with its two top bits clear becomes a pointer into RAM, so
// loads and stores often hit memory instead of faulting.
//
// To replay a crash with an instruction trace:
//   VIREO_FUZZ_TRACE=1 fuzz_riscv_exec crash-<hash>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

#include "core/bus.hpp"
#include "core/clock.hpp"
#include "core/guest_memory.hpp"
#include "cpu/riscv/csr.hpp"
#include "cpu/riscv/hart.hpp"

namespace {

using namespace vireo;
using namespace vireo::riscv;

constexpr uint64_t kRamBase = 0x80000000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kMmioBase = 0x10000000;  // a device that answers anything
constexpr uint64_t kMmioSize = 0x1000;
constexpr uint64_t kBudget = 10000;
constexpr size_t kControlSize = 32;
constexpr size_t kSeedCount = 16;
constexpr size_t kHeaderSize = kControlSize + 8 * kSeedCount;

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
  uint8_t counters;    // bit 0: menvcfg.STCE; bits 1-7 -> mcounteren
  uint8_t mstatus_hi;  // bits 0-2: TVM, TW, TSR; bit 3: MIE; bit 4: SIE; bits 5-6 MPP
  uint8_t reserved[5];
};
static_assert(sizeof(Control) == kControlSize);

class FuzzDevice final : public BusDevice {
 public:
  uint64_t read(uint64_t offset, unsigned size) override { return 0x0123456789abcdefull ^ offset; }
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

// Built once: mapping RAM per input would dominate the run time.
struct Machine {
  GuestMemory memory;
  Bus bus{"fuzz"};
  GuestClock clock{10'000'000};
  FuzzDevice device;
  FuzzHost host;
  std::unique_ptr<HartShared> shared;
  std::unique_ptr<Hart> plain;  // M-mode software expected (like --firmware <file>)
  std::unique_ptr<Hart> sbi;    // built-in SBI serves S-mode ecalls
  uint8_t* ram = nullptr;

  Machine() {
    if (!memory.add_ram(GuestAddr(kRamBase), kRamSize)) __builtin_trap();
    if (!bus.add(GuestAddr(kMmioBase), kMmioSize, &device, "fuzz-device")) __builtin_trap();
    auto host_ram = memory.host_range(GuestAddr(kRamBase), kRamSize);
    if (!host_ram) __builtin_trap();
    ram = *host_ram;
    shared = std::make_unique<HartShared>(memory);
    HartConfig config;
    // Replaying a crash: VIREO_FUZZ_TRACE=1 prints every executed instruction.
    config.trace = std::getenv("VIREO_FUZZ_TRACE") != nullptr;
    plain = std::make_unique<Hart>(config, memory, bus, clock, host, *shared);
    config.builtin_sbi = true;
    sbi = std::make_unique<Hart>(config, memory, bus, clock, host, *shared);
  }
};

uint64_t seed_value(uint64_t seed) {
  return (seed >> 62) == 0 ? kRamBase + (seed % kRamSize) : seed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Machine m;

  uint8_t header[kHeaderSize] = {};
  std::memcpy(header, data, size < kHeaderSize ? size : kHeaderSize);
  Control c;
  std::memcpy(&c, header, sizeof(c));
  uint64_t seeds[kSeedCount];
  std::memcpy(seeds, header + kControlSize, sizeof(seeds));
  const uint8_t* body = size > kHeaderSize ? data + kHeaderSize : nullptr;
  const size_t body_size = size > kHeaderSize ? std::min<size_t>(size - kHeaderSize, kRamSize) : 0;

  std::memset(m.ram, 0, kRamSize);
  if (body_size) std::memcpy(m.ram, body, body_size);

  Hart& h = (c.mode & 4) ? *m.sbi : *m.plain;
  m.host.current = &h;
  m.host.stop = false;
  const uint64_t entry = kRamBase + ((body_size ? c.entry % body_size : 0) & ~uint64_t{1});
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
    const uint64_t pages = std::max<uint64_t>(1, (body_size + 4095) / 4096);
    const uint64_t root = kRamBase / 4096 + (c.satp >> 2) % pages;
    h.csr_write(csr::kSatp, (uint64_t{7 + mode} << 60) | root);
  }
  const unsigned p = c.mode & 3;
  h.set_priv(p == 0 ? Priv::kUser : p == 1 ? Priv::kSupervisor : Priv::kMachine);

  h.run_for(kBudget);
  return 0;
}
