#include "devices/virtio/transport_mmio.hpp"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "../devices/fake_irq_sink.hpp"
#include "mmio_driver.hpp"
#include "virtio_test_support.hpp"

namespace vireo::virtio {
namespace {

using namespace std::chrono_literals;
using test::DriverRing;
using test::kRamBase;
using test::MmioDriver;
using T = MmioTransport;

constexpr uint32_t kIrq = 5;
constexpr uint32_t kFakeDeviceId = 42;
constexpr uint64_t kDeviceFeatureA = 1ull << 3;
constexpr uint64_t kDeviceFeatureHigh = 1ull << 40;

// What a FakeDevice saw; outlives the device (the transport owns the device).
struct Record {
  std::mutex mutex;
  std::condition_variable cv;
  int activations = 0;
  int resets = 0;
  bool destroyed = false;
  uint64_t features = 0;
  std::vector<bool> queues_ready;
  std::vector<uint16_t> notified;
  std::vector<std::thread::id> notify_threads;

  // Waits until `pred` holds (with the mutex held), for loop-thread tests.
  bool wait(std::function<bool()> pred) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, 5s, pred);
  }
};

class FakeDevice final : public VirtioDevice {
 public:
  explicit FakeDevice(std::shared_ptr<Record> r) : r_(std::move(r)) {}
  ~FakeDevice() override {
    std::lock_guard lock(r_->mutex);
    r_->destroyed = true;
  }

  uint32_t device_id() const override { return kFakeDeviceId; }
  uint64_t device_features() const override { return kDeviceFeatureA | kDeviceFeatureHigh; }
  std::span<const uint16_t> queue_max_sizes() const override { return sizes_; }
  uint32_t config_size() const override { return sizeof(config_); }
  void read_config(uint32_t offset, std::span<uint8_t> out) override {
    std::memcpy(out.data(), config_ + offset, out.size());
  }
  void write_config(uint32_t offset, std::span<const uint8_t> in) override {
    std::memcpy(config_ + offset, in.data(), in.size());
  }

  Result<void> activate(uint64_t features, std::span<VirtQueue> queues, const GuestMemory&,
                        DeviceHost& host) override {
    host_ = &host;
    queues_ = queues;
    {
      std::lock_guard lock(r_->mutex);
      ++r_->activations;
      r_->features = features;
      r_->queues_ready.clear();
      for (const auto& q : queues) r_->queues_ready.push_back(q.ready());
    }
    if (on_activate) return on_activate(host);
    return {};
  }
  Result<void> queue_notify(uint16_t queue) override {
    {
      std::lock_guard lock(r_->mutex);
      r_->notified.push_back(queue);
      r_->notify_threads.push_back(std::this_thread::get_id());
    }
    r_->cv.notify_all();
    if (on_notify) return on_notify(queue, queues_[queue], *host_);
    return {};
  }
  void reset() override {
    host_ = nullptr;
    queues_ = {};
    std::lock_guard lock(r_->mutex);
    ++r_->resets;
  }

  // Test hooks, run inside the device calls.
  std::function<Result<void>(DeviceHost&)> on_activate;
  std::function<Result<void>(uint16_t, VirtQueue&, DeviceHost&)> on_notify;
  uint8_t config_[6] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66};

 private:
  static constexpr uint16_t sizes_[2] = {16, 4};
  std::shared_ptr<Record> r_;
  DeviceHost* host_ = nullptr;
  std::span<VirtQueue> queues_;
};

class MmioTransportTest : public ::testing::Test {
 protected:
  void create(EventLoop* loop = nullptr) {
    auto dev = std::make_unique<FakeDevice>(record_);
    device_ = dev.get();
    auto t = T::create(std::move(dev), ram_.memory, IrqLine(&irq_, kIrq), loop, "test-virtio");
    ASSERT_TRUE(t) << t.error().message;
    transport_ = std::move(*t);
    driver_ = std::make_unique<MmioDriver>(*transport_);
  }
  void SetUp() override { create(); }

