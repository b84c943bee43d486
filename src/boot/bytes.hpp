// Little-endian field access in byte buffers: boot headers, zero pages, ACPI
// and Multiboot tables. Callers check bounds against data a file controls
// before reading; an out-of-range access here is a host bug and aborts.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <type_traits>

namespace vireo::boot {

template <class T>
T read_le(std::span<const uint8_t> bytes, size_t offset) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) std::abort();
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

template <class T>
void write_le(std::span<uint8_t> bytes, size_t offset, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) std::abort();
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

}  // namespace vireo::boot
