// A tap interface as the virtio-net backend (`--net tap=NAME`): frames go to
// and come from the host kernel's network stack with a 12-byte vnet header in
// front (IFF_VNET_HDR, TUNSETVNETHDRSZ), so checksum and TSO offloads pass
// through in both directions; TUNSETOFFLOAD enables the ones the guest took.
#pragma once

#include <memory>
#include <string>

#include "devices/virtio/net.hpp"

namespace vireo::virtio {

class TapBackend final : public NetBackend {
 public:
  // Opens (or creates) tap interface `name`. Needs /dev/net/tun and, unless
  // the interface exists and belongs to this user, CAP_NET_ADMIN; the errors
  // say so.
  static Result<std::unique_ptr<TapBackend>> open(const std::string& name);
  ~TapBackend() override;

  bool vnet_header() const override { return true; }
  uint64_t offload_features() const override;
  Result<void> set_offloads(uint64_t features) override;
  int rx_fd() const override { return fd_; }
  Result<size_t> receive(std::span<uint8_t> buf) override;
  void send(std::span<const uint8_t> frame) override;

  uint64_t dropped() const { return dropped_; }

 private:
  TapBackend(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  int fd_;
  std::string name_;
  uint64_t dropped_ = 0;
};

}  // namespace vireo::virtio