  uint32_t reg(uint64_t offset) { return driver_->read(offset); }
  // Negotiates, sets queue 0 up with `ring_`, and sets DRIVER_OK.
  void bring_up(uint64_t features = kFeatureVersion1 | kFeatureEventIdx) {
    ASSERT_TRUE(driver_->negotiate(features));
    driver_->setup_queue(0, ring_.layout());
    driver_->driver_ok();
    ASSERT_EQ(driver_->status() & T::kStatusNeedsReset, 0u);
    ASSERT_EQ(record_->activations, 1);
  }

  test::TestRam ram_;
  DriverRing ring_{ram_.memory, 8};
  vireo::test::FakeIrqSink irq_;
  std::shared_ptr<Record> record_ = std::make_shared<Record>();
  FakeDevice* device_ = nullptr;
  std::unique_ptr<T> transport_;
  std::unique_ptr<MmioDriver> driver_;
};

TEST_F(MmioTransportTest, IdentifiesItself) {
  EXPECT_EQ(reg(T::kMagicValue), 0x74726976u);
  EXPECT_EQ(reg(T::kVersionReg), 2u);
  EXPECT_EQ(reg(T::kDeviceIdReg), kFakeDeviceId);
  EXPECT_EQ(reg(T::kVendorIdReg), T::kVendorId);
  EXPECT_EQ(reg(T::kStatus), 0u);
  EXPECT_EQ(reg(T::kInterruptStatus), 0u);
  // No shared memory regions: length and base read as -1.
  EXPECT_EQ(reg(T::kShmLenLow), 0xffffffffu);
  EXPECT_EQ(reg(T::kShmBaseHigh), 0xffffffffu);
  // Write-only registers read as 0.
  EXPECT_EQ(reg(T::kQueueNotify), 0u);
}

TEST_F(MmioTransportTest, RegistersAre32BitOnly) {
  EXPECT_EQ(transport_->read(T::kMagicValue, 2), 0u);
  EXPECT_EQ(transport_->read(T::kMagicValue + 1, 4), 0u);
  transport_->write(T::kStatus, 1, T::kStatusAcknowledge);
  EXPECT_EQ(reg(T::kStatus), 0u);
  EXPECT_GT(transport_->error_count(), 0u);
}

TEST_F(MmioTransportTest, FeatureWindows) {
  driver_->write(T::kDeviceFeaturesSel, 0);
  const uint32_t low = reg(T::kDeviceFeatures);
  EXPECT_EQ(low, kDeviceFeatureA | kFeatureIndirectDesc | kFeatureEventIdx);
  driver_->write(T::kDeviceFeaturesSel, 1);
  EXPECT_EQ(reg(T::kDeviceFeatures), (kFeatureVersion1 | kDeviceFeatureHigh) >> 32);
  driver_->write(T::kDeviceFeaturesSel, 2);
  EXPECT_EQ(reg(T::kDeviceFeatures), 0u);
  EXPECT_EQ(driver_->device_features(),
            kDeviceFeatureA | kDeviceFeatureHigh | T::kTransportFeatures);
}

TEST_F(MmioTransportTest, NegotiatesASubsetWithVersion1) {
  const uint64_t f = kFeatureVersion1 | kDeviceFeatureHigh | kFeatureIndirectDesc;
  ASSERT_TRUE(driver_->negotiate(f));
  EXPECT_EQ(driver_->status(), T::kStatusAcknowledge | T::kStatusDriver | T::kStatusFeaturesOk);
  driver_->setup_queue(0, ring_.layout());
  driver_->driver_ok();
  EXPECT_EQ(record_->activations, 1);
  EXPECT_EQ(record_->features, f);
}

TEST_F(MmioTransportTest, RefusesFeaturesWithoutVersion1) {
  EXPECT_FALSE(driver_->negotiate(kDeviceFeatureA));
  EXPECT_EQ(driver_->status(), T::kStatusAcknowledge | T::kStatusDriver);
  EXPECT_GT(transport_->error_count(), 0u);
}

TEST_F(MmioTransportTest, RefusesFeaturesTheDeviceDidNotOffer) {
  EXPECT_FALSE(driver_->negotiate(kFeatureVersion1 | (1ull << 41)));
  // Bits beyond 64 (a third feature word) do not exist either.
  driver_->write(T::kStatus, 0);
  driver_->set_status_bits(T::kStatusAcknowledge | T::kStatusDriver);
  driver_->write_driver_features(kFeatureVersion1);
  driver_->write(T::kDriverFeaturesSel, 2);
  driver_->write(T::kDriverFeatures, 1);
  driver_->set_status_bits(T::kStatusFeaturesOk);
  EXPECT_EQ(driver_->status() & T::kStatusFeaturesOk, 0u);
  // A fresh attempt after reset succeeds.
  EXPECT_TRUE(driver_->negotiate(kFeatureVersion1));
}

