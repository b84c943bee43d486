#include "devices/virtio/console.hpp"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "../devices/fake_irq_sink.hpp"
#include "mmio_driver.hpp"
#include "placed_ring.hpp"
#include "virtio_test_support.hpp"

namespace vireo::virtio {
namespace {

using test::kRamBase;
using test::PlacedRing;
using T = MmioTransport;

constexpr uint32_t kIrq = 5;
constexpr uint64_t kData = kRamBase + 0x40000;

// A host end whose output takes at most `room` bytes until the test makes
// more room, and whose input is what the test pushes.
class FakePort final : public ConsolePort {
 public:
  FakePort()
      : input_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
        space_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~FakePort() override {
    ::close(input_fd_);
    ::close(space_fd_);
  }
  void push(const std::string& s) {
    input.insert(input.end(), s.begin(), s.end());
    const uint64_t one = 1;
    EXPECT_EQ(::write(input_fd_, &one, 8), 8);
  }
  void make_room(size_t bytes) {
    room += bytes;
    const uint64_t one = 1;
    EXPECT_EQ(::write(space_fd_, &one, 8), 8);
  }

  size_t read_input(std::span<uint8_t> out) override {
    const size_t n = std::min(out.size(), input.size());
    std::copy_n(input.begin(), n, out.begin());
    input.erase(input.begin(), input.begin() + static_cast<ptrdiff_t>(n));
    if (input.empty()) {
      uint64_t v;
      (void)!::read(input_fd_, &v, 8);
    }
    return n;
  }
  int input_fd() const override { return input_fd_; }
  size_t write_output(std::span<const uint8_t> bytes) override {
    const size_t n = std::min(bytes.size(), room);
    output.append(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    room -= n;
    ++write_calls;
    return n;
  }
  int output_space_fd() const override { return space_fd_; }

  std::string input;
  std::string output;
  size_t room = SIZE_MAX;
  int write_calls = 0;

 private:
  int input_fd_, space_fd_;
};

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = EventLoop::create();
    ASSERT_TRUE(l);
    loop_ = std::move(*l);
    port_ = std::make_shared<FakePort>();
    auto t = T::create(std::make_unique<Console>(port_), ram_.memory, IrqLine(&irq_, kIrq),
                       loop_.get(), "test-console");
    ASSERT_TRUE(t) << t.error().message;
    transport_ = std::move(*t);
    driver_ = std::make_unique<test::MmioDriver>(*transport_);
  }
  void bring_up() {
    ASSERT_TRUE(driver_->negotiate(kFeatureVersion1 | kFeatureEventIdx | kFeatureIndirectDesc));
    driver_->setup_queue(0, rx_.layout());
    driver_->setup_queue(1, tx_.layout());
    driver_->driver_ok();
    settle();
    ASSERT_EQ(driver_->status() & T::kStatusNeedsReset, 0u);
  }
  // Runs the loop until nothing is left to do.
  void settle() {
    for (int i = 0; i < 20; ++i) loop_->run_once(i < 10 ? 0 : 1);
  }
  void put(uint64_t addr, const std::string& s) {
    ASSERT_TRUE(ram_.memory.write(GuestAddr(addr),
                                  std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size())));
  }
  std::string get(uint64_t addr, size_t n) {
    std::string s(n, '\0');
    EXPECT_TRUE(
        ram_.memory.read(GuestAddr(addr), std::span(reinterpret_cast<uint8_t*>(s.data()), n)));
    return s;
  }
  bool needs_reset() { return (driver_->status() & T::kStatusNeedsReset) != 0; }

  test::TestRam ram_;
  std::unique_ptr<EventLoop> loop_;
  std::shared_ptr<FakePort> port_;
  vireo::test::FakeIrqSink irq_;
  std::unique_ptr<T> transport_;
  std::unique_ptr<test::MmioDriver> driver_;
  PlacedRing rx_{ram_.memory, kRamBase + 0x20000, 8};
  PlacedRing tx_{ram_.memory, kRamBase + 0x24000, 8};
};

