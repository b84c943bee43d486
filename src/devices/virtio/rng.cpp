#include "devices/virtio/rng.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/log.hpp"

namespace vireo::virtio {
namespace {

Result<void> host_getrandom(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(ErrorCode::kIo, "getrandom");
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

Rng::Rng() : Rng(host_getrandom) {}

Rng::Rng(EntropySource source) : source_(std::move(source)), buffer_(kMaxRequestBytes) {}

Result<void> Rng::activate(uint64_t, std::span<VirtQueue> queues, const GuestMemory& memory,
                           DeviceHost& host) {
  if (queues.size() != 1 || !queues[0].ready()) {
    return make_error(ErrorCode::kGuest, "DRIVER_OK without the request queue ready");
  }
  queue_ = &queues[0];
  memory_ = &memory;
  host_ = &host;
  return {};
}

Result<void> Rng::queue_notify(uint16_t queue) {
  if (queue != 0 || queue_ == nullptr) return {};
  bool used = false;
  Result<void> result;
  // At most a ring's worth per call, so a driver that keeps refilling the
  // queue cannot hold the event loop; the rest comes on a requeued call.
  for (uint32_t served = 0; result; ++served) {
    if (served == kQueueSize) {
      host_->requeue(0);
      break;
    }
    auto popped = queue_->pop_chain(chain_);
    if (!popped) {
      result = std::unexpected(popped.error());
      break;
    }
    if (!*popped) break;
    result = serve(chain_);
    used = used || result;
  }
  // Requests served before a bad one are still the driver's to collect.
  if (used && queue_->needs_notification()) host_->notify_used(0);
  return result;
}

Result<void> Rng::serve(const DescriptorChain& chain) {
  // The driver must offer only device-writable buffers (§5.4.6.1); a
  // readable part is ignored, not read.
  const auto n = static_cast<size_t>(std::min<uint64_t>(chain.writable_bytes(), kMaxRequestBytes));
  uint32_t written = 0;
  if (n > 0) {
    const std::span<uint8_t> bytes(buffer_.data(), n);
    if (auto r = source_(bytes); !r) {
      // A host failure, not the guest's: return the buffer empty.
      VIREO_LOG_RATELIMITED(log::error, "virtio-rng: {}", r.error().message);
    } else {
      ChainWriter writer(*memory_, chain);
      if (auto w = writer.write(bytes); !w) return w;
      written = static_cast<uint32_t>(n);
      bytes_served_ += n;
    }
  }
  return queue_->add_used(chain.head(), written);
}

void Rng::reset() {
  queue_ = nullptr;
  memory_ = nullptr;
  host_ = nullptr;
}

DeviceFactory rng_factory() {
  return
      [](EventLoop&) -> Result<std::unique_ptr<VirtioDevice>> { return std::make_unique<Rng>(); };
}

}  // namespace vireo::virtio