TEST_F(MmioTransportTest, StatusStepsInOrder) {
  // DRIVER before ACKNOWLEDGE, FEATURES_OK before DRIVER, DRIVER_OK before
  // FEATURES_OK: each refused, the bit left clear.
  driver_->write(T::kStatus, T::kStatusDriver);
  EXPECT_EQ(driver_->status(), 0u);
  driver_->write(T::kStatus, T::kStatusAcknowledge);
  driver_->write(T::kStatus, T::kStatusAcknowledge | T::kStatusFeaturesOk);
  EXPECT_EQ(driver_->status(), T::kStatusAcknowledge);
  driver_->write(T::kStatus, T::kStatusAcknowledge | T::kStatusDriver);
  driver_->write_driver_features(kFeatureVersion1);
  driver_->set_status_bits(T::kStatusDriverOk);
  EXPECT_EQ(driver_->status(), T::kStatusAcknowledge | T::kStatusDriver);
  EXPECT_EQ(record_->activations, 0);
  // Bits only go away through a reset.
  driver_->write(T::kStatus, T::kStatusAcknowledge);
  EXPECT_EQ(driver_->status(), T::kStatusAcknowledge | T::kStatusDriver);
  // The driver cannot set DEVICE_NEEDS_RESET itself; FAILED it can, any time.
  driver_->set_status_bits(T::kStatusNeedsReset);
  EXPECT_EQ(driver_->status(), T::kStatusAcknowledge | T::kStatusDriver);
  driver_->set_status_bits(T::kStatusFailed);
  EXPECT_EQ(driver_->status(), T::kStatusAcknowledge | T::kStatusDriver | T::kStatusFailed);
  // Several steps in one write are taken in order.
  driver_->write(T::kStatus, 0);
  driver_->write(T::kStatus, T::kStatusAcknowledge | T::kStatusDriver);
  EXPECT_EQ(driver_->status(), T::kStatusAcknowledge | T::kStatusDriver);
}

TEST_F(MmioTransportTest, DriverFeaturesAreFrozenAtFeaturesOk) {
  ASSERT_TRUE(driver_->negotiate(kFeatureVersion1));
  driver_->write_driver_features(kFeatureVersion1 | kDeviceFeatureA);
  driver_->setup_queue(0, ring_.layout());
  driver_->driver_ok();
  EXPECT_EQ(record_->features, kFeatureVersion1);
}

TEST_F(MmioTransportTest, QueueRegisters) {
  driver_->write(T::kQueueSel, 0);
  EXPECT_EQ(reg(T::kQueueNumMax), 16u);
  driver_->write(T::kQueueSel, 1);
  EXPECT_EQ(reg(T::kQueueNumMax), 4u);
  driver_->write(T::kQueueSel, 2);  // no such queue
  EXPECT_EQ(reg(T::kQueueNumMax), 0u);
  EXPECT_EQ(reg(T::kQueueReady), 0u);

  // Before FEATURES_OK, queue set-up is refused.
  driver_->setup_queue(0, ring_.layout());
  EXPECT_EQ(reg(T::kQueueReady), 0u);

  ASSERT_TRUE(driver_->negotiate(kFeatureVersion1));
  driver_->setup_queue(0, ring_.layout());
  EXPECT_EQ(reg(T::kQueueReady), 1u);
  EXPECT_EQ(driver_->status() & T::kStatusNeedsReset, 0u);
  // A ready queue cannot be reconfigured...
  driver_->write(T::kQueueNum, 4);
  // ...but can be turned off before DRIVER_OK.
  driver_->write(T::kQueueReady, 0);
  EXPECT_EQ(reg(T::kQueueReady), 0u);
  driver_->write(T::kQueueReady, 1);
  EXPECT_EQ(reg(T::kQueueReady), 1u) << "QueueNum was not changed while ready";
}

