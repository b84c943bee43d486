#include "devices/virtio/vsock.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "../devices/fake_irq_sink.hpp"
#include "core/log.hpp"
#include "mmio_driver.hpp"
#include "placed_ring.hpp"
#include "virtio_test_support.hpp"

namespace vireo::virtio {
namespace {

using test::kRamBase;
using test::PlacedRing;
using T = MmioTransport;
using V = Vsock;

constexpr uint16_t kRing = 16;
constexpr uint64_t kRxData = kRamBase + 0x40000;  // 16 buffers of 0x2000
constexpr uint64_t kTxData = kRamBase + 0x60000;  // 16 slots of 0x2000
constexpr uint32_t kRxBuf = 0x2000;
constexpr uint64_t kGuestCid = 3;
constexpr uint32_t kConnectTimeoutMs = 300;

struct Packet {
  VsockHeader h;
  std::string data;
};

VsockHeader guest_header(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t len = 0) {
  VsockHeader h{};
  h.src_cid = kGuestCid;
  h.dst_cid = V::kHostCid;
  h.src_port = src_port;
  h.dst_port = dst_port;
  h.len = len;
  h.type = V::kTypeStream;
  h.op = op;
  h.buf_alloc = 256 * 1024;
  return h;
}

int unix_listen(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << path;
  EXPECT_EQ(::listen(fd, 4), 0);
  return fd;
}

int unix_connect(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << path;
  return fd;
}

// What a host socket has to read now (waits up to `ms` for the first byte).
std::string read_now(int fd, int ms = 200) {
  std::string out;
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, out.empty() ? ms : 0) > 0) {
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class VsockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::set_level(log::Level::kError);
    char tmpl[] = "/tmp/vireo-vsock-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/v.sock";
    auto l = EventLoop::create();
    ASSERT_TRUE(l);
    loop_ = std::move(*l);
    auto v = V::create({kGuestCid, path_, kConnectTimeoutMs});
    ASSERT_TRUE(v) << v.error().message;
    vsock_ = v->get();
    auto t = T::create(std::move(*v), ram_.memory, IrqLine(&irq_, 1), loop_.get(), "test-vsock");
    ASSERT_TRUE(t) << t.error().message;
    transport_ = std::move(*t);
    driver_ = std::make_unique<test::MmioDriver>(*transport_);
  }
  void TearDown() override {
    for (int fd : fds_) ::close(fd);
    transport_.reset();
    EXPECT_NE(::access(path_.c_str(), F_OK), 0) << "socket file left behind";
    std::system(("rm -rf " + dir_).c_str());
  }
  int track(int fd) {
    fds_.push_back(fd);
    return fd;
  }
  void bring_up(uint16_t rx_buffers = kRing) {
    ASSERT_TRUE(driver_->negotiate(kFeatureVersion1 | kFeatureEventIdx));
    driver_->setup_queue(0, rx_.layout());
    driver_->setup_queue(1, tx_.layout());
    driver_->setup_queue(2, ev_.layout());
    driver_->driver_ok();
    for (uint16_t i = 0; i < rx_buffers; ++i) post_rx(i);
    driver_->notify(0);
    settle();
    ASSERT_FALSE(needs_reset());
  }
  void post_rx(uint16_t id, uint32_t len = kRxBuf) {
    rx_.set_desc(id, kRxData + uint64_t{kRxBuf} * id, len, kDescFlagWrite);
    rx_.push(id);
  }
  void settle() {
    for (int i = 0; i < 30; ++i) loop_->run_once(i < 10 ? 0 : 1);
  }
  bool needs_reset() { return (driver_->status() & T::kStatusNeedsReset) != 0; }

