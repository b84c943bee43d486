#include "devices/virtio/transport_mmio.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "core/log.hpp"

namespace vireo::virtio {

// Everything the transport is, shared with the handlers it registers on the
// event loop, so a handler that is running while the transport is destroyed
// still finds its state (it then sees `closed` and returns).
//
// Locks, always taken in this order: `mutex` (the registers), then
// `device_mutex` (serialises every call into the device and guards the
// device-side state), then `irq_mutex` (InterruptStatus and the line level).
// DeviceHost callbacks run with device_mutex held and take only irq_mutex.
struct MmioTransport::Core final : DeviceHost, std::enable_shared_from_this<Core> {
  Core(std::unique_ptr<VirtioDevice> dev, const GuestMemory& mem, IrqLine line, EventLoop* l,
       std::string n)
      : device(std::move(dev)),
        device_id(device->device_id()),
        offered_features(device->device_features() | kTransportFeatures),
        max_sizes(device->queue_max_sizes().begin(), device->queue_max_sizes().end()),
        config_size(device->config_size()),
        memory(mem),
        irq(line),
        loop(l),
        label(fmt::format("{} ({})", n, device_id_name(device_id))),
        queue_regs(max_sizes.size()) {}
  ~Core() override {
    if (notify_fd >= 0) ::close(notify_fd);
    for (int fd : queue_notify_fds) ::close(fd);
  }

  // ---- Constant after construction
  std::unique_ptr<VirtioDevice> device;  // destroyed by close(), under device_mutex
  const uint32_t device_id;
  const uint64_t offered_features;
  const std::vector<uint16_t> max_sizes;
  const uint32_t config_size;
  const GuestMemory& memory;
  const IrqLine irq;
  EventLoop* const loop;
  const std::string label;
  int notify_fd = -1;
  std::vector<int> queue_notify_fds;  // per queue, for ioeventfd-style notification

  // ---- Registers, guarded by `mutex`
  struct QueueRegs {
    uint32_t num = 0;
    bool ready = false;
    uint64_t desc = 0, driver = 0, device = 0;
  };
  std::mutex mutex;
  uint32_t status = 0;  // driver-set bits; NEEDS_RESET lives in `needs_reset`
  uint32_t device_features_sel = 0;
  uint32_t driver_features_sel = 0;
  uint64_t driver_features = 0;
  bool driver_features_beyond_64 = false;  // a nonzero write to a word past 63
  uint32_t queue_sel = 0;
  std::vector<QueueRegs> queue_regs;

