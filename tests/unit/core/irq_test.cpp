#include "core/irq.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace vireo {
namespace {

class RecordingSink final : public IrqSink {
 public:
  void set_irq_level(uint32_t line, bool level) override { calls.emplace_back(line, level); }
  std::vector<std::pair<uint32_t, bool>> calls;
};

using Calls = std::vector<std::pair<uint32_t, bool>>;

TEST(IrqLine, UnconnectedLineIsANoOp) {
  IrqLine line;
  EXPECT_FALSE(line.connected());
  EXPECT_EQ(line.line(), 0u);
  // Must not crash: boards may leave optional device interrupts unwired.
  line.raise();
  line.lower();
  line.pulse();
  line.set_level(true);
}

TEST(IrqLine, ForwardsLevelsToItsInput) {
  RecordingSink sink;
  IrqLine line(&sink, 10);
  EXPECT_TRUE(line.connected());
  EXPECT_EQ(line.line(), 10u);
  line.raise();
  line.lower();
  line.set_level(true);
  line.set_level(false);
  EXPECT_EQ(sink.calls, (Calls{{10, true}, {10, false}, {10, true}, {10, false}}));
}

TEST(IrqLine, PulseIsRaiseThenLower) {
  RecordingSink sink;
  IrqLine line(&sink, 3);
  line.pulse();
  EXPECT_EQ(sink.calls, (Calls{{3, true}, {3, false}}));
}

TEST(IrqLine, LinesSharingASinkKeepTheirNumbers) {
  RecordingSink sink;
  const IrqLine a(&sink, 1), b(&sink, 95);
  IrqLine copy = b;  // lines are cheap values, copied into devices
  a.raise();
  copy.raise();
  a.lower();
  EXPECT_EQ(sink.calls, (Calls{{1, true}, {95, true}, {1, false}}));
}

}  // namespace
}  // namespace vireo
