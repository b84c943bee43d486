#include "boot/x86/acpi.hpp"

#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "boot/bytes.hpp"
#include "boot/x86/aml.hpp"

namespace vireo::boot::x86 {
namespace {

constexpr size_t kHeaderSize = 36;
constexpr char kOemId[] = "VIREO ";         // 6 bytes
constexpr char kOemTableId[] = "VIREOVM ";  // 8 bytes
constexpr char kCreatorId[] = "VIRO";

// A table: the standard header (checksum filled by finish()) then its body.
class Table {
 public:
  Table(std::string_view signature, uint8_t revision) : bytes_(kHeaderSize, 0) {
    std::memcpy(bytes_.data(), signature.data(), 4);
    bytes_[8] = revision;
    std::memcpy(bytes_.data() + 10, kOemId, 6);
    std::memcpy(bytes_.data() + 16, kOemTableId, 8);
    write_le<uint32_t>(bytes_, 24, 1);  // OEM revision
    std::memcpy(bytes_.data() + 28, kCreatorId, 4);
    write_le<uint32_t>(bytes_, 32, 1);  // creator revision
  }
  template <class T>
  void put(T v) {
    const size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    write_le<T>(bytes_, at, v);
  }
  void put_bytes(std::span<const uint8_t> b) { bytes_.insert(bytes_.end(), b.begin(), b.end()); }
  std::vector<uint8_t>& raw() { return bytes_; }
  std::vector<uint8_t> finish() {
    write_le<uint32_t>(bytes_, 4, static_cast<uint32_t>(bytes_.size()));
    bytes_[9] = 0;
    bytes_[9] = static_cast<uint8_t>(-acpi_sum(bytes_.data(), bytes_.size()));
    return std::move(bytes_);
  }

