#include "devices/rtc/goldfish_rtc.hpp"

#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

#include "fake_irq_sink.hpp"

namespace vireo {
namespace {

constexpr uint32_t kIrq = 11;
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;

uint64_t host_now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kSec + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t read_time(GoldfishRtc& rtc) {
  const uint64_t low = rtc.read(GoldfishRtc::kTimeLow, 4);
  const uint64_t high = rtc.read(GoldfishRtc::kTimeHigh, 4);
  return (high << 32) | low;
}

void write_time(GoldfishRtc& rtc, uint64_t ns) {
  // Linux's order: high half first.
  rtc.write(GoldfishRtc::kTimeHigh, 4, ns >> 32);
  rtc.write(GoldfishRtc::kTimeLow, 4, ns & 0xffffffff);
}

void arm_alarm(GoldfishRtc& rtc, uint64_t ns) {
  rtc.write(GoldfishRtc::kAlarmHigh, 4, ns >> 32);
  rtc.write(GoldfishRtc::kAlarmLow, 4, ns & 0xffffffff);
}

uint64_t distance(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

TEST(GoldfishRtc, TimeTracksHostRealtime) {
  test::FakeIrqSink sink;
  GoldfishRtc rtc(nullptr, IrqLine(&sink, kIrq));
  const uint64_t t = read_time(rtc);
  EXPECT_LT(distance(t, host_now_ns()), 100 * kMs);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const uint64_t t2 = read_time(rtc);
  EXPECT_GE(t2 - t, 15 * kMs);
}

TEST(GoldfishRtc, TimeHighIsLatchedByTimeLow) {
  GoldfishRtc rtc(nullptr, IrqLine());
  EXPECT_EQ(rtc.read(GoldfishRtc::kTimeHigh, 4), 0u);  // nothing latched yet
  write_time(rtc, (uint64_t{5} << 32) | 0xfffff000);
  const uint64_t low = rtc.read(GoldfishRtc::kTimeLow, 4);
  (void)low;
  // Even if the low half wraps meanwhile, TIME_HIGH returns the latched value.
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(rtc.read(GoldfishRtc::kTimeHigh, 4), 5u);
}

TEST(GoldfishRtc, GuestWriteSetsOffset) {
  GoldfishRtc rtc(nullptr, IrqLine());
  const uint64_t target = 1'000'000'000ull * kSec;  // 2001-09-09
  write_time(rtc, target);
  const uint64_t t = read_time(rtc);
  EXPECT_GE(t, target);
  EXPECT_LT(t - target, 50 * kMs);
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const uint64_t t2 = read_time(rtc);
  EXPECT_GE(t2 - t, 5 * kMs);  // still runs at host speed
  EXPECT_EQ(rtc.now_ns() >= t2, true);

  // Setting the future works too.
  const uint64_t future = host_now_ns() + 3600 * kSec;
  write_time(rtc, future);
  EXPECT_LT(distance(read_time(rtc), future), 50 * kMs);
}

TEST(GoldfishRtc, ReadsAreMonotone) {
  GoldfishRtc rtc(nullptr, IrqLine());
  uint64_t last = 0;
  for (int i = 0; i < 10000; ++i) {
    const uint64_t t = rtc.now_ns();
    ASSERT_GE(t, last);
    last = t;
  }
}

TEST(GoldfishRtc, AlarmInThePastFiresAtOnce) {
  test::FakeIrqSink sink;
  GoldfishRtc rtc(nullptr, IrqLine(&sink, kIrq));
  rtc.write(GoldfishRtc::kIrqEnabled, 4, 1);
  EXPECT_EQ(rtc.read(GoldfishRtc::kIrqEnabled, 4), 1u);
  arm_alarm(rtc, rtc.now_ns() - kSec);
  EXPECT_TRUE(sink.level(kIrq));
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 0u);
  rtc.write(GoldfishRtc::kClearInterrupt, 4, 1);
  EXPECT_FALSE(sink.level(kIrq));
}

TEST(GoldfishRtc, IrqEnableGatesPendingInterrupt) {
  test::FakeIrqSink sink;
  GoldfishRtc rtc(nullptr, IrqLine(&sink, kIrq));
  arm_alarm(rtc, 1);  // long past
  EXPECT_FALSE(sink.level(kIrq));
  rtc.write(GoldfishRtc::kIrqEnabled, 4, 1);
  EXPECT_TRUE(sink.level(kIrq));
  rtc.write(GoldfishRtc::kIrqEnabled, 4, 0);
  EXPECT_FALSE(sink.level(kIrq));
}

TEST(GoldfishRtc, AlarmRegistersReadBack) {
  GoldfishRtc rtc(nullptr, IrqLine());
  const uint64_t when = rtc.now_ns() + 3600 * kSec;
  arm_alarm(rtc, when);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmLow, 4), when & 0xffffffff);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmHigh, 4), when >> 32);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 1u);
  rtc.write(GoldfishRtc::kClearAlarm, 4, 1);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 0u);
}