  // ---- Lock-free state
  std::atomic<bool> needs_reset{false};
  std::atomic<uint32_t> config_generation{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> pending_notify{0};  // bit q: queue q was notified

  // ---- Device side, guarded by `device_mutex`
  std::mutex device_mutex;
  bool active = false;
  bool closed = false;
  std::vector<VirtQueue> queues;
  std::vector<int> watched_fds;

  // ---- Interrupt, guarded by `irq_mutex` (interrupt_status is also read lock-free)
  std::mutex irq_mutex;
  std::atomic<uint32_t> interrupt_status{0};
  bool line_level = false;

  uint32_t num_queues() const { return static_cast<uint32_t>(max_sizes.size()); }

  template <class... Args>
  void guest_error(fmt::format_string<Args...> f, Args&&... args) {
    errors.fetch_add(1, std::memory_order_relaxed);
    VIREO_LOG_RATELIMITED(log::warn, "{}: {}", label, fmt::format(f, std::forward<Args>(args)...));
  }

  // ---- Interrupts
  void update_line_locked() {
    const bool level = interrupt_status.load(std::memory_order_relaxed) != 0;
    if (level == line_level) return;
    line_level = level;
    irq.set_level(level);
  }
  void raise_interrupt(uint32_t bits) {
    std::lock_guard lock(irq_mutex);
    interrupt_status.fetch_or(bits, std::memory_order_relaxed);
    update_line_locked();
  }
  void ack_interrupt(uint32_t bits) {
    std::lock_guard lock(irq_mutex);
    interrupt_status.fetch_and(~bits, std::memory_order_relaxed);
    update_line_locked();
  }

  // The driver broke the protocol: DEVICE_NEEDS_RESET and a config-change
  // interrupt (§2.1.2: the device must send one after setting the bit).
  void mark_needs_reset(const Error& error) {
    guest_error("{}; the device needs a reset", error.message);
    if (!needs_reset.exchange(true)) raise_interrupt(kInterruptConfigChange);
  }

  // ---- DeviceHost (called by the device with device_mutex held)
  void notify_used(uint16_t) override { raise_interrupt(kInterruptUsedBuffer); }
  void requeue(uint16_t queue) override {
    if (queue >= num_queues()) return;
    const uint64_t bit = uint64_t{1} << queue;
    // Without a loop, notify() drains pending_notify after the call returns.
    if (pending_notify.fetch_or(bit, std::memory_order_acq_rel) == 0 && loop != nullptr) {
      signal_loop();
    }
  }
  void notify_config_changed() override {
    config_generation.fetch_add(1, std::memory_order_acq_rel);
    raise_interrupt(kInterruptConfigChange);
  }
  void fail(const Error& error) override {
    unwatch_all_locked();
    mark_needs_reset(error);
  }
  Result<void> watch_fd(int fd, uint32_t epoll_events,
                        std::function<void(uint32_t)> handler) override {
    if (loop == nullptr) {
      return make_error(ErrorCode::kUnsupported, "no event loop to watch file descriptors on");
    }
    auto added = loop->add_fd(fd, epoll_events,
                              [weak = weak_from_this(), h = std::move(handler)](uint32_t events) {
                                auto core = weak.lock();
                                if (!core) return;
                                std::lock_guard lock(core->device_mutex);
                                if (core->closed || !core->active || core->needs_reset.load())
                                  return;
                                h(events);
                              });
    if (!added) return added;
    watched_fds.push_back(fd);
    return {};
  }
  void unwatch_fd(int fd) override {
    auto it = std::find(watched_fds.begin(), watched_fds.end(), fd);
    if (it == watched_fds.end()) return;
    watched_fds.erase(it);
    [[maybe_unused]] auto r = loop->remove_fd(fd);
  }
  void unwatch_all_locked() {
    for (int fd : watched_fds) [[maybe_unused]] auto r = loop->remove_fd(fd);
    watched_fds.clear();
  }

  // ---- Queue notifications
  // Runs the device for the notified queues; on the loop thread, or inline
  // without a loop.
  void dispatch_notifications(uint64_t mask) {
    std::lock_guard lock(device_mutex);
    if (closed || !active || needs_reset.load()) return;
    while (mask != 0) {
      const auto q = static_cast<uint16_t>(std::countr_zero(mask));
      mask &= mask - 1;
      if (q >= queues.size() || !queues[q].ready()) {
        guest_error("notification for queue {}, which is not ready", q);
        continue;
      }
      if (auto r = device->queue_notify(q); !r) {
        fail(r.error());
        return;
      }
      if (needs_reset.load()) return;  // the device called fail()
    }
  }
  // Queue q's own eventfd fired (a hypervisor turned the guest's QueueNotify
  // write into a signal): the same as the write, already on the loop thread.
  void on_queue_notify_event(uint16_t q, int fd) {
    uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(fd, &count, sizeof(count));
    pending_notify.fetch_or(uint64_t{1} << q, std::memory_order_acq_rel);
    dispatch_notifications(pending_notify.exchange(0, std::memory_order_acq_rel));
  }
  void on_notify_event() {
    uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(notify_fd, &count, sizeof(count));
    dispatch_notifications(pending_notify.exchange(0, std::memory_order_acq_rel));
  }
  // A QueueNotify write: no device work here, on the vCPU thread.
  void notify(uint32_t value) {
    // Without VIRTIO_F_NOTIFICATION_DATA (not offered) the value is the index.
    if (value >= num_queues()) {
      guest_error("QueueNotify for queue {}, the device has {}", value, num_queues());
      return;
    }
    const uint64_t bit = uint64_t{1} << value;
    if (loop == nullptr) {
      for (uint64_t mask = bit; mask != 0;
           mask = pending_notify.exchange(0, std::memory_order_acq_rel)) {
        dispatch_notifications(mask);
      }
      return;
    }
    // Only the first bit since the loop last drained the mask needs a wake-up.
    if (pending_notify.fetch_or(bit, std::memory_order_acq_rel) == 0) signal_loop();
  }
  void signal_loop() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(notify_fd, &one, sizeof(one));
  }

