#include "boot/fdt_writer.hpp"

extern "C" {
#include <libfdt.h>
}

#include <fmt/format.h>

namespace vireo::boot {

FdtWriter::FdtWriter(size_t capacity) : buf_(capacity) {
  check(fdt_create(buf_.data(), static_cast<int>(buf_.size())), "create");
  check(fdt_finish_reservemap(buf_.data()), "reservemap");
}

void FdtWriter::check(int rc, const char* what) {
  if (rc < 0 && error_.empty()) error_ = fmt::format("device tree {}: {}", what, fdt_strerror(rc));
}

void FdtWriter::begin_node(const std::string& name) {
  check(fdt_begin_node(buf_.data(), name.c_str()), "begin_node");
  ++depth_;
}
void FdtWriter::end_node() {
  if (depth_ == 0) {
    if (error_.empty()) error_ = "device tree: end_node without an open node";
    return;
  }
  --depth_;
  check(fdt_end_node(buf_.data()), "end_node");
}
void FdtWriter::prop_empty(const char* name) {
  check(fdt_property(buf_.data(), name, nullptr, 0), name);
}
void FdtWriter::prop_u32(const char* name, uint32_t value) {
  check(fdt_property_u32(buf_.data(), name, value), name);
}
void FdtWriter::prop_u64(const char* name, uint64_t value) {
  check(fdt_property_u64(buf_.data(), name, value), name);
}
void FdtWriter::prop_cells(const char* name, std::initializer_list<uint32_t> cells) {
  prop_cells(name, std::span<const uint32_t>(cells.begin(), cells.size()));
}
void FdtWriter::prop_cells(const char* name, std::span<const uint32_t> cells) {
  std::vector<fdt32_t> be;
  be.reserve(cells.size());
  for (uint32_t c : cells) be.push_back(cpu_to_fdt32(c));
  check(fdt_property(buf_.data(), name, be.data(), static_cast<int>(be.size() * sizeof(fdt32_t))),
        name);
}
void FdtWriter::prop_string(const char* name, std::string_view value) {
  std::string s(value);
  check(fdt_property_string(buf_.data(), name, s.c_str()), name);
}
void FdtWriter::prop_strings(const char* name, std::initializer_list<std::string_view> values) {
  std::string all;
  for (auto v : values) {
    all.append(v);
    all.push_back('\0');
  }
  check(fdt_property(buf_.data(), name, all.data(), static_cast<int>(all.size())), name);
}
void FdtWriter::prop_reg64(const char* name, uint64_t addr, uint64_t size) {
  prop_cells(name, {static_cast<uint32_t>(addr >> 32), static_cast<uint32_t>(addr),
                    static_cast<uint32_t>(size >> 32), static_cast<uint32_t>(size)});
}

Result<std::vector<uint8_t>> FdtWriter::finish() {
  if (depth_ != 0 && error_.empty()) error_ = "device tree: unclosed nodes at finish";
  check(fdt_finish(buf_.data()), "finish");
  if (!error_.empty()) return make_error(ErrorCode::kInternal, error_);
  buf_.resize(fdt_totalsize(buf_.data()));
  return std::move(buf_);
}

}  // namespace vireo::boot