TEST_F(MmioTransportTest, BadQueueLayoutsNeedReset) {
  struct Case {
    const char* what;
    QueueLayout layout;
  };
  const QueueLayout good = ring_.layout();
  const Case cases[] = {
      {"larger than QueueNumMax", {32, good.desc, good.avail, good.used}},
      {"not a power of two", {6, good.desc, good.avail, good.used}},
      {"size 0", {0, good.desc, good.avail, good.used}},
      {"descriptor table past RAM", {8, GuestAddr(test::kRamEnd - 64), good.avail, good.used}},
      {"misaligned used ring", {8, good.desc, good.avail, GuestAddr(good.used.value + 2)}},
      {"avail ring at 0", {8, good.desc, GuestAddr(0), good.used}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    irq_.clear_history();
    ASSERT_TRUE(driver_->negotiate(kFeatureVersion1));
    EXPECT_EQ(reg(T::kInterruptStatus), 0u);
    driver_->setup_queue(0, c.layout);
    EXPECT_EQ(reg(T::kQueueReady), 0u);
    EXPECT_NE(driver_->status() & T::kStatusNeedsReset, 0u);
    EXPECT_EQ(reg(T::kInterruptStatus), T::kInterruptConfigChange);
    EXPECT_TRUE(irq_.level(kIrq));
    // Nothing but a reset helps now.
    driver_->driver_ok();
    EXPECT_EQ(record_->activations, 0);
  }
}

TEST_F(MmioTransportTest, DriverOkActivatesWithTheReadyQueues) {
  bring_up();
  EXPECT_EQ(record_->queues_ready, (std::vector<bool>{true, false}));
  EXPECT_EQ(driver_->status(),
            T::kStatusAcknowledge | T::kStatusDriver | T::kStatusFeaturesOk | T::kStatusDriverOk);
  // Queue registers are locked while the device is live.
  driver_->write(T::kQueueSel, 0);
  driver_->write(T::kQueueReady, 0);
  EXPECT_EQ(reg(T::kQueueReady), 1u);
}

TEST_F(MmioTransportTest, ActivationFailureNeedsReset) {
  device_->on_activate = [](DeviceHost&) -> Result<void> {
    return make_error(ErrorCode::kGuest, "required queue missing");
  };
  ASSERT_TRUE(driver_->negotiate(kFeatureVersion1));
  driver_->driver_ok();
  EXPECT_NE(driver_->status() & T::kStatusNeedsReset, 0u);
  EXPECT_EQ(reg(T::kInterruptStatus), T::kInterruptConfigChange);
  driver_->notify(0);
  EXPECT_TRUE(record_->notified.empty());
}

TEST_F(MmioTransportTest, NotifyRunsTheDevice) {
  bring_up();
  driver_->notify(0);
  EXPECT_EQ(record_->notified, (std::vector<uint16_t>{0}));
  driver_->notify(1);  // not ready: not passed on
  driver_->notify(7);  // no such queue
  EXPECT_EQ(record_->notified, (std::vector<uint16_t>{0}));
  EXPECT_GE(transport_->error_count(), 2u);
}

TEST_F(MmioTransportTest, NotifyBeforeDriverOkIsDropped) {
  ASSERT_TRUE(driver_->negotiate(kFeatureVersion1));
  driver_->setup_queue(0, ring_.layout());
  driver_->notify(0);
  EXPECT_TRUE(record_->notified.empty());
}

TEST_F(MmioTransportTest, InterruptStatusDrivesTheLine) {
  device_->on_notify = [](uint16_t q, VirtQueue&, DeviceHost& host) -> Result<void> {
    host.notify_used(q);
    return {};
  };
  bring_up();
  EXPECT_FALSE(irq_.level(kIrq));
  driver_->notify(0);
  EXPECT_EQ(reg(T::kInterruptStatus), T::kInterruptUsedBuffer);
  EXPECT_TRUE(irq_.level(kIrq));
  // Acknowledging a bit that is not set changes nothing.
  driver_->write(T::kInterruptAck, T::kInterruptConfigChange);
  EXPECT_TRUE(irq_.level(kIrq));
  driver_->write(T::kInterruptAck, T::kInterruptUsedBuffer);
  EXPECT_EQ(reg(T::kInterruptStatus), 0u);
  EXPECT_FALSE(irq_.level(kIrq));

  // A config change: both bits, the line stays high until both are acked.
  device_->on_notify = [](uint16_t q, VirtQueue&, DeviceHost& host) -> Result<void> {
    host.notify_used(q);
    host.notify_config_changed();
    return {};
  };
  const uint32_t gen = reg(T::kConfigGeneration);
  driver_->notify(0);
  EXPECT_EQ(reg(T::kConfigGeneration), gen + 1);
  EXPECT_EQ(reg(T::kInterruptStatus), T::kInterruptUsedBuffer | T::kInterruptConfigChange);
  driver_->write(T::kInterruptAck, T::kInterruptUsedBuffer);
  EXPECT_TRUE(irq_.level(kIrq));
  driver_->write(T::kInterruptAck, T::kInterruptConfigChange | T::kInterruptUsedBuffer);
  EXPECT_FALSE(irq_.level(kIrq));
  // The line changed level only when InterruptStatus went from/to zero.
  const auto h = irq_.history();
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[0], std::make_pair(kIrq, true));
  EXPECT_EQ(h[1], std::make_pair(kIrq, false));
  EXPECT_EQ(h[2], std::make_pair(kIrq, true));
  EXPECT_EQ(h[3], std::make_pair(kIrq, false));
}

