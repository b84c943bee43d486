// The built-in SBI: every extension, called with ECALL from S-mode.
#include "cpu/riscv/sbi.hpp"

#include "hart_fixture.hpp"

namespace vireo::riscv::test {
namespace {

using namespace csr;

class SbiTest : public HartFixture {
 protected:
  SbiTest() : HartFixture(2, /*builtin_sbi=*/true) {}
  void SetUp() override {
    for (unsigned i = 0; i < 2; ++i) hart(i).reset(kCode, Priv::kSupervisor, i, 0, 0);
    hart(1).set_hsm_stopped();
  }

  struct Ret {
    int64_t error;
    uint64_t value;
  };
  // Runs one ECALL on `h` with the given registers.
  Ret call(uint64_t eid, uint64_t fid, std::initializer_list<uint64_t> args = {}, unsigned h = 0) {
    const uint64_t at = kCode + 0x100 * (h + 1);
    code(at, {enc::kEcall, enc::jal_self()});
    Hart& t = hart(h);
    t.pc = at;
    t.x[kA7] = eid;
    t.x[kA6] = fid;
    unsigned r = kA0;
    for (uint64_t a : args) t.x[r++] = a;
    t.run_for(1);
    return {static_cast<int64_t>(t.x[kA0]), t.x[kA1]};
  }
};

TEST_F(SbiTest, ResetLeavesOpenSbiLikeState) {
  EXPECT_EQ(hart().priv, Priv::kSupervisor);
  EXPECT_EQ(csr(kMideleg), ip::kSupervisor);
  EXPECT_EQ(csr(kMedeleg) & (1u << exc::kEcallFromS), 0u);
  EXPECT_TRUE(csr(kMedeleg) & (1u << exc::kIllegalInsn));
  EXPECT_TRUE(csr(kMedeleg) & (1u << exc::kLoadPageFault));
  EXPECT_TRUE(csr(kMedeleg) & (1u << exc::kEcallFromU));
  EXPECT_EQ(csr(kMenvcfg), envcfg::kSTCE);
  EXPECT_EQ(csr(kMcounteren), 0xffffffffu);
  uint64_t v;
  EXPECT_TRUE(hart().load(kData, v)) << "PMP open for S";
  EXPECT_EQ(hart().x[kA0], 0u);
  EXPECT_EQ(hart(1).x[kA0], 1u);
  EXPECT_EQ(hart(1).hsm_state(), HsmState::kStopped);
}

TEST_F(SbiTest, Base) {
  EXPECT_EQ(call(sbi::ext::kBase, 0).value, 2u << 24) << "spec v2.0";
  EXPECT_EQ(call(sbi::ext::kBase, 1).value, sbi::kImplId);
  Ret r = call(sbi::ext::kBase, 3, {sbi::ext::kDbcn});
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.value, 1u);
  EXPECT_EQ(call(sbi::ext::kBase, 3, {0x504D55}).value, 0u) << "PMU not implemented";
  EXPECT_EQ(call(sbi::ext::kBase, 3, {sbi::ext::kLegacyShutdown}).value, 1u);
  EXPECT_EQ(call(sbi::ext::kBase, 4).value, 0u);
  EXPECT_EQ(call(sbi::ext::kBase, 99).error, sbi::err::kNotSupported);
  EXPECT_EQ(hart().pc, kCode + 0x104) << "returns after the ECALL";
  EXPECT_EQ(hart().priv, Priv::kSupervisor);
}

TEST_F(SbiTest, UnknownExtension) {
  const Ret r = call(0x12345678, 0);
  EXPECT_EQ(r.error, sbi::err::kNotSupported);
}

TEST_F(SbiTest, EcallFromUserStillTraps) {
  code(kCode, {enc::kEcall});
  set_csr(kStvec, kCode + 0x800);
  hart().set_priv(Priv::kUser);
  hart().pc = kCode;
  run(1);
  EXPECT_EQ(hart().priv, Priv::kSupervisor);
  EXPECT_EQ(csr(kScause), exc::kEcallFromU);
}

TEST_F(SbiTest, SetTimerDrivesStip) {
  EXPECT_EQ(call(sbi::ext::kTime, 0, {0}).error, 0);
  EXPECT_EQ(csr(kSip) & ip::kSTIP, ip::kSTIP);
  EXPECT_EQ(call(sbi::ext::kTime, 0, {UINT64_MAX}).error, 0);
  EXPECT_EQ(csr(kSip) & ip::kSTIP, 0u) << "a future value clears STIP";
  EXPECT_EQ(HartTestPeer::stimecmp(hart()), UINT64_MAX);

  // The interrupt is taken in S with SIE and STIE.
  set_csr(kSie, ip::kSTIP);
  set_csr(kSstatus, mstatus::kSIE);
  set_csr(kStvec, kCode + 0x800);
  code(kCode + 0x800, {enc::jal_self()});
  call(sbi::ext::kLegacySetTimer, 0, {0});
  run(1);
  EXPECT_EQ(csr(kScause), kInterruptBit | irq::kSTI);
}

TEST_F(SbiTest, SendIpi) {
  EXPECT_EQ(call(sbi::ext::kIpi, 0, {0b10, 0}).error, 0);
  EXPECT_EQ(csr(kMip, 1) & ip::kSSIP, ip::kSSIP);
  EXPECT_EQ(csr(kMip, 0) & ip::kSSIP, 0u);
  EXPECT_EQ(call(sbi::ext::kIpi, 0, {0b1, 1}).error, 0) << "base 1, bit 0: hart 1";
  EXPECT_EQ(call(sbi::ext::kIpi, 0, {0b100, 0}).error, sbi::err::kInvalidParam);
  EXPECT_EQ(call(sbi::ext::kIpi, 0, {0, UINT64_MAX}).error, 0) << "base -1: every hart";
  EXPECT_EQ(csr(kMip, 0) & ip::kSSIP, ip::kSSIP);
  // Legacy clear_ipi clears the caller's SSIP.
  call(sbi::ext::kLegacyClearIpi, 0);
  EXPECT_EQ(csr(kMip, 0) & ip::kSSIP, 0u);
  // Legacy send_ipi takes a pointer to the mask (satp is bare here).
  poke64(kData, 0b10);
  hart(1).set_priv(Priv::kMachine);
  set_csr(kMip, 0, 1);
  EXPECT_EQ(call(sbi::ext::kLegacySendIpi, 0, {kData}).error, 0);
  EXPECT_EQ(csr(kMip, 1) & ip::kSSIP, ip::kSSIP);
  EXPECT_EQ(call(sbi::ext::kLegacySendIpi, 0, {0x1000}).error, sbi::err::kInvalidAddress);
}

TEST_F(SbiTest, RemoteSfenceFlushesTheOtherHart) {
  // Hart 1 runs in S with a mapping it has cached in its TLB.
  Hart& h1 = hart(1);
  h1.reset(kCode, Priv::kSupervisor, 1, 0, 0);
  const uint64_t root = alloc_table();
  set_csr(kSatp, satp::kModeSv39 << 60 | root >> 12, 1);
  root_ = root;
  levels_ = 3;
  const uint64_t leaf = map(0x10000, kData, kRW);
  poke64(kData, 1);
  poke64(kData + 0x1000, 2);
  uint64_t v;
  ASSERT_TRUE(h1.load(0x10000, v));
  EXPECT_EQ(v, 1u);
  poke64(leaf, ((kData + 0x1000) >> 12) << 10 | kRW);
  ASSERT_TRUE(h1.load(0x10000, v));
  EXPECT_EQ(v, 1u) << "stale until a fence";

  EXPECT_EQ(call(sbi::ext::kRfence, 1, {0b10, 0, 0, UINT64_MAX}).error, 0);
  // Hart 1 was not executing: it flushes before its next instruction.
  code(kCode, {enc::jal_self()});
  h1.run_for(1);
  ASSERT_TRUE(h1.load(0x10000, v));
  EXPECT_EQ(v, 2u);

  EXPECT_EQ(call(sbi::ext::kRfence, 0, {0, UINT64_MAX}).error, 0) << "remote fence.i";
  EXPECT_EQ(call(sbi::ext::kRfence, 3, {0, UINT64_MAX}).error, sbi::err::kNotSupported);
  EXPECT_EQ(call(sbi::ext::kLegacyRemoteFenceI, 0, {0}).error, 0);
}

TEST_F(SbiTest, RemoteFenceWaitsForARunningHart) {
  // Hart 1 spins on its own thread; the fence returns once it has flushed.
  Hart& h1 = hart(1);
  h1.reset(kCode + 0x40, Priv::kSupervisor, 1, 0, 0);
  code(kCode + 0x40, {enc::jal_self()});
  std::thread t([&] { h1.run(); });
  while (h1.instret() == 0) std::this_thread::yield();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(call(sbi::ext::kRfence, 1, {0b11, 0, 0, UINT64_MAX}).error, 0);
  }
  host_.stop = true;
  h1.kick();
  t.join();
}

