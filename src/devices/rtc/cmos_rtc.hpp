// The PC's CMOS real-time clock (MC146818, ports 0x70 index / 0x71 data):
// the time of day from the host's wall clock, in BCD or binary and 12- or
// 24-hour form as register B asks, plus the battery-backed RAM bytes. Time
// writes move an offset, so a guest's `hwclock -w` sticks for the run.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <mutex>

#include "core/bus.hpp"

namespace vireo {

class CmosRtc final : public BusDevice {
 public:
  static constexpr uint64_t kBase = 0x70;
  static constexpr uint64_t kSize = 2;

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  // Seconds since the epoch the guest sees (host time plus its offset).
  time_t guest_time() const;

 private:
  uint8_t read_register(uint8_t index) const;
  void write_register(uint8_t index, uint8_t value);
  uint8_t encode(unsigned v) const;
  unsigned decode(uint8_t v) const;

  mutable std::mutex mutex_;
  uint8_t index_ = 0;
  std::array<uint8_t, 128> ram_{};
  int64_t offset_seconds_ = 0;
  uint8_t reg_b_ = 0x02;  // 24-hour, BCD
};

}  // namespace vireo