  // Sends one packet on the tx queue: the header and payload in one buffer.
  void send(const VsockHeader& h, const std::string& data = "", uint32_t desc_len = 0) {
    const uint16_t slot = tx_slot_++ % kRing;
    const uint64_t at = kTxData + 0x2000ull * slot;
    ASSERT_TRUE(ram_.memory.write_obj(GuestAddr(at), h));
    ASSERT_TRUE(
        ram_.memory.write(GuestAddr(at + sizeof(h)),
                          std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size())));
    tx_.set_desc(slot, at, desc_len ? desc_len : static_cast<uint32_t>(sizeof(h) + data.size()));
    tx_.push(slot);
    driver_->notify(1);
    settle();
  }
  // The next packet the device put on the rx queue (its buffer is posted again).
  std::optional<Packet> receive() {
    settle();
    if (rx_.used_idx() == rx_seen_) return std::nullopt;
    const VirtqUsedElem e = rx_.used(rx_seen_++);
    EXPECT_GE(e.len, sizeof(VsockHeader));
    const uint64_t at = kRxData + uint64_t{kRxBuf} * e.id;
    Packet p{*ram_.memory.read_obj<VsockHeader>(GuestAddr(at)), {}};
    EXPECT_EQ(e.len, sizeof(VsockHeader) + p.h.len);
    p.data.resize(p.h.len);
    EXPECT_TRUE(ram_.memory.read(GuestAddr(at + sizeof(VsockHeader)),
                                 std::span(reinterpret_cast<uint8_t*>(p.data.data()), p.h.len)));
    EXPECT_EQ(p.h.src_cid, V::kHostCid);
    EXPECT_EQ(p.h.dst_cid, kGuestCid);
    EXPECT_EQ(p.h.type, V::kTypeStream);
    post_rx(static_cast<uint16_t>(e.id));
    driver_->notify(0);
    return p;
  }
  // A guest connection from guest port 1234 to host port `port`, accepted.
  int connect_guest(uint32_t port, uint32_t buf_alloc = 256 * 1024) {
    const int listener = track(unix_listen(path_ + "_" + std::to_string(port)));
    VsockHeader h = guest_header(V::kOpRequest, 1234, port);
    h.buf_alloc = buf_alloc;
    send(h);
    auto p = receive();
    EXPECT_TRUE(p && p->h.op == V::kOpResponse);
    if (p) {
      EXPECT_EQ(p->h.src_port, port);
      EXPECT_EQ(p->h.dst_port, 1234u);
      EXPECT_EQ(p->h.buf_alloc, V::kBufAlloc);
    }
    return track(::accept(listener, nullptr, nullptr));
  }

  std::string dir_, path_;
  test::TestRam ram_;
  std::unique_ptr<EventLoop> loop_;
  vireo::test::FakeIrqSink irq_;
  V* vsock_ = nullptr;
  std::unique_ptr<T> transport_;
  std::unique_ptr<test::MmioDriver> driver_;
  PlacedRing rx_{ram_.memory, kRamBase + 0x20000, kRing};
  PlacedRing tx_{ram_.memory, kRamBase + 0x24000, kRing};
  PlacedRing ev_{ram_.memory, kRamBase + 0x28000, kRing};
  uint16_t rx_seen_ = 0;
  uint16_t tx_slot_ = 0;
  std::vector<int> fds_;
};

TEST_F(VsockTest, IdentityQueuesAndGuestCid) {
  EXPECT_EQ(driver_->read(T::kDeviceIdReg), 19u);
  for (uint32_t q = 0; q < 3; ++q) {
    driver_->write(T::kQueueSel, q);
    EXPECT_EQ(driver_->read(T::kQueueNumMax), V::kQueueSize);
  }
  EXPECT_EQ(transport_->read(T::kConfig, 4), kGuestCid);
  EXPECT_EQ(transport_->read(T::kConfig + 4, 4), 0u);
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
}

TEST_F(VsockTest, GuestConnectionCarriesDataBothWays) {
  bring_up();
  const int host = connect_guest(6000);
  send(guest_header(V::kOpRw, 1234, 6000, 5), "hello");
  EXPECT_EQ(read_now(host), "hello");
  ASSERT_EQ(::send(host, "world!", 6, 0), 6);
  auto p = receive();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, V::kOpRw);
  EXPECT_EQ(p->data, "world!");
  EXPECT_EQ(p->h.fwd_cnt, 5u) << "the device forwarded the guest's 5 bytes";
  // The host closes its side: the guest hears SHUTDOWN(SEND).
  ASSERT_EQ(::shutdown(host, SHUT_WR), 0);
  p = receive();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, V::kOpShutdown);
  EXPECT_EQ(p->h.flags, V::kShutdownSend);
  // The guest shuts down both ways: the device answers with RST and closes.
  VsockHeader sd = guest_header(V::kOpShutdown, 1234, 6000);
  sd.flags = V::kShutdownSend | V::kShutdownRecv;
  send(sd);
  p = receive();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, V::kOpRst);
  EXPECT_EQ(vsock_->connection_count(), 0u);
  EXPECT_EQ(read_now(host), "") << "EOF on the host side";
}

