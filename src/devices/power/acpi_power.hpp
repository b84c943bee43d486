// The hardware-reduced ACPI sleep and reset registers of the x86 microVM
// (FADT SLEEP_CONTROL_REG, SLEEP_STATUS_REG and RESET_REG, one I/O port
// each, at kBase..kBase+2). A write of SLP_EN with the \_S5 sleep type to the
// control register powers off; the FADT's reset value in the reset register
// reboots.
#pragma once

#include <cstdint>
#include <functional>

#include "core/bus.hpp"
#include "devices/power/power_event.hpp"

namespace vireo {

class AcpiPower final : public BusDevice {
 public:
  static constexpr uint64_t kBase = 0x600;
  static constexpr uint64_t kSize = 3;
  static constexpr uint64_t kSleepControl = 0, kSleepStatus = 1, kReset = 2;
  static constexpr uint8_t kResetValue = 0x42;

  using EventCallback = std::function<void(PowerEvent event, int code)>;
  // `s5_type` is the sleep type the DSDT's \_S5 object names.
  AcpiPower(uint8_t s5_type, EventCallback on_event)
      : s5_type_(s5_type), on_event_(std::move(on_event)) {}

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

 private:
  uint8_t s5_type_;
  EventCallback on_event_;
};

}  // namespace vireo
