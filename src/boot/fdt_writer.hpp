// A thin checked wrapper over libfdt's sequential-write API: builds a
// flattened device tree node by node and remembers the first error, so board
// code reads as a plain description of the hardware.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace vireo::boot {

class FdtWriter {
 public:
  explicit FdtWriter(size_t capacity = 64 * 1024);

  void begin_node(const std::string& name);
  void end_node();
  void prop_empty(const char* name);
  void prop_u32(const char* name, uint32_t value);
  void prop_u64(const char* name, uint64_t value);
  void prop_cells(const char* name, std::initializer_list<uint32_t> cells);
  void prop_cells(const char* name, std::span<const uint32_t> cells);
  void prop_string(const char* name, std::string_view value);
  // A string list ("a\0b\0").
  void prop_strings(const char* name, std::initializer_list<std::string_view> values);
  // reg = <addr-hi addr-lo size-hi size-lo> for #address-cells = #size-cells = 2.
  void prop_reg64(const char* name, uint64_t addr, uint64_t size);

  uint32_t alloc_phandle() { return next_phandle_++; }

  // Finishes the tree; returns the blob or the first error.
  Result<std::vector<uint8_t>> finish();

 private:
  void check(int rc, const char* what);
  std::vector<uint8_t> buf_;
  uint32_t next_phandle_ = 1;
  int depth_ = 0;  // open nodes; libfdt does not check balance itself
  std::string error_;
};

}  // namespace vireo::boot