TEST_F(ConsoleTest, IdentityQueuesAndConfig) {
  EXPECT_EQ(driver_->read(T::kDeviceIdReg), 3u);
  EXPECT_EQ(driver_->device_features(), T::kTransportFeatures);  // no SIZE, no MULTIPORT
  for (uint32_t q = 0; q < 2; ++q) {
    driver_->write(T::kQueueSel, q);
    EXPECT_EQ(driver_->read(T::kQueueNumMax), Console::kQueueSize);
  }
  driver_->write(T::kQueueSel, 2);
  EXPECT_EQ(driver_->read(T::kQueueNumMax), 0u);
  EXPECT_EQ(transport_->read(T::kConfig + 4, 4), 1u);  // max_nr_ports
  EXPECT_EQ(transport_->read(T::kConfig + 0, 4), 0u);  // cols, rows
}

TEST_F(ConsoleTest, TransmitsReadableBuffersInOrder) {
  bring_up();
  put(kData, "hello, ");
  put(kData + 0x100, "world");
  put(kData + 0x200, "!\n");
  tx_.set_desc(0, kData, 7, kDescFlagNext, 1);
  tx_.set_desc(1, kData + 0x100, 5);
  tx_.set_desc(2, kData + 0x200, 2);
  tx_.push(0);
  tx_.push(2);
  driver_->notify(1);
  settle();
  EXPECT_EQ(port_->output, "hello, world!\n");
  ASSERT_EQ(tx_.used_idx(), 2);
  EXPECT_EQ(tx_.used(0).id, 0u);
  EXPECT_EQ(tx_.used(0).len, 0u);
  EXPECT_EQ(tx_.used(1).id, 2u);
  EXPECT_TRUE(irq_.level(kIrq));
}

TEST_F(ConsoleTest, NoTransmitInterruptForBuffersTheDriverAlreadyTook) {
  bring_up();
  put(kData, "polled");
  tx_.set_desc(0, kData, 6);
  tx_.push(0);
  driver_->notify(1);
  for (int i = 0; i < 3; ++i) loop_->run_once(0);  // served, the notification pending
  ASSERT_EQ(tx_.used_idx(), 1);
  EXPECT_EQ(port_->output, "polled");
  // Linux's hvc path polls the used ring and moves used_event past it.
  ASSERT_TRUE(ram_.memory.write_obj<uint16_t>(
      GuestAddr(tx_.layout().avail.value + 4 + 2 * tx_.layout().size), 1));
  settle();
  EXPECT_FALSE(irq_.level(kIrq)) << "an interrupt here would find nothing to do";
  // A driver that did not take it gets its interrupt.
  put(kData, "later");
  tx_.set_desc(1, kData, 5);
  tx_.push(1);
  driver_->notify(1);
  settle();
  EXPECT_TRUE(irq_.level(kIrq));
}