  // ---- Registers (mutex held)
  QueueRegs* selected_queue_locked(const char* reg) {
    if (queue_sel >= num_queues()) {
      guest_error("{} write for queue {}, the device has {}", reg, queue_sel, num_queues());
      return nullptr;
    }
    return &queue_regs[queue_sel];
  }
  // The queue registers are written after FEATURES_OK and before DRIVER_OK
  // (§3.1.1 step 7), and not while the queue is ready (§4.2.2.2).
  QueueRegs* configurable_queue_locked(const char* reg) {
    QueueRegs* q = selected_queue_locked(reg);
    if (q == nullptr) return nullptr;
    if ((status & kStatusFeaturesOk) == 0 || (status & kStatusDriverOk) != 0) {
      guest_error(
          "{} write with device status {:#x}: queues are set up between FEATURES_OK and "
          "DRIVER_OK",
          reg, status);
      return nullptr;
    }
    if (q->ready) {
      guest_error("{} write for queue {} while it is ready", reg, queue_sel);
      return nullptr;
    }
    return q;
  }
  static void set_half(uint64_t& reg, bool high, uint32_t value) {
    reg = high ? (reg & 0xffffffffull) | (uint64_t{value} << 32)
               : (reg & ~0xffffffffull) | uint64_t{value};
  }

  void write_queue_ready_locked(uint32_t value) {
    if (value == 0) {
      QueueRegs* q = selected_queue_locked("QueueReady");
      if (q == nullptr) return;
      if (status & kStatusDriverOk) {
        // Without VIRTIO_F_RING_RESET a live queue cannot be stopped alone.
        guest_error("QueueReady=0 for queue {} while the device is live", queue_sel);
        return;
      }
      q->ready = false;
      return;
    }
    QueueRegs* q = configurable_queue_locked("QueueReady");
    if (q == nullptr) return;
    const uint16_t max = max_sizes[queue_sel];
    if (q->num == 0 || q->num > max) {
      mark_needs_reset(Error{ErrorCode::kGuest, fmt::format("queue {} size {} is not in 1..{}",
                                                            queue_sel, q->num, max)});
      return;
    }
    const QueueLayout layout{static_cast<uint16_t>(q->num), GuestAddr(q->desc),
                             GuestAddr(q->driver), GuestAddr(q->device)};
    if (auto r = VirtQueue::check_layout(memory, layout); !r) {
      mark_needs_reset(
          Error{ErrorCode::kGuest, fmt::format("queue {}: {}", queue_sel, r.error().message)});
      return;
    }
    q->ready = true;
  }

  void write_driver_features_locked(uint32_t value) {
    if ((status & kStatusDriver) == 0 || (status & kStatusFeaturesOk) != 0) {
      guest_error(
          "DriverFeatures write with device status {:#x}: features are written after DRIVER "
          "and before FEATURES_OK",
          status);
      return;
    }
    if (driver_features_sel < 2) {
      set_half(driver_features, driver_features_sel == 1, value);
    } else if (value != 0) {
      driver_features_beyond_64 = true;
    }
  }

  bool features_acceptable_locked() {
    if (driver_features_beyond_64 || (driver_features & ~offered_features) != 0) {
      guest_error("driver accepted features {:#x} the device did not offer (offered {:#x})",
                  driver_features & ~offered_features, offered_features);
      return false;
    }
    if ((driver_features & kFeatureVersion1) == 0) {
      guest_error("driver did not accept VIRTIO_F_VERSION_1: legacy drivers are not supported");
      return false;
    }
    return true;
  }

