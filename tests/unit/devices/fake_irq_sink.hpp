// A test IrqSink that records the current level and every change of each line.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "core/irq.hpp"

namespace vireo::test {

class FakeIrqSink final : public IrqSink {
 public:
  void set_irq_level(uint32_t line, bool level) override {
    std::lock_guard lock(mutex_);
    levels_[line] = level;
    history_.emplace_back(line, level);
  }
  bool level(uint32_t line) const {
    std::lock_guard lock(mutex_);
    auto it = levels_.find(line);
    return it != levels_.end() && it->second;
  }
  std::vector<std::pair<uint32_t, bool>> history() const {
    std::lock_guard lock(mutex_);
    return history_;
  }
  void clear_history() {
    std::lock_guard lock(mutex_);
    history_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::map<uint32_t, bool> levels_;
  std::vector<std::pair<uint32_t, bool>> history_;
};

}  // namespace vireo::test
