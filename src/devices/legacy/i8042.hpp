// The part of the i8042 keyboard controller a PC guest uses without a
// keyboard: the status register reads "nothing to read, ready to accept",
// and command 0xFE (pulse the CPU reset line) reboots the machine, the
// reboot path Linux falls back to after ACPI's. Ports 0x60 (data) and 0x64
// (status/command) are registered as one 5-byte range at 0x60.
#pragma once

#include <cstdint>
#include <functional>

#include "core/bus.hpp"
#include "devices/power/power_event.hpp"

namespace vireo {

class I8042 final : public BusDevice {
 public:
  static constexpr uint64_t kBase = 0x60;
  static constexpr uint64_t kSize = 5;  // 0x60..0x64
  static constexpr uint8_t kCmdPulseReset = 0xfe;

  using EventCallback = std::function<void(PowerEvent event, int code)>;
  explicit I8042(EventCallback on_event) : on_event_(std::move(on_event)) {}

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

 private:
  EventCallback on_event_;
};

}  // namespace vireo
