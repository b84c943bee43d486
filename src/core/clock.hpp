// The guest's monotonic time base (RISC-V mtime, later kvm-clock offsets):
// ticks at a fixed frequency from the host's CLOCK_MONOTONIC.
#pragma once

#include <time.h>

#include <cstdint>

namespace vireo {

class GuestClock {
 public:
  explicit GuestClock(uint64_t frequency_hz) : freq_(frequency_hz), start_ns_(host_ns()) {}

  uint64_t frequency() const { return freq_; }

  // Current tick count since the clock was created.
  uint64_t ticks() const { return ns_to_ticks(host_ns() - start_ns_); }

  // Host monotonic nanoseconds at which `ticks()` reaches `tick`.
  uint64_t host_ns_at(uint64_t tick) const {
    const unsigned __int128 ns = static_cast<unsigned __int128>(tick) * 1'000'000'000u / freq_;
    const unsigned __int128 at = ns + start_ns_;
    return at > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(at);
  }

  static uint64_t host_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
  }

 private:
  uint64_t ns_to_ticks(uint64_t ns) const {
    return static_cast<uint64_t>(static_cast<unsigned __int128>(ns) * freq_ / 1'000'000'000u);
  }
  uint64_t freq_;
  uint64_t start_ns_;
};

}  // namespace vireo
