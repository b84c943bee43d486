#include "devices/power/sifive_test.hpp"

#include "core/log.hpp"

namespace vireo {

void SifiveTest::write(uint64_t offset, unsigned size, uint64_t value) {
  // QEMU accepts 2- and 4-byte writes; a 2-byte write simply carries code 0.
  if (offset != 0 || size < 2) {
    VIREO_LOG_RATELIMITED(log::warn, "sifive_test: ignored {}-byte write at {:#x}", size, offset);
    return;
  }
  const auto word = static_cast<uint32_t>(value);
  const uint32_t status = word & 0xffff;
  const int code = static_cast<int>(word >> 16);
  if (!on_event_) return;
  switch (status) {
    case kPass:
      on_event_(PowerEvent::kPoweroff, 0);
      return;
    case kFail:
      on_event_(PowerEvent::kFailure, code);
      return;
    case kReset:
      on_event_(PowerEvent::kReboot, 0);
      return;
    default:
      VIREO_LOG_RATELIMITED(log::warn, "sifive_test: ignored unknown command {:#x}", word);
      return;
  }
}

}  // namespace vireo
