#include "devices/virtio/net.hpp"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <vector>

#include "../devices/fake_irq_sink.hpp"
#include "mmio_driver.hpp"
#include "virtio_test_support.hpp"

namespace vireo::virtio {
namespace {

using test::DriverRing;
using test::kRamBase;
using T = MmioTransport;

constexpr uint32_t kIrq = 5;
constexpr uint64_t kData = DriverRing::kData;
constexpr uint64_t kAll = kFeatureVersion1 | kFeatureEventIdx | kFeatureIndirectDesc;

// A backend that keeps what the device sends and hands over frames a test
// queued.
class FakeBackend final : public NetBackend {
 public:
  explicit FakeBackend(bool vnet = false) : vnet_(vnet), fd_(::eventfd(0, EFD_CLOEXEC)) {}
  ~FakeBackend() override { ::close(fd_); }
  bool vnet_header() const override { return vnet_; }
  uint64_t offload_features() const override { return vnet_ ? kNetFCsum | kNetFGuestCsum : 0; }
  Result<void> set_offloads(uint64_t features) override {
    offloads.push_back(features);
    return {};
  }
  uint16_t mtu() const override { return mtu_value; }
  int rx_fd() const override { return fd_; }
  Result<size_t> receive(std::span<uint8_t> buf) override {
    if (pending.empty()) return size_t{0};
    std::vector<uint8_t> f = std::move(pending.front());
    pending.pop_front();
    if (f.size() > buf.size()) return size_t{0};
    std::memcpy(buf.data(), f.data(), f.size());
    return f.size();
  }
  void send(std::span<const uint8_t> frame) override {
    sent.emplace_back(frame.begin(), frame.end());
  }
  void flush() override { ++flushes; }

  std::deque<std::vector<uint8_t>> pending;
  std::vector<std::vector<uint8_t>> sent;
  std::vector<uint64_t> offloads;
  int flushes = 0;
  uint16_t mtu_value = 0;

 private:
  bool vnet_;
  int fd_;
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 13);
  return v;
}

class NetTest : public ::testing::Test {
 protected:
  void SetUp() override { create(false); }
  void create(bool vnet, uint16_t mtu = 0) {
    auto backend = std::make_unique<FakeBackend>(vnet);
    backend->mtu_value = mtu;
    backend_ = backend.get();
    auto net = std::make_unique<Net>(std::move(backend), MacAddress{0x52, 0x54, 0, 1, 2, 3});
    net_ = net.get();
    auto t = T::create(std::move(net), ram_.memory, IrqLine(&irq_, kIrq), nullptr, "test-net");
    ASSERT_TRUE(t) << t.error().message;
    transport_ = std::move(*t);
    driver_ = std::make_unique<test::MmioDriver>(*transport_);
  }
  void bring_up(uint64_t features = kAll | kNetFMrgRxbuf | kNetFMac | kNetFStatus) {
    ASSERT_EQ(transport_->read(T::kDeviceIdReg, 4), 1u);
    ASSERT_TRUE(driver_->negotiate(features));
    driver_->setup_queue(Net::kRxQueue, rx_.layout());
    driver_->setup_queue(Net::kTxQueue, tx_.layout());
    driver_->driver_ok();
    ASSERT_EQ(driver_->status() & T::kStatusNeedsReset, 0u);
  }
  bool needs_reset() { return (driver_->status() & T::kStatusNeedsReset) != 0; }
  void write_bytes(uint64_t addr, std::span<const uint8_t> bytes) {
    ASSERT_TRUE(ram_.memory.write(GuestAddr(addr), bytes));
  }
  std::vector<uint8_t> read_bytes(uint64_t addr, size_t n) {
    std::vector<uint8_t> v(n);
    EXPECT_TRUE(ram_.memory.read(GuestAddr(addr), v));
    return v;
  }
  VirtioNetHdr read_hdr(uint64_t addr) {
    return *ram_.memory.read_obj<VirtioNetHdr>(GuestAddr(addr));
  }
  // A transmit request: header at kData + 0x40000, the frame after it.
  void queue_tx(uint16_t desc, const VirtioNetHdr& hdr, std::span<const uint8_t> frame) {
    constexpr uint64_t kTx = kData + 0x40000;
    ASSERT_TRUE(ram_.memory.write_obj(GuestAddr(kTx), hdr));
    write_bytes(kTx + 0x100, frame);
    tx_.set_desc(desc, kTx, Net::kHdrSize, kDescFlagNext, static_cast<uint16_t>(desc + 1));
    tx_.set_desc(static_cast<uint16_t>(desc + 1), kTx + 0x100, static_cast<uint32_t>(frame.size()));
    tx_.push(desc);
  }