TEST_F(SbiTest, HsmStartStopStatus) {
  EXPECT_EQ(call(sbi::ext::kHsm, 2, {1}).value, 1u) << "STOPPED";
  EXPECT_EQ(call(sbi::ext::kHsm, 2, {7}).error, sbi::err::kInvalidParam);
  EXPECT_EQ(hart(1).run_for(100), 0u) << "a stopped hart does not run";

  EXPECT_EQ(call(sbi::ext::kHsm, 0, {1, 0x1000, 0}).error, sbi::err::kInvalidAddress);
  EXPECT_EQ(call(sbi::ext::kHsm, 0, {1, kCode + 0x600, 0x55}).error, 0);
  EXPECT_EQ(call(sbi::ext::kHsm, 2, {1}).value, 2u) << "START_PENDING";
  EXPECT_EQ(call(sbi::ext::kHsm, 0, {1, kCode + 0x600, 0x55}).error, sbi::err::kAlreadyAvailable);
  code(kCode + 0x600, {enc::jal_self()});
  EXPECT_EQ(hart(1).run_for(5), 5u);
  EXPECT_EQ(hart(1).pc, kCode + 0x600);
  EXPECT_EQ(hart(1).priv, Priv::kSupervisor);
  EXPECT_EQ(hart(1).x[kA0], 1u);
  EXPECT_EQ(hart(1).x[kA1], 0x55u);
  EXPECT_EQ(call(sbi::ext::kHsm, 2, {1}).value, 0u) << "STARTED";

  // hart_stop on hart 1.
  call(sbi::ext::kHsm, 1, {}, 1);
  EXPECT_EQ(hart(1).hsm_state(), HsmState::kStopped);
  EXPECT_EQ(hart(1).run_for(5), 0u);
  EXPECT_EQ(call(sbi::ext::kHsm, 2, {1}).value, 1u);
}

