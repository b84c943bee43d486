#include "cpu/kvm/irqfd_lines.hpp"

#include <linux/kvm.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/log.hpp"

namespace vireo::kvm {

namespace {

void signal(int fd) {
  const uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the signal is pending anyway.
  if (::write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
    VIREO_LOG_RATELIMITED(log::error, "irqfd write failed: {}", std::strerror(errno));
  }
}

}  // namespace

Result<std::unique_ptr<IrqfdLines>> IrqfdLines::create(Vm& vm, EventLoop& loop,
                                                       std::span<const uint32_t> gsis) {
  if (vm.kvm().check_extension(KVM_CAP_IRQFD_RESAMPLE) <= 0) {
    return make_error(ErrorCode::kUnsupported, "KVM lacks KVM_CAP_IRQFD_RESAMPLE");
  }
  std::unique_ptr<IrqfdLines> lines(new IrqfdLines(vm, loop));
  for (uint32_t gsi : gsis) {
    auto line = std::make_unique<Line>();
    line->gsi = gsi;
    line->trigger_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    line->resample_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    Line* raw = line.get();
    lines->lines_.push_back(std::move(line));  // the destructor now closes its fds
    if (raw->trigger_fd < 0 || raw->resample_fd < 0) {
      return errno_error(ErrorCode::kIo, fmt::format("irqfd for GSI {}: eventfd", gsi));
    }
    if (auto r = vm.add_irqfd(raw->trigger_fd, gsi, raw->resample_fd); !r) {
      ::close(raw->trigger_fd);  // not registered: the destructor must not deassign it
      raw->trigger_fd = -1;
      return std::unexpected(r.error());
    }
    if (auto r = loop.add_fd(raw->resample_fd, EPOLLIN,
                             [self = lines.get(), raw](uint32_t) { self->on_resample(*raw); });
        !r) {
      return std::unexpected(r.error());
    }
  }
  return lines;
}

IrqfdLines::~IrqfdLines() {
  for (auto& line : lines_) {
    if (line->resample_fd >= 0) {
      [[maybe_unused]] auto r = loop_.remove_fd(line->resample_fd);
    }
    if (line->trigger_fd >= 0) {
      [[maybe_unused]] auto r = vm_.remove_irqfd(line->trigger_fd, line->gsi);
      ::close(line->trigger_fd);
    }
    if (line->resample_fd >= 0) ::close(line->resample_fd);
  }
}

IrqfdLines::Line* IrqfdLines::find(uint32_t gsi) {
  for (auto& line : lines_) {
    if (line->gsi == gsi) return line.get();
  }
  return nullptr;
}

void IrqfdLines::set_irq_level(uint32_t gsi, bool level) {
  Line* line = find(gsi);
  if (line == nullptr) {
    VIREO_LOG_RATELIMITED(log::error, "irqfd: no line for GSI {}", gsi);
    return;
  }
  const bool was = line->level.exchange(level, std::memory_order_acq_rel);
  if (level && !was) signal(line->trigger_fd);
}

void IrqfdLines::on_resample(Line& line) {
  uint64_t count = 0;
  if (::read(line.resample_fd, &count, sizeof(count)) < 0) return;  // EAGAIN: nothing new
  // KVM has lowered the input after the guest's EOI. A device still holding
  // its line high raised again meanwhile: assert once more.
  if (line.level.load(std::memory_order_acquire)) {
    reasserts_.fetch_add(1, std::memory_order_relaxed);
    signal(line.trigger_fd);
  }
}

}  // namespace vireo::kvm
