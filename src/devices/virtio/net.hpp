// virtio-net, the network device (virtio 1.2 §5.1, device ID 1): one receive
// and one transmit queue in front of a host backend (user networking through
// libslirp, or a tap interface). Every frame carries the 12-byte
// virtio_net_hdr; receive buffers may be mergeable (MRG_RXBUF), so a frame
// can span several small chains. All queue work runs on the I/O event loop.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "devices/virtio/device.hpp"

namespace vireo::virtio {

// Device feature bits (virtio 1.2 §5.1.3).
inline constexpr uint64_t kNetFCsum = 1ull << 0;
inline constexpr uint64_t kNetFGuestCsum = 1ull << 1;
inline constexpr uint64_t kNetFMtu = 1ull << 3;
inline constexpr uint64_t kNetFMac = 1ull << 5;
inline constexpr uint64_t kNetFGuestTso4 = 1ull << 7;
inline constexpr uint64_t kNetFGuestTso6 = 1ull << 8;
inline constexpr uint64_t kNetFGuestEcn = 1ull << 9;
inline constexpr uint64_t kNetFHostTso4 = 1ull << 11;
inline constexpr uint64_t kNetFHostTso6 = 1ull << 12;
inline constexpr uint64_t kNetFHostEcn = 1ull << 13;
inline constexpr uint64_t kNetFMrgRxbuf = 1ull << 15;
inline constexpr uint64_t kNetFStatus = 1ull << 16;

inline constexpr uint16_t kNetStatusLinkUp = 1;

// struct virtio_net_hdr with num_buffers (VERSION_1 always has it).
struct VirtioNetHdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
  uint16_t num_buffers;
};
static_assert(sizeof(VirtioNetHdr) == 12);
inline constexpr uint8_t kNetHdrGsoNone = 0;

using MacAddress = std::array<uint8_t, 6>;

// Where frames go to and come from. A backend is created before the device
// and lives as long as it, across device resets (the guest's network
// connections survive a driver reload, as with QEMU's -netdev). Its calls come
// from the I/O event loop thread, except set_offloads() (the vCPU thread that
// activates the device).
class NetBackend {
 public:
  virtual ~NetBackend() = default;
  // Frames in both directions start with a VirtioNetHdr (a tap with
  // IFF_VNET_HDR); otherwise they are bare Ethernet frames.
  virtual bool vnet_header() const { return false; }
  // Offload feature bits (CSUM, GUEST_CSUM, TSO...) this backend can honour.
  virtual uint64_t offload_features() const { return 0; }
  // The MTU the guest should use (VIRTIO_NET_F_MTU), or 0 to leave it to
  // the driver (1500).
  virtual uint16_t mtu() const { return 0; }
  // The driver accepted `features`: turn on the matching offloads.
  virtual Result<void> set_offloads(uint64_t features) { return {}; }
  // Readable when received frames may be waiting. The device watches it
  // edge-triggered and calls receive() until it returns 0.
  virtual int rx_fd() const = 0;
  // Moves the next received frame into `buf` and returns its length; 0 when
  // nothing waits. A frame longer than `buf` is dropped (counted).
  virtual Result<size_t> receive(std::span<uint8_t> buf) = 0;
  // Sends one frame; never blocks (a congested host drops it, counted).
  virtual void send(std::span<const uint8_t> frame) = 0;
  // The end of a burst of send() calls.
  virtual void flush() {}
};

