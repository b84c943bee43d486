// Trap entry and return, delegation, interrupt priority and enables, WFI.
#include "hart_fixture.hpp"

namespace vireo::riscv::test {
namespace {

using namespace csr;

constexpr uint64_t kMVec = kCode + 0x1000;
constexpr uint64_t kSVec = kCode + 0x2000;

class TrapTest : public HartFixture {
 protected:
  void SetUp() override {
    set_csr(kMtvec, kMVec);
    set_csr(kStvec, kSVec);
    code(kMVec, {enc::jal_self()});
    code(kSVec, {enc::jal_self()});
    open_pmp();
  }
};

TEST_F(TrapTest, ExceptionInMachineMode) {
  set_csr(kMstatus, mstatus::kMIE);
  set_csr(kMedeleg, ~0ull);  // never applies to traps taken in M
  code(kCode, {enc::kEcall});
  hart().pc = kCode;
  run(1);
  EXPECT_EQ(hart().priv, Priv::kMachine);
  EXPECT_EQ(hart().pc, kMVec);
  EXPECT_EQ(csr(kMcause), exc::kEcallFromM);
  EXPECT_EQ(csr(kMepc), kCode);
  const uint64_t s = csr(kMstatus);
  EXPECT_EQ((s & mstatus::kMPP) >> mstatus::kMPPShift, 3u);
  EXPECT_TRUE(s & mstatus::kMPIE);
  EXPECT_FALSE(s & mstatus::kMIE);
}

TEST_F(TrapTest, DelegatedExceptionFromUser) {
  set_csr(kMedeleg, 1u << exc::kEcallFromU);
  set_csr(kMstatus, mstatus::kSIE);
  code(kCode, {enc::kEcall});
  hart().set_priv(Priv::kUser);
  hart().pc = kCode;
  run(1);
  EXPECT_EQ(hart().priv, Priv::kSupervisor);
  EXPECT_EQ(hart().pc, kSVec);
  EXPECT_EQ(csr(kScause), exc::kEcallFromU);
  EXPECT_EQ(csr(kSepc), kCode);
  EXPECT_EQ(csr(kStval), 0u);
  const uint64_t s = csr(kMstatus);
  EXPECT_FALSE(s & mstatus::kSPP) << "came from U";
  EXPECT_TRUE(s & mstatus::kSPIE);
  EXPECT_FALSE(s & mstatus::kSIE);
  EXPECT_EQ(csr(kMcause), 0u) << "M trap CSRs untouched";
}

TEST_F(TrapTest, NotDelegatedFromSupervisorGoesToMachine) {
  set_csr(kMedeleg, 1u << exc::kEcallFromU);
  code(kCode, {enc::kEcall});
  hart().set_priv(Priv::kSupervisor);
  hart().pc = kCode;
  run(1);
  EXPECT_EQ(hart().priv, Priv::kMachine);
  EXPECT_EQ(csr(kMcause), exc::kEcallFromS);
  EXPECT_EQ((csr(kMstatus) & mstatus::kMPP) >> mstatus::kMPPShift, 1u);
}

TEST_F(TrapTest, IllegalInstructionTvalIsEncoding) {
  code(kCode, {0xffffffff});
  hart().pc = kCode;
  run(1);
  EXPECT_EQ(csr(kMcause), exc::kIllegalInsn);
  EXPECT_EQ(csr(kMtval), 0xffffffffu);
}

TEST_F(TrapTest, MretAndSret) {
  // mret to S with MPIE=1: MIE=1, MPIE=1, MPP=U, MPRV cleared.
  set_csr(kMstatus, mstatus::kMPIE | mstatus::kMPRV | (1ull << mstatus::kMPPShift));
  set_csr(kMepc, kCode + 0x100);
  code(kCode, {enc::kMret});
  code(kCode + 0x100, {enc::kSret});
  hart().pc = kCode;
  run(1);
  EXPECT_EQ(hart().priv, Priv::kSupervisor);
  EXPECT_EQ(hart().pc, kCode + 0x100);
  uint64_t s = csr(kMstatus);
  EXPECT_TRUE(s & mstatus::kMIE);
  EXPECT_TRUE(s & mstatus::kMPIE);
  EXPECT_EQ(s & mstatus::kMPP, 0u);
  EXPECT_EQ(s & mstatus::kMPRV, 0u);

  // sret to U (SPP=0) with SPIE=1.
  set_csr(kMstatus, mstatus::kSPIE);
  set_csr(kSepc, kCode + 0x200);
  run(1);
  EXPECT_EQ(hart().priv, Priv::kUser);
  EXPECT_EQ(hart().pc, kCode + 0x200);
  s = csr(kMstatus);
  EXPECT_TRUE(s & mstatus::kSIE);
  EXPECT_TRUE(s & mstatus::kSPIE);
  EXPECT_FALSE(s & mstatus::kSPP);
}

TEST_F(TrapTest, PrivilegedInstructionChecks) {
  struct Case {
    Priv priv;
    uint64_t mstatus;
    uint32_t insn;
  };
  const Case cases[] = {
      {Priv::kSupervisor, 0, enc::kMret},
      {Priv::kUser, 0, enc::kSret},
      {Priv::kSupervisor, mstatus::kTSR, enc::kSret},
      {Priv::kUser, 0, enc::kWfi},
      {Priv::kSupervisor, mstatus::kTW, enc::kWfi},
      {Priv::kUser, 0, enc::kSfenceVma},
      {Priv::kSupervisor, mstatus::kTVM, enc::kSfenceVma},
  };
  for (const Case& c : cases) {
    set_csr(kMstatus, c.mstatus);
    set_csr(kMcause, 0);
    code(kCode, {c.insn});
    hart().set_priv(c.priv);
    hart().pc = kCode;
    run(1);
    EXPECT_EQ(csr(kMcause), exc::kIllegalInsn) << std::hex << c.insn;
    EXPECT_EQ(csr(kMtval), c.insn);
    EXPECT_EQ(hart().priv, Priv::kMachine);
  }
}

TEST_F(TrapTest, InterruptPriority) {
  set_csr(kMie, ip::kAll);
  set_csr(kMstatus, mstatus::kMIE);
  code(kCode, {enc::addi(kT0, kT0, 1), enc::jal_self()});

  hart().set_interrupt_pending(irq::kMSI, true);
  hart().set_interrupt_pending(irq::kMEI, true);
  set_csr(kMip, ip::kSSIP | ip::kSTIP | ip::kSEIP);
  hart().set_mtimecmp(0);
  const unsigned expected[] = {irq::kMEI, irq::kMSI, irq::kMTI, irq::kSEI, irq::kSSI, irq::kSTI};
  for (unsigned bit : expected) {
    hart().pc = kCode;
    set_csr(kMstatus, mstatus::kMIE);
    run(1);
    EXPECT_EQ(csr(kMcause), kInterruptBit | bit);
    EXPECT_EQ(csr(kMepc), kCode) << "interrupt taken before the instruction";
    EXPECT_EQ(hart().pc, kMVec);
    set_csr(kMie, csr(kMie) & ~(1ull << bit));  // mask it to see the next one
  }
}

TEST_F(TrapTest, VectoredInterrupts) {
  set_csr(kMtvec, kMVec | 1);
  set_csr(kMie, ip::kMSIP);
  set_csr(kMstatus, mstatus::kMIE);
  code(kCode, {enc::jal_self()});
  code(kMVec + 4 * irq::kMSI, {enc::jal_self()});
  hart().set_interrupt_pending(irq::kMSI, true);
  hart().pc = kCode;
  run(1);
  EXPECT_EQ(hart().pc, kMVec + 4 * irq::kMSI);

  // Exceptions always go to the base.
  hart().set_interrupt_pending(irq::kMSI, false);
  code(kCode, {enc::kEcall});
  hart().pc = kCode;
  run(1);
  EXPECT_EQ(hart().pc, kMVec);
}

TEST_F(TrapTest, GlobalEnableRules) {
  code(kCode, {enc::jal_self()});
  set_csr(kMie, ip::kMSIP | ip::kSSIP);
  hart().set_interrupt_pending(irq::kMSI, true);

  // M with MIE=0: M interrupts masked.
  hart().pc = kCode;
  run(5);
  EXPECT_EQ(hart().pc, kCode);

  // Below M, M-level interrupts are always enabled.
  hart().set_priv(Priv::kSupervisor);
  run(1);
  EXPECT_EQ(hart().priv, Priv::kMachine);
  EXPECT_EQ(csr(kMcause), kInterruptBit | irq::kMSI);
  hart().set_interrupt_pending(irq::kMSI, false);

  // S-level (delegated) interrupt: never taken in M, even with MIE.
  set_csr(kMideleg, ip::kSSIP);
  set_csr(kMip, ip::kSSIP);
  set_csr(kMstatus, mstatus::kMIE | mstatus::kSIE);
  hart().pc = kCode;
  run(5);
  EXPECT_EQ(hart().pc, kCode);
  // In S it needs SIE; in U it is always enabled.
  set_csr(kMstatus, 0);
  hart().set_priv(Priv::kSupervisor);
  run(5);
  EXPECT_EQ(hart().pc, kCode);
  hart().set_priv(Priv::kUser);
  run(1);
  EXPECT_EQ(hart().priv, Priv::kSupervisor);
  EXPECT_EQ(hart().pc, kSVec);
  EXPECT_EQ(csr(kScause), kInterruptBit | irq::kSSI);
}

TEST_F(TrapTest, WfiStopsRunForAndWakesOnInterrupt) {
  code(kCode, {enc::kWfi, enc::addi(kT0, 0, 7), enc::jal_self()});
  hart().pc = kCode;
  EXPECT_EQ(run(100), 1u) << "run_for returns at a WFI with nothing pending";
  EXPECT_TRUE(HartTestPeer::in_wfi(hart()));
  EXPECT_EQ(run(100), 0u);

  // A pending interrupt enabled in mie ends WFI even with MIE=0.
  set_csr(kMie, ip::kMEIP);
  hart().set_interrupt_pending(irq::kMEI, true);
  run(2);
  EXPECT_FALSE(HartTestPeer::in_wfi(hart()));
  EXPECT_EQ(hart().x[kT0], 7u);
  EXPECT_EQ(hart().priv, Priv::kMachine);
}

TEST_F(TrapTest, WfiWithPendingInterruptDoesNotSleep) {
  set_csr(kMie, ip::kMSIP);
  hart().set_interrupt_pending(irq::kMSI, true);
  code(kCode, {enc::kWfi, enc::addi(kT0, 0, 7), enc::jal_self()});
  hart().pc = kCode;
  EXPECT_EQ(run(2), 2u);
  EXPECT_EQ(hart().x[kT0], 7u);
}

TEST_F(TrapTest, TimerInterruptFromMtimecmp) {
  set_csr(kMie, ip::kMTIP);
  set_csr(kMstatus, mstatus::kMIE);
  code(kCode, {enc::jal_self()});
  hart().pc = kCode;
  run(10);
  EXPECT_EQ(hart().pc, kCode) << "mtimecmp starts at the maximum";
  hart().set_mtimecmp(clock_.ticks());
  run(1);
  EXPECT_EQ(csr(kMcause), kInterruptBit | irq::kMTI);
  EXPECT_EQ(csr(kMip) & ip::kMTIP, ip::kMTIP);
  hart().set_mtimecmp(UINT64_MAX);
  EXPECT_EQ(csr(kMip) & ip::kMTIP, 0u) << "clears once mtimecmp moves";
}

TEST_F(TrapTest, WfiSleepsUntilTimerOnHartThread) {
  // Enter WFI on this thread, then let run() sleep on its own thread until
  // the timer deadline wakes it.
  set_csr(kMie, ip::kMTIP);
  set_csr(kMstatus, mstatus::kMIE);
  code(kCode, {enc::kWfi, enc::jal_self()});
  hart().pc = kCode;
  ASSERT_EQ(run(10), 1u);
  ASSERT_TRUE(hart().waiting_for_interrupt());
  hart().set_mtimecmp(clock_.ticks() + 50'000);  // 5 ms
  const uint64_t start = GuestClock::host_ns();
  std::thread t([&] { hart().run(); });
  while (hart().instret() < 10 && GuestClock::host_ns() - start < 5'000'000'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  host_.stop = true;
  hart().kick();
  t.join();
  EXPECT_GE(GuestClock::host_ns() - start, 5'000'000u) << "slept until the deadline";
  EXPECT_EQ(csr(kMcause), kInterruptBit | irq::kMTI);
  EXPECT_EQ(csr(kMepc), kCode + 4);
}

TEST_F(TrapTest, InterruptFromAnotherThreadWakesWfi) {
  set_csr(kMie, ip::kMSIP);
  set_csr(kMstatus, mstatus::kMIE);
  code(kCode, {enc::kWfi, enc::jal_self()});
  hart().pc = kCode;
  ASSERT_EQ(run(10), 1u);
  std::thread t([&] { hart().run(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(hart().instret(), 1u) << "asleep, not spinning";
  hart().set_interrupt_pending(irq::kMSI, true);  // as the ACLINT would, from its thread
  for (int i = 0; i < 5000 && hart().instret() < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  host_.stop = true;
  hart().kick();
  t.join();
  EXPECT_EQ(csr(kMcause), kInterruptBit | irq::kMSI);
  EXPECT_EQ(csr(kMepc), kCode + 4);
}

// Adaptive halt polling: a hart whose WFI waits are short learns to poll
// through them; once its waits are long it stops polling, so an idle guest
// burns no host CPU.
TEST_F(TrapTest, HaltPollWindowFollowsWaitLength) {
  set_csr(kMenvcfg, envcfg::kSTCE);
  set_csr(kMie, ip::kSTIP);  // wakes WFI; with MIE=0 no trap is taken
  // loop: stimecmp = time + t1; wfi; j loop
  code(kCode, {enc::csrrs(kT0, kTime, 0), enc::add(kT0, kT0, kT1), enc::csrrw(0, kStimecmp, kT0),
               enc::kWfi, enc::jal(0, -16)});
  hart().pc = kCode;
  auto wait_in_loop = [&](uint64_t wait_ticks, std::chrono::milliseconds how_long) {
    hart().x[kT1] = wait_ticks;
    host_.stop = false;
    std::thread t([&] { hart().run(); });
    std::this_thread::sleep_for(how_long);
    host_.stop = true;
    hart().kick();
    t.join();
  };
  EXPECT_EQ(HartTestPeer::halt_poll_ns(hart()), 0u) << "a new hart does not poll";
  // A loaded host can stretch any wait (a descheduled hart thread), which
  // shrinks the window: each phase gets a few tries to show its effect.
  for (int i = 0; i < 5 && HartTestPeer::halt_poll_ns(hart()) == 0; ++i)
    wait_in_loop(1'000, std::chrono::milliseconds(100));  // 100 us waits
  EXPECT_GT(HartTestPeer::halt_poll_ns(hart()), 0u) << "short waits: polls";
  const uint64_t loops = hart().instret() / 5;
  EXPECT_GT(loops, 20u);
  for (int i = 0; i < 3 && (i == 0 || HartTestPeer::halt_poll_ns(hart()) != 0); ++i)
    wait_in_loop(50'000, std::chrono::milliseconds(200));  // 5 ms waits
  EXPECT_EQ(HartTestPeer::halt_poll_ns(hart()), 0u) << "long waits: stops polling";
  EXPECT_GT(hart().instret() / 5, loops + 6) << "the long waits ran";
}

}  // namespace
}  // namespace vireo::riscv::test