  // The driver set DRIVER_OK: build the queues and start the device.
  void activate_locked() {
    std::lock_guard lock(device_mutex);
    if (closed) return;
    queues.clear();
    queues.reserve(num_queues());
    uint64_t ready_mask = 0;
    for (uint32_t i = 0; i < num_queues(); ++i) {
      const QueueRegs& r = queue_regs[i];
      if (!r.ready) {
        queues.emplace_back();
        continue;
      }
      const QueueLayout layout{static_cast<uint16_t>(r.num), GuestAddr(r.desc), GuestAddr(r.driver),
                               GuestAddr(r.device)};
      auto vq = VirtQueue::create(memory, layout, driver_features);
      if (!vq) {  // checked at QueueReady already; RAM does not shrink
        queues.clear();
        mark_needs_reset(vq.error());
        return;
      }
      queues.push_back(std::move(*vq));
      ready_mask |= uint64_t{1} << i;
    }
    if (auto r = device->activate(driver_features, queues, memory, *this); !r) {
      device->reset();
      unwatch_all_locked();
      queues.clear();
      mark_needs_reset(r.error());
      return;
    }
    active = true;
    // Buffers the driver made available before DRIVER_OK get looked at now.
    if (loop != nullptr && ready_mask != 0 &&
        pending_notify.fetch_or(ready_mask, std::memory_order_acq_rel) == 0) {
      signal_loop();
    }
  }

  void reset_locked() {
    {
      std::lock_guard lock(device_mutex);
      if (device) device->reset();
      unwatch_all_locked();
      queues.clear();
      active = false;
      pending_notify.store(0, std::memory_order_relaxed);
      needs_reset.store(false);
    }
    status = 0;
    device_features_sel = driver_features_sel = 0;
    driver_features = 0;
    driver_features_beyond_64 = false;
    queue_sel = 0;
    std::fill(queue_regs.begin(), queue_regs.end(), QueueRegs{});
    std::lock_guard lock(irq_mutex);
    interrupt_status.store(0, std::memory_order_relaxed);
    update_line_locked();
  }

  // The device-status state machine (§2.1, §3.1.1). Writing 0 resets; other
  // writes may only add bits, in order: ACKNOWLEDGE, DRIVER, FEATURES_OK
  // (refused unless the accepted features are acceptable), DRIVER_OK.
  // FAILED may be set at any time. A refused step leaves its bit clear, which
  // is how the driver learns of it.
  void write_status_locked(uint32_t value) {
    if (value == 0) {
      reset_locked();
      return;
    }
    value &=
        kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk | kStatusFailed;
    if ((value & status) != status) {
      guest_error("status write {:#x} clears bits of {:#x}; only a reset (0) clears them", value,
                  status);
      return;
    }
    uint32_t add = value & ~status;
    if (add & kStatusFailed) status |= kStatusFailed;
    add &= ~kStatusFailed;
    if (add == 0) return;
    if (needs_reset.load()) {
      guest_error("status write {:#x} while the device needs a reset", value);
      return;
    }
    if (add & kStatusAcknowledge) status |= kStatusAcknowledge;
    if (add & kStatusDriver) {
      if ((status & kStatusAcknowledge) == 0) {
        guest_error("DRIVER set before ACKNOWLEDGE");
        return;
      }
      status |= kStatusDriver;
    }
    if (add & kStatusFeaturesOk) {
      if ((status & kStatusDriver) == 0) {
        guest_error("FEATURES_OK set before DRIVER");
        return;
      }
      if (!features_acceptable_locked()) return;
      status |= kStatusFeaturesOk;
    }
    if (add & kStatusDriverOk) {
      if ((status & kStatusFeaturesOk) == 0) {
        guest_error("DRIVER_OK set before FEATURES_OK");
        return;
      }
      status |= kStatusDriverOk;
      activate_locked();
    }
  }

