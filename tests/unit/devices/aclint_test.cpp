#include "devices/riscv/aclint.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <utility>
#include <vector>

#include "fake_irq_sink.hpp"

namespace vireo {
namespace {

class AclintTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kHarts = 3;

  AclintTest() : clock_(10'000'000), aclint_(clock_, kHarts, lines(), callback()) {}

  std::vector<IrqLine> lines() {
    std::vector<IrqLine> v;
    for (uint32_t h = 0; h < kHarts; ++h) v.emplace_back(&sink_, h);
    return v;
  }
  Aclint::MtimecmpCallback callback() {
    return [this](uint32_t hart, uint64_t value) { calls_.emplace_back(hart, value); };
  }

  test::FakeIrqSink sink_;
  std::vector<std::pair<uint32_t, uint64_t>> calls_;
  GuestClock clock_;
  Aclint aclint_;
};

TEST_F(AclintTest, MsipDrivesLines) {
  aclint_.write(4 * 1, 4, 1);
  EXPECT_TRUE(sink_.level(1));
  EXPECT_FALSE(sink_.level(0));
  EXPECT_EQ(aclint_.read(4 * 1, 4), 1u);
  EXPECT_TRUE(aclint_.msip(1));

  aclint_.write(4 * 1, 4, 0xfffffffe);  // only bit 0 counts
  EXPECT_FALSE(sink_.level(1));
  EXPECT_EQ(aclint_.read(4 * 1, 4), 0u);

  aclint_.write(4 * 2, 4, 3);
  EXPECT_TRUE(sink_.level(2));
  EXPECT_EQ(aclint_.read(4 * 2, 4), 1u);
}

TEST_F(AclintTest, MsipOutOfRangeAndBadSizesIgnored) {
  aclint_.write(4 * kHarts, 4, 1);  // no such hart
  aclint_.write(0x3ffc, 4, 1);
  aclint_.write(2, 4, 1);  // misaligned
  aclint_.write(0, 1, 1);  // too narrow
  aclint_.write(0, 8, 1);  // too wide
  EXPECT_TRUE(sink_.history().empty());
  EXPECT_EQ(aclint_.read(4 * kHarts, 4), 0u);
  EXPECT_EQ(aclint_.read(0, 1), 0u);
}

TEST_F(AclintTest, MtimecmpResetsToMaxWithoutCallbacks) {
  EXPECT_TRUE(calls_.empty());
  for (uint32_t h = 0; h < kHarts; ++h) {
    EXPECT_EQ(aclint_.mtimecmp(h), UINT64_MAX);
    EXPECT_EQ(aclint_.read(0x4000 + 8 * h, 8), UINT64_MAX);
  }
}

TEST_F(AclintTest, Mtimecmp64BitWrite) {
  aclint_.write(0x4000 + 8 * 1, 8, 0x1122334455667788ull);
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0], std::make_pair(1u, uint64_t{0x1122334455667788}));
  EXPECT_EQ(aclint_.read(0x4000 + 8, 8), 0x1122334455667788ull);
  EXPECT_EQ(aclint_.read(0x4000 + 8, 4), 0x55667788u);
  EXPECT_EQ(aclint_.read(0x4000 + 12, 4), 0x11223344u);
}

TEST_F(AclintTest, Mtimecmp32BitHalves) {
  // RV32 idiom: high = -1, low = new, high = new.
  aclint_.write(0x4000 + 4, 4, 0xffffffff);
  aclint_.write(0x4000, 4, 0xdeadbeef);
  aclint_.write(0x4000 + 4, 4, 0x00000012);
  ASSERT_EQ(calls_.size(), 3u);
  EXPECT_EQ(calls_[0].second, UINT64_MAX);
  EXPECT_EQ(calls_[1].second, 0xffffffff'deadbeefull);
  EXPECT_EQ(calls_[2].second, 0x00000012'deadbeefull);
  EXPECT_EQ(calls_[2].first, 0u);
  EXPECT_EQ(aclint_.mtimecmp(0), 0x00000012'deadbeefull);
  EXPECT_EQ(aclint_.mtimecmp(1), UINT64_MAX);
}

TEST_F(AclintTest, MtimecmpBadAccessesIgnored) {
  aclint_.write(0x4000 + 8 * kHarts, 8, 5);  // no such hart
  aclint_.write(0x4000 + 2, 4, 5);           // misaligned
  aclint_.write(0x4000 + 4, 8, 5);           // 8 bytes across two registers
  aclint_.write(0x4000, 2, 5);
  EXPECT_TRUE(calls_.empty());
  EXPECT_EQ(aclint_.read(0x4000 + 8 * kHarts, 8), 0u);
  EXPECT_EQ(aclint_.read(0x4000 + 4, 8), 0u);
}

TEST_F(AclintTest, MtimeFollowsClockAndIgnoresWrites) {
  const uint64_t t0 = aclint_.read(0xbff8, 8);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const uint64_t t1 = aclint_.read(0xbff8, 8);
  EXPECT_GT(t1, t0);
  EXPECT_LE(t1, clock_.ticks());
  aclint_.write(0xbff8, 8, 0);
  EXPECT_GE(aclint_.read(0xbff8, 8), t1);
  // 32-bit halves read the same counter.
  const uint64_t lo = aclint_.read(0xbff8, 4);
  const uint64_t hi = aclint_.read(0xbffc, 4);
  EXPECT_EQ(hi, clock_.ticks() >> 32);
  EXPECT_LE(lo, 0xffffffffu);
  EXPECT_EQ(aclint_.read(0xbffa, 4), 0u);  // misaligned
}

TEST_F(AclintTest, ResetClearsMsipAndReportsMtimecmp) {
  aclint_.write(0, 4, 1);
  aclint_.write(0x4000 + 8 * 2, 8, 7);
  calls_.clear();
  aclint_.reset();
  EXPECT_FALSE(sink_.level(0));
  EXPECT_EQ(aclint_.mtimecmp(2), UINT64_MAX);
  ASSERT_EQ(calls_.size(), kHarts);
  for (uint32_t h = 0; h < kHarts; ++h) {
    EXPECT_EQ(calls_[h], std::make_pair(h, UINT64_MAX));
  }
}

TEST(AclintClamp, TooManyHartsClamped) {
  GuestClock clock(1'000'000);
  std::vector<IrqLine> lines(Aclint::kMaxHarts + 5);
  Aclint aclint(clock, Aclint::kMaxHarts + 5, std::move(lines), nullptr);
  EXPECT_EQ(aclint.num_harts(), Aclint::kMaxHarts);
  // The last valid mtimecmp ends right below mtime.
  aclint.write(0x4000 + 8 * (Aclint::kMaxHarts - 1), 8, 9);
  EXPECT_EQ(aclint.mtimecmp(Aclint::kMaxHarts - 1), 9u);
}

}  // namespace
}  // namespace vireo
