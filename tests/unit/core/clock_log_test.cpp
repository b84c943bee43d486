#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/clock.hpp"
#include "core/log.hpp"

namespace vireo {
namespace {

using namespace std::chrono_literals;

TEST(GuestClock, FrequencyAndStartNearZero) {
  GuestClock clock(10'000'000);
  EXPECT_EQ(clock.frequency(), 10'000'000u);
  // Just created: well under a second of ticks.
  EXPECT_LT(clock.ticks(), 10'000'000u);
}

TEST(GuestClock, MonotonicAndAdvancesAtItsFrequency) {
  GuestClock clock(10'000'000);
  uint64_t prev = clock.ticks();
  for (int i = 0; i < 10000; ++i) {
    const uint64_t now = clock.ticks();
    ASSERT_GE(now, prev);
    prev = now;
  }
  const uint64_t t0 = clock.ticks();
  const uint64_t h0 = GuestClock::host_ns();
  std::this_thread::sleep_for(50ms);
  const uint64_t t1 = clock.ticks();
  const uint64_t h1 = GuestClock::host_ns();
  // At 10 MHz, 50 ms is 500000 ticks; allow for a busy host on the upper side.
  EXPECT_GE(t1 - t0, 500'000u);
  const uint64_t elapsed_ticks_from_host = (h1 - h0) / 100;  // 100 ns per tick
  EXPECT_LE(t1 - t0, elapsed_ticks_from_host + 10);
}

TEST(GuestClock, HostNsAtInvertsTicks) {
  GuestClock clock(10'000'000);
  const uint64_t start = clock.host_ns_at(0);
  EXPECT_LE(start, GuestClock::host_ns());
  EXPECT_EQ(clock.host_ns_at(10'000'000) - start, 1'000'000'000u);
  EXPECT_EQ(clock.host_ns_at(1) - start, 100u);
  // A deadline in the past is already reached.
  const uint64_t now_ticks = clock.ticks();
  EXPECT_LE(clock.host_ns_at(now_ticks), GuestClock::host_ns());
}

TEST(GuestClock, FarDeadlinesSaturateInsteadOfWrapping) {
  GuestClock slow(1);  // 1 Hz: UINT64_MAX ticks is far beyond 2^64 ns
  EXPECT_EQ(slow.host_ns_at(UINT64_MAX), UINT64_MAX);
  GuestClock fast(10'000'000);
  EXPECT_EQ(fast.host_ns_at(UINT64_MAX), UINT64_MAX);  // mtimecmp = -1 means "never"
}

TEST(GuestClock, OtherFrequencies) {
  GuestClock clock(1'000'000'000);  // 1 tick per ns
  EXPECT_EQ(clock.host_ns_at(12345) - clock.host_ns_at(0), 12345u);
  GuestClock odd(3);
  EXPECT_EQ(odd.host_ns_at(3) - odd.host_ns_at(0), 1'000'000'000u);
}

// Waits until the steady clock has just entered a new second, so that the
// following few calls all happen within one second.
void align_to_second() {
  auto sec = [] {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  const auto s = sec();
  while (sec() == s) std::this_thread::sleep_for(1ms);
}

TEST(RateLimit, BurstThenOnePerSecond) {
  log::RateLimit rl(3);
  align_to_second();
  EXPECT_TRUE(rl.allow());
  EXPECT_TRUE(rl.allow());
  EXPECT_TRUE(rl.allow());
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(rl.allow());

  align_to_second();
  EXPECT_TRUE(rl.allow());  // one more in the new second
  EXPECT_FALSE(rl.allow());
  EXPECT_FALSE(rl.allow());
}

TEST(RateLimit, BurstIsNotSpentBySecondsWithoutMessages) {
  log::RateLimit rl(2);
  align_to_second();
  EXPECT_TRUE(rl.allow());
  align_to_second();
  // Under the burst the count is kept: one left of the burst.
  EXPECT_TRUE(rl.allow());
  EXPECT_FALSE(rl.allow());
}

TEST(Log, ParseLevel) {
  log::Level l = log::Level::kError;
  EXPECT_TRUE(log::parse_level("debug", l));
  EXPECT_EQ(l, log::Level::kDebug);
  EXPECT_TRUE(log::parse_level("trace", l));
  EXPECT_EQ(l, log::Level::kTrace);
  EXPECT_FALSE(log::parse_level("DEBUG", l));
  EXPECT_FALSE(log::parse_level("", l));
  EXPECT_FALSE(log::parse_level("warning", l));
  EXPECT_EQ(l, log::Level::kTrace);  // untouched on failure
}

TEST(Log, EnabledFollowsTheLevel) {
  const log::Level saved = log::level();
  log::set_level(log::Level::kWarn);
  EXPECT_TRUE(log::enabled(log::Level::kError));
  EXPECT_TRUE(log::enabled(log::Level::kWarn));
  EXPECT_FALSE(log::enabled(log::Level::kInfo));
  log::set_level(log::Level::kTrace);
  EXPECT_TRUE(log::enabled(log::Level::kTrace));
  log::set_level(saved);
}

}  // namespace
}  // namespace vireo