TEST_F(MmioTransportTest, BadChainSetsNeedsResetAndStopsTheDevice) {
  // A device that pops chains the way real ones do.
  device_->on_notify = [](uint16_t, VirtQueue& q, DeviceHost&) -> Result<void> {
    for (;;) {
      auto r = q.pop_chain();
      if (!r) return std::unexpected(r.error());
      if (!r->has_value()) return {};
    }
  };
  bring_up();
  ring_.set_desc(0, DriverRing::kData, 8, kDescFlagNext, 0);  // a loop
  ring_.push(0);
  driver_->notify(0);
  EXPECT_EQ(record_->notified.size(), 1u);
  EXPECT_NE(driver_->status() & T::kStatusNeedsReset, 0u);
  EXPECT_NE(driver_->status() & T::kStatusDriverOk, 0u);
  EXPECT_EQ(reg(T::kInterruptStatus), T::kInterruptConfigChange);
  EXPECT_TRUE(irq_.level(kIrq));
  EXPECT_GE(transport_->error_count(), 1u);
  // No more device work until the driver resets it.
  driver_->notify(0);
  EXPECT_EQ(record_->notified.size(), 1u);
  // The driver recovers with a reset and a fresh bring-up.
  driver_->write(T::kStatus, 0);
  EXPECT_EQ(driver_->status(), 0u);
  EXPECT_FALSE(irq_.level(kIrq));
  ASSERT_TRUE(driver_->negotiate(kFeatureVersion1));
  driver_->setup_queue(0, ring_.layout());
  driver_->driver_ok();
  EXPECT_EQ(record_->activations, 2);
  EXPECT_EQ(driver_->status() & T::kStatusNeedsReset, 0u);
}

TEST_F(MmioTransportTest, ResetClearsQueuesInterruptsAndFeatures) {
  device_->on_notify = [](uint16_t q, VirtQueue&, DeviceHost& host) -> Result<void> {
    host.notify_used(q);
    return {};
  };
  bring_up();
  const int resets = record_->resets;  // negotiate() starts with a reset too
  driver_->notify(0);
  EXPECT_TRUE(irq_.level(kIrq));
  driver_->write(T::kStatus, 0);
  EXPECT_EQ(record_->resets, resets + 1);
  EXPECT_EQ(driver_->status(), 0u);
  EXPECT_EQ(reg(T::kInterruptStatus), 0u);
  EXPECT_FALSE(irq_.level(kIrq));
  for (uint32_t q = 0; q < 2; ++q) {
    driver_->write(T::kQueueSel, q);
    EXPECT_EQ(reg(T::kQueueReady), 0u) << q;
  }
  // The queue is gone: notifications do nothing.
  driver_->notify(0);
  EXPECT_EQ(record_->notified.size(), 1u);
  // The accepted features are gone too: FEATURES_OK without writing them
  // again lacks VERSION_1.
  driver_->set_status_bits(T::kStatusAcknowledge | T::kStatusDriver);
  driver_->set_status_bits(T::kStatusFeaturesOk);
  EXPECT_EQ(driver_->status() & T::kStatusFeaturesOk, 0u);
  // Queue set-up registers were cleared: QueueReady without a new QueueNum
  // is a bad layout.
  driver_->write(T::kStatus, 0);
  ASSERT_TRUE(driver_->negotiate(kFeatureVersion1));
  driver_->write(T::kQueueSel, 0);
  driver_->write(T::kQueueReady, 1);
  EXPECT_EQ(reg(T::kQueueReady), 0u);
  EXPECT_NE(driver_->status() & T::kStatusNeedsReset, 0u);
}

