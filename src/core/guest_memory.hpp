// Guest physical memory: RAM regions backed by anonymous MAP_NORESERVE
// mappings. Device code never holds raw pointers into guest RAM; it asks for
// checked (GuestAddr, length) accesses that return Result.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "core/error.hpp"

namespace vireo {

// A guest physical address. A distinct type so it cannot be mixed up with a
// host pointer or a length.
struct GuestAddr {
  uint64_t value = 0;
  constexpr GuestAddr() = default;
  constexpr explicit GuestAddr(uint64_t v) : value(v) {}
  constexpr auto operator<=>(const GuestAddr&) const = default;
  // Overflow-checked offset; returns false when base + off wraps.
  [[nodiscard]] constexpr bool checked_add(uint64_t off, GuestAddr& out) const {
    uint64_t r;
    if (__builtin_add_overflow(value, off, &r)) return false;
    out = GuestAddr(r);
    return true;
  }
};

struct MemoryRegion {
  GuestAddr base;
  uint64_t size = 0;
  uint8_t* host = nullptr;
};

class GuestMemory {
 public:
  GuestMemory() = default;
  ~GuestMemory();
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  // Maps `size` bytes of RAM at guest physical `base`. Fails on overlap with an
  // existing region, zero size, or address-space wrap.
  Result<void> add_ram(GuestAddr base, uint64_t size);

  std::span<const MemoryRegion> regions() const { return regions_; }

  // True when [addr, addr+len) lies entirely within one RAM region.
  bool contains(GuestAddr addr, uint64_t len) const { return find(addr, len) != nullptr; }

  // Host pointer for [addr, addr+len), valid while this GuestMemory lives, or
  // an error if any byte is outside RAM. For CPU engines and DMA helpers;
  // device code uses read/write.
  Result<uint8_t*> host_range(GuestAddr addr, uint64_t len) const;

  Result<void> read(GuestAddr addr, std::span<uint8_t> out) const;
  Result<void> write(GuestAddr addr, std::span<const uint8_t> in) const;
  Result<void> fill(GuestAddr addr, uint8_t byte, uint64_t len) const;

  template <class T>
  Result<T> read_obj(GuestAddr addr) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    auto r = read(addr, std::span(reinterpret_cast<uint8_t*>(&value), sizeof(T)));
    if (!r) return std::unexpected(r.error());
    return value;
  }
  template <class T>
  Result<void> write_obj(GuestAddr addr, const T& value) const {
    static_assert(std::is_trivially_copyable_v<T>);
    return write(addr, std::span(reinterpret_cast<const uint8_t*>(&value), sizeof(T)));
  }

  // Naturally aligned atomic accesses, for fields shared with a guest that runs
  // concurrently on other threads (virtqueue ring indices). T is a 2-, 4- or
  // 8-byte unsigned integer; fails when outside RAM or not aligned to sizeof(T).
  template <class T>
  Result<T> load_acquire(GuestAddr addr) const {
    auto p = atomic_ptr<T>(addr);
    if (!p) return std::unexpected(p.error());
    return __atomic_load_n(*p, __ATOMIC_ACQUIRE);
  }
  template <class T>
  Result<void> store_release(GuestAddr addr, T value) const {
    auto p = atomic_ptr<T>(addr);
    if (!p) return std::unexpected(p.error());
    __atomic_store_n(*p, value, __ATOMIC_RELEASE);
    return {};
  }

  // Total bytes of RAM.
  uint64_t ram_size() const;

 private:
  const MemoryRegion* find(GuestAddr addr, uint64_t len) const;
  template <class T>
  Result<T*> atomic_ptr(GuestAddr addr) const {
    static_assert(std::is_unsigned_v<T> && (sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8));
    if (addr.value % sizeof(T) != 0) {
      return make_error(ErrorCode::kInvalidArgument, "misaligned atomic guest access");
    }
    auto p = host_range(addr, sizeof(T));
    if (!p) return std::unexpected(p.error());
    return reinterpret_cast<T*>(*p);
  }
  std::vector<MemoryRegion> regions_;
};

}  // namespace vireo
