// A virtio-mmio driver for unit tests: brings a transport up the way Linux's
// virtio_mmio driver does.
#pragma once

#include <cstdint>

#include "devices/virtio/transport_mmio.hpp"
#include "virtio_test_support.hpp"

namespace vireo::virtio::test {

// Brings a virtio-mmio transport up as Linux's virtio_mmio driver does:
// reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queues, DRIVER_OK.
class MmioDriver {
 public:
  explicit MmioDriver(MmioTransport& t) : t_(t) {}

  uint32_t read(uint64_t reg) { return static_cast<uint32_t>(t_.read(reg, 4)); }
  void write(uint64_t reg, uint32_t value) { t_.write(reg, 4, value); }
  uint32_t status() { return read(MmioTransport::kStatus); }
  void set_status_bits(uint32_t bits) { write(MmioTransport::kStatus, status() | bits); }

  uint64_t device_features() {
    write(MmioTransport::kDeviceFeaturesSel, 1);
    uint64_t f = uint64_t{read(MmioTransport::kDeviceFeatures)} << 32;
    write(MmioTransport::kDeviceFeaturesSel, 0);
    return f | read(MmioTransport::kDeviceFeatures);
  }
  void write_driver_features(uint64_t f) {
    write(MmioTransport::kDriverFeaturesSel, 1);
    write(MmioTransport::kDriverFeatures, static_cast<uint32_t>(f >> 32));
    write(MmioTransport::kDriverFeaturesSel, 0);
    write(MmioTransport::kDriverFeatures, static_cast<uint32_t>(f));
  }
  // Up to FEATURES_OK; returns whether the device accepted the features.
  bool negotiate(uint64_t features) {
    write(MmioTransport::kStatus, 0);
    set_status_bits(MmioTransport::kStatusAcknowledge);
    set_status_bits(MmioTransport::kStatusDriver);
    write_driver_features(features);
    set_status_bits(MmioTransport::kStatusFeaturesOk);
    return (status() & MmioTransport::kStatusFeaturesOk) != 0;
  }
  void setup_queue(uint32_t index, const QueueLayout& l) {
    write(MmioTransport::kQueueSel, index);
    write(MmioTransport::kQueueNum, l.size);
    write(MmioTransport::kQueueDescLow, static_cast<uint32_t>(l.desc.value));
    write(MmioTransport::kQueueDescHigh, static_cast<uint32_t>(l.desc.value >> 32));
    write(MmioTransport::kQueueDriverLow, static_cast<uint32_t>(l.avail.value));
    write(MmioTransport::kQueueDriverHigh, static_cast<uint32_t>(l.avail.value >> 32));
    write(MmioTransport::kQueueDeviceLow, static_cast<uint32_t>(l.used.value));
    write(MmioTransport::kQueueDeviceHigh, static_cast<uint32_t>(l.used.value >> 32));
    write(MmioTransport::kQueueReady, 1);
  }
  void driver_ok() { set_status_bits(MmioTransport::kStatusDriverOk); }
  void notify(uint32_t queue) { write(MmioTransport::kQueueNotify, queue); }

 private:
  MmioTransport& t_;
};

}  // namespace vireo::virtio::test
