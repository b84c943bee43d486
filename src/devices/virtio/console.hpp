// virtio-console (virtio 1.2 §5.3, device ID 3) with one port, port 0, which
// Linux's driver makes hvc0: the receive queue takes host input, the transmit
// queue carries guest output. The host end of the port is a ConsolePort (the
// VMM's terminal handling): the device pulls input from it only while the
// driver has receive buffers, and when the host output backs up it stops
// taking transmit buffers until the port says there is room again. Nothing
// here blocks.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "devices/virtio/device.hpp"

namespace vireo::virtio {

// The host end of a console port: a byte stream each way that never blocks.
// Its calls come from the I/O event loop thread, serialised with the device.
class ConsolePort {
 public:
  virtual ~ConsolePort() = default;
  // Copies up to out.size() bytes of host input for the guest; returns how
  // many (0: none now).
  virtual size_t read_input(std::span<uint8_t> out) = 0;
  // An eventfd that is readable while read_input() has bytes. The device only
  // watches it; it never reads or writes it.
  virtual int input_fd() const = 0;
  // Takes what it can of the guest's output without blocking; returns how
  // many bytes it took (fewer than offered: the host output is backed up).
  virtual size_t write_output(std::span<const uint8_t> bytes) = 0;
  // An eventfd signalled (made readable) when write_output() can take more
  // after it took fewer bytes than offered. The device reads it to clear it.
  virtual int output_space_fd() const = 0;
};

class Console final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 128;
  static constexpr uint16_t kReceiveQueue = 0;
  static constexpr uint16_t kTransmitQueue = 1;
  // Bytes staged between the host and the guest in each direction.
  static constexpr size_t kStageBytes = 4096;
  // Transmit work per call before the rest is requeued.
  static constexpr uint64_t kMaxTransmitPerCall = 256 * 1024;

  // The configuration space (§5.3.4); cols/rows are meaningful only with
  // VIRTIO_CONSOLE_F_SIZE, which is not offered.
  struct Config {
    uint16_t cols;
    uint16_t rows;
    uint32_t max_nr_ports;
    uint32_t emerg_wr;
  };
  static_assert(sizeof(Config) == 12);

  // How long a transmit used-buffer notification waits: see notify_transmit().
  static constexpr long kTransmitNotifyDelayNs = 1'000'000;

  explicit Console(std::shared_ptr<ConsolePort> port);
  ~Console() override;

  uint32_t device_id() const override { return static_cast<uint32_t>(DeviceId::kConsole); }
  uint64_t device_features() const override { return 0; }
  std::span<const uint16_t> queue_max_sizes() const override { return kQueueSizes; }
  uint32_t config_size() const override { return sizeof(Config); }
  void read_config(uint32_t offset, std::span<uint8_t> out) override;

  Result<void> activate(uint64_t features, std::span<VirtQueue> queues, const GuestMemory& memory,
                        DeviceHost& host) override;
  Result<void> queue_notify(uint16_t queue) override;
  void reset() override;

  uint64_t bytes_received() const { return bytes_received_; }
  uint64_t bytes_transmitted() const { return bytes_transmitted_; }

 private:
  static constexpr uint16_t kQueueSizes[2] = {kQueueSize, kQueueSize};

  // Moves host input into receive buffers while both exist.
  Result<void> pump_receive();
  // Moves transmit buffers to the host output while it takes them.
  Result<void> pump_transmit();
  void watch_input(bool on);
  void watch_output_space(bool on);
  // Linux's hvc path polls the transmit queue for its buffers with
  // interrupts off, so an interrupt sent at once finds them gone, and after
  // 100,000 such "nobody cared" interrupts the kernel disables the line. So
  // the notification waits a moment and asks the driver again: by then its
  // used_event (EVENT_IDX) says whether it already took them.
  void notify_transmit();

  std::shared_ptr<ConsolePort> port_;
  VirtQueue* rx_ = nullptr;  // set while active
  VirtQueue* tx_ = nullptr;
  const GuestMemory* memory_ = nullptr;
  DeviceHost* host_ = nullptr;
  bool input_watched_ = false;
  bool output_space_watched_ = false;
  int tx_notify_timer_ = -1;
  bool tx_notify_armed_ = false;

  // Host input read from the port, not yet in a receive buffer.
  std::vector<uint8_t> rx_stage_;
  size_t rx_stage_len_ = 0;
  DescriptorChain rx_chain_;

  // The transmit chain being written out: what of it is left, and bytes
  // read from it that the host has not taken yet.
  DescriptorChain tx_chain_;
  bool tx_chain_held_ = false;
  std::optional<ChainReader> tx_reader_;
  std::vector<uint8_t> tx_stage_;
  size_t tx_stage_pos_ = 0;
  size_t tx_stage_len_ = 0;

  uint64_t bytes_received_ = 0;
  uint64_t bytes_transmitted_ = 0;
};

// The factory `vireo run --console virtio` adds, with the VMM's terminal as port 0.
DeviceFactory console_factory(std::shared_ptr<ConsolePort> port);

}  // namespace vireo::virtio
