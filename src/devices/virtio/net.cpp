#include "devices/virtio/net.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "core/log.hpp"
#include "devices/virtio/net_slirp.hpp"
#include "devices/virtio/net_tap.hpp"

namespace vireo::virtio {
namespace {

constexpr uint8_t kHdrFlagNeedsCsum = 1;
constexpr uint8_t kHdrFlagDataValid = 2;
constexpr uint32_t kEthHeader = 14;

}  // namespace

Net::Net(std::unique_ptr<NetBackend> backend, const MacAddress& mac)
    : backend_(std::move(backend)),
      mac_(mac),
      tx_buf_(kHdrSize + kMaxFrame),
      rx_buf_(kHdrSize + kMaxFrame) {}

Net::~Net() {
  log::info("virtio-net {}: tx {} frames {} bytes {} dropped; rx {} frames {} bytes {} dropped",
            format_mac(mac_), stats_.tx_frames, stats_.tx_bytes, stats_.tx_dropped,
            stats_.rx_frames, stats_.rx_bytes, stats_.rx_dropped);
}

uint64_t Net::device_features() const {
  // A backend without the vnet header gets checksum offloads done here: on
  // transmit the device fills in the checksum (native code, not the guest's
  // emulated CPU), and on receive it vouches for frames that come from
  // slirp's own stack, whose checksums are computed, not carried off a wire.
  const uint64_t offloads =
      backend_->vnet_header() ? backend_->offload_features() : kNetFCsum | kNetFGuestCsum;
  return kNetFMac | kNetFStatus | kNetFMrgRxbuf | offloads | (backend_->mtu() != 0 ? kNetFMtu : 0);
}

void Net::read_config(uint32_t offset, std::span<uint8_t> out) {
  uint8_t config[kConfigSize] = {};
  std::memcpy(config, mac_.data(), mac_.size());
  const uint16_t status = kNetStatusLinkUp;
  const uint16_t pairs = 1;
  const uint16_t mtu = backend_->mtu() != 0 ? backend_->mtu() : 1500;
  std::memcpy(config + 6, &status, 2);
  std::memcpy(config + 8, &pairs, 2);
  std::memcpy(config + 10, &mtu, 2);
  // The transport keeps the access inside config_size().
  std::memcpy(out.data(), config + offset, out.size());
}

Result<void> Net::activate(uint64_t features, std::span<VirtQueue> queues,
                           const GuestMemory& memory, DeviceHost& host) {
  if (queues.size() != 2 || !queues[kRxQueue].ready() || !queues[kTxQueue].ready()) {
    return make_error(ErrorCode::kGuest, "DRIVER_OK without the receive and transmit queues ready");
  }
  rx_ = &queues[kRxQueue];
  tx_ = &queues[kTxQueue];
  memory_ = &memory;
  host_ = &host;
  mergeable_ = (features & kNetFMrgRxbuf) != 0;
  tx_csum_ = (features & kNetFCsum) != 0;
  rx_data_valid_ = (features & kNetFGuestCsum) != 0 && !backend_->vnet_header();
  rx_chains_.resize(rx_->size());
  rx_used_.reserve(rx_->size());
  rx_reserved_ = 0;
  if (auto r = backend_->set_offloads(features & backend_->offload_features()); !r) {
    // The backend then sends no offloaded frames; the guest copes.
    log::warn("virtio-net: cannot enable offloads: {}", r.error().message);
  }
  auto watched = host.watch_fd(backend_->rx_fd(), EPOLLIN | EPOLLET, [this](uint32_t) {
    if (auto r = receive_frames(); !r) host_->fail(r.error());
  });
  if (!watched && watched.error().code != ErrorCode::kUnsupported) return watched;
  watching_ = watched.has_value();
  // Frames that arrived while the device was down are looked at when the
  // transport services the ready queues right after activation.
  return {};
}

void Net::reset() {
  rx_ = tx_ = nullptr;
  memory_ = nullptr;
  host_ = nullptr;
  watching_ = false;
  rx_reserved_ = 0;
  if (held_ != 0) ++stats_.rx_dropped;
  held_ = 0;
}

Result<void> Net::queue_notify(uint16_t queue) {
  if (rx_ == nullptr) return {};
  if (queue == kTxQueue) return transmit();
  if (queue == kRxQueue) return receive_frames();  // new buffers: resume delivery
  return {};
}

Result<void> Net::transmit() {
  bool used = false;
  Result<void> result;
  // At most a ring's worth per call; the rest comes on a requeued call.
  for (uint32_t done = 0; result; ++done) {
    if (done == kQueueSize) {
      host_->requeue(kTxQueue);
      break;
    }
    auto popped = tx_->pop_chain(tx_chain_);
    if (!popped) {
      result = std::unexpected(popped.error());
      break;
    }
    if (!*popped) break;
    result = transmit_one(tx_chain_);
    if (result) result = tx_->add_used(tx_chain_.head(), 0);
    used = used || result;
  }
  backend_->flush();
  if (used && tx_->needs_notification()) host_->notify_used(kTxQueue);
  if (!result) return result;
  // What the frames just sent provoked (slirp answers ARP, DHCP and TCP ACKs
  // from inside send()) goes to the guest now, without another trip round
  // the event loop.
  return receive_frames();
}

Result<void> Net::transmit_one(const DescriptorChain& chain) {
  if (chain.writable_bytes() != 0) {
    return make_error(ErrorCode::kGuest, "transmit chain has device-writable buffers");
  }
  const uint64_t total = chain.readable_bytes();
  if (total < kHdrSize) {
    return make_error(ErrorCode::kGuest,
                      fmt::format("transmit chain of {} bytes has no room for the {}-byte header",
                                  total, kHdrSize));
  }
  const uint64_t frame = total - kHdrSize;
  if (frame < kEthHeader || frame > kMaxFrame) {
    // Not a frame any network takes: dropped, as a NIC drops runts and giants.
    ++stats_.tx_dropped;
    VIREO_LOG_RATELIMITED(log::warn, "virtio-net: dropped a {}-byte transmit frame (max {})", frame,
                          kMaxFrame);
    return {};
  }
  ChainReader reader(*memory_, chain);
  const std::span<uint8_t> bytes(tx_buf_.data(), static_cast<size_t>(total));
  if (auto r = reader.read(bytes); !r) return r;
  VirtioNetHdr hdr;
  std::memcpy(&hdr, bytes.data(), kHdrSize);
  if (backend_->vnet_header()) {
    hdr.num_buffers = 0;
    std::memcpy(bytes.data(), &hdr, kHdrSize);
    backend_->send(bytes);
  } else {
    // No segmentation offload is offered here; checksums are, when negotiated.
    if (hdr.gso_type != kNetHdrGsoNone || ((hdr.flags & kHdrFlagNeedsCsum) != 0 && !tx_csum_)) {
      ++stats_.tx_dropped;
      VIREO_LOG_RATELIMITED(log::warn,
                            "virtio-net: dropped a frame asking for offloads that were not "
                            "negotiated (flags {:#x}, gso_type {})",
                            hdr.flags, hdr.gso_type);
      return {};
    }
    const std::span<uint8_t> eth = bytes.subspan(kHdrSize);
    if ((hdr.flags & kHdrFlagNeedsCsum) != 0 &&
        !fill_checksum(eth, hdr.csum_start, hdr.csum_offset)) {
      ++stats_.tx_dropped;
      VIREO_LOG_RATELIMITED(log::warn,
                            "virtio-net: dropped a {}-byte frame whose checksum at {}+{} lies "
                            "outside it",
                            eth.size(), hdr.csum_start, hdr.csum_offset);
      return {};
    }
    backend_->send(eth);
  }
  ++stats_.tx_frames;
  stats_.tx_bytes += frame;
  return {};
}

bool Net::fill_checksum(std::span<uint8_t> frame, uint16_t start, uint16_t offset) {
  // The driver put the pseudo-header sum in the checksum field; the Internet
  // checksum of [start, end) with it in place is the final value (§5.1.6.2).
  const size_t at = size_t{start} + offset;
  if (start >= frame.size() || at + 2 > frame.size()) return false;
  uint64_t sum = 0;
  const uint8_t* p = frame.data() + start;
  size_t n = frame.size() - start;
  for (; n >= 2; p += 2, n -= 2) sum += (uint32_t{p[0]} << 8) | p[1];
  if (n == 1) sum += uint32_t{p[0]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t folded = static_cast<uint16_t>(~sum);
  if (folded == 0) folded = 0xffff;  // as Linux's skb_checksum_help: 0 means "none" for UDP
  frame[at] = static_cast<uint8_t>(folded >> 8);
  frame[at + 1] = static_cast<uint8_t>(folded);
  return true;
}

Result<void> Net::receive_frames() {
  if (rx_ == nullptr) return {};
  const bool with_header = backend_->vnet_header();
  bool delivered = false;
  Result<void> result;
  for (uint32_t done = 0;; ++done) {
    if (done == kQueueSize) {
      host_->requeue(kRxQueue);  // the loop gets a turn; the rest follows
      break;
    }
    if (held_ == 0) {
      auto n = with_header ? backend_->receive(rx_buf_)
                           : backend_->receive(std::span(rx_buf_).subspan(kHdrSize));
      if (!n) {
        VIREO_LOG_RATELIMITED(log::error, "virtio-net: receive: {}", n.error().message);
        break;
      }
      if (*n == 0) break;
      if (with_header) {
        if (*n < kHdrSize) {
          ++stats_.rx_dropped;
          continue;
        }
        held_ = *n;
      } else {
        std::memset(rx_buf_.data(), 0, kHdrSize);
        if (rx_data_valid_) rx_buf_[0] = kHdrFlagDataValid;
        held_ = kHdrSize + *n;
      }
    }
    auto r = deliver_held();
    if (!r) {
      result = std::unexpected(r.error());
      break;
    }
    if (!*r) break;  // no buffers: resumed when the driver adds some
    delivered = true;
  }
  if (delivered && rx_->needs_notification()) host_->notify_used(kRxQueue);
  return result;
}

Result<bool> Net::deliver_held() {
  const size_t need = held_;
  // Chains for this frame: one without mergeable buffers, as many as it
  // takes with them.
  uint64_t room = 0;
  for (size_t i = 0; i < rx_reserved_; ++i) room += rx_chains_[i].writable_bytes();
  while (rx_reserved_ == 0 || (mergeable_ && room < need)) {
    if (rx_reserved_ == rx_chains_.size()) {
      // Every buffer of the ring is too small for this frame together: drop
      // it, keep the buffers for the next one.
      ++stats_.rx_dropped;
      held_ = 0;
      return true;
    }
    DescriptorChain& chain = rx_chains_[rx_reserved_];
    auto popped = rx_->pop_chain(chain);
    if (!popped) return std::unexpected(popped.error());
    if (!*popped) return false;
    if (chain.readable_bytes() != 0) {
      return make_error(ErrorCode::kGuest, "receive chain has device-readable buffers");
    }
    if (chain.writable_bytes() < kHdrSize) {
      return make_error(ErrorCode::kGuest,
                        fmt::format("receive chain of {} bytes has no room for the {}-byte header",
                                    chain.writable_bytes(), kHdrSize));
    }
    ++rx_reserved_;
    room += chain.writable_bytes();
  }
  if (room < need) {
    // One buffer without MRG_RXBUF, and the frame does not fit it (the
    // driver should post 1526-byte buffers at least): dropped, buffer kept.
    ++stats_.rx_dropped;
    held_ = 0;
    return true;
  }

  // The chains this frame takes (buffers reserved beyond them, left over
  // from a dropped frame, stay reserved for the next one).
  size_t count = 0;
  for (uint64_t taken = 0; taken < need; ++count) taken += rx_chains_[count].writable_bytes();

  VirtioNetHdr hdr;
  std::memcpy(&hdr, rx_buf_.data(), kHdrSize);
  hdr.num_buffers = static_cast<uint16_t>(count);
  std::memcpy(rx_buf_.data(), &hdr, kHdrSize);

  rx_used_.clear();
  size_t offset = 0;
  for (size_t i = 0; i < count; ++i) {
    const DescriptorChain& chain = rx_chains_[i];
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chain.writable_bytes(), need - offset));
    ChainWriter writer(*memory_, chain);
    if (auto r = writer.write(std::span(rx_buf_).subspan(offset, n)); !r) {
      return std::unexpected(r.error());
    }
    rx_used_.push_back(VirtqUsedElem{chain.head(), static_cast<uint32_t>(n)});
    offset += n;
  }
  if (auto r = rx_->add_used_batch(rx_used_); !r) return std::unexpected(r.error());
  std::rotate(rx_chains_.begin(), rx_chains_.begin() + static_cast<ptrdiff_t>(count),
              rx_chains_.begin() + static_cast<ptrdiff_t>(rx_reserved_));
  rx_reserved_ -= count;
  held_ = 0;
  ++stats_.rx_frames;
  stats_.rx_bytes += need - kHdrSize;
  return true;
}

