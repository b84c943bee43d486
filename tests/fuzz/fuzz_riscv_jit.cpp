// libFuzzer target, differential: the same input runs on a hart with the JIT
// (HartConfig::jit) and on one without (the interpreter, the reference), each
// on a machine of its own, and the two must agree after every run slice:
// every architectural register (x, f, pc, fflags/frm, privilege, LR/SC
// reservation), every CSR the hart keeps (read through HartTestPeer, so that
// the current privilege does not hide any), the counters, WFI/HSM state,
// stop requests, the instruction counts run_for() and instret() report, and
// all of RAM. On a difference it prints both states and traps.
//
// The input layout is fuzz_riscv_exec's (riscv_fuzz_support.hpp). The
// control header's five spare bytes choose the run slices: 4 - (r[4] & 3)
// slices (1 to 4), sized in proportion to r[0..3] + 1, kTotalInsns in all,
// enough for a loop to get hot (Jit::kHotThreshold entries) and run
// translated for a while. The machines' clock is frozen at 0 (a GuestClock of
// frequency 0), so that `time` and Sstc timer interrupts are the same on
// both sides.
//
// Both harts are created afresh for every input (with a fresh HartShared):
// Hart::reset() drops the decode cache (a new epoch), the TLB and the jump
// cache, but not the JIT's per-slot heat counters and "cold" marks, so a
// reused JIT hart would translate at different times depending on the inputs
// run before, and a reproducer would not reproduce alone.
//
// To replay a mismatch with an instruction trace of the interpreter side:
//   VIREO_FUZZ_TRACE=1 fuzz_riscv_jit crash-<hash>
// VIREO_FUZZ_STATS=1 prints, at exit, how many inputs ran translated code.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/bus.hpp"
#include "core/clock.hpp"
#include "core/guest_memory.hpp"
#include "cpu/riscv/csr.hpp"
#include "cpu/riscv/hart.hpp"
#include "riscv_fuzz_support.hpp"

namespace vireo::riscv {

namespace {

// The compared state: named 64-bit values.
struct State {
  static constexpr size_t kMax = 192;
  size_t n = 0;
  const char* name[kMax];
  uint64_t value[kMax];
  void add(const char* field, uint64_t v) {
    if (n == kMax) __builtin_trap();
    name[n] = field;
    value[n++] = v;
  }
};

// Field names of the register files, built once.
struct Names {
  char x[32][8], f[32][8], pmpcfg[csr::pmp::kEntries][12], pmpaddr[csr::pmp::kEntries][12];
  Names() {
    for (unsigned i = 0; i < 32; ++i) {
      std::snprintf(x[i], sizeof x[i], "x%u", i);
      std::snprintf(f[i], sizeof f[i], "f%u", i);
    }
    for (unsigned i = 0; i < csr::pmp::kEntries; ++i) {
      std::snprintf(pmpcfg[i], sizeof pmpcfg[i], "pmpcfg%u", i);
      std::snprintf(pmpaddr[i], sizeof pmpaddr[i], "pmpaddr%u", i);
    }
  }
};

}  // namespace

// White-box access to the hart (a friend of Hart).
class HartTestPeer {
 public:
  static void capture(const Hart& h, State& s) {
    static const Names names;
    for (unsigned i = 1; i < 32; ++i) s.add(names.x[i], h.x[i]);
    for (unsigned i = 0; i < 32; ++i) s.add(names.f[i], h.f[i]);
    s.add("pc", h.pc);
    s.add("fflags", h.fflags);
    s.add("frm", h.frm);
    s.add("priv", static_cast<uint64_t>(h.priv));
    s.add("reservation_valid", h.reservation_valid);
    s.add("reservation_addr", h.reservation_addr);
    s.add("reservation_value", h.reservation_value);
    s.add("instret", h.instret());
    s.add("mstatus", h.read_mstatus());
    s.add("medeleg", h.medeleg_);
    s.add("mideleg", h.mideleg_);
    s.add("mie", h.mie_);
    s.add("mip", h.effective_mip());
    s.add("mip_sw", h.mip_sw_);
    s.add("mtvec", h.mtvec_);
    s.add("stvec", h.stvec_);
    s.add("mscratch", h.mscratch_);
    s.add("sscratch", h.sscratch_);
    s.add("mepc", h.mepc_);
    s.add("sepc", h.sepc_);
    s.add("mcause", h.mcause_);
    s.add("scause", h.scause_);
    s.add("mtval", h.mtval_);
    s.add("stval", h.stval_);
    s.add("satp", h.satp_);
    s.add("menvcfg", h.menvcfg_);
    s.add("senvcfg", h.senvcfg_);
    s.add("stimecmp", h.stimecmp_);
    s.add("mcounteren", h.mcounteren_);
    s.add("scounteren", h.scounteren_);
    s.add("mcountinhibit", h.mcountinhibit_);
    s.add("cycle_delta", h.cycle_delta_);
    s.add("instret_delta", h.instret_delta_);
    s.add("cycle_frozen", h.cycle_frozen_);
    s.add("instret_frozen", h.instret_frozen_);
    for (unsigned i = 0; i < csr::pmp::kEntries; ++i) {
      s.add(names.pmpcfg[i], h.pmpcfg_[i]);
      s.add(names.pmpaddr[i], h.pmpaddr_[i]);
    }
    s.add("wfi", h.wfi_);
    s.add("hsm_state", h.hsm_state_.load());
    s.add("hsm_suspend_nonretentive", h.hsm_suspend_nonretentive_);
  }
};

}  // namespace vireo::riscv

