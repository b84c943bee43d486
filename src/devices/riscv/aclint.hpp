// The core-local interruptor of QEMU's virt board in its CLINT layout
// (ACLINT MSWI + MTIMER at 0x02000000): software interrupts (MSIP) between
// harts, and each hart's machine timer compare register. mtime itself comes
// from the shared GuestClock, and each hart derives MTIP from its own
// mtimecmp, so this device owns no timer thread.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "core/bus.hpp"
#include "core/clock.hpp"
#include "core/irq.hpp"

namespace vireo {

class Aclint final : public BusDevice {
 public:
  static constexpr uint64_t kSize = 0x10000;
  static constexpr uint64_t kMsipBase = 0x0;         // 4 bytes per hart, bit 0
  static constexpr uint64_t kMtimecmpBase = 0x4000;  // 8 bytes per hart
  static constexpr uint64_t kMtime = 0xbff8;         // 8 bytes
  static constexpr uint32_t kMaxHarts = 4095;        // what fits between the bases
  static constexpr uint64_t kMtimecmpReset = UINT64_MAX;

  // Runs on the writing vCPU thread (or in reset()), with the device lock
  // held so updates of one hart arrive in order; it must not call back into
  // this device.
  using MtimecmpCallback = std::function<void(uint32_t hart, uint64_t mtimecmp)>;

  // `msip_lines[h]` drives hart h's MSIP (missing entries are unconnected).
  // mtimecmp starts at kMtimecmpReset for every hart; the constructor does not
  // call `on_mtimecmp` (harts start at the same value), reset() does.
  // `num_harts` above kMaxHarts is clamped.
  Aclint(GuestClock& clock, uint32_t num_harts, std::vector<IrqLine> msip_lines,
         MtimecmpCallback on_mtimecmp);

  uint64_t read(uint64_t offset, unsigned size) override;
  // Writes to mtime are ignored: mtime is the board-wide GuestClock, which
  // also feeds the harts' time CSR, and no guest we target (OpenSBI, Linux)
  // writes it.
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  // Machine reset: clears every MSIP and sets every mtimecmp back to
  // kMtimecmpReset, reporting each through `on_mtimecmp`.
  void reset();

  uint32_t num_harts() const { return num_harts_; }
  uint64_t mtimecmp(uint32_t hart) const;
  bool msip(uint32_t hart) const;

 private:
  void set_msip_locked(uint32_t hart, bool level);
  void set_mtimecmp_locked(uint32_t hart, uint64_t value);

  GuestClock& clock_;
  const uint32_t num_harts_;
  const std::vector<IrqLine> msip_lines_;
  const MtimecmpCallback on_mtimecmp_;

  mutable std::mutex mutex_;  // guards msip_ and mtimecmp_
  std::vector<uint8_t> msip_;
  std::vector<uint64_t> mtimecmp_;
};

}  // namespace vireo
