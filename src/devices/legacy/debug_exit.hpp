// QEMU's isa-debug-exit (port 0xf4 by default): a guest write of v ends the
// run with exit status (v << 1) | 1, so test kernels written for QEMU run
// unchanged (`vireo run --debug-exit`).
#pragma once

#include <cstdint>
#include <functional>

#include "core/bus.hpp"
#include "devices/power/power_event.hpp"

namespace vireo {

class DebugExit final : public BusDevice {
 public:
  static constexpr uint64_t kPort = 0xf4;
  static constexpr uint64_t kSize = 4;

  using EventCallback = std::function<void(PowerEvent event, int code)>;
  explicit DebugExit(EventCallback on_event) : on_event_(std::move(on_event)) {}

  uint64_t read(uint64_t offset, unsigned size) override { return 0; }
  void write(uint64_t offset, unsigned size, uint64_t value) override {
    // The exit status is a byte for the shell; QEMU truncates the same way.
    const int code = static_cast<int>(((value << 1) | 1) & 0xff);
    on_event_(PowerEvent::kFailure, code);
  }

 private:
  EventCallback on_event_;
};

}  // namespace vireo