TEST_F(VsockTest, HostDataRespectsGuestCredit) {
  bring_up();
  const int host = connect_guest(6001, /*buf_alloc=*/10);
  const std::string data(100, 'x');
  ASSERT_EQ(::send(host, data.data(), data.size(), 0), 100);
  auto p = receive();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, V::kOpRw);
  EXPECT_EQ(p->data.size(), 10u);
  EXPECT_FALSE(receive()) << "no credit left";
  // The guest consumed 4 bytes.
  VsockHeader cu = guest_header(V::kOpCreditUpdate, 1234, 6001);
  cu.buf_alloc = 10;
  cu.fwd_cnt = 4;
  send(cu);
  p = receive();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->data.size(), 4u);
  EXPECT_FALSE(receive());
  // A bogus fwd_cnt ahead of what was sent gives no credit (no wrap-around).
  cu.fwd_cnt = 1000;
  send(cu);
  EXPECT_FALSE(receive());
}

TEST_F(VsockTest, GuestDataBeyondCreditResetsTheConnection) {
  bring_up();
  const int host = connect_guest(6002);
  // One packet with more than the buf_alloc the device advertised.
  const uint32_t len = V::kBufAlloc + 1;
  VsockHeader h = guest_header(V::kOpRw, 1234, 6002, len);
  ASSERT_TRUE(ram_.memory.write_obj(GuestAddr(kTxData), h));
  tx_.set_desc(0, kTxData, static_cast<uint32_t>(sizeof(h)) + len);
  tx_.push(0);
  driver_->notify(1);
  auto p = receive();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, V::kOpRst);
  EXPECT_EQ(vsock_->connection_count(), 0u);
  EXPECT_EQ(vsock_->bad_packets(), 1u);
  EXPECT_EQ(read_now(host), "") << "nothing forwarded, and the host sees EOF";
  EXPECT_FALSE(needs_reset());
}

TEST_F(VsockTest, CreditUpdatesAsTheHostConsumes) {
  bring_up();
  const int host = connect_guest(6004);
  const std::string chunk(4000, 'c');
  uint32_t sent = 0;
  // A quarter of buf_alloc forwarded: the device announces it.
  while (sent < V::kBufAlloc / 4) {
    send(guest_header(V::kOpRw, 1234, 6004, 4000), chunk);
    sent += 4000;
  }
  EXPECT_EQ(read_now(host).size(), sent);
  auto p = receive();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, V::kOpCreditUpdate);
  EXPECT_EQ(p->h.fwd_cnt, sent);
  EXPECT_EQ(p->h.buf_alloc, V::kBufAlloc);
  // A credit request gets an answer at once.
  send(guest_header(V::kOpCreditRequest, 1234, 6004));
  p = receive();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, V::kOpCreditUpdate);
}

TEST_F(VsockTest, RequestToAnUnservedPortIsRefused) {
  bring_up();
  send(guest_header(V::kOpRequest, 1234, 7777));
  auto p = receive();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, V::kOpRst);
  EXPECT_EQ(p->h.src_port, 7777u);
  EXPECT_EQ(p->h.dst_port, 1234u);
  EXPECT_EQ(vsock_->connection_count(), 0u);
}