// ---- Options

std::string format_mac(const MacAddress& mac) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3],
                     mac[4], mac[5]);
}

namespace {

constexpr std::string_view kNetUsage =
    "use --net user[,hostfwd=tcp:[ADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT][,mac=52:54:00:XX:XX:XX] "
    "or --net tap=NAME[,mac=...]";

bool parse_u16(std::string_view s, uint16_t& out) {
  if (s.empty()) return false;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

// Dotted IPv4 to a host-order value.
bool parse_ipv4(std::string_view s, uint32_t& out) {
  uint32_t value = 0;
  for (int part = 0; part < 4; ++part) {
    const size_t dot = s.find('.');
    const std::string_view piece = part < 3 ? s.substr(0, dot) : s;
    if (part < 3 && dot == std::string_view::npos) return false;
    uint16_t v;
    if (!parse_u16(piece, v) || v > 255) return false;
    value = (value << 8) | v;
    if (part < 3) s.remove_prefix(dot + 1);
  }
  out = value;
  return true;
}

Result<HostForward> parse_hostfwd(std::string_view text, std::string_view whole) {
  auto bad = [&](std::string_view why) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("--net '{}': hostfwd={} {}: write it as "
                                  "hostfwd=tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, e.g. "
                                  "hostfwd=tcp::8022-:22",
                                  whole, text, why));
  };
  HostForward fwd;
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) return bad("has no '-' between the host and guest sides");
  std::string_view host = text.substr(0, dash);
  std::string_view guest = text.substr(dash + 1);
  // host: [tcp|udp]:[ADDR]:PORT
  const size_t c1 = host.find(':');
  if (c1 == std::string_view::npos) return bad("has no protocol (tcp: or udp:)");
  const std::string_view proto = host.substr(0, c1);
  if (proto == "udp") {
    fwd.udp = true;
  } else if (proto != "tcp" && !proto.empty()) {
    return bad("has a protocol other than tcp or udp");
  }
  host.remove_prefix(c1 + 1);
  const size_t c2 = host.find(':');
  if (c2 == std::string_view::npos) return bad("has no host port");
  if (c2 > 0 && !parse_ipv4(host.substr(0, c2), fwd.host_addr)) {
    return bad("has a host address that is not an IPv4 address");
  }
  if (!parse_u16(host.substr(c2 + 1), fwd.host_port)) {
    return bad("has a host port that is not a number in 0..65535");
  }
  // guest: [ADDR]:PORT
  const size_t c3 = guest.find(':');
  if (c3 == std::string_view::npos) return bad("has no guest port");
  if (c3 > 0 && !parse_ipv4(guest.substr(0, c3), fwd.guest_addr)) {
    return bad("has a guest address that is not an IPv4 address");
  }
  if (!parse_u16(guest.substr(c3 + 1), fwd.guest_port) || fwd.guest_port == 0) {
    return bad("has a guest port that is not a number in 1..65535");
  }
  return fwd;
}

