#include "devices/virtio/console.hpp"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/log.hpp"

namespace vireo::virtio {

Console::Console(std::shared_ptr<ConsolePort> port)
    : port_(std::move(port)),
      tx_notify_timer_(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)),
      rx_stage_(kStageBytes),
      tx_stage_(kStageBytes) {}

Console::~Console() {
  if (tx_notify_timer_ >= 0) ::close(tx_notify_timer_);
}

void Console::notify_transmit() {
  if (tx_notify_armed_) return;
  if (tx_notify_timer_ >= 0 && host_->watch_fd(tx_notify_timer_, EPOLLIN, [this](uint32_t) {
        uint64_t n;
        [[maybe_unused]] ssize_t r = ::read(tx_notify_timer_, &n, sizeof(n));
        host_->unwatch_fd(tx_notify_timer_);
        tx_notify_armed_ = false;
        if (tx_->needs_notification()) host_->notify_used(kTransmitQueue);
      })) {
    itimerspec t{};
    t.it_value.tv_nsec = kTransmitNotifyDelayNs;
    ::timerfd_settime(tx_notify_timer_, 0, &t, nullptr);
    tx_notify_armed_ = true;
    return;
  }
  if (tx_->needs_notification()) host_->notify_used(kTransmitQueue);  // no timer: at once
}

void Console::read_config(uint32_t offset, std::span<uint8_t> out) {
  // No F_SIZE, no MULTIPORT: the fields read as a one-port console.
  const Config config{0, 0, 1, 0};
  uint8_t bytes[sizeof(Config)];
  std::memcpy(bytes, &config, sizeof(config));
  if (offset >= sizeof(bytes)) return;
  const size_t n = std::min<size_t>(out.size(), sizeof(bytes) - offset);
  std::memcpy(out.data(), bytes + offset, n);
}

Result<void> Console::activate(uint64_t, std::span<VirtQueue> queues, const GuestMemory& memory,
                               DeviceHost& host) {
  if (queues.size() != 2 || !queues[kReceiveQueue].ready() || !queues[kTransmitQueue].ready()) {
    return make_error(ErrorCode::kGuest,
                      "DRIVER_OK without the receive and transmit queues of port 0 ready");
  }
  rx_ = &queues[kReceiveQueue];
  tx_ = &queues[kTransmitQueue];
  memory_ = &memory;
  host_ = &host;
  watch_input(true);
  if (!input_watched_) {
    reset();
    return make_error(ErrorCode::kUnsupported, "virtio-console: cannot watch the host input");
  }
  return {};
}

void Console::watch_input(bool on) {
  if (on == input_watched_ || host_ == nullptr) return;
  if (on) {
    auto r = host_->watch_fd(port_->input_fd(), EPOLLIN, [this](uint32_t) {
      if (auto p = pump_receive(); !p) host_->fail(p.error());
    });
    if (!r) {
      VIREO_LOG_RATELIMITED(log::error, "virtio-console: {}", r.error().message);
      return;
    }
  } else {
    host_->unwatch_fd(port_->input_fd());
  }
  input_watched_ = on;
}

void Console::watch_output_space(bool on) {
  if (on == output_space_watched_ || host_ == nullptr) return;
  const int fd = port_->output_space_fd();
  if (on) {
    auto r = host_->watch_fd(fd, EPOLLIN, [this, fd](uint32_t) {
      uint64_t count;
      [[maybe_unused]] ssize_t n = ::read(fd, &count, sizeof(count));
      watch_output_space(false);
      if (auto p = pump_transmit(); !p) host_->fail(p.error());
    });
    if (!r) {
      VIREO_LOG_RATELIMITED(log::error, "virtio-console: {}", r.error().message);
      return;
    }
  } else {
    host_->unwatch_fd(fd);
  }
  output_space_watched_ = on;
}

Result<void> Console::queue_notify(uint16_t queue) {
  if (host_ == nullptr) return {};
  if (queue == kReceiveQueue) return pump_receive();
  if (queue == kTransmitQueue) return pump_transmit();
  return {};
}

