#include "devices/legacy/i8042.hpp"

namespace vireo {

uint64_t I8042::read(uint64_t offset, unsigned size) {
  // Data port: no keyboard, no bytes. Status port: output buffer empty,
  // input buffer empty (commands are accepted at once), system flag set.
  if (offset == 4) return 0x04;
  return 0;
}

void I8042::write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset == 4 && (value & 0xff) == kCmdPulseReset) on_event_(PowerEvent::kReboot, 0);
}

}  // namespace vireo