TEST_F(VsockTest, HostClientConnectsToAGuestPort) {
  bring_up();
  const int client = track(unix_connect(path_));
  ASSERT_EQ(::send(client, "CONNECT 5000\nearly", 18, 0), 18);
  auto p = receive();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, V::kOpRequest);
  EXPECT_EQ(p->h.dst_port, 5000u);
  const uint32_t host_port = p->h.src_port;
  EXPECT_EQ(read_now(client, 50), "") << "no OK before the guest accepts";
  VsockHeader resp = guest_header(V::kOpResponse, 5000, host_port);
  send(resp);
  EXPECT_EQ(read_now(client), "OK " + std::to_string(host_port) + "\n");
  // Bytes the client sent right after CONNECT reach the guest.
  p = receive();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, V::kOpRw);
  EXPECT_EQ(p->data, "early");
  send(guest_header(V::kOpRw, 5000, host_port, 3), "abc");
  EXPECT_EQ(read_now(client), "abc");
  // The guest resets: the client sees EOF.
  send(guest_header(V::kOpRst, 5000, host_port));
  EXPECT_EQ(vsock_->connection_count(), 0u);
  char c;
  EXPECT_EQ(::recv(client, &c, 1, 0), 0);
}

TEST_F(VsockTest, GuestRefusalClosesTheHostClient) {
  bring_up();
  const int client = track(unix_connect(path_));
  ASSERT_EQ(::send(client, "CONNECT 5001\n", 13, 0), 13);
  auto p = receive();
  ASSERT_TRUE(p);
  ASSERT_EQ(p->h.op, V::kOpRequest);
  send(guest_header(V::kOpRst, 5001, p->h.src_port));
  char c;
  EXPECT_EQ(::recv(client, &c, 1, 0), 0);
  EXPECT_EQ(vsock_->connection_count(), 0u);
}

TEST_F(VsockTest, UnansweredRequestTimesOut) {
  bring_up();
  const int client = track(unix_connect(path_));
  ASSERT_EQ(::send(client, "CONNECT 5002\n", 13, 0), 13);
  auto p = receive();
  ASSERT_TRUE(p);
  ASSERT_EQ(p->h.op, V::kOpRequest);
  const uint32_t host_port = p->h.src_port;
  for (int i = 0; i < 60 && vsock_->connection_count() != 0; ++i) loop_->run_once(10);
  EXPECT_EQ(vsock_->connection_count(), 0u);
  p = receive();
  ASSERT_TRUE(p) << "the guest is told the request is gone";
  EXPECT_EQ(p->h.op, V::kOpRst);
  EXPECT_EQ(p->h.src_port, host_port);
  char c;
  EXPECT_EQ(::recv(client, &c, 1, 0), 0) << "the client is closed";
  // A late answer finds nothing and gets a reset.
  send(guest_header(V::kOpResponse, 5002, host_port));
  p = receive();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, V::kOpRst);
}

TEST_F(VsockTest, SilentClientIsClosed) {
  bring_up();
  const int client = track(unix_connect(path_));
  ASSERT_EQ(::send(client, "CONN", 4, 0), 4);
  for (int i = 0; i < 60; ++i) loop_->run_once(10);
  char c;
  EXPECT_EQ(::recv(client, &c, 1, MSG_DONTWAIT), 0);
  EXPECT_FALSE(receive());
}

TEST_F(VsockTest, MalformedConnectLineClosesTheClient) {
  bring_up();
  const int client = track(unix_connect(path_));
  ASSERT_EQ(::send(client, "HELLO 5000\n", 11, 0), 11);
  settle();
  EXPECT_TRUE(read_now(client).starts_with("ERROR"));
  EXPECT_FALSE(receive());
  EXPECT_EQ(vsock_->connection_count(), 0u);
}