  test::TestRam ram_;
  DriverRing rx_{ram_.memory, 16};
  DriverRing tx_{ram_.memory, 16, DriverRing::kSecondRing};
  vireo::test::FakeIrqSink irq_;
  FakeBackend* backend_ = nullptr;
  Net* net_ = nullptr;
  std::unique_ptr<T> transport_;
  std::unique_ptr<test::MmioDriver> driver_;
};

TEST_F(NetTest, OffersMacStatusAndMergeableBuffersAndTwoQueues) {
  const uint64_t f = driver_->device_features();
  EXPECT_EQ(f, T::kTransportFeatures | kNetFMac | kNetFStatus | kNetFMrgRxbuf | kNetFCsum |
                   kNetFGuestCsum);
  EXPECT_EQ(f & (kNetFHostTso4 | kNetFGuestTso4), 0u) << "segmentation offloads are tap-only";
  for (uint32_t q = 0; q < 2; ++q) {
    driver_->write(T::kQueueSel, q);
    EXPECT_EQ(driver_->read(T::kQueueNumMax), Net::kQueueSize);
  }
  driver_->write(T::kQueueSel, 2);
  EXPECT_EQ(driver_->read(T::kQueueNumMax), 0u);
  // Config: the MAC, then status LINK_UP.
  uint8_t mac[6];
  for (uint32_t i = 0; i < 6; ++i)
    mac[i] = static_cast<uint8_t>(transport_->read(T::kConfig + i, 1));
  EXPECT_EQ(MacAddress(std::to_array(mac)), (MacAddress{0x52, 0x54, 0, 1, 2, 3}));
  EXPECT_EQ(transport_->read(T::kConfig + 6, 2), kNetStatusLinkUp);
}

TEST_F(NetTest, OffersTheBackendsMtu) {
  EXPECT_EQ(driver_->device_features() & kNetFMtu, 0u);
  EXPECT_EQ(transport_->read(T::kConfig + 10, 2), 1500u);
  create(false, 65520);
  EXPECT_NE(driver_->device_features() & kNetFMtu, 0u);
  EXPECT_EQ(transport_->read(T::kConfig + 10, 2), 65520u);
  EXPECT_EQ(transport_->read(T::kConfig + 8, 2), 1u) << "max_virtqueue_pairs";
}

TEST_F(NetTest, ReceivesAJumboFrameOverManyBuffers) {
  bring_up();
  for (uint16_t i = 0; i < 16; ++i) {
    rx_.set_desc(i, kData + 0x1000 * i, 4096, kDescFlagWrite);
    rx_.push(i);
  }
  // 16 buffers of 4 KiB hold the header and 65524 bytes at most.
  const auto frame = pattern(65000, 4);
  backend_->pending.push_back(frame);
  ASSERT_TRUE(net_->receive_frames());
  ASSERT_EQ(rx_.used_idx(), 16);
  EXPECT_EQ(read_hdr(kData).num_buffers, 16);
  EXPECT_EQ(rx_.used(15).len, Net::kHdrSize + 65000 - 15 * 4096);
  EXPECT_EQ(read_bytes(kData + Net::kHdrSize, 65000), frame);
  // One byte more than all the buffers of the ring hold: dropped, buffers kept.
  for (uint16_t i = 0; i < 16; ++i) rx_.push(i);
  backend_->pending.push_back(pattern(65525, 1));
  backend_->pending.push_back(pattern(100, 2));
  ASSERT_TRUE(net_->receive_frames());
  EXPECT_EQ(net_->stats().rx_dropped, 1u);
  EXPECT_EQ(rx_.used_idx(), 17);
  EXPECT_EQ(read_bytes(kData + Net::kHdrSize, 100), pattern(100, 2));
}

TEST_F(NetTest, TransmitsTheFrameWithoutTheHeader) {
  bring_up();
  const auto frame = pattern(1514, 1);
  queue_tx(0, VirtioNetHdr{}, frame);
  // The second request spreads the header over two descriptors and the frame over three.
  const auto frame2 = pattern(60, 9);
  ASSERT_TRUE(ram_.memory.write_obj(GuestAddr(kData), VirtioNetHdr{}));
  write_bytes(kData + 0x100, frame2);
  tx_.set_desc(4, kData, 5, kDescFlagNext, 5);
  tx_.set_desc(5, kData + 5, 7, kDescFlagNext, 6);
  tx_.set_desc(6, kData + 0x100, 20, kDescFlagNext, 7);
  tx_.set_desc(7, kData + 0x100 + 20, 30, kDescFlagNext, 8);
  tx_.set_desc(8, kData + 0x100 + 50, 10);
  tx_.push(4);
  driver_->notify(Net::kTxQueue);

  ASSERT_EQ(backend_->sent.size(), 2u);
  EXPECT_EQ(backend_->sent[0], frame);
  EXPECT_EQ(backend_->sent[1], frame2);
  EXPECT_GE(backend_->flushes, 1);
  ASSERT_EQ(tx_.used_idx(), 2);
  EXPECT_EQ(tx_.used(0).id, 0u);
  EXPECT_EQ(tx_.used(0).len, 0u);
  EXPECT_EQ(tx_.used(1).id, 4u);
  EXPECT_EQ(net_->stats().tx_frames, 2u);
  EXPECT_EQ(net_->stats().tx_bytes, 1514u + 60u);
  EXPECT_TRUE(irq_.level(kIrq));
}

TEST_F(NetTest, VnetHeaderBackendGetsTheHeaderAndTheAcceptedOffloads) {
  create(true);
  const uint64_t offered = driver_->device_features();
  EXPECT_NE(offered & kNetFCsum, 0u);
  bring_up(kAll | kNetFMrgRxbuf | kNetFGuestCsum);
  ASSERT_EQ(backend_->offloads.size(), 1u);
  EXPECT_EQ(backend_->offloads[0], kNetFGuestCsum);
  VirtioNetHdr hdr{};
  hdr.flags = 1;  // NEEDS_CSUM: the tap computes it
  hdr.csum_start = 34;
  hdr.csum_offset = 16;
  const auto frame = pattern(100, 3);
  queue_tx(0, hdr, frame);
  driver_->notify(Net::kTxQueue);
  ASSERT_EQ(backend_->sent.size(), 1u);
  ASSERT_EQ(backend_->sent[0].size(), Net::kHdrSize + frame.size());
  VirtioNetHdr got;
  std::memcpy(&got, backend_->sent[0].data(), sizeof(got));
  EXPECT_EQ(got.flags, 1);
  EXPECT_EQ(got.csum_start, 34);
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), backend_->sent[0].begin() + Net::kHdrSize));
}

