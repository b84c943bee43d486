#include "devices/riscv/plic.hpp"

#include <algorithm>
#include <cassert>

#include "core/log.hpp"

namespace vireo {

Plic::Plic(uint32_t num_sources, uint32_t num_contexts, std::vector<IrqLine> context_outputs)
    : num_sources_(std::clamp<uint32_t>(num_sources, 1, kMaxSources)),
      num_contexts_(std::min(num_contexts, kMaxContexts)),
      num_words_((num_sources_ + 31) / 32),
      context_outputs_(std::move(context_outputs)),
      priority_(num_sources_, 0),
      level_(num_words_, 0),
      in_service_(num_words_, 0),
      enable_(static_cast<size_t>(num_contexts_) * num_words_, 0),
      threshold_(num_contexts_, 0),
      output_(num_contexts_, 0) {
  assert(context_outputs_.size() >= num_contexts_);
}

uint64_t Plic::read(uint64_t offset, unsigned size) {
  if (size != 4 || offset % 4 != 0) {
    VIREO_LOG_RATELIMITED(log::warn, "plic: ignored {}-byte read at {:#x}", size, offset);
    return 0;
  }
  std::lock_guard lock(mutex_);
  if (offset < kPendingBase) {
    const uint64_t source = (offset - kPriorityBase) / 4;
    return source != 0 && source < num_sources_ ? priority_[source] : 0;
  }
  if (offset < kEnableBase) {
    const uint64_t word = (offset - kPendingBase) / 4;
    return word < num_words_ ? pending_word_locked(static_cast<uint32_t>(word)) : 0;
  }
  if (offset < kContextBase) {
    const uint64_t context = (offset - kEnableBase) / kEnableStride;
    const uint64_t word = (offset - kEnableBase) % kEnableStride / 4;
    if (context < num_contexts_ && word < num_words_) return enable_[context * num_words_ + word];
    return 0;
  }
  const uint64_t context = (offset - kContextBase) / kContextStride;
  if (context < num_contexts_) {
    return read_context_locked(static_cast<uint32_t>(context),
                               (offset - kContextBase) % kContextStride);
  }
  return 0;
}

uint32_t Plic::read_context_locked(uint32_t context, uint64_t reg) {
  if (reg == kThresholdOffset) return threshold_[context];
  if (reg == kClaimOffset) return claim_locked(context);
  return 0;
}

void Plic::write(uint64_t offset, unsigned size, uint64_t value) {
  if (size != 4 || offset % 4 != 0) {
    VIREO_LOG_RATELIMITED(log::warn, "plic: ignored {}-byte write at {:#x}", size, offset);
    return;
  }
  const auto word_value = static_cast<uint32_t>(value);
  std::lock_guard lock(mutex_);
  if (offset < kPendingBase) {
    const uint64_t source = (offset - kPriorityBase) / 4;
    if (source != 0 && source < num_sources_) {
      priority_[source] = word_value & kPriorityMask;
      update_outputs_locked();
    }
    return;
  }
  if (offset < kEnableBase) return;  // pending bits are read-only
  if (offset < kContextBase) {
    const uint64_t context = (offset - kEnableBase) / kEnableStride;
    const uint64_t word = (offset - kEnableBase) % kEnableStride / 4;
    if (context >= num_contexts_ || word >= num_words_) return;
    uint32_t valid = ~uint32_t{0};
    if (word == 0) valid &= ~uint32_t{1};  // source 0 does not exist
    if (word == num_words_ - 1 && num_sources_ % 32 != 0) {
      valid &= (uint32_t{1} << (num_sources_ % 32)) - 1;
    }
    enable_[context * num_words_ + word] = word_value & valid;
    update_outputs_locked();
    return;
  }
  const uint64_t context = (offset - kContextBase) / kContextStride;
  const uint64_t reg = (offset - kContextBase) % kContextStride;
  if (context >= num_contexts_) return;
  if (reg == kThresholdOffset) {
    threshold_[context] = word_value & kPriorityMask;
    update_outputs_locked();
  } else if (reg == kClaimOffset) {
    complete_locked(static_cast<uint32_t>(context), word_value);
  }
}

void Plic::set_irq_level(uint32_t source, bool level) {
  if (source == 0 || source >= num_sources_) {
    VIREO_LOG_RATELIMITED(log::warn, "plic: level change on nonexistent source {}", source);
    return;
  }
  std::lock_guard lock(mutex_);
  if (bit(level_, source) == level) return;
  set_bit(level_, source, level);
  update_outputs_locked();
}

uint32_t Plic::claim_locked(uint32_t context) {
  const uint32_t source = best_claimable_locked(context);
  if (source != 0) {
    // The gateway forwards nothing more from this source until completion.
    set_bit(in_service_, source, true);
    update_outputs_locked();
  }
  return source;
}

void Plic::complete_locked(uint32_t context, uint32_t source) {
  // The spec ignores completions for sources not enabled for this context;
  // Linux re-enables a masked source around its completion for this reason.
  if (source == 0 || source >= num_sources_ || !bit(in_service_, source)) return;
  const uint32_t* enabled = &enable_[static_cast<size_t>(context) * num_words_];
  if (!bit_in(enabled, source)) return;
  // Re-arms the gateway: a line still high is pending again at once.
  set_bit(in_service_, source, false);
  update_outputs_locked();
}

uint32_t Plic::best_claimable_locked(uint32_t context) const {
  uint32_t best = 0;
  uint32_t best_priority = threshold_[context];
  const uint32_t* enabled = &enable_[static_cast<size_t>(context) * num_words_];
  for (uint32_t word = 0; word < num_words_; ++word) {
    uint32_t candidates = pending_word_locked(word) & enabled[word];
    while (candidates != 0) {
      const uint32_t source = word * 32 + static_cast<uint32_t>(__builtin_ctz(candidates));
      candidates &= candidates - 1;
      // Strictly greater: the lowest id wins among equal priorities.
      if (priority_[source] > best_priority) {
        best = source;
        best_priority = priority_[source];
      }
    }
  }
  return best;
}

void Plic::update_outputs_locked() {
  for (uint32_t context = 0; context < num_contexts_; ++context) {
    const bool level = best_claimable_locked(context) != 0;
    if (level == (output_[context] != 0)) continue;
    output_[context] = level ? 1 : 0;
    if (context < context_outputs_.size()) context_outputs_[context].set_level(level);
  }
}

}  // namespace vireo