 private:
  std::vector<uint8_t> bytes_;
};

// Generic Address Structure for a 1-byte system I/O register.
void put_gas_io(std::vector<uint8_t>& t, size_t at, uint16_t port) {
  t[at] = 1;      // system I/O space
  t[at + 1] = 8;  // register bit width
  t[at + 2] = 0;  // bit offset
  t[at + 3] = 1;  // byte access
  write_le<uint64_t>(t, at + 4, port);
}

std::vector<uint8_t> build_dsdt(const AcpiConfig& c) {
  Aml sb;
  {
    Aml com;
    com.name_eisa_id("_HID", "PNP0501").name_integer("_UID", 0);
    com.name_object("_CRS", ResourceTemplate().io(c.uart_port, 8).irq_no_flags(c.uart_irq).build());
    sb.device("COM1", com);
  }
  for (size_t i = 0; i < c.virtio_mmio.size(); ++i) {
    const AcpiMmioDevice& d = c.virtio_mmio[i];
    Aml dev;
    dev.name_string("_HID", "LNRO0005").name_integer("_UID", i).name_integer("_CCA", 1);
    dev.name_object(
        "_CRS", ResourceTemplate().memory32_fixed(d.base, d.size).interrupt(d.gsi, false).build());
    sb.device(fmt::format("VR{:02X}", i), dev);
  }
  Aml root;
  root.scope("\\_SB", sb);
  const uint64_t s5[] = {kSleepTypeS5, 0};
  root.name_object("\\_S5", Aml::package(s5));

  Table t("DSDT", 2);
  t.put_bytes(root.bytes());
  return t.finish();
}

// FADT, ACPI 6.5 layout (276 bytes), hardware-reduced.
std::vector<uint8_t> build_fadt(const AcpiConfig& c, uint64_t dsdt_addr) {
  Table t("FACP", 6);
  auto& b = t.raw();
  b.resize(276, 0);
  write_le<uint32_t>(b, 40, static_cast<uint32_t>(dsdt_addr));  // DSDT (32-bit)
  uint16_t boot_arch = 1u << 2;                                 // VGA not present
  if (c.has_i8042) boot_arch |= 1u << 1;
  boot_arch |= 1u << 3;  // MSI not supported: no PCI here
  write_le<uint16_t>(b, 109, boot_arch);
  uint32_t flags = 0;
  flags |= 1u << 0;   // WBINVD works
  flags |= 1u << 4;   // PWR_BUTTON: no fixed power button
  flags |= 1u << 5;   // SLP_BUTTON: no fixed sleep button
  flags |= 1u << 10;  // RESET_REG_SUP
  flags |= 1u << 20;  // HW_REDUCED_ACPI
  write_le<uint32_t>(b, 112, flags);
  put_gas_io(b, 116, c.reset_port);  // RESET_REG
  b[128] = c.reset_value;
  b[131] = 5;                             // FADT minor version: 6.5
  write_le<uint64_t>(b, 140, dsdt_addr);  // X_DSDT
  put_gas_io(b, 244, c.sleep_control_port);
  put_gas_io(b, 256, c.sleep_status_port);
  std::memcpy(b.data() + 268, "VIREO   ", 8);  // hypervisor vendor identity
  return t.finish();
}

std::vector<uint8_t> build_madt(const AcpiConfig& c) {
  Table t("APIC", 5);
  t.put<uint32_t>(c.lapic_addr);
  t.put<uint32_t>(1);  // PCAT_COMPAT: the in-kernel 8259s are there
  for (uint32_t i = 0; i < c.cpus; ++i) {
    const uint8_t lapic[] = {0, 8, static_cast<uint8_t>(i), static_cast<uint8_t>(i), 1, 0, 0, 0};
    t.put_bytes(lapic);  // processor local APIC, enabled
  }
  uint8_t ioapic[12] = {1, 12, c.ioapic_id, 0};
  write_le<uint32_t>(ioapic, 4, c.ioapic_addr);
  write_le<uint32_t>(ioapic, 8, 0);  // GSI base
  t.put_bytes(ioapic);
  // ISA IRQ 0 (the PIT) is wired to IOAPIC pin 2, as on every PC.
  uint8_t iso[10] = {2, 10, 0, 0};
  write_le<uint32_t>(iso, 4, 2);
  write_le<uint16_t>(iso, 8, 0);  // bus-conformant polarity and trigger
  t.put_bytes(iso);
  // LINT1 of every processor is NMI.
  const uint8_t nmi[] = {4, 6, 0xff, 0, 0, 1};
  t.put_bytes(nmi);
  return t.finish();
}

std::vector<uint8_t> build_xsdt(std::span<const uint64_t> tables) {
  Table t("XSDT", 1);
  for (uint64_t a : tables) t.put<uint64_t>(a);
  return t.finish();
}

std::vector<uint8_t> build_rsdp(uint64_t xsdt_addr) {
  std::vector<uint8_t> r(36, 0);
  std::memcpy(r.data(), "RSD PTR ", 8);
  std::memcpy(r.data() + 9, kOemId, 6);
  r[15] = 2;                      // revision: ACPI 2.0+
  write_le<uint32_t>(r, 16, 0);   // no RSDT
  write_le<uint32_t>(r, 20, 36);  // length
  write_le<uint64_t>(r, 24, xsdt_addr);
  r[8] = static_cast<uint8_t>(-acpi_sum(r.data(), 20));
  r[32] = static_cast<uint8_t>(-acpi_sum(r.data(), 36));
  return r;
}

}  // namespace

uint8_t acpi_sum(const uint8_t* bytes, size_t length) {
  uint8_t sum = 0;
  for (size_t i = 0; i < length; ++i) sum = static_cast<uint8_t>(sum + bytes[i]);
  return sum;
}

Result<AcpiTables> build_acpi_tables(const AcpiConfig& config, uint64_t base) {
  if (base % 16 != 0 || base >= (1ull << 32)) {
    return make_error(ErrorCode::kInternal, fmt::format("ACPI base {:#x} unusable", base));
  }
  if (config.cpus == 0 || config.cpus > 255 || config.ioapic_id < config.cpus) {
    return make_error(ErrorCode::kInternal, fmt::format("ACPI: {} vCPUs with IOAPIC ID {}",
                                                        config.cpus, config.ioapic_id));
  }
  // Layout: RSDP, then XSDT, FADT, MADT, DSDT, each 16-byte aligned.
  AcpiTables out;
  out.rsdp_addr = base;
  auto place = [&](std::vector<uint8_t>& blob) {
    out.bytes.resize((out.bytes.size() + 15) & ~size_t{15});
    const uint64_t at = base + out.bytes.size();
    out.bytes.insert(out.bytes.end(), blob.begin(), blob.end());
    return at;
  };
  // The DSDT and MADT do not depend on addresses and the other sizes are
  // fixed, so every address is known before the tables that hold them.
  std::vector<uint8_t> dsdt = build_dsdt(config);
  std::vector<uint8_t> madt = build_madt(config);
  const uint64_t rsdp_size = 36, xsdt_size = kHeaderSize + 16, fadt_size = 276;
  auto align = [](uint64_t v) { return (v + 15) & ~uint64_t{15}; };
  const uint64_t xsdt_addr = base + align(rsdp_size);
  const uint64_t fadt_addr = xsdt_addr + align(xsdt_size);
  const uint64_t madt_addr = fadt_addr + align(fadt_size);
  const uint64_t dsdt_addr = madt_addr + align(madt.size());
  std::vector<uint8_t> rsdp = build_rsdp(xsdt_addr);
  const uint64_t tables[] = {fadt_addr, madt_addr};
  std::vector<uint8_t> xsdt = build_xsdt(tables);
  std::vector<uint8_t> fadt = build_fadt(config, dsdt_addr);
  if (place(rsdp) != base || place(xsdt) != xsdt_addr || place(fadt) != fadt_addr ||
      place(madt) != madt_addr || place(dsdt) != dsdt_addr) {
    return make_error(ErrorCode::kInternal, "ACPI table layout mismatch");
  }
  return out;
}

}  // namespace vireo::boot::x86