TEST(GoldfishRtc, LazyAlarmWithoutLoop) {
  test::FakeIrqSink sink;
  GoldfishRtc rtc(nullptr, IrqLine(&sink, kIrq));
  rtc.write(GoldfishRtc::kIrqEnabled, 4, 1);
  arm_alarm(rtc, rtc.now_ns() + 20 * kMs);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 1u);
  EXPECT_FALSE(sink.level(kIrq));
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  EXPECT_FALSE(sink.level(kIrq));  // nothing happens until the guest looks
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 0u);
  EXPECT_TRUE(sink.level(kIrq));
}

TEST(GoldfishRtc, AlarmFiresThroughEventLoop) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop) << loop.error().message;
  test::FakeIrqSink sink;
  GoldfishRtc rtc(loop->get(), IrqLine(&sink, kIrq));
  rtc.write(GoldfishRtc::kIrqEnabled, 4, 1);
  const uint64_t when = rtc.now_ns() + 30 * kMs;
  arm_alarm(rtc, when);
  ASSERT_FALSE(sink.level(kIrq));

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!sink.level(kIrq) && std::chrono::steady_clock::now() < deadline) {
    (*loop)->run_once(50);
  }
  ASSERT_TRUE(sink.level(kIrq));
  EXPECT_GE(host_now_ns() + 0, when - 5 * kMs);  // not early (allow clock granularity)
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 0u);
  rtc.write(GoldfishRtc::kClearInterrupt, 4, 1);
  EXPECT_FALSE(sink.level(kIrq));
}

TEST(GoldfishRtc, ClearedAlarmDoesNotFire) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  test::FakeIrqSink sink;
  GoldfishRtc rtc(loop->get(), IrqLine(&sink, kIrq));
  rtc.write(GoldfishRtc::kIrqEnabled, 4, 1);
  arm_alarm(rtc, rtc.now_ns() + 20 * kMs);
  rtc.write(GoldfishRtc::kClearAlarm, 4, 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(80);
  while (std::chrono::steady_clock::now() < deadline) (*loop)->run_once(10);
  EXPECT_FALSE(sink.level(kIrq));
  EXPECT_TRUE(sink.history().empty());
}

TEST(GoldfishRtc, DestroyWhileLoopThreadRuns) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  std::thread runner([l = loop->get()] { l->run(); });
  for (int i = 0; i < 20; ++i) {
    auto rtc = std::make_unique<GoldfishRtc>(loop->get(), IrqLine());
    rtc->write(GoldfishRtc::kIrqEnabled, 4, 1);
    arm_alarm(*rtc, rtc->now_ns() + static_cast<uint64_t>(i % 3) * kMs);
    std::this_thread::sleep_for(std::chrono::microseconds(500 * (i % 4)));
  }
  (*loop)->stop();
  runner.join();
}

TEST(GoldfishRtc, BadAccessesIgnored) {
  test::FakeIrqSink sink;
  GoldfishRtc rtc(nullptr, IrqLine(&sink, kIrq));
  EXPECT_EQ(rtc.read(GoldfishRtc::kTimeLow, 8), 0u);
  EXPECT_EQ(rtc.read(GoldfishRtc::kTimeLow + 1, 4), 0u);
  EXPECT_EQ(rtc.read(0x20, 4), 0u);
  EXPECT_EQ(rtc.read(0xffc, 4), 0u);
  rtc.write(GoldfishRtc::kIrqEnabled, 2, 1);
  rtc.write(0x20, 4, 1);
  rtc.write(GoldfishRtc::kAlarmLow, 8, 0);
  EXPECT_EQ(rtc.read(GoldfishRtc::kIrqEnabled, 4), 0u);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 0u);
  EXPECT_TRUE(sink.history().empty());
}

}  // namespace
}  // namespace vireo
