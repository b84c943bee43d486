// libFuzzer target: runs arbitrary bytes as RISC-V code on one hart and
// requires only that the host survives (no crash, no sanitizer report, no
// hang: every run is bounded by an instruction budget).
//
// The input layout is described in riscv_fuzz_support.hpp.
//
// To replay a crash with an instruction trace:
//   VIREO_FUZZ_TRACE=1 fuzz_riscv_exec crash-<hash>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "core/bus.hpp"
#include "core/clock.hpp"
#include "core/guest_memory.hpp"
#include "cpu/riscv/hart.hpp"
#include "riscv_fuzz_support.hpp"

namespace {

using namespace vireo;
using namespace vireo::riscv;
using namespace vireo::riscv::fuzz;

constexpr uint64_t kBudget = 10000;

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Machine m;

  const Input in(data, size);
  load_ram(m.ram, in);
  Hart& h = in.builtin_sbi() ? *m.sbi : *m.plain;
  m.host.current = &h;
  m.host.stop = false;
  setup_hart(h, in);

  h.run_for(kBudget);
  return 0;
}
