#include "devices/riscv/plic.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "fake_irq_sink.hpp"

namespace vireo {
namespace {

constexpr uint64_t priority_reg(uint32_t source) { return 4 * source; }
constexpr uint64_t pending_reg(uint32_t word) { return 0x1000 + 4 * word; }
constexpr uint64_t enable_reg(uint32_t context, uint32_t word) {
  return 0x2000 + 0x80 * context + 4 * word;
}
constexpr uint64_t threshold_reg(uint32_t context) { return 0x200000 + 0x1000 * context; }
constexpr uint64_t claim_reg(uint32_t context) { return 0x200004 + 0x1000 * context; }

class PlicTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kSources = 96;
  static constexpr uint32_t kContexts = 4;

  PlicTest() : plic_(kSources, kContexts, outputs()) {}

  std::vector<IrqLine> outputs() {
    std::vector<IrqLine> v;
    for (uint32_t c = 0; c < kContexts; ++c) v.emplace_back(&sink_, c);
    return v;
  }
  void enable(uint32_t context, uint32_t source) {
    const uint64_t reg = enable_reg(context, source / 32);
    plic_.write(reg, 4, plic_.read(reg, 4) | (1u << (source % 32)));
  }
  uint32_t claim(uint32_t context) {
    return static_cast<uint32_t>(plic_.read(claim_reg(context), 4));
  }
  void complete(uint32_t context, uint32_t source) { plic_.write(claim_reg(context), 4, source); }

  test::FakeIrqSink sink_;
  Plic plic_;
};

TEST_F(PlicTest, PriorityMaskedToThreeBits) {
  plic_.write(priority_reg(5), 4, 0xff);
  EXPECT_EQ(plic_.read(priority_reg(5), 4), 7u);
  plic_.write(priority_reg(0), 4, 3);  // source 0 does not exist
  EXPECT_EQ(plic_.read(priority_reg(0), 4), 0u);
}

TEST_F(PlicTest, PendingFollowsLevelAndIsReadOnly) {
  plic_.set_irq_level(10, true);
  plic_.set_irq_level(40, true);
  EXPECT_EQ(plic_.read(pending_reg(0), 4), 1u << 10);
  EXPECT_EQ(plic_.read(pending_reg(1), 4), 1u << 8);
  plic_.write(pending_reg(0), 4, 0);
  EXPECT_EQ(plic_.read(pending_reg(0), 4), 1u << 10);
  plic_.set_irq_level(10, false);
  EXPECT_EQ(plic_.read(pending_reg(0), 4), 0u);
}

TEST_F(PlicTest, EnableBitsMaskedToExistingSources) {
  plic_.write(enable_reg(1, 0), 4, 0xffffffff);
  EXPECT_EQ(plic_.read(enable_reg(1, 0), 4), 0xfffffffeu);  // source 0 hardwired off
  plic_.write(enable_reg(1, 2), 4, 0xffffffff);
  EXPECT_EQ(plic_.read(enable_reg(1, 2), 4), 0xffffffffu);  // 64..95 all exist
  plic_.write(enable_reg(1, 3), 4, 0xffffffff);             // beyond the sources
  EXPECT_EQ(plic_.read(enable_reg(1, 3), 4), 0u);
  EXPECT_EQ(plic_.read(enable_reg(0, 0), 4), 0u);  // other contexts untouched
}

TEST_F(PlicTest, ClaimCompleteCycleDrivesOutput) {
  plic_.write(priority_reg(10), 4, 1);
  enable(0, 10);
  EXPECT_FALSE(sink_.level(0));
  plic_.set_irq_level(10, true);
  EXPECT_TRUE(sink_.level(0));
  EXPECT_FALSE(sink_.level(1));

  EXPECT_EQ(claim(0), 10u);
  EXPECT_FALSE(sink_.level(0));  // in service: nothing left to claim
  EXPECT_EQ(plic_.read(pending_reg(0), 4), 0u);
  EXPECT_EQ(claim(0), 0u);

  plic_.set_irq_level(10, false);  // the device was serviced
  complete(0, 10);
  EXPECT_FALSE(sink_.level(0));
  EXPECT_EQ(claim(0), 0u);
}

TEST_F(PlicTest, LevelStillHighRetriggersOnComplete) {
  plic_.write(priority_reg(3), 4, 2);
  enable(0, 3);
  plic_.set_irq_level(3, true);
  ASSERT_EQ(claim(0), 3u);
  EXPECT_FALSE(sink_.level(0));
  complete(0, 3);
  EXPECT_TRUE(sink_.level(0));
  EXPECT_EQ(claim(0), 3u);
}

TEST_F(PlicTest, HighestPriorityWinsTiesGoToLowestId) {
  plic_.write(priority_reg(5), 4, 3);
  plic_.write(priority_reg(6), 4, 5);
  plic_.write(priority_reg(7), 4, 5);
  for (uint32_t s : {5u, 6u, 7u}) {
    enable(0, s);
    plic_.set_irq_level(s, true);
  }
  EXPECT_EQ(claim(0), 6u);
  EXPECT_EQ(claim(0), 7u);
  EXPECT_EQ(claim(0), 5u);
  EXPECT_EQ(claim(0), 0u);
}

TEST_F(PlicTest, ThresholdMasksAndPriorityZeroNeverFires) {
  enable(0, 4);
  plic_.set_irq_level(4, true);  // priority 0: never delivered
  EXPECT_FALSE(sink_.level(0));
  EXPECT_EQ(claim(0), 0u);

  plic_.write(priority_reg(4), 4, 3);
  EXPECT_TRUE(sink_.level(0));
  plic_.write(threshold_reg(0), 4, 3);  // needs priority > 3
  EXPECT_EQ(plic_.read(threshold_reg(0), 4), 3u);
  EXPECT_FALSE(sink_.level(0));
  EXPECT_EQ(claim(0), 0u);
  plic_.write(threshold_reg(0), 4, 2);
  EXPECT_TRUE(sink_.level(0));
  plic_.write(threshold_reg(0), 4, 0xfffffff9);  // masked to 1
  EXPECT_EQ(plic_.read(threshold_reg(0), 4), 1u);
  EXPECT_EQ(claim(0), 4u);
}

TEST_F(PlicTest, ContextsAreIndependent) {
  plic_.write(priority_reg(9), 4, 1);
  enable(1, 9);
  enable(3, 9);
  plic_.set_irq_level(9, true);
  EXPECT_FALSE(sink_.level(0));
  EXPECT_TRUE(sink_.level(1));
  EXPECT_TRUE(sink_.level(3));
  // One claim takes the source away from every context.
  EXPECT_EQ(claim(3), 9u);
  EXPECT_FALSE(sink_.level(1));
  EXPECT_FALSE(sink_.level(3));
  EXPECT_EQ(claim(1), 0u);
  complete(3, 9);
  EXPECT_TRUE(sink_.level(1));
  EXPECT_TRUE(sink_.level(3));
}

TEST_F(PlicTest, DisablingDropsOutput) {
  plic_.write(priority_reg(2), 4, 1);
  enable(2, 2);
  plic_.set_irq_level(2, true);
  EXPECT_TRUE(sink_.level(2));
  plic_.write(enable_reg(2, 0), 4, 0);
  EXPECT_FALSE(sink_.level(2));
}

TEST_F(PlicTest, BogusCompletionsIgnored) {
  plic_.write(priority_reg(8), 4, 1);
  enable(0, 8);
  plic_.set_irq_level(8, true);
  ASSERT_EQ(claim(0), 8u);
  complete(0, 0);
  complete(0, 9);     // not in service
  complete(0, 5000);  // no such source
  complete(1, 8);     // not enabled for context 1
  EXPECT_FALSE(sink_.level(0));
  EXPECT_EQ(claim(0), 0u);
  complete(0, 8);
  EXPECT_EQ(claim(0), 8u);
}

TEST_F(PlicTest, OutputOnlyDrivenOnChange) {
  plic_.write(priority_reg(1), 4, 1);
  plic_.write(priority_reg(2), 4, 1);
  enable(0, 1);
  enable(0, 2);
  sink_.clear_history();
  plic_.set_irq_level(1, true);
  plic_.set_irq_level(2, true);
  plic_.set_irq_level(2, true);
  const auto h = sink_.history();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0], std::make_pair(0u, true));
}

