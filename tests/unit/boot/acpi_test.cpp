// ACPI tables: layout, checksums, the pointers between tables, the AML
// encodings, and (where Debian's iasl is installed: always in CI) a clean
// disassembly of every table.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "boot/bytes.hpp"
#include "boot/x86/acpi.hpp"
#include "boot/x86/aml.hpp"

namespace vireo::boot::x86 {
namespace {

constexpr uint64_t kBase = 0xe0000;

AcpiConfig config() {
  AcpiConfig c;
  c.cpus = 2;
  c.ioapic_id = 2;
  c.virtio_mmio = {{0xd0000000, 0x200, 5}, {0xd0001000, 0x200, 6}};
  c.sleep_control_port = 0x600;
  c.sleep_status_port = 0x601;
  c.reset_port = 0x602;
  c.reset_value = 0x42;
  return c;
}

// Tables by signature, found the way a guest does: RSDP -> XSDT -> FADT -> DSDT.
std::map<std::string, std::vector<uint8_t>> walk(const AcpiTables& t) {
  std::map<std::string, std::vector<uint8_t>> out;
  std::span<const uint8_t> all(t.bytes);
  auto at = [&](uint64_t addr) { return all.subspan(addr - t.rsdp_addr); };
  auto table = [&](uint64_t addr) {
    auto s = at(addr);
    const uint32_t len = read_le<uint32_t>(s, 4);
    EXPECT_LE(len, s.size());
    EXPECT_EQ(acpi_sum(s.data(), len), 0) << std::string(s.begin(), s.begin() + 4);
    out[std::string(s.begin(), s.begin() + 4)] = std::vector<uint8_t>(s.begin(), s.begin() + len);
    return s.first(len);
  };
  EXPECT_EQ(std::string(all.begin(), all.begin() + 8), "RSD PTR ");
  EXPECT_EQ(acpi_sum(all.data(), 20), 0);
  EXPECT_EQ(acpi_sum(all.data(), 36), 0);
  EXPECT_EQ(all[15], 2);
  auto xsdt = table(read_le<uint64_t>(all, 24));
  for (size_t off = 36; off + 8 <= xsdt.size(); off += 8) {
    auto t2 = table(read_le<uint64_t>(xsdt, off));
    if (std::string(t2.begin(), t2.begin() + 4) == "FACP") {
      const uint64_t x_dsdt = read_le<uint64_t>(t2, 140);
      EXPECT_EQ(read_le<uint32_t>(t2, 40), x_dsdt);
      table(x_dsdt);
    }
  }
  return out;
}

TEST(Acpi, TablesAreLinkedAndChecksummed) {
  auto t = build_acpi_tables(config(), kBase);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->rsdp_addr, kBase);
  auto tables = walk(*t);
  for (const char* sig : {"XSDT", "FACP", "APIC", "DSDT"}) EXPECT_TRUE(tables.count(sig)) << sig;
}

TEST(Acpi, FadtIsHardwareReducedWithSleepAndResetRegisters) {
  auto tables = walk(*build_acpi_tables(config(), kBase));
  std::span<const uint8_t> f(tables["FACP"]);
  ASSERT_EQ(f.size(), 276u);
  EXPECT_EQ(f[8], 6);  // revision
  const uint32_t flags = read_le<uint32_t>(f, 112);
  EXPECT_TRUE(flags & (1u << 20));  // HW_REDUCED_ACPI
  EXPECT_TRUE(flags & (1u << 10));  // RESET_REG_SUP
  EXPECT_EQ(f[116], 1);             // reset register in I/O space
  EXPECT_EQ(read_le<uint64_t>(f, 120), 0x602u);
  EXPECT_EQ(f[128], 0x42);
  EXPECT_EQ(read_le<uint64_t>(f, 248), 0x600u);  // sleep control
  EXPECT_EQ(read_le<uint64_t>(f, 260), 0x601u);  // sleep status
}

TEST(Acpi, MadtListsEveryCpuAndTheIoapic) {
  auto tables = walk(*build_acpi_tables(config(), kBase));
  std::span<const uint8_t> m(tables["APIC"]);
  EXPECT_EQ(read_le<uint32_t>(m, 36), 0xfee00000u);
  unsigned cpus = 0, ioapics = 0, overrides = 0;
  for (size_t off = 44; off + 2 <= m.size(); off += m[off + 1]) {
    ASSERT_GE(m[off + 1], 2) << "zero-length MADT entry";
    if (m[off] == 0) {
      EXPECT_EQ(m[off + 3], cpus);  // APIC ID = vCPU index
      EXPECT_EQ(m[off + 4] & 1, 1);
      ++cpus;
    }
    if (m[off] == 1) {
      EXPECT_EQ(m[off + 2], 2);
      EXPECT_EQ(read_le<uint32_t>(m, off + 4), 0xfec00000u);
      ++ioapics;
    }
    if (m[off] == 2) ++overrides;
  }
  EXPECT_EQ(cpus, 2u);
  EXPECT_EQ(ioapics, 1u);
  EXPECT_EQ(overrides, 1u);
}

TEST(Acpi, RejectsAnIoapicIdTakenByACpu) {
  AcpiConfig c = config();
  c.ioapic_id = 1;
  EXPECT_FALSE(build_acpi_tables(c, kBase));
}

TEST(Aml, Encodings) {
  // Name(_UID, 0x1234) = 08 '_UID' 0B 34 12
  Aml a;
  a.name_integer("_UID", 0x1234);
  EXPECT_EQ(a.bytes(), (std::vector<uint8_t>{0x08, '_', 'U', 'I', 'D', 0x0b, 0x34, 0x12}));
  // EisaId("PNP0501") is the DWord 0x0105D041.
  Aml e;
  e.name_eisa_id("_HID", "PNP0501");
  EXPECT_EQ(e.bytes(),
            (std::vector<uint8_t>{0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01}));
  // A package length over 63 bytes takes two bytes.
  std::vector<uint8_t> big(100, 0xaa);
  const Aml b = Aml::buffer(big);
  ASSERT_GE(b.bytes().size(), 3u);
  EXPECT_EQ(b.bytes()[0], 0x11);
  const unsigned len = (b.bytes()[1] & 0x0f) | (b.bytes()[2] << 4);
  EXPECT_EQ(b.bytes()[1] >> 6, 1);
  EXPECT_EQ(len, b.bytes().size() - 1);  // PkgLength counts itself, not the opcode
  // A dotted path: \_SB.COM1 = '\' 2E '_SB_' 'COM1'
  Aml s;
  s.scope("\\_SB.COM1", Aml());
  EXPECT_EQ(s.bytes(),
            (std::vector<uint8_t>{0x10, 11, '\\', 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1'}));
}

// Debian's iasl must disassemble every table without complaint. Required in
// CI (scripts/setup.sh installs acpica-tools); skipped elsewhere without it.
TEST(Acpi, IaslDisassemblesEveryTable) {
  if (std::system("command -v iasl >/dev/null 2>&1") != 0) {
    if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true") {
      FAIL() << "iasl (acpica-tools) is missing in CI";
    }
    GTEST_SKIP() << "iasl (acpica-tools) not installed";
  }
  const auto dir =
      std::filesystem::temp_directory_path() / ("vireo-acpi-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto tables = walk(*build_acpi_tables(config(), kBase));
  for (const auto& [sig, bytes] : tables) {
    const auto path = dir / (sig + ".dat");
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    const std::string cmd =
        "cd '" + dir.string() + "' && iasl -d " + sig + ".dat > " + sig + ".log 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << sig;
    std::ifstream log(dir / (sig + ".log"));
    std::stringstream text;
    text << log.rdbuf();
    EXPECT_EQ(text.str().find("Error"), std::string::npos) << sig << ":\n" << text.str();
    EXPECT_EQ(text.str().find("Warning"), std::string::npos) << sig << ":\n" << text.str();
    if (sig == "DSDT") {
      std::ifstream dsl(dir / "DSDT.dsl");
      std::stringstream d;
      d << dsl.rdbuf();
      EXPECT_NE(d.str().find("PNP0501"), std::string::npos) << d.str();
      EXPECT_NE(d.str().find("LNRO0005"), std::string::npos) << d.str();
      EXPECT_NE(d.str().find("_S5"), std::string::npos) << d.str();
      EXPECT_NE(d.str().find("0xD0001000"), std::string::npos) << d.str();
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vireo::boot::x86