namespace {

using namespace vireo;
using namespace vireo::riscv;
using namespace vireo::riscv::fuzz;

constexpr uint64_t kTotalInsns = 20000;
constexpr unsigned kMaxSlices = 4;

// One machine: RAM and the fuzz device (built once: mapping RAM per input
// would dominate the run time) and, per input, a fresh hart.
struct Side {
  const bool jit;
  GuestMemory memory;
  Bus bus{"fuzz"};
  GuestClock clock{0};  // frozen: `time` reads 0 on both sides
  FuzzDevice device;
  FuzzHost host;
  uint8_t* ram = nullptr;
  std::unique_ptr<HartShared> shared;
  std::unique_ptr<Hart> hart;

  explicit Side(bool with_jit) : jit(with_jit) {
    if (!memory.add_ram(GuestAddr(kRamBase), kRamSize)) __builtin_trap();
    if (!bus.add(GuestAddr(kMmioBase), kMmioSize, &device, "fuzz-device")) __builtin_trap();
    auto host_ram = memory.host_range(GuestAddr(kRamBase), kRamSize);
    if (!host_ram) __builtin_trap();
    ram = *host_ram;
  }

  Hart& start(const Input& in) {
    hart.reset();  // before the HartShared it refers to
    shared = std::make_unique<HartShared>(memory);
    load_ram(ram, in);
    HartConfig config;
    config.jit = jit;
    config.builtin_sbi = in.builtin_sbi();
    // The trace (which turns the JIT off) is for the interpreter side.
    config.trace = !jit && std::getenv("VIREO_FUZZ_TRACE") != nullptr;
    hart = std::make_unique<Hart>(config, memory, bus, clock, host, *shared);
    host.current = hart.get();
    host.stop = false;
    setup_hart(*hart, in);
    return *hart;
  }
};

struct Stats {
  uint64_t inputs = 0, translated_inputs = 0, blocks = 0;
  ~Stats() {
    if (std::getenv("VIREO_FUZZ_STATS") == nullptr) return;
    std::fprintf(stderr, "fuzz_riscv_jit: %llu inputs, %llu ran translated code, %llu blocks\n",
                 static_cast<unsigned long long>(inputs),
                 static_cast<unsigned long long>(translated_inputs),
                 static_cast<unsigned long long>(blocks));
  }
};

void print_state(const char* label, const State& s, const State& other) {
  std::fprintf(stderr, "--- %s\n", label);
  for (size_t i = 0; i < s.n; ++i) {
    std::fprintf(stderr, "  %-24s %016llx%s\n", s.name[i],
                 static_cast<unsigned long long>(s.value[i]),
                 s.value[i] != other.value[i] ? "   <-- differs" : "");
  }
}

[[noreturn]] void mismatch(unsigned slice, const uint64_t* slices, unsigned count,
                           uint64_t done_jit, uint64_t done_interp, const Side& jit,
                           const Side& interp) {
  State sj, si;
  HartTestPeer::capture(*jit.hart, sj);
  HartTestPeer::capture(*interp.hart, si);
  std::fprintf(stderr, "\nfuzz_riscv_jit: JIT and interpreter differ after slice %u of %u (", slice,
               count);
  for (unsigned i = 0; i < count; ++i) {
    std::fprintf(stderr, "%s%llu", i ? " + " : "", static_cast<unsigned long long>(slices[i]));
  }
  std::fprintf(stderr, " instructions)\n");
  std::fprintf(stderr,
               "run_for: jit %llu, interpreter %llu; stop requested: jit %d, interpreter %d\n",
               static_cast<unsigned long long>(done_jit),
               static_cast<unsigned long long>(done_interp), jit.host.stop, interp.host.stop);
  std::fprintf(stderr, "blocks translated by the JIT hart: %llu\n",
               static_cast<unsigned long long>(jit.hart->jit_blocks_translated()));
  for (size_t i = 0; i < sj.n; ++i) {
    if (sj.value[i] != si.value[i]) {
      std::fprintf(stderr, "  %-24s jit %016llx  interpreter %016llx\n", sj.name[i],
                   static_cast<unsigned long long>(sj.value[i]),
                   static_cast<unsigned long long>(si.value[i]));
    }
  }
  unsigned shown = 0;
  for (uint64_t i = 0; i < kRamSize && shown < 32; ++i) {
    if (jit.ram[i] != interp.ram[i]) {
      std::fprintf(stderr, "  RAM %#llx: jit %02x  interpreter %02x\n",
                   static_cast<unsigned long long>(kRamBase + i), jit.ram[i], interp.ram[i]);
      ++shown;
    }
  }
  print_state("JIT hart", sj, si);
  print_state("interpreter hart", si, sj);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Side jit(true), interp(false);
  static Stats stats;

  const Input in(data, size);
  Hart& hj = jit.start(in);
  Hart& hi = interp.start(in);

  // The run slices: 1 to 4 of them, in proportion to reserved[0..3] + 1.
  const unsigned count = kMaxSlices - (in.c.reserved[4] & 3);
  uint64_t slices[kMaxSlices];
  uint64_t weight_sum = 0;
  for (unsigned i = 0; i < count; ++i) weight_sum += in.c.reserved[i] + 1u;
  uint64_t left = kTotalInsns;
  for (unsigned i = 0; i < count; ++i) {
    slices[i] = i + 1 == count ? left : kTotalInsns * (in.c.reserved[i] + 1u) / weight_sum;
    left -= slices[i];
  }

  State sj, si;
  for (unsigned i = 0; i < count; ++i) {
    const uint64_t done_jit = hj.run_for(slices[i]);
    const uint64_t done_interp = hi.run_for(slices[i]);
    sj.n = si.n = 0;
    HartTestPeer::capture(hj, sj);
    HartTestPeer::capture(hi, si);
    if (done_jit != done_interp || jit.host.stop != interp.host.stop ||
        std::memcmp(sj.value, si.value, sj.n * sizeof(uint64_t)) != 0 ||
        std::memcmp(jit.ram, interp.ram, kRamSize) != 0) {
      mismatch(i, slices, count, done_jit, done_interp, jit, interp);
    }
  }

  ++stats.inputs;
  if (const uint64_t blocks = hj.jit_blocks_translated(); blocks != 0) {
    ++stats.translated_inputs;
    stats.blocks += blocks;
  }
  return 0;
}
