// The x86 board's small devices: i8042 reset, isa-debug-exit, the ACPI sleep
// and reset registers, and the CMOS RTC.
#include <gtest/gtest.h>

#include <ctime>
#include <vector>

#include "devices/legacy/debug_exit.hpp"
#include "devices/legacy/i8042.hpp"
#include "devices/power/acpi_power.hpp"
#include "devices/rtc/cmos_rtc.hpp"

namespace vireo {
namespace {

struct Events {
  std::vector<std::pair<PowerEvent, int>> seen;
  auto callback() {
    return [this](PowerEvent e, int code) { seen.emplace_back(e, code); };
  }
};

TEST(I8042, StatusIsReadyAndPulseResetReboots) {
  Events ev;
  I8042 kbd(ev.callback());
  EXPECT_EQ(kbd.read(4, 1) & 0x03, 0u);  // both buffers empty
  kbd.write(4, 1, 0xd1);                 // another command: nothing happens
  EXPECT_TRUE(ev.seen.empty());
  kbd.write(4, 1, 0xfe);
  ASSERT_EQ(ev.seen.size(), 1u);
  EXPECT_EQ(ev.seen[0].first, PowerEvent::kReboot);
}

TEST(DebugExit, StatusIsValueShiftedWithLowBitSet) {
  Events ev;
  DebugExit dev(ev.callback());
  dev.write(0, 1, 0);
  dev.write(0, 4, 0x31);
  ASSERT_EQ(ev.seen.size(), 2u);
  EXPECT_EQ(ev.seen[0].second, 1);
  EXPECT_EQ(ev.seen[1].second, 0x63);
}

TEST(AcpiPower, S5PowersOffAndResetValueReboots) {
  Events ev;
  AcpiPower pm(5, ev.callback());
  pm.write(AcpiPower::kSleepControl, 1, (3 << 2) | 0x20);  // S3: not offered
  pm.write(AcpiPower::kSleepControl, 1, 5 << 2);           // SLP_EN missing
  pm.write(AcpiPower::kReset, 1, 0x41);                    // wrong reset value
  EXPECT_TRUE(ev.seen.empty());
  pm.write(AcpiPower::kSleepControl, 1, (5 << 2) | 0x20);
  pm.write(AcpiPower::kReset, 1, AcpiPower::kResetValue);
  ASSERT_EQ(ev.seen.size(), 2u);
  EXPECT_EQ(ev.seen[0].first, PowerEvent::kPoweroff);
  EXPECT_EQ(ev.seen[1].first, PowerEvent::kReboot);
}

unsigned bcd(uint64_t v) { return static_cast<unsigned>((v >> 4) * 10 + (v & 0xf)); }

TEST(CmosRtc, ReadsHostTimeInBcdThenBinary) {
  CmosRtc rtc;
  auto reg = [&](uint8_t i) {
    rtc.write(0, 1, i);
    return rtc.read(1, 1);
  };
  const time_t now = time(nullptr);
  tm t{};
  gmtime_r(&now, &t);
  EXPECT_EQ(bcd(reg(0x09)) + 100 * bcd(reg(0x32)), static_cast<unsigned>(t.tm_year + 1900));
  EXPECT_EQ(bcd(reg(0x08)), static_cast<unsigned>(t.tm_mon + 1));
  EXPECT_EQ(reg(0x0a) & 0x80, 0u);  // never "update in progress"
  EXPECT_EQ(reg(0x0d), 0x80u);      // valid RAM
  // Binary mode.
  rtc.write(0, 1, 0x0b);
  rtc.write(1, 1, 0x06);
  EXPECT_EQ(reg(0x08), static_cast<unsigned>(t.tm_mon + 1));
  EXPECT_EQ(reg(0x09), static_cast<unsigned>((t.tm_year + 1900) % 100));
}

TEST(CmosRtc, TimeWritesMoveTheGuestClockAndRamKeepsBytes) {
  CmosRtc rtc;
  rtc.write(0, 1, 0x09);
  rtc.write(1, 1, 0x99);  // year 99 in BCD: 2099 in this century
  tm t{};
  const time_t g = rtc.guest_time();
  gmtime_r(&g, &t);
  EXPECT_EQ((t.tm_year + 1900) % 100, 99);
  rtc.write(0, 1, 0x40);
  rtc.write(1, 1, 0x5a);
  rtc.write(0, 1, 0x40);
  EXPECT_EQ(rtc.read(1, 1), 0x5au);
}

}  // namespace
}  // namespace vireo
