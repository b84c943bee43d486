#include "devices/virtio/net_slirp.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <vector>

namespace vireo::virtio {
namespace {

constexpr std::array<uint8_t, 6> kGuestMac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

// An ARP request from the guest (10.0.2.15) for `target`.
std::vector<uint8_t> arp_request(std::array<uint8_t, 4> target) {
  std::vector<uint8_t> f(42, 0);
  std::memset(f.data(), 0xff, 6);
  std::memcpy(f.data() + 6, kGuestMac.data(), 6);
  f[12] = 0x08, f[13] = 0x06;                  // ARP
  f[14] = 0, f[15] = 1;                        // Ethernet
  f[16] = 0x08, f[17] = 0;                     // IPv4
  f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;  // request
  std::memcpy(f.data() + 22, kGuestMac.data(), 6);
  const uint8_t guest_ip[4] = {10, 0, 2, 15};
  std::memcpy(f.data() + 28, guest_ip, 4);
  std::memcpy(f.data() + 38, target.data(), 4);
  return f;
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

TEST(SlirpBackend, AnswersArpForTheGatewayAndSignalsTheFrame) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  auto backend = SlirpBackend::create(**loop, {});
  ASSERT_TRUE(backend) << backend.error().message;
  auto& b = **backend;
  std::vector<uint8_t> buf(2048);
  EXPECT_EQ(*b.receive(buf), 0u);

  b.send(arp_request({10, 0, 2, 2}));
  b.flush();
  EXPECT_TRUE(readable(b.rx_fd()));
  auto n = b.receive(buf);
  ASSERT_TRUE(n);
  ASSERT_GE(*n, 42u);
  EXPECT_EQ(std::memcmp(buf.data(), kGuestMac.data(), 6), 0) << "addressed to the guest";
  EXPECT_EQ(buf[12], 0x08);
  EXPECT_EQ(buf[13], 0x06);
  EXPECT_EQ(buf[21], 2) << "an ARP reply";
  const uint8_t gateway[4] = {10, 0, 2, 2};
  EXPECT_EQ(std::memcmp(buf.data() + 28, gateway, 4), 0);
  EXPECT_EQ(*b.receive(buf), 0u);
  EXPECT_FALSE(readable(b.rx_fd())) << "the eventfd is cleared once the queue is empty";
}

TEST(SlirpBackend, HostForwardTurnsAHostConnectionIntoAGuestSyn) {
  // A free host port for the forward.
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(probe);
  const uint16_t port = ntohs(addr.sin_port);

  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  HostForward fwd;
  fwd.host_port = port;
  fwd.guest_port = 7000;
  auto backend = SlirpBackend::create(**loop, {fwd});
  ASSERT_TRUE(backend) << backend.error().message;
  auto& b = **backend;
  std::vector<uint8_t> buf(2048);
  // Slirp learns the guest's MAC from its ARP request.
  b.send(arp_request({10, 0, 2, 2}));
  b.flush();
  while (*b.receive(buf) != 0) {
  }

  // The port is taken now: a second forward on it fails with a message.
  auto again = SlirpBackend::create(**loop, {fwd});
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("HOSTPORT"), std::string::npos);

  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  (void)::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  bool syn = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!syn && std::chrono::steady_clock::now() < deadline) {
    (*loop)->run_once(50);  // slirp's sockets and timers run on the loop
    for (size_t n = *b.receive(buf); n != 0; n = *b.receive(buf)) {
      // IPv4, TCP, to 10.0.2.15:7000, SYN.
      if (n >= 54 && buf[12] == 0x08 && buf[13] == 0x00 && buf[23] == 6 && buf[30] == 10 &&
          buf[33] == 15 && ((buf[36] << 8) | buf[37]) == 7000 && (buf[47] & 0x02)) {
        syn = true;
      }
    }
  }
  ::close(client);
  EXPECT_TRUE(syn) << "no SYN towards the guest after a host connection to the forward";
}

}  // namespace
}  // namespace vireo::virtio
