#include "devices/virtio/net_tap.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/log.hpp"

namespace vireo::virtio {

Result<std::unique_ptr<TapBackend>> TapBackend::open(const std::string& name) {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENODEV || err == ENXIO) {
      return make_error(ErrorCode::kNotFound,
                        fmt::format("--net tap={}: /dev/net/tun does not exist: load the tun "
                                    "module (modprobe tun) or use --net user",
                                    name));
    }
    return make_error(ErrorCode::kPermission,
                      fmt::format("--net tap={}: cannot open /dev/net/tun ({}): run vireo as root "
                                  "or with CAP_NET_ADMIN, or use --net user",
                                  name, std::strerror(err)));
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    const int err = errno;
    ::close(fd);
    if (err == EPERM || err == EACCES) {
      return make_error(ErrorCode::kPermission,
                        fmt::format("--net tap={}: attaching to the tap interface needs "
                                    "CAP_NET_ADMIN: run vireo as root, or create it for your user "
                                    "first (ip tuntap add {} mode tap user $USER)",
                                    name, name));
    }
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("--net tap={}: cannot attach to the tap interface ({}): is {} a "
                                  "tap (not tun) interface that no other program holds?",
                                  name, std::strerror(err), name));
  }
  int hdr_size = static_cast<int>(Net::kHdrSize);
  if (::ioctl(fd, TUNSETVNETHDRSZ, &hdr_size) < 0) {
    auto e =
        errno_error(ErrorCode::kUnsupported, fmt::format("--net tap={}: TUNSETVNETHDRSZ", name));
    ::close(fd);
    return e;
  }
  auto backend = std::unique_ptr<TapBackend>(new TapBackend(fd, name));
  // Offloads start off; the guest's accepted features turn them on.
  if (auto r = backend->set_offloads(0); !r) return std::unexpected(r.error());
  return backend;
}

TapBackend::~TapBackend() { ::close(fd_); }

uint64_t TapBackend::offload_features() const {
  return kNetFCsum | kNetFGuestCsum | kNetFGuestTso4 | kNetFGuestTso6 | kNetFHostTso4 |
         kNetFHostTso6;
}

Result<void> TapBackend::set_offloads(uint64_t features) {
  // What the tap may hand us (and so the guest): what the guest can receive.
  unsigned offloads = 0;
  if (features & kNetFGuestCsum) {
    offloads |= TUN_F_CSUM;
    if (features & kNetFGuestTso4) offloads |= TUN_F_TSO4;
    if (features & kNetFGuestTso6) offloads |= TUN_F_TSO6;
  }
  if (::ioctl(fd_, TUNSETOFFLOAD, offloads) < 0) {
    return errno_error(ErrorCode::kIo, fmt::format("tap {}: TUNSETOFFLOAD {:#x}", name_, offloads));
  }
  return {};
}

Result<size_t> TapBackend::receive(std::span<uint8_t> buf) {
  for (;;) {
    const ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return size_t{0};
    return errno_error(ErrorCode::kIo, fmt::format("tap {}: read", name_));
  }
}

void TapBackend::send(std::span<const uint8_t> frame) {
  for (;;) {
    const ssize_t n = ::write(fd_, frame.data(), frame.size());
    if (n >= 0) return;
    if (errno == EINTR) continue;
    // EAGAIN (the interface is congested, or down), or a frame the kernel
    // refuses (EINVAL: a bad vnet header): dropped, as on a wire.
    ++dropped_;
    VIREO_LOG_RATELIMITED(log::debug, "tap {}: frame dropped: {}", name_, std::strerror(errno));
    return;
  }
}

}  // namespace vireo::virtio