TEST_F(NetTest, HeaderOnlyAndOversizeFramesAreDroppedAndReturned) {
  bring_up();
  // Header only: no frame at all.
  ASSERT_TRUE(ram_.memory.write_obj(GuestAddr(kData), VirtioNetHdr{}));
  tx_.set_desc(0, kData, Net::kHdrSize);
  tx_.push(0);
  // Header plus more than 64 KiB (overlapping descriptors claim it).
  tx_.set_desc(1, kData, Net::kHdrSize, kDescFlagNext, 2);
  tx_.set_desc(2, kData, 40000, kDescFlagNext, 3);
  tx_.set_desc(3, kData, 40000);
  tx_.push(1);
  driver_->notify(Net::kTxQueue);
  EXPECT_TRUE(backend_->sent.empty());
  EXPECT_EQ(tx_.used_idx(), 2);
  EXPECT_EQ(net_->stats().tx_dropped, 2u);
  EXPECT_FALSE(needs_reset());
  // The device carries on.
  queue_tx(4, VirtioNetHdr{}, pattern(64, 0));
  driver_->notify(Net::kTxQueue);
  EXPECT_EQ(backend_->sent.size(), 1u);
}

TEST_F(NetTest, OffloadRequestsThatWereNotOfferedAreDropped) {
  bring_up();
  VirtioNetHdr hdr{};
  hdr.gso_type = 1;  // TCPv4
  hdr.gso_size = 1448;
  queue_tx(0, hdr, pattern(3000, 0));
  driver_->notify(Net::kTxQueue);
  EXPECT_TRUE(backend_->sent.empty());
  EXPECT_EQ(net_->stats().tx_dropped, 1u);
  EXPECT_EQ(tx_.used_idx(), 1);
  EXPECT_FALSE(needs_reset());
}