TEST_F(MmioTransportTest, ConfigurationSpace) {
  EXPECT_EQ(transport_->read(T::kConfig, 1), 0x11u);
  EXPECT_EQ(transport_->read(T::kConfig + 1, 2), 0x3322u);
  EXPECT_EQ(transport_->read(T::kConfig + 2, 4), 0x66554433u);
  EXPECT_EQ(transport_->read(T::kConfig + 5, 1), 0x66u);
  // Past the end, or straddling it: 0, and nothing passed to the device.
  EXPECT_EQ(transport_->read(T::kConfig + 6, 1), 0u);
  EXPECT_EQ(transport_->read(T::kConfig + 4, 4), 0u);
  EXPECT_EQ(transport_->read(T::kConfig, 8), 0u);
  EXPECT_EQ(transport_->read(T::kConfig, 3), 0u);
  transport_->write(T::kConfig + 4, 2, 0xbbaa);
  EXPECT_EQ(device_->config_[4], 0xaa);
  EXPECT_EQ(device_->config_[5], 0xbb);
  transport_->write(T::kConfig + 5, 2, 0xffff);
  EXPECT_EQ(device_->config_[5], 0xbb);
  transport_->write(T::kSize - 1, 1, 0);
}

TEST_F(MmioTransportTest, RequeueCallsTheDeviceAgain) {
  int calls = 0;
  device_->on_notify = [&calls](uint16_t q, VirtQueue&, DeviceHost& host) -> Result<void> {
    if (++calls < 3) host.requeue(q);
    return {};
  };
  bring_up();
  driver_->notify(0);
  EXPECT_EQ(calls, 3);
}

TEST_F(MmioTransportTest, WatchingFdsNeedsAnEventLoop) {
  Result<void> watched;
  device_->on_activate = [&watched](DeviceHost& host) -> Result<void> {
    watched = host.watch_fd(0, 0, [](uint32_t) {});
    return {};
  };
  bring_up();
  ASSERT_FALSE(watched);
  EXPECT_EQ(watched.error().code, ErrorCode::kUnsupported);
}

TEST_F(MmioTransportTest, DestructionResetsAndDestroysTheDevice) {
  bring_up();
  const int resets = record_->resets;
  transport_.reset();
  EXPECT_EQ(record_->resets, resets + 1);
  EXPECT_TRUE(record_->destroyed);
}

TEST(MmioTransportCreate, RejectsDevicesWithoutQueues) {
  struct NoQueues final : VirtioDevice {
    uint32_t device_id() const override { return 1; }
    uint64_t device_features() const override { return 0; }
    std::span<const uint16_t> queue_max_sizes() const override { return {}; }
    Result<void> activate(uint64_t, std::span<VirtQueue>, const GuestMemory&,
                          DeviceHost&) override {
      return {};
    }
    Result<void> queue_notify(uint16_t) override { return {}; }
    void reset() override {}
  };
  test::TestRam ram;
  EXPECT_FALSE(T::create(std::make_unique<NoQueues>(), ram.memory, IrqLine(), nullptr, "x"));
  EXPECT_FALSE(T::create(nullptr, ram.memory, IrqLine(), nullptr, "x"));
}

// ---- With the I/O event loop on its own thread, as in a VM.

class MmioTransportLoopTest : public MmioTransportTest {
 protected:
  void SetUp() override {
    auto l = EventLoop::create();
    ASSERT_TRUE(l);
    loop_ = std::move(*l);
    create(loop_.get());
    loop_thread_ = std::thread([this] { loop_->run(); });
  }
  void TearDown() override {
    transport_.reset();  // while the loop still runs
    loop_->stop();
    loop_thread_.join();
  }
  std::unique_ptr<EventLoop> loop_;
  std::thread loop_thread_;
};

