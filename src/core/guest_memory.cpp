#include "core/guest_memory.hpp"

#include <sys/mman.h>

namespace vireo {

GuestMemory::~GuestMemory() {
  for (auto& r : regions_) ::munmap(r.host, r.size);
}

Result<void> GuestMemory::add_ram(GuestAddr base, uint64_t size) {
  if (size == 0) return make_error(ErrorCode::kInvalidArgument, "memory region of size 0");
  uint64_t end;
  if (__builtin_add_overflow(base.value, size, &end)) {
    return make_error(ErrorCode::kInvalidArgument, "memory region wraps the address space");
  }
  for (const auto& r : regions_) {
    if (base.value < r.base.value + r.size && r.base.value < end) {
      return make_error(ErrorCode::kInvalidArgument, "memory region overlaps another");
    }
  }
  // MAP_NORESERVE: a large --memory costs nothing until the guest touches it.
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return errno_error(ErrorCode::kIo, "cannot map guest RAM");
  regions_.push_back(MemoryRegion{base, size, static_cast<uint8_t*>(p)});
  return {};
}

const MemoryRegion* GuestMemory::find(GuestAddr addr, uint64_t len) const {
  for (const auto& r : regions_) {
    // Written so that no sum can overflow: offset < size, and len fits in what remains.
    if (addr.value < r.base.value) continue;
    const uint64_t off = addr.value - r.base.value;
    if (off >= r.size) continue;
    if (len > r.size - off) return nullptr;
    return &r;
  }
  return nullptr;
}

Result<uint8_t*> GuestMemory::host_range(GuestAddr addr, uint64_t len) const {
  const MemoryRegion* r = find(addr, len);
  if (r == nullptr) {
    return make_error(ErrorCode::kOutOfRange, "guest range outside RAM");
  }
  return r->host + (addr.value - r->base.value);
}

Result<void> GuestMemory::read(GuestAddr addr, std::span<uint8_t> out) const {
  auto p = host_range(addr, out.size());
  if (!p) return std::unexpected(p.error());
  // An empty span may have a null data(), which memcpy must not be given.
  if (!out.empty()) std::memcpy(out.data(), *p, out.size());
  return {};
}

Result<void> GuestMemory::write(GuestAddr addr, std::span<const uint8_t> in) const {
  auto p = host_range(addr, in.size());
  if (!p) return std::unexpected(p.error());
  if (!in.empty()) std::memcpy(*p, in.data(), in.size());
  return {};
}

Result<void> GuestMemory::fill(GuestAddr addr, uint8_t byte, uint64_t len) const {
  auto p = host_range(addr, len);
  if (!p) return std::unexpected(p.error());
  std::memset(*p, byte, len);
  return {};
}

uint64_t GuestMemory::ram_size() const {
  uint64_t total = 0;
  for (const auto& r : regions_) total += r.size;
  return total;
}

}  // namespace vireo
