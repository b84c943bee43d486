// The virtio-mmio transport, version 2 (virtio 1.2 §4.2): the register block
// a guest driver finds through the device tree, in front of one VirtioDevice.
// It negotiates features, runs the device-status state machine (§2.1, §3.1)
// including reset and DEVICE_NEEDS_RESET, checks and hands over the queues,
// and drives one level-triggered interrupt line (high while InterruptStatus
// is nonzero). A QueueNotify write does no device work on the vCPU thread: it
// sets a bit and signals an eventfd that the I/O event loop services.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/bus.hpp"
#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "core/guest_memory.hpp"
#include "core/irq.hpp"
#include "devices/virtio/device.hpp"

namespace vireo::virtio {

class MmioTransport final : public BusDevice {
 public:
  static constexpr uint64_t kSize = 0x1000;
  static constexpr uint32_t kMagic = 0x74726976;  // "virt"
  static constexpr uint32_t kVersion = 2;
  static constexpr uint32_t kVendorId = 0x4f524956;  // "VIRO"
  static constexpr uint32_t kMaxQueues = 64;

  // Register offsets.
  static constexpr uint64_t kMagicValue = 0x000;
  static constexpr uint64_t kVersionReg = 0x004;
  static constexpr uint64_t kDeviceIdReg = 0x008;
  static constexpr uint64_t kVendorIdReg = 0x00c;
  static constexpr uint64_t kDeviceFeatures = 0x010;
  static constexpr uint64_t kDeviceFeaturesSel = 0x014;
  static constexpr uint64_t kDriverFeatures = 0x020;
  static constexpr uint64_t kDriverFeaturesSel = 0x024;
  static constexpr uint64_t kQueueSel = 0x030;
  static constexpr uint64_t kQueueNumMax = 0x034;
  static constexpr uint64_t kQueueNum = 0x038;
  static constexpr uint64_t kQueueReady = 0x044;
  static constexpr uint64_t kQueueNotify = 0x050;
  static constexpr uint64_t kInterruptStatus = 0x060;
  static constexpr uint64_t kInterruptAck = 0x064;
  static constexpr uint64_t kStatus = 0x070;
  static constexpr uint64_t kQueueDescLow = 0x080;
  static constexpr uint64_t kQueueDescHigh = 0x084;
  static constexpr uint64_t kQueueDriverLow = 0x090;
  static constexpr uint64_t kQueueDriverHigh = 0x094;
  static constexpr uint64_t kQueueDeviceLow = 0x0a0;
  static constexpr uint64_t kQueueDeviceHigh = 0x0a4;
  static constexpr uint64_t kShmSel = 0x0ac;
  static constexpr uint64_t kShmLenLow = 0x0b0;
  static constexpr uint64_t kShmLenHigh = 0x0b4;
  static constexpr uint64_t kShmBaseLow = 0x0b8;
  static constexpr uint64_t kShmBaseHigh = 0x0bc;
  static constexpr uint64_t kConfigGeneration = 0x0fc;
  static constexpr uint64_t kConfig = 0x100;

  // Device status bits (§2.1).
  static constexpr uint32_t kStatusAcknowledge = 1;
  static constexpr uint32_t kStatusDriver = 2;
  static constexpr uint32_t kStatusDriverOk = 4;
  static constexpr uint32_t kStatusFeaturesOk = 8;
  static constexpr uint32_t kStatusNeedsReset = 64;
  static constexpr uint32_t kStatusFailed = 128;

  // InterruptStatus bits.
  static constexpr uint32_t kInterruptUsedBuffer = 1;
  static constexpr uint32_t kInterruptConfigChange = 2;

  // Feature bits this transport offers on top of the device's own.
  static constexpr uint64_t kTransportFeatures =
      kFeatureVersion1 | kFeatureIndirectDesc | kFeatureEventIdx;

  // `name` appears in log lines (e.g. "virtio_mmio@10001000"). With a `loop`
  // (which must outlive the transport), queue notifications are serviced on
  // the loop's thread; without one they run inline on the notifying thread
  // (tests and fuzzing). Fails if the device declares no or too many queues,
  // or if the notification eventfd cannot be created.
  static Result<std::unique_ptr<MmioTransport>> create(std::unique_ptr<VirtioDevice> device,
                                                       const GuestMemory& memory, IrqLine irq,
                                                       EventLoop* loop, std::string name);
  // Resets an active device and stops its watches; safe while the loop runs.
  ~MmioTransport() override;
  MmioTransport(const MmioTransport&) = delete;
  MmioTransport& operator=(const MmioTransport&) = delete;

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  // One eventfd per queue; signalling queue q's counts as a QueueNotify
  // write of q, serviced on the loop. For hypervisors that turn the guest's
  // write into an eventfd signal without a vCPU exit (KVM ioeventfd on
  // kQueueNotify with datamatch q). The transport owns the fds; repeated
  // calls return the same ones. Needs a loop.
  Result<std::vector<int>> create_queue_notify_fds();

  VirtioDevice& device();
  // Protocol errors the driver made (bad chains, bad queue layouts, ...).
  uint64_t error_count() const;

 private:
  struct Core;  // shared with loop handlers; defined in the .cpp
  explicit MmioTransport(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  std::shared_ptr<Core> core_;
};

}  // namespace vireo::virtio
