// CSR masks, WARL behaviour, views and access checks.
#include "hart_fixture.hpp"

namespace vireo::riscv::test {
namespace {

using namespace csr;

class CsrTest : public HartFixture {};

TEST_F(CsrTest, MstatusWarl) {
  set_csr(kMstatus, ~0ull);
  const uint64_t v = csr(kMstatus);
  EXPECT_EQ(v & mstatus::kWritable, mstatus::kWritable);
  EXPECT_EQ((v >> 32) & 3, 2u) << "UXL reads 64-bit";
  EXPECT_EQ((v >> 34) & 3, 2u) << "SXL reads 64-bit";
  EXPECT_TRUE(v & mstatus::kSD) << "FS dirty sets SD";
  EXPECT_EQ(v & (3ull << 9), 0u) << "VS is off";
  EXPECT_EQ(v & (3ull << 15), 0u) << "XS is off";
  EXPECT_EQ(v & (1ull << 6 | 1ull << 36 | 1ull << 37), 0u) << "little-endian only";

  // MPP = 2 is reserved: the previous MPP stays.
  set_csr(kMstatus, 1ull << mstatus::kMPPShift);
  set_csr(kMstatus, 2ull << mstatus::kMPPShift);
  EXPECT_EQ((csr(kMstatus) & mstatus::kMPP) >> mstatus::kMPPShift, 1u);

  // SD follows FS.
  set_csr(kMstatus, mstatus::kFSClean);
  EXPECT_FALSE(csr(kMstatus) & mstatus::kSD);
  hart().fp_dirty();
  EXPECT_EQ(csr(kMstatus) & mstatus::kFS, mstatus::kFSDirty);
  EXPECT_TRUE(csr(kMstatus) & mstatus::kSD);
}

TEST_F(CsrTest, SstatusIsAViewOfMstatus) {
  set_csr(kMstatus, mstatus::kMIE | mstatus::kMPP | mstatus::kTVM);
  hart().set_priv(Priv::kSupervisor);
  uint64_t v;
  ASSERT_TRUE(hart().csr_read(kSstatus, v));
  EXPECT_EQ(v & (mstatus::kMIE | mstatus::kMPP | mstatus::kTVM), 0u) << "M fields hidden";
  EXPECT_EQ((v >> 32) & 3, 2u) << "UXL visible";
  ASSERT_TRUE(hart().csr_write(kSstatus, ~0ull));
  hart().set_priv(Priv::kMachine);
  const uint64_t m = csr(kMstatus);
  EXPECT_EQ(m & mstatus::kSstatusWritable, mstatus::kSstatusWritable);
  EXPECT_TRUE(m & mstatus::kMIE) << "sstatus writes keep M fields";
  EXPECT_TRUE(m & mstatus::kTVM);
  EXPECT_EQ(m & mstatus::kMPRV, 0u);
}

TEST_F(CsrTest, SieAndSipThroughMideleg) {
  set_csr(kMideleg, ~0ull);
  EXPECT_EQ(csr(kMideleg), ip::kSupervisor) << "only S interrupts delegable";
  set_csr(kMie, ~0ull);
  EXPECT_EQ(csr(kMie), ip::kAll);
  EXPECT_EQ(csr(kSie), ip::kSupervisor);

  set_csr(kMideleg, ip::kSSIP);
  EXPECT_EQ(csr(kSie), ip::kSSIP);
  set_csr(kSie, 0);
  EXPECT_EQ(csr(kMie), ip::kAll & ~ip::kSSIP) << "sie writes only delegated bits";

  // SSIP is writable through sip when delegated; the others are not.
  set_csr(kSip, ~0ull);
  EXPECT_EQ(csr(kMip), ip::kSSIP);
  EXPECT_EQ(csr(kSip), ip::kSSIP);
  set_csr(kSip, 0);
  EXPECT_EQ(csr(kMip), 0u);
  set_csr(kMideleg, 0);
  set_csr(kSip, ip::kSSIP);
  EXPECT_EQ(csr(kMip), 0u) << "not delegated: sip.SSIP read-only zero";
  EXPECT_EQ(csr(kSip), 0u);

  // External lines appear in mip; SEIP is the OR of software and the line.
  hart().set_interrupt_pending(irq::kMEI, true);
  hart().set_interrupt_pending(irq::kSEI, true);
  EXPECT_EQ(csr(kMip), ip::kMEIP | ip::kSEIP);
  set_csr(kMip, ip::kSEIP);
  hart().set_interrupt_pending(irq::kSEI, false);
  EXPECT_EQ(csr(kMip), ip::kMEIP | ip::kSEIP) << "software SEIP stays";
  set_csr(kMip, 0);
  EXPECT_EQ(csr(kMip), ip::kMEIP) << "MEIP is not writable";
}

TEST_F(CsrTest, ReadModifyWriteOfMipKeepsSeipLineOut) {
  // csrs mip, SSIP while the PLIC drives SEIP: the line must not be latched
  // into the software SEIP bit (OpenSBI does exactly this for IPIs).
  hart().set_interrupt_pending(irq::kSEI, true);
  hart().x[kT0] = ip::kSSIP;
  code(kCode, {enc::csrrs(kA0, kMip, kT0), enc::csrrc(kA1, kMip, kT0), enc::jal_self()});
  hart().pc = kCode;
  run(2);
  EXPECT_EQ(hart().x[kA0], ip::kSEIP) << "the read shows the line";
  EXPECT_EQ(hart().x[kA1], ip::kSEIP | ip::kSSIP);
  hart().set_interrupt_pending(irq::kSEI, false);
  EXPECT_EQ(csr(kMip), 0u);
}

TEST_F(CsrTest, StipWritableOnlyWithoutSstc) {
  set_csr(kMip, ip::kSTIP);
  EXPECT_EQ(csr(kMip) & ip::kSTIP, ip::kSTIP);
  set_csr(kMenvcfg, envcfg::kSTCE);
  EXPECT_EQ(csr(kMenvcfg), envcfg::kSTCE);
  // With Sstc, STIP reflects stimecmp (UINT64_MAX at reset: never).
  EXPECT_EQ(csr(kMip) & ip::kSTIP, 0u);
  set_csr(kStimecmp, 0);
  EXPECT_EQ(csr(kMip) & ip::kSTIP, ip::kSTIP);
  set_csr(kStimecmp, UINT64_MAX);
  EXPECT_EQ(csr(kMip) & ip::kSTIP, 0u);
}

TEST_F(CsrTest, FpCsrsNeedFs) {
  uint64_t v;
  EXPECT_FALSE(hart().csr_read(kFcsr, v)) << "FS = Off";
  EXPECT_FALSE(hart().csr_write(kFflags, 1));
  set_csr(kMstatus, mstatus::kFSInitial);
  ASSERT_TRUE(hart().csr_write(kFcsr, 0xff));
  EXPECT_EQ(hart().fflags, 0x1fu);
  EXPECT_EQ(hart().frm, 7u);
  EXPECT_EQ(csr(kFrm), 7u);
  EXPECT_EQ(csr(kFcsr), 0xffu);
  EXPECT_EQ(csr(kMstatus) & mstatus::kFS, mstatus::kFSDirty) << "CSR write dirties FS";
}

TEST_F(CsrTest, ReadOnlyAndUnknownCsrs) {
  uint64_t v;
  EXPECT_TRUE(hart().csr_read(kMhartid, v));
  EXPECT_FALSE(hart().csr_write(kMhartid, 1)) << "read-only CSR";
  EXPECT_FALSE(hart().csr_write(kCycle, 1));
  EXPECT_FALSE(hart().csr_read(0x7c0, v)) << "custom, unimplemented";
  EXPECT_FALSE(hart().csr_read(0x747, v)) << "mseccfg: no Smepmp";
  EXPECT_FALSE(hart().csr_read(0x30c, v)) << "mstateen0: no Smstateen";
  EXPECT_FALSE(hart().csr_read(0x310, v)) << "mstatush: RV32 only";
  EXPECT_FALSE(hart().csr_read(kPmpcfg0 + 1, v)) << "odd pmpcfg: RV32 only";
  EXPECT_TRUE(hart().csr_read(kPmpaddr0 + 40, v)) << "PMP entries 16..63 read zero";
  EXPECT_EQ(v, 0u);
  EXPECT_EQ(csr(kMisa), kMisaValue);
  set_csr(kMisa, 0);
  EXPECT_EQ(csr(kMisa), kMisaValue) << "misa writes ignored";
  EXPECT_EQ(csr(kMisa) >> 62, 2u);
  EXPECT_EQ(csr(kMconfigptr), 0u);
  EXPECT_EQ(csr(kMhpmcounter3 + 4), 0u);
}

TEST_F(CsrTest, PrivilegeFromCsrNumber) {
  uint64_t v;
  hart().set_priv(Priv::kSupervisor);
  EXPECT_FALSE(hart().csr_read(kMstatus, v));
  EXPECT_FALSE(hart().csr_write(kMscratch, 1));
  EXPECT_TRUE(hart().csr_read(kSscratch, v));
  hart().set_priv(Priv::kUser);
  EXPECT_FALSE(hart().csr_read(kSscratch, v));
  EXPECT_FALSE(hart().csr_read(kSatp, v));
}

TEST_F(CsrTest, CountersGatedByCounteren) {
  uint64_t v;
  hart().set_priv(Priv::kSupervisor);
  EXPECT_FALSE(hart().csr_read(kTime, v));
  hart().set_priv(Priv::kMachine);
  set_csr(kMcounteren, 0x2);  // TM
  hart().set_priv(Priv::kSupervisor);
  EXPECT_TRUE(hart().csr_read(kTime, v));
  EXPECT_FALSE(hart().csr_read(kCycle, v));
  hart().set_priv(Priv::kUser);
  EXPECT_FALSE(hart().csr_read(kTime, v)) << "scounteren gates U";
  hart().set_priv(Priv::kMachine);
  set_csr(kScounteren, 0x2);
  hart().set_priv(Priv::kUser);
  EXPECT_TRUE(hart().csr_read(kTime, v));
  EXPECT_FALSE(hart().csr_read(kHpmcounter3, v));
}

TEST_F(CsrTest, InstretCountsAndInhibits) {
  code(kCode, {enc::addi(kT0, 0, 1), enc::addi(kT0, 0, 1), enc::addi(kT0, 0, 1),
               enc::csrrs(kA0, kMinstret, 0), enc::jal_self()});
  hart().pc = kCode;
  EXPECT_EQ(run(4), 4u);
  EXPECT_EQ(hart().x[kA0], 3u) << "minstret counts the instructions before the read";
  EXPECT_EQ(hart().instret(), 4u);

  set_csr(kMinstret, 100);
  set_csr(kMcountinhibit, 4);  // IR
  const uint64_t frozen = csr(kMinstret);
  run(10);
  EXPECT_EQ(csr(kMinstret), frozen);
  set_csr(kMcountinhibit, 0);
  run(10);
  EXPECT_EQ(csr(kMinstret), frozen + 10);
}

TEST_F(CsrTest, SatpWarl) {
  set_csr(kSatp, 8ull << 60 | 0xffffull << 44 | 0x1234);
  EXPECT_EQ(csr(kSatp), 8ull << 60 | 0x1234u) << "ASID is not implemented";
  set_csr(kSatp, 9ull << 60 | 0x55);
  EXPECT_EQ(csr(kSatp), 9ull << 60 | 0x55);
  set_csr(kSatp, 10ull << 60 | 0x66);
  EXPECT_EQ(csr(kSatp), 10ull << 60 | 0x66);
  set_csr(kSatp, 11ull << 60 | 0x77);
  EXPECT_EQ(csr(kSatp), 10ull << 60 | 0x66) << "unsupported mode: no effect";
  set_csr(kSatp, 1ull << 60);
  EXPECT_EQ(csr(kSatp), 10ull << 60 | 0x66);

  set_csr(kMstatus, mstatus::kTVM);
  hart().set_priv(Priv::kSupervisor);
  uint64_t v;
  EXPECT_FALSE(hart().csr_read(kSatp, v)) << "TVM traps satp in S";
}

TEST_F(CsrTest, StimecmpNeedsStceFromS) {
  uint64_t v;
  set_csr(kMcounteren, 2);
  hart().set_priv(Priv::kSupervisor);
  EXPECT_FALSE(hart().csr_read(kStimecmp, v));
  hart().set_priv(Priv::kMachine);
  set_csr(kMenvcfg, envcfg::kSTCE);
  hart().set_priv(Priv::kSupervisor);
  EXPECT_TRUE(hart().csr_write(kStimecmp, 1234));
  hart().set_priv(Priv::kMachine);
  set_csr(kMcounteren, 0);
  hart().set_priv(Priv::kSupervisor);
  EXPECT_FALSE(hart().csr_read(kStimecmp, v)) << "mcounteren.TM also gates stimecmp";
}

TEST_F(CsrTest, TrapCsrsLegalized) {
  set_csr(kMepc, 0x80000003);
  EXPECT_EQ(csr(kMepc), 0x80000002u) << "IALIGN=16: only bit 0 cleared";
  set_csr(kSepc, 0x1001);
  EXPECT_EQ(csr(kSepc), 0x1000u);
  set_csr(kMtvec, 0x80000003);
  EXPECT_EQ(csr(kMtvec), 0x80000001u) << "reserved mode 3 folds to vectored";
  set_csr(kStvec, 0x80000002);
  EXPECT_EQ(csr(kStvec), 0x80000000u);
  set_csr(kMedeleg, ~0ull);
  EXPECT_EQ(csr(kMedeleg), kMedelegWritable);
  EXPECT_EQ(csr(kMedeleg) & (1u << exc::kEcallFromM), 0u);
}

TEST_F(CsrTest, PmpLockAndWarl) {
  set_csr(kPmpcfg0, 0x02);  // W without R: reserved
  EXPECT_EQ(csr(kPmpcfg0) & 0xff, 0u);
  set_csr(kPmpcfg0, 0x60 | 0x01);  // reserved bits 5-6
  EXPECT_EQ(csr(kPmpcfg0) & 0xff, 0x01u);
  set_csr(kPmpaddr0, ~0ull);
  EXPECT_EQ(csr(kPmpaddr0), pmp::kAddrMask) << "54 bits";

  // A locked TOR entry locks its own address and the one below.
  set_csr(kPmpaddr0 + 1, 0x1000);
  set_csr(kPmpcfg0, uint64_t{pmp::kL | (pmp::kTor << pmp::kAShift) | pmp::kR} << 8);
  set_csr(kPmpaddr0, 0x123);
  set_csr(kPmpaddr0 + 1, 0x2000);
  EXPECT_EQ(csr(kPmpaddr0), pmp::kAddrMask);
  EXPECT_EQ(csr(kPmpaddr0 + 1), 0x1000u);
  set_csr(kPmpcfg0, 0);
  EXPECT_EQ((csr(kPmpcfg0) >> 8) & 0xff, uint64_t{pmp::kL | (pmp::kTor << pmp::kAShift) | pmp::kR});
}

TEST_F(CsrTest, TriggersAbsent) {
  set_csr(kTselect, 5);
  EXPECT_EQ(csr(kTselect), 0u);
  EXPECT_EQ(csr(kTdata1), 0u);
}

TEST_F(CsrTest, CsrInstructionsSemantics) {
  set_csr(kMscratch, 0xf0);
  hart().x[kT0] = 0x0f;
  code(kCode, {
                  enc::csrrs(kA0, kMscratch, kT0),  // a0 = f0, mscratch = ff
                  enc::csrrc(kA1, kMscratch, kT0),  // a1 = ff, mscratch = f0
                  enc::csrrwi(kA2, kMscratch, 3),   // a2 = f0, mscratch = 3
                  enc::csrrsi(kA3, kMscratch, 4),   // a3 = 3, mscratch = 7
                  enc::csrrw(0, kMscratch, kT0),    // mscratch = 0f, no read
                  enc::csrrs(kA4, kMhartid, 0),     // read-only CSR, rs1 = x0: legal
                  enc::jal_self(),
              });
  hart().pc = kCode;
  run(6);
  EXPECT_EQ(hart().x[kA0], 0xf0u);
  EXPECT_EQ(hart().x[kA1], 0xffu);
  EXPECT_EQ(hart().x[kA2], 0xf0u);
  EXPECT_EQ(hart().x[kA3], 3u);
  EXPECT_EQ(csr(kMscratch), 0x0fu);
  EXPECT_EQ(hart().x[kA4], 0u);
  EXPECT_EQ(hart().pc, kCode + 24);
  EXPECT_EQ(hart().x[0], 0u);

  // csrrs with a nonzero rs1 on a read-only CSR is illegal; mtval = encoding.
  set_csr(kMtvec, kCode + 0x100);
  const uint32_t bad = enc::csrrs(kA0, kMhartid, kT0);
  code(kCode + 0x40, {bad});
  hart().pc = kCode + 0x40;
  run(1);
  EXPECT_EQ(csr(kMcause), exc::kIllegalInsn);
  EXPECT_EQ(csr(kMtval), bad);
  EXPECT_EQ(csr(kMepc), kCode + 0x40);
  EXPECT_EQ(hart().pc, kCode + 0x100);
}

}  // namespace
}  // namespace vireo::riscv::test
