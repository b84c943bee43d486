// virtio-rng, the entropy device (virtio 1.2 §5.4, device ID 4): one queue of
// device-writable buffers that the device fills with random bytes from the
// host's getrandom(2). A request is capped at 64 KiB, as Firecracker does:
// overlapping descriptors can make a chain claim far more room than guest RAM
// has, and the host buffer must not follow that claim.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "devices/virtio/device.hpp"

namespace vireo::virtio {

class Rng final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr uint32_t kMaxRequestBytes = 64 * 1024;

  // Fills a buffer with random bytes; the default reads getrandom(2).
  using EntropySource = std::function<Result<void>(std::span<uint8_t>)>;

  Rng();
  explicit Rng(EntropySource source);

  uint32_t device_id() const override { return static_cast<uint32_t>(DeviceId::kEntropy); }
  uint64_t device_features() const override { return 0; }
  std::span<const uint16_t> queue_max_sizes() const override { return kQueueSizes; }

  Result<void> activate(uint64_t features, std::span<VirtQueue> queues, const GuestMemory& memory,
                        DeviceHost& host) override;
  Result<void> queue_notify(uint16_t queue) override;
  void reset() override;

  // Random bytes given to the guest so far.
  uint64_t bytes_served() const { return bytes_served_; }

 private:
  static constexpr uint16_t kQueueSizes[1] = {kQueueSize};
  // Fills one request and returns it to the driver.
  Result<void> serve(const DescriptorChain& chain);

  EntropySource source_;
  std::vector<uint8_t> buffer_;  // kMaxRequestBytes, allocated once
  DescriptorChain chain_;        // reused across requests
  VirtQueue* queue_ = nullptr;   // set while active
  const GuestMemory* memory_ = nullptr;
  DeviceHost* host_ = nullptr;
  uint64_t bytes_served_ = 0;
};

// The factory `vireo run --rng` adds to the VM configuration.
DeviceFactory rng_factory();

}  // namespace vireo::virtio
