#include "devices/power/sifive_test.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <utility>

namespace vireo {
namespace {

struct Recorder {
  std::optional<std::pair<PowerEvent, int>> last;
  int calls = 0;
  SifiveTest make() {
    return SifiveTest([this](PowerEvent e, int code) {
      last = {e, code};
      ++calls;
    });
  }
};

TEST(SifiveTest, PassPowersOff) {
  Recorder r;
  SifiveTest dev = r.make();
  dev.write(0, 4, 0x5555);
  ASSERT_TRUE(r.last);
  EXPECT_EQ(r.last->first, PowerEvent::kPoweroff);
  EXPECT_EQ(r.last->second, 0);
}

TEST(SifiveTest, FailCarriesCode) {
  Recorder r;
  SifiveTest dev = r.make();
  dev.write(0, 4, 0x3333 | (42u << 16));
  ASSERT_TRUE(r.last);
  EXPECT_EQ(r.last->first, PowerEvent::kFailure);
  EXPECT_EQ(r.last->second, 42);
  dev.write(0, 4, 0x3333 | (0xffffu << 16));
  EXPECT_EQ(r.last->second, 0xffff);
}

TEST(SifiveTest, ResetReboots) {
  Recorder r;
  SifiveTest dev = r.make();
  dev.write(0, 4, 0x7777);
  ASSERT_TRUE(r.last);
  EXPECT_EQ(r.last->first, PowerEvent::kReboot);
}

TEST(SifiveTest, OtherValuesOffsetsAndSizesAreIgnored) {
  Recorder r;
  SifiveTest dev = r.make();
  dev.write(0, 4, 0x1234);
  dev.write(0, 4, 0x5556);
  dev.write(4, 4, 0x5555);  // wrong offset
  dev.write(0, 1, 0x55);    // too narrow to carry a command
  dev.write(0xfff, 1, 0x55);
  EXPECT_EQ(r.calls, 0);
  EXPECT_EQ(dev.read(0, 4), 0u);
  EXPECT_EQ(dev.read(8, 8), 0u);
}

TEST(SifiveTest, WideWriteUsesLow32Bits) {
  Recorder r;
  SifiveTest dev = r.make();
  dev.write(0, 8, 0xdead'beef'0000'5555ull);
  ASSERT_TRUE(r.last);
  EXPECT_EQ(r.last->first, PowerEvent::kPoweroff);
}

TEST(SifiveTest, NoCallbackIsHarmless) {
  SifiveTest dev(nullptr);
  dev.write(0, 4, 0x5555);
}

}  // namespace
}  // namespace vireo
