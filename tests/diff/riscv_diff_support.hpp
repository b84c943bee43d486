// Pieces both RISC-V differential tests share (diff_riscv: interpreter vs
// Unicorn; diff_jit: JIT vs interpreter): which operands an opcode-table row
// has, encoding-field surgery, and a HartHost for a lone hart.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"

namespace vireo::riscv::difftest {

// The operands an OpcodeDef's disassembly list names.
struct Operands {
  bool rd = false, frd = false, rs1 = false, frs1 = false, rs2 = false, frs2 = false, frs3 = false,
       rm = false, mem = false;
};

inline Operands operands_of(const OpcodeDef& row) {
  Operands o;
  std::string_view args = row.args ? row.args : "";
  while (!args.empty()) {
    const size_t comma = args.find(',');
    std::string_view t = args.substr(0, comma);
    args = comma == std::string_view::npos ? std::string_view{} : args.substr(comma + 1);
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    if (t == "rd") o.rd = true;
    if (t == "frd") o.frd = true;
    if (t == "rs1") o.rs1 = true;
    if (t == "frs1") o.frs1 = true;
    if (t == "rs2") o.rs2 = true;
    if (t == "frs2") o.frs2 = true;
    if (t == "frs3") o.frs3 = true;
    if (t == "rm") o.rm = true;
    if (t == "off(rs1)" || t == "(rs1)") o.mem = true;
  }
  return o;
}

// `raw` with bits [lo, lo + width) replaced by `value`.
inline uint32_t set_field(uint32_t raw, unsigned lo, unsigned width, uint32_t value) {
  const uint32_t mask = ((1u << width) - 1) << lo;
  return (raw & ~mask) | ((value << lo) & mask);
}

// A machine of one hart that never stops and has no console.
class NullHost final : public HartHost {
 public:
  Hart* h = nullptr;
  uint32_t hart_count() const override { return 1; }
  Hart* hart(uint32_t id) override { return id == 0 ? h : nullptr; }
  void request_stop(StopKind, int) override {}
  bool stop_requested() const override { return false; }
  void sbi_console_write(std::span<const uint8_t>) override {}
  int sbi_console_read() override { return -1; }
};

}  // namespace vireo::riscv::difftest