bool parse_mac(std::string_view s, MacAddress& out) {
  if (s.size() != 17) return false;
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0 && s[3 * i - 1] != ':') return false;
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data() + 3 * i, s.data() + 3 * i + 2, v, 16);
    if (ec != std::errc() || p != s.data() + 3 * i + 2) return false;
    out[i] = static_cast<uint8_t>(v);
  }
  return true;
}

}  // namespace

Result<NetConfig> parse_net_option(std::string_view text, unsigned index) {
  NetConfig config;
  config.mac = {0x52, 0x54, 0x00, 0x12, 0x34, static_cast<uint8_t>(0x56 + index)};
  std::vector<std::string_view> items;
  for (std::string_view rest = text;;) {
    const size_t comma = rest.find(',');
    items.push_back(rest.substr(0, comma));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  const std::string_view backend = items[0];
  if (backend == "user") {
    config.kind = NetConfig::Kind::kUser;
  } else if (backend.starts_with("tap=")) {
    config.kind = NetConfig::Kind::kTap;
    config.tap_name = std::string(backend.substr(4));
    if (config.tap_name.empty() || config.tap_name.size() > 15) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("--net '{}': the tap interface name must be 1 to 15 "
                                    "characters, e.g. tap=tap0",
                                    text));
    }
  } else {
    return make_error(
        ErrorCode::kInvalidArgument,
        fmt::format("--net '{}': unknown network backend '{}': {}", text, backend, kNetUsage));
  }
  for (size_t i = 1; i < items.size(); ++i) {
    const std::string_view item = items[i];
    if (item.starts_with("hostfwd=")) {
      if (config.kind != NetConfig::Kind::kUser) {
        return make_error(ErrorCode::kInvalidArgument,
                          fmt::format("--net '{}': hostfwd= works with user networking only; "
                                      "a tap interface is reached by its address",
                                      text));
      }
      auto fwd = parse_hostfwd(item.substr(8), text);
      if (!fwd) return std::unexpected(fwd.error());
      config.forwards.push_back(*fwd);
    } else if (item.starts_with("mac=")) {
      if (!parse_mac(item.substr(4), config.mac)) {
        return make_error(ErrorCode::kInvalidArgument,
                          fmt::format("--net '{}': mac={} is not a MAC address: write six "
                                      "hex pairs, e.g. mac=52:54:00:12:34:56",
                                      text, item.substr(4)));
      }
      if (config.mac[0] & 1) {
        return make_error(ErrorCode::kInvalidArgument,
                          fmt::format("--net '{}': mac={} is a multicast address: the first "
                                      "byte must be even, e.g. 52:54:00:12:34:56",
                                      text, item.substr(4)));
      }
    } else {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("--net '{}': unknown setting '{}': {}", text, item, kNetUsage));
    }
  }
  return config;
}

DeviceFactory net_factory(NetConfig config) {
  return [config = std::move(config)](EventLoop& loop) -> Result<std::unique_ptr<VirtioDevice>> {
    std::unique_ptr<NetBackend> backend;
    if (config.kind == NetConfig::Kind::kUser) {
      auto b = SlirpBackend::create(loop, config.forwards);
      if (!b) return std::unexpected(b.error());
      backend = std::move(*b);
    } else {
      auto b = TapBackend::open(config.tap_name);
      if (!b) return std::unexpected(b.error());
      backend = std::move(*b);
    }
    return std::make_unique<Net>(std::move(backend), config.mac);
  };
}

}  // namespace vireo::virtio
