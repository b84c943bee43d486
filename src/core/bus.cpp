#include "core/bus.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace vireo {

Result<void> Bus::add(GuestAddr base, uint64_t size, BusDevice* device, std::string name) {
  if (size == 0 || device == nullptr) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("{}: empty range for {}", name_, name));
  }
  uint64_t end;
  if (__builtin_add_overflow(base.value, size - 1, &end)) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("{}: range of {} wraps", name_, name));
  }
  for (const auto& r : ranges_) {
    if (base.value <= r.base + (r.size - 1) && r.base <= end) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("{}: {} at {:#x} overlaps {} at {:#x}", name_, name, base.value,
                                    r.name, r.base));
    }
  }
  auto pos = std::lower_bound(ranges_.begin(), ranges_.end(), base.value,
                              [](const Range& r, uint64_t b) { return r.base < b; });
  ranges_.insert(pos, Range{base.value, size, device, std::move(name)});
  return {};
}

const Bus::Range* Bus::find(uint64_t addr, unsigned size) const {
  // Last range whose base <= addr.
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), addr,
                             [](uint64_t a, const Range& r) { return a < r.base; });
  if (it == ranges_.begin()) return nullptr;
  --it;
  const uint64_t off = addr - it->base;
  if (off >= it->size || size > it->size - off) return nullptr;
  return &*it;
}

bool Bus::read(uint64_t addr, unsigned size, uint64_t& value) const {
  const Range* r = find(addr, size);
  if (r == nullptr) return false;
  value = r->device->read(addr - r->base, size);
  return true;
}

bool Bus::write(uint64_t addr, unsigned size, uint64_t value) const {
  const Range* r = find(addr, size);
  if (r == nullptr) return false;
  r->device->write(addr - r->base, size, value);
  return true;
}

}  // namespace vireo