TEST_F(SbiTest, HsmSuspend) {
  EXPECT_EQ(call(sbi::ext::kHsm, 3, {5, 0, 0}).error, sbi::err::kInvalidParam);
  // Retentive: the call returns 0 once an interrupt is pending.
  set_csr(kSie, ip::kSSIP);
  call(sbi::ext::kHsm, 3, {sbi::kSuspendRetentive, 0, 0});
  EXPECT_EQ(hart().hsm_state(), HsmState::kSuspended);
  EXPECT_EQ(hart().run_for(10), 0u);
  hart().set_interrupt_pending(irq::kSSI, true);
  hart().run_for(1);
  EXPECT_EQ(hart().hsm_state(), HsmState::kStarted);
  EXPECT_EQ(hart().x[kA0], 0u);
  EXPECT_EQ(hart().pc, kCode + 0x104);

  // Non-retentive: resumes at resume_addr with a0 = hartid, a1 = opaque.
  hart().set_interrupt_pending(irq::kSSI, false);
  code(kCode + 0x700, {enc::jal_self()});
  call(sbi::ext::kHsm, 3, {sbi::kSuspendNonRetentive, kCode + 0x700, 0x99});
  EXPECT_EQ(hart().run_for(10), 0u);
  hart().set_interrupt_pending(irq::kSSI, true);
  hart().run_for(1);
  EXPECT_EQ(hart().pc, kCode + 0x700);
  EXPECT_EQ(hart().x[kA0], 0u);
  EXPECT_EQ(hart().x[kA1], 0x99u);
}

