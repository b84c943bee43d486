#include "devices/power/acpi_power.hpp"

namespace vireo {

namespace {
constexpr uint8_t kSlpEn = 1 << 5;
constexpr unsigned kSlpTypShift = 2;
constexpr uint8_t kSlpTypMask = 0x7;
}  // namespace

uint64_t AcpiPower::read(uint64_t offset, unsigned size) {
  // Sleep status: WAK_STS is never set (the guest never wakes from S5).
  return 0;
}

void AcpiPower::write(uint64_t offset, unsigned size, uint64_t value) {
  const uint8_t v = static_cast<uint8_t>(value);
  if (offset == kSleepControl && (v & kSlpEn) && ((v >> kSlpTypShift) & kSlpTypMask) == s5_type_) {
    on_event_(PowerEvent::kPoweroff, 0);
  } else if (offset == kReset && v == kResetValue) {
    on_event_(PowerEvent::kReboot, 0);
  }
  // Other sleep states are not offered by the DSDT; writes are ignored.
}

}  // namespace vireo
