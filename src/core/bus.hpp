// The bus between CPU engines and devices: a guest access that missed RAM
// (an emulated load/store, or a KVM MMIO/PIO exit) is dispatched here to the
// one device whose range contains it. Ranges are registered while the machine
// is built and never change while vCPUs run, so dispatch takes no lock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/guest_memory.hpp"

namespace vireo {

// A device reachable through the bus. `offset` is relative to the base of the
// range it was registered at; `size` is 1, 2, 4 or 8. Devices are called from
// vCPU threads concurrently and do their own locking.
class BusDevice {
 public:
  virtual ~BusDevice() = default;
  virtual uint64_t read(uint64_t offset, unsigned size) = 0;
  virtual void write(uint64_t offset, unsigned size, uint64_t value) = 0;
};

class Bus {
 public:
  explicit Bus(std::string name) : name_(std::move(name)) {}

  // Registers [base, base+size) for `device` (not owned). Fails on a zero size,
  // a range that wraps, or overlap with an existing range.
  Result<void> add(GuestAddr base, uint64_t size, BusDevice* device, std::string name);

  // Dispatches an access. Returns false when no device claims the address
  // (the engine turns that into an access fault).
  bool read(uint64_t addr, unsigned size, uint64_t& value) const;
  bool write(uint64_t addr, unsigned size, uint64_t value) const;

  struct Range {
    uint64_t base;
    uint64_t size;
    BusDevice* device;
    std::string name;
  };
  const std::vector<Range>& ranges() const { return ranges_; }

 private:
  const Range* find(uint64_t addr, unsigned size) const;
  std::string name_;
  std::vector<Range> ranges_;  // sorted by base, non-overlapping
};

}  // namespace vireo
