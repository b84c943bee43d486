// QEMU's "sifive,test1" finisher (a syscon at 0x100000 on virt): the guest
// powers off, reboots, or exits with a failure code by writing one 32-bit
// register. Linux's syscon-poweroff/-reboot and OpenSBI's reset use it.
#pragma once

#include <cstdint>
#include <functional>

#include "core/bus.hpp"
#include "devices/power/power_event.hpp"

namespace vireo {

class SifiveTest final : public BusDevice {
 public:
  static constexpr uint64_t kSize = 0x1000;

  // Values written to offset 0 (low 16 bits; a failure carries its code in the high 16).
  static constexpr uint32_t kFail = 0x3333;
  static constexpr uint32_t kPass = 0x5555;
  static constexpr uint32_t kReset = 0x7777;

  // `on_event` runs on the vCPU thread that wrote the register (the code is
  // 0 except for kFailure). It must not wait for that vCPU to stop: post the
  // request to the VMM thread instead.
  using EventCallback = std::function<void(PowerEvent event, int code)>;
  explicit SifiveTest(EventCallback on_event) : on_event_(std::move(on_event)) {}

  uint64_t read(uint64_t offset, unsigned size) override { return 0; }
  void write(uint64_t offset, unsigned size, uint64_t value) override;

 private:
  EventCallback on_event_;
};

}  // namespace vireo