  // ---- Bus accesses
  uint64_t read_config(uint64_t offset, unsigned size) {
    if ((size != 1 && size != 2 && size != 4 && size != 8) || offset > config_size ||
        size > config_size - offset) {
      guest_error("{}-byte config read at {:#x} outside the {}-byte configuration space", size,
                  offset, config_size);
      return 0;
    }
    uint8_t bytes[8] = {};
    {
      std::lock_guard lock(device_mutex);
      if (!device) return 0;
      device->read_config(static_cast<uint32_t>(offset), std::span(bytes, size));
    }
    uint64_t value = 0;
    std::memcpy(&value, bytes, size);  // little-endian
    return value;
  }
  void write_config(uint64_t offset, unsigned size, uint64_t value) {
    if ((size != 1 && size != 2 && size != 4 && size != 8) || offset > config_size ||
        size > config_size - offset) {
      guest_error("{}-byte config write at {:#x} outside the {}-byte configuration space", size,
                  offset, config_size);
      return;
    }
    uint8_t bytes[8];
    std::memcpy(bytes, &value, sizeof(bytes));
    std::lock_guard lock(device_mutex);
    if (device) device->write_config(static_cast<uint32_t>(offset), std::span(bytes, size));
  }

  uint64_t read(uint64_t offset, unsigned size) {
    if (offset >= kConfig) return read_config(offset - kConfig, size);
    if (size != 4 || offset % 4 != 0) {
      guest_error("{}-byte read of register {:#x}: registers are 32-bit", size, offset);
      return 0;
    }
    switch (offset) {
      case kMagicValue:
        return kMagic;
      case kVersionReg:
        return kVersion;
      case kDeviceIdReg:
        return device_id;
      case kVendorIdReg:
        return kVendorId;
      case kInterruptStatus:
        return interrupt_status.load(std::memory_order_acquire);
      case kConfigGeneration:
        return config_generation.load(std::memory_order_acquire);
      case kShmLenLow:
      case kShmLenHigh:
      case kShmBaseLow:
      case kShmBaseHigh:
        return 0xffffffff;  // no shared memory regions: length and base read as -1
      default:
        break;
    }
    std::lock_guard lock(mutex);
    switch (offset) {
      case kDeviceFeatures:
        return device_features_sel < 2
                   ? (offered_features >> (32 * device_features_sel)) & 0xffffffff
                   : 0;
      case kQueueNumMax:
        return queue_sel < num_queues() ? max_sizes[queue_sel] : 0;
      case kQueueReady:
        return queue_sel < num_queues() && queue_regs[queue_sel].ready ? 1 : 0;
      case kStatus:
        return status | (needs_reset.load() ? kStatusNeedsReset : 0);
      default:
        // Write-only and reserved registers read as 0.
        return 0;
    }
  }

  void write(uint64_t offset, unsigned size, uint64_t value64) {
    if (offset >= kConfig) {
      write_config(offset - kConfig, size, value64);
      return;
    }
    if (size != 4 || offset % 4 != 0) {
      guest_error("{}-byte write of register {:#x}: registers are 32-bit", size, offset);
      return;
    }
    const auto value = static_cast<uint32_t>(value64);
    switch (offset) {
      case kQueueNotify:
        notify(value);
        return;
      case kInterruptAck:
        ack_interrupt(value & (kInterruptUsedBuffer | kInterruptConfigChange));
        return;
      default:
        break;
    }
    std::lock_guard lock(mutex);
    switch (offset) {
      case kDeviceFeaturesSel:
        device_features_sel = value;
        return;
      case kDriverFeaturesSel:
        driver_features_sel = value;
        return;
      case kDriverFeatures:
        write_driver_features_locked(value);
        return;
      case kQueueSel:
        queue_sel = value;
        return;
      case kQueueNum:
        if (QueueRegs* q = configurable_queue_locked("QueueNum")) q->num = value;
        return;
      case kQueueReady:
        write_queue_ready_locked(value);
        return;
      case kQueueDescLow:
      case kQueueDescHigh:
        if (QueueRegs* q = configurable_queue_locked("QueueDesc")) {
          set_half(q->desc, offset == kQueueDescHigh, value);
        }
        return;
      case kQueueDriverLow:
      case kQueueDriverHigh:
        if (QueueRegs* q = configurable_queue_locked("QueueDriver")) {
          set_half(q->driver, offset == kQueueDriverHigh, value);
        }
        return;
      case kQueueDeviceLow:
      case kQueueDeviceHigh:
        if (QueueRegs* q = configurable_queue_locked("QueueDevice")) {
          set_half(q->device, offset == kQueueDeviceHigh, value);
        }
        return;
      case kStatus:
        write_status_locked(value);
        return;
      case kShmSel:
        return;  // no shared memory regions; reads of them say so
      default:
        guest_error("write of {:#x} to read-only or reserved register {:#x}", value, offset);
        return;
    }
  }

