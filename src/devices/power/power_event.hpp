// What a guest asked the machine to do through a power device (SiFive test
// finisher on RISC-V, the ACPI GED/PM registers on x86). The board decides
// how to carry it out: stop the vCPUs, restart them, report an exit code.
#pragma once

namespace vireo {

enum class PowerEvent {
  kPoweroff,  // clean shutdown; exit status 0
  kReboot,    // restart the machine
  kFailure,   // the guest reported a failure with a code (test finisher)
};

}  // namespace vireo