TEST_F(VsockTest, HostilePacketsGetResetsNotCrashes) {
  bring_up();
  struct Case {
    const char* name;
    VsockHeader h;
    uint32_t desc_len;
  };
  VsockHeader bad_op = guest_header(99, 1, 2);
  VsockHeader wrong_dst = guest_header(V::kOpRequest, 1, 2);
  wrong_dst.dst_cid = 77;
  VsockHeader wrong_src = guest_header(V::kOpRequest, 1, 2);
  wrong_src.src_cid = 4;
  VsockHeader bad_type = guest_header(V::kOpRequest, 1, 2);
  bad_type.type = 2;
  VsockHeader too_long = guest_header(V::kOpRw, 1, 2, 1000);  // only 44 bytes in the chain
  VsockHeader unknown_rw = guest_header(V::kOpRw, 1, 2, 4);
  VsockHeader unknown_credit = guest_header(V::kOpCreditRequest, 1, 2);
  VsockHeader unknown_shutdown = guest_header(V::kOpShutdown, 1, 2);
  VsockHeader stray_response = guest_header(V::kOpResponse, 1, 2);
  const Case cases[] = {
      {"bad op", bad_op, 0},
      {"wrong dst_cid", wrong_dst, 0},
      {"wrong src_cid", wrong_src, 0},
      {"not a stream", bad_type, 0},
      {"len larger than the chain", too_long, 44},
      {"data for an unknown connection", unknown_rw, 48},
      {"credit request for an unknown connection", unknown_credit, 0},
      {"shutdown of an unknown connection", unknown_shutdown, 0},
      {"response without a request", stray_response, 0},
  };
  for (const Case& c : cases) {
    send(c.h, c.desc_len > 44 ? std::string(c.desc_len - 44, 'z') : "", c.desc_len);
    auto p = receive();
    ASSERT_TRUE(p) << c.name;
    EXPECT_EQ(p->h.op, V::kOpRst) << c.name;
    EXPECT_EQ(p->h.dst_port, 1u) << c.name;
    EXPECT_EQ(p->h.src_port, 2u) << c.name;
    EXPECT_FALSE(needs_reset()) << c.name;
  }
  EXPECT_EQ(vsock_->bad_packets(), std::size(cases));
  // A reset is never answered with one.
  send(guest_header(V::kOpRst, 1, 2));
  EXPECT_FALSE(receive());
  // A packet shorter than its header is dropped.
  send(guest_header(V::kOpRequest, 1, 2), "", 20);
  EXPECT_FALSE(receive());
  EXPECT_EQ(tx_.used_idx(), std::size(cases) + 2);
  EXPECT_FALSE(needs_reset());
}

TEST_F(VsockTest, ReceiveBufferTooSmallForAHeaderNeedsReset) {
  ASSERT_TRUE(driver_->negotiate(kFeatureVersion1));
  driver_->setup_queue(0, rx_.layout());
  driver_->setup_queue(1, tx_.layout());
  driver_->setup_queue(2, ev_.layout());
  driver_->driver_ok();
  post_rx(0, 16);
  driver_->notify(0);
  send(guest_header(V::kOpRequest, 1, 9999));  // refused: an RST is owed
  EXPECT_TRUE(needs_reset());
}

TEST_F(VsockTest, ResetClosesConnections) {
  bring_up();
  const int host = connect_guest(6003);
  driver_->write(T::kStatus, 0);
  EXPECT_EQ(vsock_->connection_count(), 0u);
  char c;
  EXPECT_EQ(::recv(host, &c, 1, 0), 0);
}

TEST(VsockCreate, RefusesLiveSocketAndMissingDirectory) {
  char tmpl[] = "/tmp/vireo-vsock-create-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  auto missing = V::create({3, dir + "/nope/v.sock"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos);
  const int live = unix_listen(dir + "/live.sock");
  auto in_use = V::create({3, dir + "/live.sock"});
  ASSERT_FALSE(in_use);
  EXPECT_NE(in_use.error().message.find("in use"), std::string::npos);
  ::close(live);  // now stale: replaced
  auto stale = V::create({3, dir + "/live.sock"});
  EXPECT_TRUE(stale) << stale.error().message;
  stale->reset();
  EXPECT_NE(::access((dir + "/live.sock").c_str(), F_OK), 0);
  std::system(("rm -rf " + dir).c_str());
}

TEST(VsockParse, Options) {
  auto ok = parse_vsock("cid=42,socket=/tmp/x.sock");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->guest_cid, 42u);
  EXPECT_EQ(ok->socket_path, "/tmp/x.sock");
  EXPECT_FALSE(parse_vsock("cid=2,socket=/tmp/x"));
  EXPECT_FALSE(parse_vsock("cid=4294967295,socket=/tmp/x"));
  EXPECT_FALSE(parse_vsock("cid=3"));
  EXPECT_FALSE(parse_vsock("socket=/tmp/x"));
  EXPECT_FALSE(parse_vsock("cid=3,socket=/tmp/x,extra=1"));
}

}  // namespace
}  // namespace vireo::virtio