  void close() {
    std::lock_guard regs(mutex);
    {
      std::lock_guard lock(device_mutex);
      if (closed) return;
      closed = true;
      if (active) device->reset();
      unwatch_all_locked();
      queues.clear();
      active = false;
      device.reset();
    }
    if (loop != nullptr && notify_fd >= 0) [[maybe_unused]]
      auto r = loop->remove_fd(notify_fd);
    if (loop != nullptr) {
      for (int fd : queue_notify_fds) [[maybe_unused]] auto r = loop->remove_fd(fd);
    }
  }
};

Result<std::unique_ptr<MmioTransport>> MmioTransport::create(std::unique_ptr<VirtioDevice> device,
                                                             const GuestMemory& memory, IrqLine irq,
                                                             EventLoop* loop, std::string name) {
  if (!device) return make_error(ErrorCode::kInternal, "virtio-mmio: no device");
  const size_t queues = device->queue_max_sizes().size();
  if (queues == 0 || queues > kMaxQueues) {
    return make_error(
        ErrorCode::kInternal,
        fmt::format("virtio-mmio: a device with {} queues (1..{} supported)", queues, kMaxQueues));
  }
  for (uint16_t max : device->queue_max_sizes()) {
    if (max == 0 || max > VirtQueue::kMaxSize || !std::has_single_bit(max)) {
      return make_error(ErrorCode::kInternal,
                        fmt::format("virtio-mmio: queue maximum {} is not a power of two in 1..{}",
                                    max, VirtQueue::kMaxSize));
    }
  }
  auto core = std::make_shared<Core>(std::move(device), memory, irq, loop, std::move(name));
  if (loop != nullptr) {
    core->notify_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (core->notify_fd < 0) return errno_error(ErrorCode::kIo, "virtio-mmio: eventfd");
    auto added =
        loop->add_fd(core->notify_fd, EPOLLIN, [weak = std::weak_ptr<Core>(core)](uint32_t) {
          if (auto c = weak.lock()) c->on_notify_event();
        });
    if (!added) return std::unexpected(added.error());
  }
  return std::unique_ptr<MmioTransport>(new MmioTransport(std::move(core)));
}

MmioTransport::~MmioTransport() { core_->close(); }

uint64_t MmioTransport::read(uint64_t offset, unsigned size) { return core_->read(offset, size); }

void MmioTransport::write(uint64_t offset, unsigned size, uint64_t value) {
  core_->write(offset, size, value);
}

Result<std::vector<int>> MmioTransport::create_queue_notify_fds() {
  Core& c = *core_;
  if (c.loop == nullptr) {
    return make_error(ErrorCode::kInternal, "virtio-mmio: queue eventfds need an event loop");
  }
  if (!c.queue_notify_fds.empty()) return c.queue_notify_fds;
  for (uint16_t q = 0; q < c.num_queues(); ++q) {
    const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) return errno_error(ErrorCode::kIo, "virtio-mmio: queue eventfd");
    c.queue_notify_fds.push_back(fd);
    auto added = c.loop->add_fd(fd, EPOLLIN, [weak = std::weak_ptr<Core>(core_), q, fd](uint32_t) {
      if (auto core = weak.lock()) core->on_queue_notify_event(q, fd);
    });
    if (!added) return std::unexpected(added.error());
  }
  return c.queue_notify_fds;
}

VirtioDevice& MmioTransport::device() { return *core_->device; }

uint64_t MmioTransport::error_count() const {
  return core_->errors.load(std::memory_order_relaxed);
}

}  // namespace vireo::virtio
