#include "devices/virtio/rng.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "../devices/fake_irq_sink.hpp"
#include "mmio_driver.hpp"
#include "virtio_test_support.hpp"

namespace vireo::virtio {
namespace {

using test::DriverRing;
using test::kRamBase;
using T = MmioTransport;

constexpr uint32_t kIrq = 3;
constexpr uint64_t kData = DriverRing::kData;

// virtio-rng behind a transport without an event loop (notifications run
// inline), with a predictable entropy source: byte i of a request is
// (request number * 7 + i) mod 256.
class RngTest : public ::testing::Test {
 protected:
  void SetUp() override { create(counting_source()); }
  void create(Rng::EntropySource source) {
    auto rng = std::make_unique<Rng>(std::move(source));
    rng_ = rng.get();
    auto t = T::create(std::move(rng), ram_.memory, IrqLine(&irq_, kIrq), nullptr, "test-rng");
    ASSERT_TRUE(t) << t.error().message;
    transport_ = std::move(*t);
    driver_ = std::make_unique<test::MmioDriver>(*transport_);
  }
  Rng::EntropySource counting_source() {
    return [this](std::span<uint8_t> out) -> Result<void> {
      requests_.push_back(out.size());
      for (size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<uint8_t>(requests_.size() * 7 + i);
      }
      return {};
    };
  }
  void bring_up(uint64_t features = kFeatureVersion1 | kFeatureEventIdx | kFeatureIndirectDesc) {
    ASSERT_EQ(transport_->read(T::kDeviceIdReg, 4), 4u);
    ASSERT_TRUE(driver_->negotiate(features));
    driver_->setup_queue(0, ring_.layout());
    driver_->driver_ok();
    ASSERT_EQ(driver_->status() & T::kStatusNeedsReset, 0u);
  }
  uint8_t byte_at(uint64_t addr) { return *ram_.memory.read_obj<uint8_t>(GuestAddr(addr)); }

