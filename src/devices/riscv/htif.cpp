#include "devices/riscv/htif.hpp"

#include <array>
#include <vector>

#include "core/log.hpp"

namespace vireo {
namespace {
constexpr uint64_t kSysWrite = 64;
constexpr uint64_t kSysExit = 93;
constexpr uint64_t kMaxWrite = 64 * 1024;  // cap a guest-sized host buffer

// Merges a 1..8-byte write at `offset` into a 64-bit register.
uint64_t merge(uint64_t old, uint64_t offset, unsigned size, uint64_t value) {
  if (offset >= 8 || size > 8 - offset) return old;
  const uint64_t mask = size == 8 ? ~0ull : ((1ull << (size * 8)) - 1) << (offset * 8);
  return (old & ~mask) | ((value << (offset * 8)) & mask);
}
}  // namespace

uint64_t Htif::read_reg(Reg reg, uint64_t offset, unsigned size) {
  std::lock_guard lock(mutex_);
  const uint64_t v = reg == Reg::kToHost ? tohost_ : fromhost_;
  if (offset >= 8) return 0;
  return v >> (offset * 8);
}

void Htif::write_reg(Reg reg, uint64_t offset, unsigned size, uint64_t value) {
  uint64_t command = 0;
  {
    std::lock_guard lock(mutex_);
    if (reg == Reg::kFromHost) {
      fromhost_ = merge(fromhost_, offset, size, value);
      return;
    }
    tohost_ = merge(tohost_, offset, size, value);
    // A 64-bit write, or the upper half of a pair of 32-bit writes, completes a command.
    if (offset + size != 8 || tohost_ == 0) return;
    command = tohost_;
    tohost_ = 0;
  }
  handle_tohost(command);
}

void Htif::handle_tohost(uint64_t value) {
  const uint64_t device = value >> 56;
  const uint64_t cmd = (value >> 48) & 0xff;
  const uint64_t payload = value & ((1ull << 48) - 1);
  uint64_t response = 0;
  if (device == 0 && cmd == 0) {
    if (payload & 1) {
      on_exit_(static_cast<int>(payload >> 1));
      return;
    }
    handle_syscall(payload);
    response = 1;
  } else if (device == 1 && cmd == 1) {
    const uint8_t c = static_cast<uint8_t>(payload);
    output_(std::span(&c, 1));
    response = (device << 56) | (cmd << 48);
  } else {
    VIREO_LOG_RATELIMITED(log::warn, "htif: unsupported command {:#x}", value);
    return;
  }
  std::lock_guard lock(mutex_);
  fromhost_ = response;
}

void Htif::handle_syscall(uint64_t magic_addr) {
  std::array<uint64_t, 8> args{};
  if (!memory_.read(GuestAddr(magic_addr),
                    std::span(reinterpret_cast<uint8_t*>(args.data()), sizeof(args)))) {
    VIREO_LOG_RATELIMITED(log::warn, "htif: syscall block at {:#x} outside RAM", magic_addr);
    return;
  }
  uint64_t ret = static_cast<uint64_t>(-38);  // -ENOSYS
  if (args[0] == kSysWrite && (args[1] == 1 || args[1] == 2)) {
    const uint64_t len = std::min(args[3], kMaxWrite);
    std::vector<uint8_t> buf(len);
    if (memory_.read(GuestAddr(args[2]), buf)) {
      output_(buf);
      ret = len;
    } else {
      ret = static_cast<uint64_t>(-14);  // -EFAULT
    }
  } else if (args[0] == kSysExit) {
    on_exit_(static_cast<int>(args[1]));
    return;
  }
  (void)memory_.write_obj(GuestAddr(magic_addr), ret);
}

}  // namespace vireo