TEST_F(ConsoleTest, BackedUpOutputHoldsTheChainUntilThereIsRoom) {
  bring_up();
  std::string big(10000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  put(kData, big);
  put(kData + 0x4000, "next");
  tx_.set_desc(0, kData, static_cast<uint32_t>(big.size()));
  tx_.set_desc(1, kData + 0x4000, 4);
  port_->room = 3000;
  tx_.push(0);
  tx_.push(1);
  driver_->notify(1);
  settle();
  EXPECT_EQ(port_->output, big.substr(0, 3000));
  EXPECT_EQ(tx_.used_idx(), 0) << "the chain is returned only once all of it is out";
  const int calls = port_->write_calls;
  driver_->notify(1);  // the driver nudging does not make the device spin
  settle();
  EXPECT_EQ(port_->write_calls, calls);
  port_->make_room(4000);
  settle();
  EXPECT_EQ(port_->output, big.substr(0, 7000));
  EXPECT_EQ(tx_.used_idx(), 0);
  port_->make_room(SIZE_MAX - port_->room);
  settle();
  EXPECT_EQ(port_->output, big + "next");
  EXPECT_EQ(tx_.used_idx(), 2);
  EXPECT_FALSE(needs_reset());
}

TEST_F(ConsoleTest, InputFillsReceiveBuffers) {
  bring_up();
  rx_.set_desc(0, kData, 4, kDescFlagWrite);
  rx_.set_desc(1, kData + 0x100, 64, kDescFlagWrite);
  rx_.push(0);
  rx_.push(1);
  driver_->notify(0);
  settle();
  EXPECT_EQ(rx_.used_idx(), 0) << "no input yet";
  port_->push("ls -l\n");
  settle();
  ASSERT_EQ(rx_.used_idx(), 2);
  EXPECT_EQ(rx_.used(0).len, 4u);
  EXPECT_EQ(rx_.used(1).len, 2u);
  EXPECT_EQ(get(kData, 4), "ls -");
  EXPECT_EQ(get(kData + 0x100, 2), "l\n");
  EXPECT_TRUE(irq_.level(kIrq));
}

TEST_F(ConsoleTest, InputWaitsForBuffersWithoutLoss) {
  bring_up();
  port_->push("typed before the driver had buffers");
  settle();
  EXPECT_EQ(rx_.used_idx(), 0);
  rx_.set_desc(0, kData, 10, kDescFlagWrite);
  rx_.push(0);
  driver_->notify(0);
  settle();
  ASSERT_EQ(rx_.used_idx(), 1);
  EXPECT_EQ(get(kData, 10), "typed befo");
  rx_.set_desc(1, kData + 0x100, 100, kDescFlagWrite);
  rx_.push(1);
  driver_->notify(0);
  settle();
  ASSERT_EQ(rx_.used_idx(), 2);
  EXPECT_EQ(rx_.used(1).len, 25u);
  EXPECT_EQ(get(kData + 0x100, 25), "re the driver had buffers");
  EXPECT_TRUE(port_->input.empty());
}

TEST_F(ConsoleTest, HostileTransmitChainNeedsReset) {
  bring_up();
  tx_.set_desc(0, test::kRamEnd - 4, 64);  // past RAM
  tx_.push(0);
  driver_->notify(1);
  settle();
  EXPECT_TRUE(needs_reset());
  EXPECT_TRUE(port_->output.empty());
  EXPECT_EQ(tx_.used_idx(), 0);
}

TEST_F(ConsoleTest, ReceiveBufferThatIsReadableOnlyGetsNothing) {
  bring_up();
  rx_.set_desc(0, kData, 16);  // not device-writable
  rx_.set_desc(1, kData + 0x100, 16, kDescFlagWrite);
  rx_.push(0);
  rx_.push(1);
  port_->push("abc");
  settle();
  ASSERT_EQ(rx_.used_idx(), 2);
  EXPECT_EQ(rx_.used(0).len, 0u);
  EXPECT_EQ(rx_.used(1).len, 3u);
  EXPECT_EQ(get(kData + 0x100, 3), "abc");
  EXPECT_FALSE(needs_reset());
}

TEST_F(ConsoleTest, DriverOkWithoutTransmitQueueNeedsReset) {
  ASSERT_TRUE(driver_->negotiate(kFeatureVersion1));
  driver_->setup_queue(0, rx_.layout());
  driver_->driver_ok();
  EXPECT_TRUE(needs_reset());
}

TEST_F(ConsoleTest, ResetStopsInputAndOutput) {
  bring_up();
  driver_->write(T::kStatus, 0);
  rx_.set_desc(0, kData, 8, kDescFlagWrite);
  rx_.push(0);
  port_->push("x");
  put(kData + 0x100, "y");
  tx_.set_desc(0, kData + 0x100, 1);
  tx_.push(0);
  driver_->notify(0);
  driver_->notify(1);
  settle();
  EXPECT_EQ(rx_.used_idx(), 0);
  EXPECT_EQ(tx_.used_idx(), 0);
  EXPECT_TRUE(port_->output.empty());
  EXPECT_EQ(port_->input, "x");
}

}  // namespace
}  // namespace vireo::virtio
