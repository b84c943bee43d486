// virtio-vsock (virtio 1.2 §5.10, device ID 19): AF_VSOCK stream connections
// between the guest and host programs, bridged to Unix sockets the way
// Firecracker documents it. Vireo listens on PATH; a host client connects,
// writes "CONNECT <port>\n" and gets "OK <hostport>\n" once the guest accepts
// (a refusal closes the client). A guest connection to the host (CID 2) port P
// becomes a connection to the Unix socket "PATH_P" (nothing there: the guest
// gets a reset).
//
// The guest is hostile: every packet is checked (header, CIDs, type, op,
// length against the chain, credit), and a bad one resets its connection,
// never the VMM. Buffering is bounded both ways: the device reads a host
// socket only while the guest has credit and receive buffers, and the guest
// may send a connection only what the device advertised (buf_alloc).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "devices/virtio/device.hpp"

namespace vireo::virtio {

// The packet header (§5.10.6), little-endian.
struct [[gnu::packed]] VsockHeader {
  uint64_t src_cid;
  uint64_t dst_cid;
  uint32_t src_port;
  uint32_t dst_port;
  uint32_t len;
  uint16_t type;
  uint16_t op;
  uint32_t flags;
  uint32_t buf_alloc;
  uint32_t fwd_cnt;
};
static_assert(sizeof(VsockHeader) == 44);

struct VsockConfig {
  uint64_t guest_cid = 3;
  std::string socket_path;  // the host listens here; guest-initiated go to PATH_<port>
  // How long a host client may take to send its CONNECT line, and the guest
  // to answer the request that follows, before the client is closed.
  uint32_t connect_timeout_ms = 2000;
};

// Parses "cid=N,socket=PATH" (the --vsock value); N >= 3.
Result<VsockConfig> parse_vsock(const std::string& text);

class Vsock final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr uint64_t kHostCid = 2;
  static constexpr uint16_t kTypeStream = 1;
  enum Op : uint16_t {
    kOpInvalid = 0,
    kOpRequest = 1,
    kOpResponse = 2,
    kOpRst = 3,
    kOpShutdown = 4,
    kOpRw = 5,
    kOpCreditUpdate = 6,
    kOpCreditRequest = 7,
  };
  static constexpr uint32_t kShutdownRecv = 1;
  static constexpr uint32_t kShutdownSend = 2;
  // What each connection may hold of guest data not yet written to its host
  // socket: the buf_alloc the guest is told.
  static constexpr uint32_t kBufAlloc = 64 * 1024;
  // Payload of one packet to the guest (Linux's own maximum).
  static constexpr uint32_t kMaxPacketData = 64 * 1024;
  static constexpr size_t kMaxConnections = 128;
  // Host clients that have connected but not finished "CONNECT <port>\n".
  static constexpr size_t kMaxPendingClients = 32;
  static constexpr size_t kMaxQueuedResets = 256;

  // Listens on config.socket_path (fails, with what to do, if its directory
  // is missing or a live socket is there; a stale socket file is replaced).
  static Result<std::unique_ptr<Vsock>> create(const VsockConfig& config);
  ~Vsock() override;  // closes everything and removes the socket file

  uint32_t device_id() const override { return static_cast<uint32_t>(DeviceId::kVsock); }
  uint64_t device_features() const override { return 0; }  // stream sockets only
  std::span<const uint16_t> queue_max_sizes() const override { return kQueueSizes; }
  uint32_t config_size() const override { return 8; }
  void read_config(uint32_t offset, std::span<uint8_t> out) override;

  Result<void> activate(uint64_t features, std::span<VirtQueue> queues, const GuestMemory& memory,
                        DeviceHost& host) override;
  Result<void> queue_notify(uint16_t queue) override;
  void reset() override;

  size_t connection_count() const { return conns_.size(); }
  // Packets from the guest that were malformed or broke the protocol.
  uint64_t bad_packets() const { return bad_packets_; }

 private:
  static constexpr uint16_t kQueueSizes[3] = {kQueueSize, kQueueSize, kQueueSize};
  static constexpr uint16_t kRx = 0, kTx = 1;

  // One stream. Key: (host-side port, guest port).
  struct Conn {
    int fd = -1;
    uint32_t local_port = 0;  // the host side's vsock port
    uint32_t peer_port = 0;   // the guest's
    bool established = false;
    bool host_initiated = false;
    uint32_t watched_events = 0;
    // Guest -> host.
    std::vector<uint8_t> to_host;  // at most kBufAlloc bytes
    uint32_t fwd_cnt = 0;          // bytes written to the host socket
    uint32_t last_fwd_cnt_sent = 0;
    bool guest_shut_send = false;  // no more data from the guest
    bool guest_shut_recv = false;  // the guest takes no more data
    // Host -> guest.
    uint32_t peer_buf_alloc = 0;
    uint32_t peer_fwd_cnt = 0;
    uint32_t tx_cnt = 0;  // bytes sent to the guest
    bool host_readable = false;
    bool host_eof = false;
    // Control packets owed to the guest.
    bool send_request = false;
    bool send_response = false;
    bool send_credit_update = false;
    bool send_shutdown = false;
    bool send_rst = false;     // then the connection goes
    uint64_t deadline_ms = 0;  // host-initiated: when an unanswered request gives up
  };
  using Key = std::pair<uint32_t, uint32_t>;
  struct PendingClient {
    std::string line;
    uint64_t deadline_ms = 0;
  };

  Vsock(const VsockConfig& config, int listen_fd, int timer_fd);
  Result<void> pump_rx();
  Result<void> pump_tx();
  // Handles one packet from the guest; an error only for a broken chain.
  Result<void> handle_packet(const DescriptorChain& chain);
  void handle_guest_request(const VsockHeader& h);
  void queue_reset(const VsockHeader& to_guest);
  // Writes one owed packet into the held receive chain; false: nothing owed.
  Result<bool> fill_rx_packet();
  Result<void> send_packet(const VsockHeader& h, std::span<const uint8_t> data);
  VsockHeader header_for(Conn& c, uint16_t op);
  uint32_t peer_credit(const Conn& c) const;
  bool wants_rx(const Conn& c) const;
  void flush_to_host(Conn& c);
  void update_watch(Conn& c);
  void close_conn(const Key& key);
  void on_conn_event(Key key, uint32_t events);
  void on_listen_event();
  void on_client_event(int fd);
  void drop_client(int fd);
  uint32_t allocate_host_port();
  // Host clients and requests that waited too long; the timer runs while any wait.
  void on_timer();
  void arm_timer();
  void run(Result<void> r);

  VsockConfig config_;
  int listen_fd_ = -1;
  int timer_fd_ = -1;
  bool timer_armed_ = false;
  VirtQueue* rx_ = nullptr;
  VirtQueue* tx_ = nullptr;
  const GuestMemory* memory_ = nullptr;
  DeviceHost* host_ = nullptr;

  std::map<Key, Conn> conns_;
  std::map<int, PendingClient> clients_;
  std::deque<VsockHeader> resets_;  // RSTs for packets without a connection
  uint32_t next_host_port_ = 1u << 30;
  Key rx_cursor_{0, 0};  // round-robin over connections

  DescriptorChain rx_chain_;
  bool rx_chain_held_ = false;
  DescriptorChain tx_chain_;
  std::vector<uint8_t> buffer_;  // kMaxPacketData, allocated once
  uint64_t bad_packets_ = 0;
};

// The factory `vireo run --vsock cid=N,socket=PATH` adds.
DeviceFactory vsock_factory(VsockConfig config);

}  // namespace vireo::virtio