// The Internet checksum of `bytes` (RFC 1071), folded and complemented.
uint16_t internet_checksum(std::span<const uint8_t> bytes) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.size() % 2) sum += bytes.back() << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

TEST_F(NetTest, CompletesPartialChecksumsWhenCsumIsNegotiated) {
  bring_up(kAll | kNetFMrgRxbuf | kNetFCsum);
  // A frame with a "transport header" at 34 and its checksum field at 34 + 16,
  // holding a pseudo-header sum the driver left there.
  auto frame = pattern(301, 5);
  frame[50] = 0x12;
  frame[51] = 0x34;
  VirtioNetHdr hdr{};
  hdr.flags = 1;  // NEEDS_CSUM
  hdr.csum_start = 34;
  hdr.csum_offset = 16;
  queue_tx(0, hdr, frame);
  driver_->notify(Net::kTxQueue);
  ASSERT_EQ(backend_->sent.size(), 1u);
  const auto& sent = backend_->sent[0];
  ASSERT_EQ(sent.size(), frame.size());
  EXPECT_TRUE(std::equal(sent.begin(), sent.begin() + 50, frame.begin()));
  EXPECT_TRUE(std::equal(sent.begin() + 52, sent.end(), frame.begin() + 52));
  // A receiver verifies the range plus the pseudo-header (0x1234 here): the
  // range's own checksum must then be exactly the pseudo-header sum.
  EXPECT_EQ(internet_checksum(std::span(sent).subspan(34)), 0x1234);
  EXPECT_NE(sent[50] << 8 | sent[51], 0x1234);
  // Positions outside the frame: dropped.
  hdr.csum_start = 290;
  hdr.csum_offset = 16;
  queue_tx(2, hdr, frame);
  driver_->notify(Net::kTxQueue);
  EXPECT_EQ(backend_->sent.size(), 1u);
  EXPECT_EQ(net_->stats().tx_dropped, 1u);
  EXPECT_FALSE(needs_reset());
}

TEST_F(NetTest, PartialChecksumWithoutCsumNegotiatedIsDropped) {
  bring_up(kAll | kNetFMrgRxbuf);
  VirtioNetHdr hdr{};
  hdr.flags = 1;
  hdr.csum_start = 34;
  hdr.csum_offset = 16;
  queue_tx(0, hdr, pattern(100, 0));
  driver_->notify(Net::kTxQueue);
  EXPECT_TRUE(backend_->sent.empty());
  EXPECT_EQ(net_->stats().tx_dropped, 1u);
}

TEST_F(NetTest, ReceivedFramesAreMarkedDataValidWithGuestCsum) {
  bring_up(kAll | kNetFMrgRxbuf | kNetFGuestCsum);
  rx_.set_desc(0, kData, 2048, kDescFlagWrite);
  rx_.push(0);
  backend_->pending.push_back(pattern(100, 0));
  ASSERT_TRUE(net_->receive_frames());
  ASSERT_EQ(rx_.used_idx(), 1);
  EXPECT_EQ(read_hdr(kData).flags, 2);  // VIRTIO_NET_HDR_F_DATA_VALID
}

TEST_F(NetTest, TransmitChainShorterThanTheHeaderNeedsReset) {
  bring_up();
  tx_.set_desc(0, kData, 8);
  tx_.push(0);
  driver_->notify(Net::kTxQueue);
  EXPECT_TRUE(needs_reset());
  EXPECT_TRUE(backend_->sent.empty());
  EXPECT_EQ(tx_.used_idx(), 0);
}

TEST_F(NetTest, TransmitChainWithWritableBuffersNeedsReset) {
  bring_up();
  tx_.set_desc(0, kData, 64, kDescFlagNext, 1);
  tx_.set_desc(1, kData + 0x100, 64, kDescFlagWrite);
  tx_.push(0);
  driver_->notify(Net::kTxQueue);
  EXPECT_TRUE(needs_reset());
  EXPECT_TRUE(backend_->sent.empty());
}