TEST_F(SbiTest, SystemResetShutdown) {
  EXPECT_EQ(call(sbi::ext::kSrst, 0, {7, 0}).error, sbi::err::kInvalidParam);
  EXPECT_EQ(call(sbi::ext::kSrst, 0, {0, 5}).error, sbi::err::kInvalidParam);
  EXPECT_FALSE(host_.stop);
  call(sbi::ext::kSrst, 0, {sbi::kResetShutdown, sbi::kReasonNone});
  EXPECT_TRUE(host_.stop);
  EXPECT_EQ(host_.stop_kind, StopKind::kPoweroff);
  EXPECT_EQ(host_.stop_code, 0);
}

TEST_F(SbiTest, SystemResetVariants) {
  call(sbi::ext::kSrst, 0, {sbi::kResetShutdown, sbi::kReasonSystemFailure});
  EXPECT_EQ(host_.stop_kind, StopKind::kFailure);
  EXPECT_NE(host_.stop_code, 0);
  host_.stop = false;
  hart().reset(kCode, Priv::kSupervisor, 0, 0, 0);
  call(sbi::ext::kSrst, 0, {sbi::kResetColdReboot, 0});
  EXPECT_EQ(host_.stop_kind, StopKind::kReboot);
  host_.stop = false;
  hart().reset(kCode, Priv::kSupervisor, 0, 0, 0);
  call(sbi::ext::kLegacyShutdown, 0);
  EXPECT_TRUE(host_.stop);
  EXPECT_EQ(host_.stop_kind, StopKind::kPoweroff);
}

TEST_F(SbiTest, DebugConsole) {
  const char msg[] = "hello";
  ASSERT_TRUE(memory_.write(GuestAddr(kData), std::span(reinterpret_cast<const uint8_t*>(msg), 5))
                  .has_value());
  Ret r = call(sbi::ext::kDbcn, 0, {5, kData, 0});
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.value, 5u);
  EXPECT_EQ(host_.console, "hello");
  EXPECT_EQ(call(sbi::ext::kDbcn, 2, {'!'}).error, 0);
  EXPECT_EQ(host_.console, "hello!");
  EXPECT_EQ(call(sbi::ext::kDbcn, 0, {5, 0x1000, 0}).error, sbi::err::kInvalidParam);
  EXPECT_EQ(call(sbi::ext::kDbcn, 0, {5, kData, 1}).error, sbi::err::kInvalidParam);
  EXPECT_EQ(call(sbi::ext::kDbcn, 0, {16, kRamBase + kRamSize - 8, 0}).error,
            sbi::err::kInvalidParam)
      << "range leaving RAM";

  host_.input = "xyz";
  r = call(sbi::ext::kDbcn, 1, {2, kData + 0x10, 0});
  EXPECT_EQ(r.value, 2u);
  EXPECT_EQ(peek32(kData + 0x10) & 0xffff, uint32_t('x' | 'y' << 8));
  r = call(sbi::ext::kDbcn, 1, {8, kData + 0x10, 0});
  EXPECT_EQ(r.value, 1u);
  r = call(sbi::ext::kDbcn, 1, {8, kData + 0x10, 0});
  EXPECT_EQ(r.value, 0u);
}

TEST_F(SbiTest, LegacyConsole) {
  call(sbi::ext::kLegacyConsolePutchar, 0, {'A'});
  EXPECT_EQ(host_.console, "A");
  host_.input = "q";
  EXPECT_EQ(call(sbi::ext::kLegacyConsoleGetchar, 0).error, 'q');
  EXPECT_EQ(call(sbi::ext::kLegacyConsoleGetchar, 0).error, -1);
}

TEST_F(SbiTest, TrapToMachineModeStopsTheMachine) {
  // Nothing runs in M-mode with the built-in SBI: an undelegated trap (here
  // forced by clearing medeleg) is fatal for the guest, not for the host.
  set_csr(kMedeleg, 0);
  code(kCode, {0xffffffff});
  hart().pc = kCode;
  run(10);
  EXPECT_TRUE(host_.stop);
  EXPECT_EQ(host_.stop_kind, StopKind::kFailure);
}

}  // namespace
}  // namespace vireo::riscv::test