TEST_F(MmioTransportLoopTest, NotificationsRunOnTheLoopThread) {
  bring_up();
  // DRIVER_OK itself looks at the ready queues once, on the loop.
  ASSERT_TRUE(record_->wait([&] { return record_->notified.size() == 1; }));
  for (int i = 0; i < 100; ++i) driver_->notify(0);
  // Notifications coalesce: at least one more call, at most one per write.
  ASSERT_TRUE(record_->wait([&] {
    std::this_thread::sleep_for(1ms);
    return record_->notified.size() >= 2;
  }));
  std::this_thread::sleep_for(50ms);
  std::lock_guard lock(record_->mutex);
  EXPECT_LE(record_->notified.size(), 101u);
  for (auto id : record_->notify_threads) {
    EXPECT_NE(id, std::this_thread::get_id()) << "device work ran on the notifying (vCPU) thread";
  }
}

TEST_F(MmioTransportLoopTest, QueueEventfdCountsAsAQueueNotifyWrite) {
  // What KVM's ioeventfd does for a QueueNotify write: signal queue q's fd.
  auto fds = transport_->create_queue_notify_fds();
  ASSERT_TRUE(fds) << fds.error().message;
  ASSERT_EQ(fds->size(), device_->queue_max_sizes().size());
  auto again = transport_->create_queue_notify_fds();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *fds);  // the same fds, not new ones
  bring_up();
  ASSERT_TRUE(record_->wait([&] { return record_->notified.size() == 1; }));
  const uint64_t one = 1;
  ASSERT_EQ(::write((*fds)[0], &one, sizeof(one)), 8);
  ASSERT_TRUE(record_->wait([&] { return record_->notified.size() == 2; }));
  std::lock_guard lock(record_->mutex);
  EXPECT_EQ(record_->notified.back(), 0);
  EXPECT_NE(record_->notify_threads.back(), std::this_thread::get_id());
}

TEST_F(MmioTransportTest, QueueEventfdsNeedAnEventLoop) {
  EXPECT_FALSE(transport_->create_queue_notify_fds());
}

TEST_F(MmioTransportLoopTest, WatchedFdRunsOnlyWhileActive) {
  const int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_GE(efd, 0);
  std::atomic<int> fired{0};
  device_->on_activate = [&](DeviceHost& host) -> Result<void> {
    return host.watch_fd(efd, EPOLLIN, [&](uint32_t) {
      uint64_t v;
      [[maybe_unused]] ssize_t n = ::read(efd, &v, sizeof(v));
      fired.fetch_add(1);
      record_->cv.notify_all();
    });
  };
  bring_up();
  const uint64_t one = 1;
  ASSERT_EQ(::write(efd, &one, sizeof(one)), 8);
  ASSERT_TRUE(record_->wait([&] { return fired.load() == 1; }));
  // After a reset the watch is gone.
  driver_->write(T::kStatus, 0);
  ASSERT_EQ(::write(efd, &one, sizeof(one)), 8);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(fired.load(), 1);
  ::close(efd);
}

TEST_F(MmioTransportLoopTest, ResetWhileTheLoopIsBusy) {
  // The device is mid-notification on the loop thread when the driver resets:
  // reset() waits for it, and the device is never called concurrently.
  std::atomic<bool> in_notify{false};
  std::atomic<bool> overlap{false};
  device_->on_notify = [&](uint16_t, VirtQueue&, DeviceHost&) -> Result<void> {
    in_notify = true;
    std::this_thread::sleep_for(20ms);
    in_notify = false;
    return {};
  };
  bring_up();
  const int resets = record_->resets;
  ASSERT_TRUE(record_->wait([&] { return !record_->notified.empty(); }));
  driver_->notify(0);
  while (!in_notify.load()) std::this_thread::yield();
  driver_->write(T::kStatus, 0);
  overlap = in_notify.load();
  EXPECT_FALSE(overlap) << "reset returned while the device was still processing";
  EXPECT_EQ(record_->resets, resets + 1);
}

}  // namespace
}  // namespace vireo::virtio