TEST_F(NetTest, ReceivesAFrameAcrossMergeableBuffers) {
  bring_up();
  for (uint16_t i = 0; i < 4; ++i) {
    rx_.set_desc(i, kData + 0x1000 * i, 1024, kDescFlagWrite);
    rx_.push(i);
  }
  driver_->notify(Net::kRxQueue);  // nothing to deliver yet
  EXPECT_EQ(rx_.used_idx(), 0);
  const auto frame = pattern(3000, 7);
  backend_->pending.push_back(frame);
  ASSERT_TRUE(net_->receive_frames());

  ASSERT_EQ(rx_.used_idx(), 3);
  EXPECT_EQ(rx_.used(0).len, 1024u);
  EXPECT_EQ(rx_.used(1).len, 1024u);
  EXPECT_EQ(rx_.used(2).len, Net::kHdrSize + 3000 - 2048);
  const VirtioNetHdr hdr = read_hdr(kData);
  EXPECT_EQ(hdr.num_buffers, 3);
  EXPECT_EQ(hdr.flags, 0);
  EXPECT_EQ(hdr.gso_type, kNetHdrGsoNone);
  std::vector<uint8_t> got = read_bytes(kData + Net::kHdrSize, 1024 - Net::kHdrSize);
  auto more = read_bytes(kData + 0x1000, 1024);
  got.insert(got.end(), more.begin(), more.end());
  more = read_bytes(kData + 0x2000, rx_.used(2).len);
  got.insert(got.end(), more.begin(), more.end());
  EXPECT_EQ(got, frame);
  EXPECT_EQ(net_->stats().rx_frames, 1u);
  EXPECT_TRUE(irq_.level(kIrq));
  // The fourth buffer takes the next frame.
  backend_->pending.push_back(pattern(500, 1));
  ASSERT_TRUE(net_->receive_frames());
  EXPECT_EQ(rx_.used_idx(), 4);
  EXPECT_EQ(rx_.used(3).id, 3u);
  EXPECT_EQ(read_hdr(kData + 0x3000).num_buffers, 1);
}

TEST_F(NetTest, WithoutBuffersTheFrameWaitsForTheDriver) {
  bring_up();
  backend_->pending.push_back(pattern(200, 1));
  backend_->pending.push_back(pattern(300, 2));
  ASSERT_TRUE(net_->receive_frames());
  EXPECT_EQ(rx_.used_idx(), 0);
  // One buffer: the first frame goes; the second waits for more.
  rx_.set_desc(0, kData, 2048, kDescFlagWrite);
  rx_.push(0);
  driver_->notify(Net::kRxQueue);
  ASSERT_EQ(rx_.used_idx(), 1);
  EXPECT_EQ(rx_.used(0).len, Net::kHdrSize + 200);
  EXPECT_EQ(read_bytes(kData + Net::kHdrSize, 200), pattern(200, 1));
  rx_.set_desc(1, kData + 0x1000, 2048, kDescFlagWrite);
  rx_.push(1);
  driver_->notify(Net::kRxQueue);
  ASSERT_EQ(rx_.used_idx(), 2);
  EXPECT_EQ(read_bytes(kData + 0x1000 + Net::kHdrSize, 300), pattern(300, 2));
  EXPECT_EQ(net_->stats().rx_dropped, 0u);
}

TEST_F(NetTest, WithoutMergeableBuffersAFrameTooBigForItsBufferIsDropped) {
  bring_up(kAll);
  rx_.set_desc(0, kData, 200, kDescFlagWrite);
  rx_.push(0);
  backend_->pending.push_back(pattern(1000, 1));  // does not fit: dropped
  backend_->pending.push_back(pattern(100, 2));   // fits the same buffer
  ASSERT_TRUE(net_->receive_frames());
  ASSERT_EQ(rx_.used_idx(), 1);
  EXPECT_EQ(rx_.used(0).len, Net::kHdrSize + 100);
  EXPECT_EQ(read_hdr(kData).num_buffers, 1);
  EXPECT_EQ(read_bytes(kData + Net::kHdrSize, 100), pattern(100, 2));
  EXPECT_EQ(net_->stats().rx_dropped, 1u);
  EXPECT_FALSE(needs_reset());
}

TEST_F(NetTest, ReceiveBufferSmallerThanTheHeaderNeedsReset) {
  bring_up();
  rx_.set_desc(0, kData, 8, kDescFlagWrite);
  rx_.push(0);
  backend_->pending.push_back(pattern(100, 0));
  driver_->notify(Net::kRxQueue);
  EXPECT_TRUE(needs_reset());
  EXPECT_EQ(rx_.used_idx(), 0);
  EXPECT_EQ(read_bytes(kData, 8), std::vector<uint8_t>(8, 0)) << "nothing written";
}