Result<void> Console::pump_receive() {
  bool used = false;
  Result<void> result;
  for (uint32_t filled = 0;; ++filled) {
    if (rx_stage_len_ == 0) {
      rx_stage_len_ = port_->read_input(rx_stage_);
      if (rx_stage_len_ == 0) {
        watch_input(true);  // wait for the host
        break;
      }
    }
    if (filled == kQueueSize) {  // bound the work of one call
      host_->requeue(kReceiveQueue);
      break;
    }
    auto popped = rx_->pop_chain(rx_chain_);
    if (!popped) {
      result = std::unexpected(popped.error());
      break;
    }
    if (!*popped) {
      // No buffers: stop looking at host input until the driver adds some
      // (its notification brings us back here).
      watch_input(false);
      break;
    }
    ChainWriter writer(*memory_, rx_chain_);
    const size_t n = static_cast<size_t>(std::min<uint64_t>(rx_stage_len_, writer.remaining()));
    if (n > 0) {
      if (auto w = writer.write(std::span(rx_stage_.data(), n)); !w) {
        result = w;
        break;
      }
      std::memmove(rx_stage_.data(), rx_stage_.data() + n, rx_stage_len_ - n);
      rx_stage_len_ -= n;
      bytes_received_ += n;
    }
    if (auto u = rx_->add_used(rx_chain_.head(), static_cast<uint32_t>(n)); !u) {
      result = u;
      break;
    }
    used = true;
  }
  if (used && rx_->needs_notification()) host_->notify_used(kReceiveQueue);
  return result;
}

Result<void> Console::pump_transmit() {
  if (output_space_watched_) return {};  // the host output is backed up
  bool used = false;
  Result<void> result;
  uint64_t budget = kMaxTransmitPerCall;
  for (uint32_t chains = 0;;) {
    if (tx_stage_pos_ < tx_stage_len_) {
      const size_t took = port_->write_output(
          std::span(tx_stage_.data() + tx_stage_pos_, tx_stage_len_ - tx_stage_pos_));
      tx_stage_pos_ += took;
      bytes_transmitted_ += took;
      if (tx_stage_pos_ < tx_stage_len_) {
        watch_output_space(true);  // resume when the host output drains
        break;
      }
    }
    if (tx_chain_held_ && tx_reader_->remaining() > 0) {
      if (budget == 0) {
        host_->requeue(kTransmitQueue);
        break;
      }
      const size_t n = static_cast<size_t>(
          std::min<uint64_t>({tx_reader_->remaining(), uint64_t{kStageBytes}, budget}));
      if (auto r = tx_reader_->read(std::span(tx_stage_.data(), n)); !r) {
        result = r;
        break;
      }
      tx_stage_pos_ = 0;
      tx_stage_len_ = n;
      budget -= n;
      continue;
    }
    if (tx_chain_held_) {
      tx_chain_held_ = false;
      tx_reader_.reset();
      if (auto u = tx_->add_used(tx_chain_.head(), 0); !u) {
        result = u;
        break;
      }
      used = true;
    }
    if (chains++ == kQueueSize) {
      host_->requeue(kTransmitQueue);
      break;
    }
    auto popped = tx_->pop_chain(tx_chain_);
    if (!popped) {
      result = std::unexpected(popped.error());
      break;
    }
    if (!*popped) break;
    // The driver must offer only device-readable buffers (§5.3.6.1); a
    // writable part is left alone.
    tx_chain_held_ = true;
    tx_reader_.emplace(*memory_, tx_chain_);
  }
  if (used) notify_transmit();
  return result;
}

void Console::reset() {
  rx_ = tx_ = nullptr;
  memory_ = nullptr;
  host_ = nullptr;
  input_watched_ = output_space_watched_ = false;  // the transport ends the watches
  if (tx_notify_armed_) {
    const itimerspec off{};
    ::timerfd_settime(tx_notify_timer_, 0, &off, nullptr);
    tx_notify_armed_ = false;
  }
  rx_stage_len_ = 0;
  tx_chain_held_ = false;
  tx_reader_.reset();
  tx_stage_pos_ = tx_stage_len_ = 0;
}

DeviceFactory console_factory(std::shared_ptr<ConsolePort> port) {
  return [port = std::move(port)](EventLoop&) -> Result<std::unique_ptr<VirtioDevice>> {
    return std::make_unique<Console>(port);
  };
}

}  // namespace vireo::virtio
