// What every board offers the VMM: start the guest, stop it, say how it
// ended, and take console input. RiscvVirt and X86Microvm implement it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace vireo {

// How a run ended.
struct ExitStatus {
  int code = 0;
  std::string message;       // shown to the user when not empty
  uint64_t instret = 0;      // instructions retired by all CPUs, where the engine counts them
  uint64_t jit_blocks = 0;   // blocks the JIT translated (all CPUs)
  uint64_t jit_flushes = 0;  // times a JIT code buffer filled up and was emptied
  double seconds = 0;        // wall time the guest ran
};

class Machine {
 public:
  virtual ~Machine() = default;
  virtual void start() = 0;          // starts one host thread per CPU
  virtual void stop_and_join() = 0;  // asks every CPU to stop and joins the threads
  virtual ExitStatus exit_status() const = 0;
  // Bytes typed on the console. Returns how many were accepted.
  virtual size_t console_input(std::span<const uint8_t> bytes) = 0;
  // Instructions retired by all CPUs, 0 where the engine does not count them.
  virtual uint64_t instret_total() const { return 0; }
  // JIT statistics of all CPUs (after stop_and_join()), 0 without a JIT.
  virtual uint64_t jit_blocks_total() const { return 0; }
  virtual uint64_t jit_flushes_total() const { return 0; }
};

}  // namespace vireo