TEST_F(NetTest, ReadOnlyReceiveBufferNeedsReset) {
  bring_up();
  rx_.set_desc(0, kData, 2048);  // device-readable
  rx_.push(0);
  backend_->pending.push_back(pattern(100, 0));
  driver_->notify(Net::kRxQueue);
  EXPECT_TRUE(needs_reset());
  EXPECT_EQ(rx_.used_idx(), 0);
  EXPECT_EQ(read_bytes(kData, 16), std::vector<uint8_t>(16, 0));
  // Later frames wait for a reset.
  backend_->pending.push_back(pattern(100, 0));
  rx_.set_desc(1, kData, 2048, kDescFlagWrite);
  rx_.push(1);
  driver_->notify(Net::kRxQueue);
  EXPECT_EQ(rx_.used_idx(), 0);
}

TEST_F(NetTest, ReceiveBufferPastRamNeedsReset) {
  bring_up();
  rx_.set_desc(0, test::kRamEnd - 100, 2048, kDescFlagWrite);
  rx_.push(0);
  backend_->pending.push_back(pattern(100, 0));
  driver_->notify(Net::kRxQueue);
  EXPECT_TRUE(needs_reset());
}

TEST_F(NetTest, DriverOkWithOneQueueNeedsReset) {
  ASSERT_TRUE(driver_->negotiate(kAll));
  driver_->setup_queue(Net::kRxQueue, rx_.layout());
  driver_->driver_ok();
  EXPECT_TRUE(needs_reset());
}

TEST_F(NetTest, ResetForgetsTheQueues) {
  bring_up();
  driver_->write(T::kStatus, 0);
  queue_tx(0, VirtioNetHdr{}, pattern(64, 0));
  driver_->notify(Net::kTxQueue);
  EXPECT_TRUE(backend_->sent.empty());
  backend_->pending.push_back(pattern(64, 0));
  EXPECT_TRUE(net_->receive_frames());
  EXPECT_EQ(backend_->pending.size(), 1u) << "nothing taken while the device is down";
}

TEST(NetOptions, UserWithForwardsAndMac) {
  auto c = parse_net_option(
      "user,hostfwd=tcp::8022-:22,hostfwd=udp:0.0.0.0:5353-10.0.2.16:53,"
      "mac=52:54:00:aa:bb:cc",
      0);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->kind, NetConfig::Kind::kUser);
  ASSERT_EQ(c->forwards.size(), 2u);
  EXPECT_FALSE(c->forwards[0].udp);
  EXPECT_EQ(c->forwards[0].host_addr, 0x7f000001u);
  EXPECT_EQ(c->forwards[0].host_port, 8022);
  EXPECT_EQ(c->forwards[0].guest_addr, 0u);
  EXPECT_EQ(c->forwards[0].guest_port, 22);
  EXPECT_TRUE(c->forwards[1].udp);
  EXPECT_EQ(c->forwards[1].host_addr, 0u);
  EXPECT_EQ(c->forwards[1].guest_addr, 0x0a000210u);
  EXPECT_EQ(format_mac(c->mac), "52:54:00:aa:bb:cc");
}

TEST(NetOptions, DefaultMacFollowsTheIndexAndTap) {
  auto c = parse_net_option("user", 0);
  ASSERT_TRUE(c);
  EXPECT_EQ(format_mac(c->mac), "52:54:00:12:34:56");
  c = parse_net_option("tap=tap7", 1);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, NetConfig::Kind::kTap);
  EXPECT_EQ(c->tap_name, "tap7");
  EXPECT_EQ(format_mac(c->mac), "52:54:00:12:34:57");
}

TEST(NetOptions, BadValuesAreNamed) {
  for (const char* bad :
       {"", "usr", "tap=", "tap=waytoolonginterfacename", "user,hostfwd=tcp::1-:0",
        "user,hostfwd=sctp::1-:2", "user,hostfwd=tcp:1.2.3:1-:2", "user,hostfwd=tcp::70000-:2",
        "user,mac=52:54:00:12:34", "user,mac=03:00:00:00:00:00", "user,foo=bar",
        "tap=t0,hostfwd=tcp::1-:2"}) {
    auto c = parse_net_option(bad, 0);
    ASSERT_FALSE(c) << bad;
    EXPECT_NE(c.error().message.find("--net"), std::string::npos) << c.error().message;
  }
}

}  // namespace
}  // namespace vireo::virtio
