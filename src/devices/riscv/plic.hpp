// The SiFive platform-level interrupt controller as QEMU's virt board has it:
// device interrupt lines come in as sources (level-triggered gateways), and
// each context (a hart's M- or S-mode; the board decides the numbering)
// gets one output line that is high while it has a claimable interrupt.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "core/bus.hpp"
#include "core/irq.hpp"

namespace vireo {

class Plic final : public BusDevice, public IrqSink {
 public:
  // The whole architectural window (15872 contexts); offsets past the
  // contexts that exist read as 0. QEMU's device tree advertises only
  // 0x200000 + 0x1000 * num_contexts of it.
  static constexpr uint64_t kSize = 0x4000000;
  static constexpr uint32_t kMaxSources = 1024;  // source 0 is reserved
  static constexpr uint32_t kMaxContexts = 15872;
  static constexpr uint32_t kPriorityMask = 0x7;  // 7 levels, as QEMU virt

  static constexpr uint64_t kPriorityBase = 0x0;
  static constexpr uint64_t kPendingBase = 0x1000;
  static constexpr uint64_t kEnableBase = 0x2000;
  static constexpr uint64_t kEnableStride = 0x80;
  static constexpr uint64_t kContextBase = 0x200000;
  static constexpr uint64_t kContextStride = 0x1000;
  static constexpr uint64_t kThresholdOffset = 0x0;
  static constexpr uint64_t kClaimOffset = 0x4;

  // Sources 1..num_sources-1 exist (num_sources is clamped to [1, kMaxSources],
  // num_contexts to kMaxContexts). `context_outputs[c]` is context c's line
  // (missing entries are unconnected). Output lines are driven with the
  // device lock held; their sinks must not call back into the PLIC.
  Plic(uint32_t num_sources, uint32_t num_contexts, std::vector<IrqLine> context_outputs);

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  // IrqSink: a device line `source` (1..num_sources-1) changed level.
  // Other source numbers are ignored.
  void set_irq_level(uint32_t source, bool level) override;

  uint32_t num_sources() const { return num_sources_; }
  uint32_t num_contexts() const { return num_contexts_; }

 private:
  uint32_t read_context_locked(uint32_t context, uint64_t reg);
  uint32_t claim_locked(uint32_t context);
  void complete_locked(uint32_t context, uint32_t source);
  // Highest-priority pending source enabled for `context` with priority above
  // its threshold (lowest id on ties), or 0.
  uint32_t best_claimable_locked(uint32_t context) const;
  // Re-evaluates every context output and drives the lines that changed.
  void update_outputs_locked();

  static bool bit_in(const uint32_t* bits, uint32_t index) {
    return (bits[index / 32] >> (index % 32)) & 1;
  }
  static bool bit(const std::vector<uint32_t>& bits, uint32_t index) {
    return bit_in(bits.data(), index);
  }
  static void set_bit(std::vector<uint32_t>& bits, uint32_t index, bool value) {
    const uint32_t mask = uint32_t{1} << (index % 32);
    bits[index / 32] = value ? bits[index / 32] | mask : bits[index / 32] & ~mask;
  }
  uint32_t pending_word_locked(uint32_t word) const { return level_[word] & ~in_service_[word]; }

  const uint32_t num_sources_;
  const uint32_t num_contexts_;
  const uint32_t num_words_;  // 32-bit words per source bitmap
  const std::vector<IrqLine> context_outputs_;

  std::mutex mutex_;                  // guards everything below
  std::vector<uint32_t> priority_;    // per source
  std::vector<uint32_t> level_;       // bitmap: input line is high
  std::vector<uint32_t> in_service_;  // bitmap: claimed, not yet completed
  std::vector<uint32_t> enable_;      // num_contexts x num_words bitmap
  std::vector<uint32_t> threshold_;   // per context
  std::vector<uint8_t> output_;       // per context: level last driven
};

}  // namespace vireo
