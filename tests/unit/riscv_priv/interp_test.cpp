// The fetch/decode loop: decode-cache coherence (stores, FENCE.I, other
// harts), instructions straddling pages, the run loop and its budget.
#include "hart_fixture.hpp"

namespace vireo::riscv::test {
namespace {

using namespace csr;

constexpr uint64_t kMVec = kCode + 0x1000;

class InterpTest : public HartFixture {
 protected:
  InterpTest() : HartFixture(2) {}
  void SetUp() override {
    for (unsigned i = 0; i < 2; ++i) set_csr(kMtvec, kMVec, i);
    code(kMVec, {enc::jal_self()});
    open_pmp();
  }
};

TEST_F(InterpTest, RunForCountsAndStopsAtBudget) {
  code(kCode, {enc::addi(kT0, kT0, 1), enc::jal_self()});
  hart().pc = kCode;
  EXPECT_EQ(run(10000), 10000u);
  EXPECT_EQ(hart().x[kT0], 1u);
  EXPECT_EQ(hart().instret(), 10000u);
}

TEST_F(InterpTest, StoreToCodeInvalidatesDecodedInstructions) {
  code(kCode, {enc::addi(kA0, 0, 1), enc::jal_self()});
  hart().pc = kCode;
  run(2);
  EXPECT_EQ(hart().x[kA0], 1u);
  // The hart's own store: no FENCE.I needed here.
  ASSERT_TRUE(hart().store<uint32_t>(kCode, enc::addi(kA0, 0, 2)));
  hart().pc = kCode;
  run(2);
  EXPECT_EQ(hart().x[kA0], 2u);
}

TEST_F(InterpTest, StoreByAnotherHartInvalidatesToo) {
  code(kCode, {enc::addi(kA0, 0, 1), enc::jal_self()});
  hart(0).pc = kCode;
  run(2, 0);
  EXPECT_EQ(hart(0).x[kA0], 1u);
  // Hart 1 never touched the page: its store takes the tracked slow path.
  ASSERT_TRUE(hart(1).store<uint32_t>(kCode, enc::addi(kA0, 0, 3)));
  hart(0).pc = kCode;
  run(2, 0);
  EXPECT_EQ(hart(0).x[kA0], 3u);
}

TEST_F(InterpTest, FastStoreEntriesDroppedWhenPageBecomesCode) {
  // Hart 1 stores to a page first (fast store TLB entry), then hart 0
  // decodes code from it; hart 1's next store must still invalidate.
  ASSERT_TRUE(hart(1).store<uint32_t>(kCode + 0x800, 0));
  code(kCode, {enc::addi(kA0, 0, 1), enc::jal_self()});
  hart(0).pc = kCode;
  run(2, 0);
  EXPECT_EQ(hart(0).x[kA0], 1u);
  run(1, 1);  // hart 1 reaches an instruction boundary (sees the code epoch)
  ASSERT_TRUE(hart(1).store<uint32_t>(kCode, enc::addi(kA0, 0, 4)));
  hart(0).pc = kCode;
  run(2, 0);
  EXPECT_EQ(hart(0).x[kA0], 4u);
}

TEST_F(InterpTest, FenceIPicksUpUntrackedWrites) {
  code(kCode, {enc::addi(kA0, 0, 1), enc::jal_self()});
  hart().pc = kCode;
  run(2);
  // A DMA-style write (not through a hart) is only seen after FENCE.I.
  poke32(kCode, enc::addi(kA0, 0, 5));
  code(kCode + 0x100, {enc::kFenceI, enc::jal_self()});
  hart().pc = kCode + 0x100;
  run(1);
  hart().pc = kCode;
  run(2);
  EXPECT_EQ(hart().x[kA0], 5u);
}

TEST_F(InterpTest, InstructionStraddlingPages) {
  // A 32-bit instruction at the last parcel of a page.
  const uint64_t at = kCode + 0x2ffe;
  const uint32_t insn = enc::addi(kA0, 0, 9);
  ASSERT_TRUE(memory_.write_obj(GuestAddr(at), insn).has_value());
  code(at + 4, {enc::jal_self()});
  hart().pc = at;
  run(2);
  EXPECT_EQ(hart().x[kA0], 9u);
  EXPECT_EQ(hart().pc, at + 4);

  // The second half on an unmapped page: fetch page fault at pc + 2.
  new_address_space();
  const uint64_t va = 0x10000;
  map(va, kCode + 0x2000, kRWX);
  hart().set_priv(Priv::kSupervisor);
  hart().pc = va + 0xffe;
  run(1);
  EXPECT_EQ(csr(kMcause), exc::kInsnPageFault);
  EXPECT_EQ(csr(kMepc), va + 0xffe);
  EXPECT_EQ(csr(kMtval), va + 0x1000);

  // Mapped, to another physical page than in M-mode: the upper half comes
  // from the current mapping (a different immediate), never from a cache.
  map(va + 0x1000, kCode + 0x5000, kRWX);
  const uint32_t other = enc::addi(kA0, 0, 0x11);
  ASSERT_EQ(other & 0xffff, insn & 0xffff);
  ASSERT_TRUE(memory_.write_obj(GuestAddr(kCode + 0x5000), uint16_t(other >> 16)).has_value());
  hart().set_priv(Priv::kSupervisor);
  hart().pc = va + 0xffe;
  run(1);
  EXPECT_EQ(hart().x[kA0], 0x11u);
  EXPECT_EQ(hart().pc, va + 0x1002);
}

TEST_F(InterpTest, CompressedInstructionsStepByTwo) {
  // c.nop; c.nop; addi
  ASSERT_TRUE(memory_.write_obj(GuestAddr(kCode), enc::kCNop).has_value());
  ASSERT_TRUE(memory_.write_obj(GuestAddr(kCode + 2), enc::kCNop).has_value());
  code(kCode + 4, {enc::addi(kA0, 0, 3), enc::jal_self()});
  hart().pc = kCode;
  run(3);
  EXPECT_EQ(hart().pc, kCode + 8);
  EXPECT_EQ(hart().x[kA0], 3u);
  // Jumping into the middle of the 32-bit instruction decodes its upper half.
  hart().pc = kCode + 6;
  run(1);
  EXPECT_NE(hart().pc, kCode + 6);
}

TEST_F(InterpTest, FetchFaultLoopDoesNotHang) {
  // mtvec pointing at nothing: every fetch faults, the budget still ends it.
  set_csr(kMtvec, 0x1000);
  hart().pc = 0x1000;
  EXPECT_EQ(run(500), 500u);
  EXPECT_EQ(csr(kMcause), exc::kInsnAccessFault);
}

TEST_F(InterpTest, RunOnThreadStopsOnRequest) {
  code(kCode, {enc::addi(kT0, kT0, 1), enc::jal_self()});
  hart().pc = kCode;
  std::thread t([&] { hart().run(); });
  while (hart().instret() < 100000) std::this_thread::yield();
  host_.stop = true;
  hart().kick();
  t.join();
  EXPECT_GE(hart().instret(), 100000u);
}

TEST_F(InterpTest, TraceModeExecutesTheSame) {
  HartConfig config;
  config.trace = true;
  Hart traced(config, memory_, bus_, clock_, host_, *shared_);
  code(kCode, {enc::addi(kA0, 0, 6), enc::addi(kA1, kA0, 1), enc::jal_self()});
  traced.pc = kCode;
  testing::internal::CaptureStderr();
  EXPECT_EQ(traced.run_for(3), 3u);
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_EQ(traced.x[kA1], 7u);
  EXPECT_NE(out.find("80000000"), std::string::npos) << out;
}

// ---- The threaded dispatch (inlined instructions, pc kept in a register) ----

// bne rs1, rs2, offset
uint32_t bne(unsigned rs1, unsigned rs2, int32_t off) {
  const uint32_t u = static_cast<uint32_t>(off);
  return 0x63 | 1u << 12 | rs1 << 15 | rs2 << 20 | ((u >> 11) & 1) << 7 | ((u >> 1) & 0xf) << 8 |
         ((u >> 5) & 0x3f) << 25 | ((u >> 12) & 1) << 31;
}
// c.addi rd, imm (imm in -32..31, nonzero)
uint16_t c_addi(unsigned rd, int32_t imm) {
  const uint32_t u = static_cast<uint32_t>(imm);
  return static_cast<uint16_t>(0x1 | (u & 0x1f) << 2 | rd << 7 | ((u >> 5) & 1) << 12);
}

TEST_F(InterpTest, StoreRewritingAnInstructionAheadOnTheRunningPage) {
  // loop: sw t1, 8(t0); addi a1, a1, 1; addi a0, x0, 2; add t0, t0, t4;
  //       bne a1, t2, loop
  // The first pass stores to data and decodes `addi a0, x0, 2`; the second
  // stores over that decoded instruction, which runs right after: the
  // inlined store must send the loop back to decode it again.
  constexpr unsigned kT4 = 29;
  const uint32_t add_t0_t4 = 0x33 | kT0 << 7 | kT0 << 15 | kT4 << 20;
  code(kCode, {enc::sw(kT1, kT0, 8), enc::addi(kA1, kA1, 1), enc::addi(kA0, 0, 2), add_t0_t4,
               bne(kA1, kT2, -16), enc::jal_self()});
  hart().x[kT0] = kData;
  hart().x[kT4] = kCode - kData;
  hart().x[kT1] = enc::addi(kA0, 0, 7);
  hart().x[kT2] = 2;
  hart().pc = kCode;
  run(10);
  EXPECT_EQ(hart().x[kA1], 2u);
  EXPECT_EQ(hart().x[kA0], 7u);
  EXPECT_EQ(hart().pc, kCode + 20);
}

TEST_F(InterpTest, SequentialCodeRunsOffTheEndOfAPage) {
  // A 32-bit ALU instruction in the last slot, then a compressed one in the
  // last parcel of the next page: each continues on the following page.
  code(kCode + 0xffc, {enc::addi(kA0, 0, 5), enc::addi(kA1, kA0, 1)});
  ASSERT_TRUE(memory_.write_obj(GuestAddr(kCode + 0x1ffe), c_addi(kA1, 3)).has_value());
  code(kCode + 0x2000, {enc::addi(kA2, kA1, 1), enc::jal_self()});
  hart().pc = kCode + 0xffc;
  EXPECT_EQ(run(2), 2u);
  EXPECT_EQ(hart().pc, kCode + 0x1004);
  EXPECT_EQ(hart().x[kA1], 6u);
  hart().pc = kCode + 0x1ffe;
  EXPECT_EQ(run(2), 2u);
  EXPECT_EQ(hart().x[kA1], 9u);
  EXPECT_EQ(hart().x[kA2], 10u);
  EXPECT_EQ(hart().pc, kCode + 0x2004);
}

TEST_F(InterpTest, BudgetEndsExactlyInsideALoopOfEveryFlow) {
  // loop: c.addi t0,1; sd t0,0(t2); ld t1,0(t2); auipc a1,0; bne t0,a0,loop
  // Stopped after any number of instructions, pc and state agree with that
  // many having run.
  const uint64_t data = kData;
  ASSERT_TRUE(memory_.write_obj(GuestAddr(kCode), c_addi(kT0, 1)).has_value());
  code(kCode + 2, {enc::sd(kT0, kT2, 0), enc::ld(kT1, kT2, 0), 0x00000597 /* auipc a1,0 */,
                   bne(kT0, kA0, -14), enc::jal_self()});
  const uint64_t pcs[] = {kCode + 2, kCode + 6, kCode + 10, kCode + 14, kCode};
  for (uint64_t n = 1; n <= 23; ++n) {
    hart().x[kT0] = 0;
    hart().x[kT1] = 0;
    hart().x[kT2] = data;
    hart().x[kA0] = 100;
    hart().pc = kCode;
    ASSERT_EQ(run(n), n);
    const uint64_t iterations_started = (n + 4) / 5;
    EXPECT_EQ(hart().pc, pcs[(n - 1) % 5]) << n;
    EXPECT_EQ(hart().x[kT0], iterations_started) << n;
    EXPECT_EQ(hart().x[kT1], n % 5 >= 3 || n % 5 == 0 ? iterations_started : iterations_started - 1)
        << n;
  }
}

TEST_F(InterpTest, TrapInAnInlinedLoadRecordsItsPc) {
  // ld from a hole in the address map: access fault at the load itself.
  code(kCode, {enc::addi(kA0, 0, 1), enc::ld(kT1, kT2, 0), enc::addi(kA0, 0, 2)});
  hart().x[kT2] = 0x4000'0000'0000;
  hart().pc = kCode;
  EXPECT_EQ(run(3), 3u);
  EXPECT_EQ(csr(kMcause), exc::kLoadAccessFault);
  EXPECT_EQ(csr(kMepc), kCode + 4);
  EXPECT_EQ(hart().x[kA0], 1u);
  EXPECT_EQ(hart().pc, kMVec);
  EXPECT_EQ(hart().instret(), 3u);
}

}  // namespace
}  // namespace vireo::riscv::test