class Net final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr uint16_t kRxQueue = 0;
  static constexpr uint16_t kTxQueue = 1;
  // The largest frame after the header: a 64 KiB TSO packet plus an Ethernet
  // header with a VLAN tag. Bigger transmit requests are dropped.
  static constexpr uint32_t kMaxFrame = 65536 + 18;
  static constexpr uint32_t kHdrSize = sizeof(VirtioNetHdr);
  // Configuration space: mac[6], status, max_virtqueue_pairs, mtu.
  static constexpr uint32_t kConfigSize = 12;

  Net(std::unique_ptr<NetBackend> backend, const MacAddress& mac);
  ~Net() override;  // logs the counters (--log-level info)

  uint32_t device_id() const override { return static_cast<uint32_t>(DeviceId::kNet); }
  uint64_t device_features() const override;
  std::span<const uint16_t> queue_max_sizes() const override { return kQueueSizes; }
  uint32_t config_size() const override { return kConfigSize; }
  void read_config(uint32_t offset, std::span<uint8_t> out) override;

  Result<void> activate(uint64_t features, std::span<VirtQueue> queues, const GuestMemory& memory,
                        DeviceHost& host) override;
  Result<void> queue_notify(uint16_t queue) override;
  void reset() override;

  // Counters, for tests and logs.
  struct Stats {
    uint64_t tx_frames = 0, tx_bytes = 0, tx_dropped = 0;
    uint64_t rx_frames = 0, rx_bytes = 0, rx_dropped = 0;
  };
  const Stats& stats() const { return stats_; }

  // Delivers frames the backend has waiting (what the rx fd handler does);
  // public for tests that run without an event loop.
  Result<void> receive_frames();

 private:
  static constexpr uint16_t kQueueSizes[2] = {kQueueSize, kQueueSize};
  Result<void> transmit();
  Result<void> transmit_one(const DescriptorChain& chain);
  // Completes a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM); false when
  // the positions lie outside the frame.
  static bool fill_checksum(std::span<uint8_t> frame, uint16_t start, uint16_t offset);
  // Writes the held frame into rx chains; false when the guest has too few
  // buffers (the frame stays held and the popped chains stay reserved).
  Result<bool> deliver_held();

  std::unique_ptr<NetBackend> backend_;
  MacAddress mac_;

  // Set while active.
  VirtQueue* rx_ = nullptr;
  VirtQueue* tx_ = nullptr;
  const GuestMemory* memory_ = nullptr;
  DeviceHost* host_ = nullptr;
  bool mergeable_ = false;
  bool tx_csum_ = false;        // VIRTIO_NET_F_CSUM: the device completes checksums
  bool rx_data_valid_ = false;  // GUEST_CSUM without a vnet backend: frames marked DATA_VALID
  bool watching_ = false;

  std::vector<uint8_t> tx_buf_;  // kHdrSize + kMaxFrame
  DescriptorChain tx_chain_;
  std::vector<uint8_t> rx_buf_;             // kHdrSize + kMaxFrame: the frame being delivered
  size_t held_ = 0;                         // bytes of rx_buf_ holding a frame (0: none)
  std::vector<DescriptorChain> rx_chains_;  // popped for the held frame
  size_t rx_reserved_ = 0;                  // how many of rx_chains_ are in use
  std::vector<VirtqUsedElem> rx_used_;
  Stats stats_;
};

// --net user[,hostfwd=...][,mac=...] and --net tap=NAME[,mac=...], parsed.
struct HostForward {
  bool udp = false;
  uint32_t host_addr = 0x7f000001;  // host byte order; 127.0.0.1 unless given
  uint16_t host_port = 0;
  uint32_t guest_addr = 0;  // 0: the guest's DHCP address (10.0.2.15)
  uint16_t guest_port = 0;
};
struct NetConfig {
  enum class Kind { kUser, kTap } kind = Kind::kUser;
  std::string tap_name;
  std::vector<HostForward> forwards;
  MacAddress mac{};
};
// Parses the --net value. `index` (0 for the first --net) picks the default
// MAC 52:54:00:12:34:56 + index. Errors name the problem and the fix.
Result<NetConfig> parse_net_option(std::string_view text, unsigned index);
std::string format_mac(const MacAddress& mac);

// The factory `vireo run --net` adds: creates the backend (on the VM's loop)
// and the device.
DeviceFactory net_factory(NetConfig config);

}  // namespace vireo::virtio