  test::TestRam ram_;
  DriverRing ring_{ram_.memory, 16};
  vireo::test::FakeIrqSink irq_;
  std::vector<size_t> requests_;
  Rng* rng_ = nullptr;
  std::unique_ptr<T> transport_;
  std::unique_ptr<test::MmioDriver> driver_;
};

TEST_F(RngTest, OffersOneQueueAndNoFeatures) {
  EXPECT_EQ(driver_->device_features(), T::kTransportFeatures);
  driver_->write(T::kQueueSel, 0);
  EXPECT_EQ(driver_->read(T::kQueueNumMax), Rng::kQueueSize);
  driver_->write(T::kQueueSel, 1);
  EXPECT_EQ(driver_->read(T::kQueueNumMax), 0u);
}

TEST_F(RngTest, FillsWritableBuffersAcrossSegments) {
  bring_up();
  ring_.set_desc(0, kData, 64, kDescFlagWrite);
  ring_.set_desc(1, kData + 0x1000, 16, kDescFlagWrite | kDescFlagNext, 2);
  ring_.set_desc(2, kData + 0x2000, 48, kDescFlagWrite);
  ring_.push(0);
  ring_.push(1);
  driver_->notify(0);

  ASSERT_EQ(ring_.used_idx(), 2);
  EXPECT_EQ(ring_.used(0).id, 0u);
  EXPECT_EQ(ring_.used(0).len, 64u);
  EXPECT_EQ(ring_.used(1).id, 1u);
  EXPECT_EQ(ring_.used(1).len, 64u);
  EXPECT_EQ(requests_, (std::vector<size_t>{64, 64}));
  for (unsigned i = 0; i < 64; ++i) ASSERT_EQ(byte_at(kData + i), (7 + i) & 0xff) << i;
  for (unsigned i = 0; i < 16; ++i) ASSERT_EQ(byte_at(kData + 0x1000 + i), (14 + i) & 0xff);
  for (unsigned i = 0; i < 48; ++i) ASSERT_EQ(byte_at(kData + 0x2000 + i), (30 + i) & 0xff);
  EXPECT_EQ(byte_at(kData + 0x2000 + 48), 0) << "nothing past the buffer";
  EXPECT_EQ(rng_->bytes_served(), 128u);
  // A used-buffer interrupt.
  EXPECT_EQ(driver_->read(T::kInterruptStatus), T::kInterruptUsedBuffer);
  EXPECT_TRUE(irq_.level(kIrq));
}

TEST_F(RngTest, IndirectRequests) {
  bring_up();
  constexpr uint64_t kTable = kRamBase + 0x8000;
  ring_.set_desc_at(kTable, kData, 8, kDescFlagWrite | kDescFlagNext, 1);
  ring_.set_desc_at(kTable + 16, kData + 0x100, 8, kDescFlagWrite);
  ring_.set_desc(3, kTable, 32, kDescFlagIndirect);
  ring_.push(3);
  driver_->notify(0);
  ASSERT_EQ(ring_.used_idx(), 1);
  EXPECT_EQ(ring_.used(0).id, 3u);
  EXPECT_EQ(ring_.used(0).len, 16u);
  EXPECT_EQ(byte_at(kData + 0x100 + 7), (7 + 15) & 0xff);
}

TEST_F(RngTest, CapsEachRequestAt64KiB) {
  // Three overlapping 48 KiB buffers claim 144 KiB: the device fills 64 KiB.
  bring_up();
  ring_.set_desc(0, kData, 48 * 1024, kDescFlagWrite | kDescFlagNext, 1);
  ring_.set_desc(1, kData, 48 * 1024, kDescFlagWrite | kDescFlagNext, 2);
  ring_.set_desc(2, kData, 48 * 1024, kDescFlagWrite);
  ring_.push(0);
  driver_->notify(0);
  ASSERT_EQ(ring_.used_idx(), 1);
  EXPECT_EQ(ring_.used(0).len, Rng::kMaxRequestBytes);
  EXPECT_EQ(requests_, (std::vector<size_t>{Rng::kMaxRequestBytes}));
}

TEST_F(RngTest, ReadableBuffersAreNotFilled) {
  bring_up();
  ASSERT_TRUE(ram_.memory.fill(GuestAddr(kData), 0xaa, 32));
  ring_.set_desc(0, kData, 32);
  ring_.push(0);
  driver_->notify(0);
  ASSERT_EQ(ring_.used_idx(), 1);
  EXPECT_EQ(ring_.used(0).len, 0u);
  EXPECT_EQ(byte_at(kData), 0xaa);
  EXPECT_EQ(byte_at(kData + 31), 0xaa);
  EXPECT_TRUE(requests_.empty());
  EXPECT_EQ(driver_->status() & T::kStatusNeedsReset, 0u);
}

TEST_F(RngTest, HostFailureReturnsAnEmptyBuffer) {
  create([](std::span<uint8_t>) -> Result<void> {
    return make_error(ErrorCode::kIo, "no entropy today");
  });
  bring_up();
  ring_.set_desc(0, kData, 32, kDescFlagWrite);
  ring_.push(0);
  driver_->notify(0);
  ASSERT_EQ(ring_.used_idx(), 1);
  EXPECT_EQ(ring_.used(0).len, 0u);
  EXPECT_EQ(driver_->status() & T::kStatusNeedsReset, 0u);
}

TEST_F(RngTest, HostileChainNeedsResetAndTouchesNothing) {
  bring_up();
  ring_.set_desc(0, kData, 64, kDescFlagWrite);
  ring_.push(0);
  ring_.set_desc(1, kData + 0x100, 64, kDescFlagWrite | kDescFlagNext, 2);
  ring_.set_desc(2, test::kRamEnd - 8, 64, kDescFlagWrite);  // past RAM
  ring_.push(1);
  driver_->notify(0);
  // The good chain before it was served, and announced; the bad one was not touched.
  EXPECT_EQ(ring_.used_idx(), 1);
  EXPECT_NE(driver_->read(T::kInterruptStatus) & T::kInterruptUsedBuffer, 0u);
  EXPECT_EQ(byte_at(kData + 0x100), 0);
  EXPECT_NE(driver_->status() & T::kStatusNeedsReset, 0u);
  EXPECT_NE(driver_->read(T::kInterruptStatus) & T::kInterruptConfigChange, 0u);
  // Later requests wait for a reset.
  ring_.set_desc(3, kData + 0x200, 64, kDescFlagWrite);
  ring_.push(3);
  driver_->notify(0);
  EXPECT_EQ(ring_.used_idx(), 1);
}

TEST_F(RngTest, DriverOkWithoutTheQueueNeedsReset) {
  ASSERT_TRUE(driver_->negotiate(kFeatureVersion1));
  driver_->driver_ok();
  EXPECT_NE(driver_->status() & T::kStatusNeedsReset, 0u);
}

TEST_F(RngTest, EventIdxSuppressesInterrupts) {
  bring_up();
  ring_.set_used_event(5);  // the driver wants to hear when entry 5 is used
  for (uint16_t i = 0; i < 5; ++i) {
    ring_.set_desc(i, kData + 0x100 * i, 8, kDescFlagWrite);
    ring_.push(i);
    driver_->notify(0);
    EXPECT_FALSE(irq_.level(kIrq)) << i;
  }
  ring_.set_desc(5, kData, 8, kDescFlagWrite);
  ring_.push(5);
  driver_->notify(0);
  EXPECT_TRUE(irq_.level(kIrq));
  EXPECT_EQ(ring_.used_idx(), 6);
}

TEST_F(RngTest, FullRingOfTheLargestQueue) {
  DriverRing big(ram_.memory, Rng::kQueueSize);
  ASSERT_TRUE(driver_->negotiate(kFeatureVersion1 | kFeatureEventIdx));
  driver_->setup_queue(0, big.layout());
  driver_->driver_ok();
  for (uint16_t i = 0; i < Rng::kQueueSize; ++i) {
    big.set_desc(i, kData + 16ull * i, 16, kDescFlagWrite);
    big.push(i);
  }
  driver_->notify(0);
  EXPECT_EQ(big.used_idx(), Rng::kQueueSize);
  EXPECT_EQ(rng_->bytes_served(), 16u * Rng::kQueueSize);
}

TEST_F(RngTest, ResetForgetsTheQueue) {
  bring_up();
  driver_->write(T::kStatus, 0);
  ring_.set_desc(0, kData, 8, kDescFlagWrite);
  ring_.push(0);
  driver_->notify(0);
  EXPECT_EQ(ring_.used_idx(), 0);
  EXPECT_TRUE(requests_.empty());
}

TEST(RngHost, GetrandomGivesVaryingBytes) {
  test::TestRam ram;
  auto t = T::create(std::make_unique<Rng>(), ram.memory, IrqLine(), nullptr, "rng");
  ASSERT_TRUE(t);
  test::MmioDriver driver(**t);
  DriverRing ring(ram.memory, 4);
  ASSERT_TRUE(driver.negotiate(kFeatureVersion1));
  driver.setup_queue(0, ring.layout());
  driver.driver_ok();
  ring.set_desc(0, kData, 64, kDescFlagWrite);
  ring.push(0);
  driver.notify(0);
  ASSERT_EQ(ring.used_idx(), 1);
  ASSERT_EQ(ring.used(0).len, 64u);
  std::set<uint8_t> distinct;
  for (unsigned i = 0; i < 64; ++i) {
    distinct.insert(*ram.memory.read_obj<uint8_t>(GuestAddr(kData + i)));
  }
  EXPECT_GT(distinct.size(), 16u);
}

}  // namespace
}  // namespace vireo::virtio
