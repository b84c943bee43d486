// What a virtio device is, independent of how the guest reaches it: an ID,
// feature bits, a configuration space, some virtqueues, and what to do when
// the driver activates it, notifies a queue, or resets it. Transports
// (virtio-mmio now, PCI later) implement the registers and the status state
// machine and call into a VirtioDevice; devices never know the transport.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "core/guest_memory.hpp"
#include "devices/virtio/queue.hpp"

namespace vireo::virtio {

// Device IDs (virtio 1.2 §5).
enum class DeviceId : uint32_t {
  kNet = 1,
  kBlock = 2,
  kConsole = 3,
  kEntropy = 4,
  kVsock = 19,
};
// "net", "block", ... for log lines.
std::string_view device_id_name(uint32_t id);

// The transport's side of an active device: how the device signals the
// driver and watches host file descriptors. Valid from activate() until
// reset() returns; calls are cheap and never block on the guest. Call it only
// from inside the device's entry points and fd handlers (the transport's
// serialisation covers its state too); work finished on another host thread
// comes back through a watched fd (an eventfd, an io_uring completion fd).
class DeviceHost {
 public:
  virtual ~DeviceHost() = default;
  // A used-buffer notification for `queue`. Call it when
  // VirtQueue::needs_notification() says the driver wants one.
  virtual void notify_used(uint16_t queue) = 0;
  // Asks for another queue_notify(queue) after other pending work: lets a
  // device bound the work of one call without waiting for the driver to
  // notify again (with EVENT_IDX it would not: avail_event is re-armed only
  // when the ring is found empty).
  virtual void requeue(uint16_t queue) = 0;
  // The configuration space changed: ConfigGeneration moves on and the driver
  // gets a configuration-change notification.
  virtual void notify_config_changed() = 0;
  // The driver broke the protocol (a bad chain, a malformed request): the
  // device is marked DEVICE_NEEDS_RESET, the driver is told, the error is
  // logged (rate-limited) and counted, and the device gets no more calls
  // except reset(). Returning an error from queue_notify() does the same.
  virtual void fail(const Error& error) = 0;
  // Watches a host fd on the VM's I/O event loop. The handler runs on the
  // loop thread, serialised with every other call into the device, and only
  // while the device is active: the watch ends at reset() or fail().
  // Fails (kUnsupported) when the transport runs without an event loop.
  virtual Result<void> watch_fd(int fd, uint32_t epoll_events,
                                std::function<void(uint32_t epoll_events)> handler) = 0;
  virtual void unwatch_fd(int fd) = 0;
};

// A virtio device. The transport serialises every call (never two at once),
// so a device needs no locks of its own for state only these calls touch.
// queue_notify() and fd handlers run on the VM's I/O event loop thread, never
// on a vCPU thread (a transport built without a loop, in tests, calls
// queue_notify() inline). Configuration accesses, activate() and reset() run
// on the vCPU thread that made the register access: reset() must finish
// quickly and return only when the device no longer touches the queues.
class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  virtual uint32_t device_id() const = 0;
  // Device-type feature bits offered to the driver. The transport adds the
  // ones it implements itself (VERSION_1, INDIRECT_DESC, EVENT_IDX).
  virtual uint64_t device_features() const = 0;
  // The maximum size of each queue; the number of entries is the number of
  // queues (at most 64). A driver may choose any power of two up to it.
  virtual std::span<const uint16_t> queue_max_sizes() const = 0;

  // The device-specific configuration space (transport offset 0x100 on
  // virtio-mmio). The transport keeps accesses inside config_size().
  virtual uint32_t config_size() const { return 0; }
  virtual void read_config(uint32_t offset, std::span<uint8_t> out) {}
  virtual void write_config(uint32_t offset, std::span<const uint8_t> in) {}

  // The driver set DRIVER_OK. `features` are the negotiated ones; `queues`
  // has one entry per queue_max_sizes() entry (not-ready queues included, see
  // VirtQueue::ready()). The queues, memory and host stay valid until reset().
  // An error marks the device DEVICE_NEEDS_RESET (e.g. a required queue is
  // not ready).
  virtual Result<void> activate(uint64_t features, std::span<VirtQueue> queues,
                                const GuestMemory& memory, DeviceHost& host) = 0;
  // The driver made buffers available on `queue` (a ready queue of an active
  // device). Spurious calls are harmless. An error means the driver broke the
  // protocol (see DeviceHost::fail).
  virtual Result<void> queue_notify(uint16_t queue) = 0;
  // Back to the state before activate(): forget the queues and anything in
  // flight. Also called on a device that was never activated.
  virtual void reset() = 0;
};

// Builds one device. The CLI records a factory per device option (--rng,
// --disk, ...) in the VM configuration; the board calls them in order while it
// is built and gives each device the next virtio-mmio slot. `loop` is the VM's
// I/O event loop, for devices with host file descriptors of their own.
//
// Adding a device: write devices/virtio/<name>.{hpp,cpp} implementing
// VirtioDevice plus a factory function (see rng_factory()); in cli/main.cpp
// parse its option and push the factory onto board.virtio_devices. Board,
// transport and device tree need no change.
using DeviceFactory = std::function<Result<std::unique_ptr<VirtioDevice>>(EventLoop& loop)>;

}  // namespace vireo::virtio
