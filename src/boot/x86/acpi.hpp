// The ACPI tables of the x86 microVM (ACPI 6.5, hardware-reduced): RSDP,
// XSDT, FADT, MADT and a DSDT describing the UART and the virtio-mmio
// devices, so that a stock kernel finds every device with no command-line
// hints, and powers off and resets through the FADT's sleep and reset
// registers.
#pragma once

#include <cstdint>
#include <vector>

#include "core/error.hpp"

namespace vireo::boot::x86 {

struct AcpiMmioDevice {
  uint32_t base;
  uint32_t size;
  uint32_t gsi;
};

struct AcpiConfig {
  uint32_t cpus = 1;
  uint32_t lapic_addr = 0xfee00000;
  uint32_t ioapic_addr = 0xfec00000;
  uint8_t ioapic_id = 0;  // APIC IDs 0..cpus-1 are the vCPUs: the board picks one above
  uint16_t uart_port = 0x3f8;
  uint8_t uart_irq = 4;
  std::vector<AcpiMmioDevice> virtio_mmio;
  // Hardware-reduced sleep control/status and reset registers (I/O ports,
  // one byte each) and the value the reset register takes.
  uint16_t sleep_control_port = 0;
  uint16_t sleep_status_port = 0;
  uint16_t reset_port = 0;
  uint8_t reset_value = 0;
  bool has_i8042 = true;
};

// The S5 (soft-off) sleep type the DSDT's \_S5 gives: the guest writes
// (kSleepTypeS5 << 2) | kSleepEnable to the sleep control register.
inline constexpr uint8_t kSleepTypeS5 = 5;
inline constexpr uint8_t kSleepEnable = 1 << 5;

struct AcpiTables {
  uint64_t rsdp_addr = 0;      // where the RSDP is (the start of `bytes`)
  std::vector<uint8_t> bytes;  // every table, to be copied to rsdp_addr
};

// Lays the tables out from `base` (16-byte aligned, below 4 GiB).
Result<AcpiTables> build_acpi_tables(const AcpiConfig& config, uint64_t base);

// The 8-bit sum of `bytes` (a table is valid when its checksum makes it 0).
uint8_t acpi_sum(const uint8_t* bytes, size_t length);

}  // namespace vireo::boot::x86