TEST_F(PlicTest, OutOfRangeSourcesAndOffsetsIgnored) {
  plic_.set_irq_level(0, true);
  plic_.set_irq_level(kSources, true);
  plic_.set_irq_level(UINT32_MAX, true);
  for (uint32_t w = 0; w < 4; ++w) EXPECT_EQ(plic_.read(pending_reg(w), 4), 0u);

  plic_.write(priority_reg(kSources), 4, 7);
  EXPECT_EQ(plic_.read(priority_reg(kSources), 4), 0u);
  plic_.write(enable_reg(kContexts, 0), 4, 0xffffffff);  // no such context
  EXPECT_EQ(plic_.read(enable_reg(kContexts, 0), 4), 0u);
  plic_.write(threshold_reg(kContexts), 4, 1);
  EXPECT_EQ(plic_.read(threshold_reg(kContexts), 4), 0u);
  EXPECT_EQ(plic_.read(claim_reg(kContexts), 4), 0u);
  EXPECT_EQ(plic_.read(Plic::kSize - 4, 4), 0u);
  EXPECT_EQ(plic_.read(0x200008, 4), 0u);  // reserved context word

  // Wrong sizes and misaligned accesses do nothing.
  plic_.write(priority_reg(1), 1, 7);
  plic_.write(priority_reg(1), 8, 7);
  plic_.write(priority_reg(1) + 2, 4, 7);
  EXPECT_EQ(plic_.read(priority_reg(1), 4), 0u);
  EXPECT_EQ(plic_.read(priority_reg(1), 8), 0u);
  // A wrongly sized claim read does not claim.
  plic_.write(priority_reg(1), 4, 1);
  enable(0, 1);
  plic_.set_irq_level(1, true);
  EXPECT_EQ(plic_.read(claim_reg(0), 8), 0u);
  EXPECT_TRUE(sink_.level(0));
  EXPECT_TRUE(sink_.history().size() > 0);
}

TEST(PlicLimits, SizesClamped) {
  Plic plic(5000, 2, std::vector<IrqLine>(2));
  EXPECT_EQ(plic.num_sources(), Plic::kMaxSources);
  plic.write(4 * (Plic::kMaxSources - 1), 4, 7);
  EXPECT_EQ(plic.read(4 * (Plic::kMaxSources - 1), 4), 7u);
  Plic tiny(0, 1, std::vector<IrqLine>(1));
  EXPECT_EQ(tiny.num_sources(), 1u);
  tiny.set_irq_level(1, true);
  EXPECT_EQ(tiny.read(0x200004, 4), 0u);
}

}  // namespace
}  // namespace vireo
