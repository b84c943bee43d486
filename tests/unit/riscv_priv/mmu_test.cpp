// Page walks (Sv39/Sv48/Sv57), permission and fault rules, A/D updates, the
// TLB, MPRV, PMP, misaligned and page-crossing accesses, MMIO.
#include <optional>

#include "hart_fixture.hpp"

namespace vireo::riscv::test {
namespace {

using namespace csr;

constexpr uint64_t kMVec = kCode + 0x1000;
constexpr uint64_t kVa = 0x40000000;  // a low canonical VA in every mode

class MmuTest : public HartFixture {
 protected:
  MmuTest() : HartFixture(1, false, {{kRamBase + 0x7ff000, 8}}) {}
  void SetUp() override {
    set_csr(kMtvec, kMVec);
    code(kMVec, {enc::jal_self()});
    open_pmp();
  }
  // Loads as the current privilege; returns false (and leaves mcause/mtval
  // describing the trap) on a fault.
  template <class T>
  bool load(uint64_t va, T& out) {
    return hart().load(va, out);
  }
  uint64_t cause() { return csr(kMcause); }
  // Executes SFENCE.VMA in M-mode (test code is not mapped), then returns to
  // S. With an address, it is passed in t0.
  void sfence(std::optional<uint64_t> address = std::nullopt) {
    hart().set_priv(Priv::kMachine);
    if (address) {
      hart().x[kT0] = *address;
      code(kCode, {enc::kSfenceVma | kT0 << 15});
    } else {
      code(kCode, {enc::kSfenceVma});
    }
    hart().pc = kCode;
    run(1);
    hart().set_priv(Priv::kSupervisor);
  }
  uint64_t tval() { return csr(kMtval); }
};

class MmuModeTest : public MmuTest, public ::testing::WithParamInterface<uint64_t> {};

TEST_P(MmuModeTest, TranslatesLowAndHighHalves) {
  new_address_space(GetParam());
  const unsigned va_bits = 12 + 9 * levels_;
  const uint64_t high = ~0ull << (va_bits - 1);  // lowest address of the upper half
  map(kVa, kData, kRW);
  map(high + 0x5000, kData + 0x1000, kRW);
  hart().set_priv(Priv::kSupervisor);

  ASSERT_TRUE(hart().store<uint64_t>(kVa + 8, 0x1122334455667788));
  EXPECT_EQ(peek64(kData + 8), 0x1122334455667788u);
  uint32_t v32;
  ASSERT_TRUE(hart().load(kVa + 12, v32));
  EXPECT_EQ(v32, 0x11223344u);
  ASSERT_TRUE(hart().store<uint16_t>(high + 0x5ffe, 0xabcd));
  EXPECT_EQ(peek32(kData + 0x1ffc) >> 16, 0xabcdu);

  // The first non-canonical address above the lower half faults.
  uint8_t b;
  EXPECT_FALSE(load(1ull << (va_bits - 1), b));
  EXPECT_EQ(cause(), exc::kLoadPageFault);
  EXPECT_EQ(tval(), 1ull << (va_bits - 1));
}

TEST_P(MmuModeTest, Superpages) {
  new_address_space(GetParam());
  // A 2 MiB page and, for the top level available, a 1 GiB one.
  map(0x200000, kRamBase, kRWX, 1);
  map(0x80000000, kRamBase, kRWX, 2);
  poke64(kRamBase + 0x12340, 42);
  hart().set_priv(Priv::kSupervisor);
  uint64_t v;
  ASSERT_TRUE(load(0x212340, v));
  EXPECT_EQ(v, 42u);
  ASSERT_TRUE(load(0x80012340, v));
  EXPECT_EQ(v, 42u);

  // A superpage whose PPN is not aligned to its size is a page fault.
  map(0x400000, kRamBase + 0x1000, kRWX, 1);
  EXPECT_FALSE(load(0x400000, v));
  EXPECT_EQ(cause(), exc::kLoadPageFault);
}

INSTANTIATE_TEST_SUITE_P(Modes, MmuModeTest,
                         ::testing::Values(satp::kModeSv39, satp::kModeSv48, satp::kModeSv57));

TEST_F(MmuTest, FaultCausesPerAccessType) {
  new_address_space();
  map(kVa, kData, pte::kV | pte::kR | pte::kA | pte::kD);  // read-only
  hart().set_priv(Priv::kSupervisor);
  uint64_t v;
  ASSERT_TRUE(load(kVa, v));
  EXPECT_FALSE(hart().store<uint64_t>(kVa, 1));
  EXPECT_EQ(cause(), exc::kStorePageFault);
  EXPECT_EQ(tval(), kVa);

  hart().set_priv(Priv::kSupervisor);
  EXPECT_FALSE(load(kVa + 0x1000, v)) << "unmapped";
  EXPECT_EQ(cause(), exc::kLoadPageFault);
  EXPECT_EQ(tval(), kVa + 0x1000);

  // Fetch from a non-executable page.
  hart().set_priv(Priv::kSupervisor);
  hart().pc = kVa;
  run(1);
  EXPECT_EQ(cause(), exc::kInsnPageFault);
  EXPECT_EQ(tval(), kVa);
  EXPECT_EQ(csr(kMepc), kVa);
}

TEST_F(MmuTest, InvalidPteEncodings) {
  new_address_space();
  hart().set_priv(Priv::kSupervisor);
  uint64_t v;
  const uint64_t bad[] = {
      pte::kV | pte::kW | pte::kA | pte::kD,  // W without R
      kRW | (1ull << 63),                     // N (Svnapot absent)
      kRW | (1ull << 61),                     // PBMT (Svpbmt absent)
      kRW | (1ull << 54),                     // reserved
      kRW & ~pte::kV,                         // not valid
  };
  for (uint64_t flags : bad) {
    map(kVa, kData, flags);
    hart().set_priv(Priv::kSupervisor);
    set_csr(kMcause, 0);
    EXPECT_FALSE(load(kVa, v)) << std::hex << flags;
    EXPECT_EQ(cause(), exc::kLoadPageFault) << std::hex << flags;
  }
  // A/D/U set in a non-leaf PTE: reserved.
  map(kVa, kData, kRW);
  const uint64_t root_slot = root_ + ((kVa >> 30) & 0x1ff) * 8;
  poke64(root_slot, peek64(root_slot) | pte::kA);
  hart().set_priv(Priv::kSupervisor);
  EXPECT_FALSE(load(kVa, v));
  EXPECT_EQ(cause(), exc::kLoadPageFault);
}

TEST_F(MmuTest, PageTableOutsideRamIsAccessFault) {
  set_csr(kSatp, satp::kModeSv39 << 60 | (0x1000 >> 12));
  hart().set_priv(Priv::kSupervisor);
  uint64_t v;
  EXPECT_FALSE(load(kVa, v));
  EXPECT_EQ(cause(), exc::kLoadAccessFault);
  EXPECT_FALSE(hart().store<uint8_t>(kVa, 1));
  EXPECT_EQ(cause(), exc::kStoreAccessFault);
}

TEST_F(MmuTest, UserPagesSumAndMxr) {
  new_address_space();
  map(kVa, kData, kRWX | pte::kU);
  map(kVa + 0x1000, kData + 0x1000, pte::kV | pte::kX | pte::kA);  // execute-only
  uint64_t v;

  hart().set_priv(Priv::kSupervisor);
  EXPECT_FALSE(load(kVa, v)) << "S touching a U page without SUM";
  set_csr(kMstatus, mstatus::kSUM);
  hart().set_priv(Priv::kSupervisor);
  EXPECT_TRUE(load(kVa, v)) << "with SUM";
  EXPECT_TRUE(hart().store<uint64_t>(kVa, 5));
  // S never executes U pages, SUM or not.
  hart().pc = kVa;
  run(1);
  EXPECT_EQ(cause(), exc::kInsnPageFault);
  // Clearing SUM takes the permission back (no stale TLB entry).
  set_csr(kMstatus, 0);
  hart().set_priv(Priv::kSupervisor);
  set_csr(kMcause, 0);
  EXPECT_FALSE(load(kVa, v));
  EXPECT_EQ(cause(), exc::kLoadPageFault);

  hart().set_priv(Priv::kUser);
  EXPECT_TRUE(load(kVa, v));
  EXPECT_FALSE(load(kVa + 0x1000, v)) << "U touching a non-U page";

  // MXR makes execute-only pages readable.
  hart().set_priv(Priv::kSupervisor);
  EXPECT_FALSE(load(kVa + 0x1000, v));
  set_csr(kMstatus, mstatus::kMXR);
  hart().set_priv(Priv::kSupervisor);
  EXPECT_TRUE(load(kVa + 0x1000, v));
  set_csr(kMstatus, 0);
  hart().set_priv(Priv::kSupervisor);
  EXPECT_FALSE(load(kVa + 0x1000, v)) << "clearing MXR withdraws it";
}

TEST_F(MmuTest, AccessedAndDirtyUpdates) {
  new_address_space();
  const uint64_t leaf = map(kVa, kData, pte::kV | pte::kR | pte::kW);
  hart().set_priv(Priv::kSupervisor);
  uint64_t v;
  ASSERT_TRUE(load(kVa, v));
  EXPECT_EQ(peek64(leaf) & (pte::kA | pte::kD), pte::kA);
  ASSERT_TRUE(hart().store<uint64_t>(kVa, 1));
  EXPECT_EQ(peek64(leaf) & (pte::kA | pte::kD), pte::kA | pte::kD);

  // Software clears D and flushes: the next store sets it again.
  poke64(leaf, peek64(leaf) & ~pte::kD);
  sfence();
  ASSERT_TRUE(hart().store<uint64_t>(kVa, 2));
  EXPECT_TRUE(peek64(leaf) & pte::kD);
}

TEST_F(MmuTest, TlbKeepsTranslationUntilSfence) {
  new_address_space();
  const uint64_t leaf = map(kVa, kData, kRW);
  poke64(kData, 1);
  poke64(kData + 0x1000, 2);
  hart().set_priv(Priv::kSupervisor);
  uint64_t v;
  ASSERT_TRUE(load(kVa, v));
  EXPECT_EQ(v, 1u);
  poke64(leaf, ((kData + 0x1000) >> 12) << 10 | kRW);
  ASSERT_TRUE(load(kVa, v));
  EXPECT_EQ(v, 1u) << "cached until SFENCE.VMA";
  sfence();
  ASSERT_TRUE(load(kVa, v));
  EXPECT_EQ(v, 2u);
}

TEST_F(MmuTest, SfenceOfOneAddress) {
  new_address_space();
  const uint64_t leaf_a = map(kVa, kData, kRW);
  const uint64_t leaf_b = map(kVa + 0x1000, kData + 0x1000, kRW);
  for (uint64_t off = 0; off < 0x4000; off += 0x1000) poke64(kData + off, off);
  hart().set_priv(Priv::kSupervisor);
  uint64_t v;
  ASSERT_TRUE(load(kVa, v));
  ASSERT_TRUE(load(kVa + 0x1000, v));
  poke64(leaf_a, ((kData + 0x2000) >> 12) << 10 | kRW);
  poke64(leaf_b, ((kData + 0x3000) >> 12) << 10 | kRW);
  sfence(kVa + 0x10);
  ASSERT_TRUE(load(kVa, v));
  EXPECT_EQ(v, 0x2000u) << "the fenced page is re-walked";
  ASSERT_TRUE(load(kVa + 0x1000, v));
  EXPECT_EQ(v, 0x1000u) << "other pages may stay cached";

  // A 2 MiB leaf cached as several 4 KiB entries: fencing any address under
  // it drops them all.
  const uint64_t big = 0x40200000;
  const uint64_t leaf = map(big, kRamBase, kRW, 1);
  poke64(kRamBase + 0x1000, 1);
  poke64(kRamBase + 0x5000, 5);
  ASSERT_TRUE(load(big + 0x1000, v));
  ASSERT_TRUE(load(big + 0x5000, v));
  poke64(leaf, ((kRamBase + 0x200000) >> 12) << 10 | kRW);
  poke64(kRamBase + 0x201000, 11);
  poke64(kRamBase + 0x205000, 55);
  sfence(big + 0x1ff000);
  ASSERT_TRUE(load(big + 0x1000, v));
  EXPECT_EQ(v, 11u);
  ASSERT_TRUE(load(big + 0x5000, v));
  EXPECT_EQ(v, 55u);
}

TEST_F(MmuTest, MprvTranslatesMachineLoads) {
  new_address_space();
  map(kVa, kData, kRW);
  poke64(kData, 0x77);
  uint64_t v;
  EXPECT_FALSE(load(kVa, v)) << "M-mode is bare: kVa is not RAM";
  EXPECT_EQ(cause(), exc::kLoadAccessFault);
  set_csr(kMstatus, mstatus::kMPRV | (1ull << mstatus::kMPPShift));
  ASSERT_TRUE(load(kVa, v));
  EXPECT_EQ(v, 0x77u);
  // Fetches are not affected by MPRV.
  code(kCode, {enc::addi(kT0, 0, 1)});
  hart().pc = kCode;
  run(1);
  EXPECT_EQ(hart().x[kT0], 1u);
}

TEST_F(MmuTest, MisalignedAccessesArePerformed) {
  poke64(kData, 0x0807060504030201);
  poke64(kData + 8, 0x100f0e0d0c0b0a09);
  uint64_t v;
  ASSERT_TRUE(load(kData + 3, v));
  EXPECT_EQ(v, 0x0b0a090807060504u);
  ASSERT_TRUE(hart().store<uint32_t>(kData + 6, 0xaabbccdd));
  EXPECT_EQ(peek64(kData), 0xccdd060504030201u);
  EXPECT_EQ(peek64(kData + 8) & 0xffff, 0xaabbu);
}

TEST_F(MmuTest, MisalignedAccessesOutsideRamFault) {
  // Misaligned accesses in page 0 must not match an empty TLB entry.
  for (uint64_t addr : {1ull, 3ull, 0xf1ull, 0x801ull, 0xfffull}) {
    uint64_t v;
    EXPECT_FALSE(load(addr, v)) << addr;
    EXPECT_EQ(cause(), exc::kLoadAccessFault);
    EXPECT_FALSE(hart().store<uint64_t>(addr, 7)) << addr;
    EXPECT_EQ(cause(), exc::kStoreAccessFault);
    EXPECT_EQ(hart().atomic_ptr(addr & ~7ull, 8, false), nullptr);
  }
}

TEST_F(MmuTest, PageCrossingAccesses) {
  new_address_space();
  // Two adjacent virtual pages on non-adjacent physical pages.
  map(kVa, kData + 0x3000, kRW);
  map(kVa + 0x1000, kData, kRW);
  poke64(kData + 0x3ff8, 0x8877665544332211);
  poke64(kData, 0x00ffeeddccbbaa99);
  hart().set_priv(Priv::kSupervisor);
  uint64_t v;
  ASSERT_TRUE(load(kVa + 0xffd, v));
  EXPECT_EQ(v, 0xddccbbaa99887766u);
  ASSERT_TRUE(hart().store<uint32_t>(kVa + 0xffe, 0x44332211));
  EXPECT_EQ(peek64(kData + 0x3ff8) >> 48, 0x2211u);
  EXPECT_EQ(peek64(kData) & 0xffff, 0x4433u);

  // Second page unmapped: the fault names its first byte, nothing is written.
  map(kVa + 0x1000, 0, 0);
  sfence();
  const uint64_t before = peek64(kData + 0x3ff8);
  EXPECT_FALSE(hart().store<uint64_t>(kVa + 0xffc, ~0ull));
  EXPECT_EQ(cause(), exc::kStorePageFault);
  EXPECT_EQ(tval(), kVa + 0x1000);
  EXPECT_EQ(peek64(kData + 0x3ff8), before);
  hart().set_priv(Priv::kSupervisor);
  EXPECT_FALSE(load(kVa + 0xfff, v));
  EXPECT_EQ(cause(), exc::kLoadPageFault);
  EXPECT_EQ(tval(), kVa + 0x1000);
  // First page unmapped: tval is the access address.
  hart().set_priv(Priv::kSupervisor);
  EXPECT_FALSE(load(kVa - 2, v));
  EXPECT_EQ(tval(), kVa - 2);
}

TEST_F(MmuTest, MmioAndUnbackedPhysicalAddresses) {
  RecordingDevice dev;
  ASSERT_TRUE(bus_.add(GuestAddr(0x10000000), 0x100, &dev, "dev").has_value());
  uint32_t v;
  ASSERT_TRUE(load(0x10000010, v));
  EXPECT_EQ(v, 0x55667788u);
  EXPECT_EQ(dev.last_offset, 0x10u);
  EXPECT_EQ(dev.last_size, 4u);
  ASSERT_TRUE(hart().store<uint16_t>(0x10000020, 0xbeef));
  EXPECT_EQ(dev.last_offset, 0x20u);
  EXPECT_EQ(dev.last_value, 0xbeefu);
  // Misaligned MMIO becomes byte accesses.
  ASSERT_TRUE(hart().store<uint16_t>(0x10000031, 0x1234));
  EXPECT_EQ(dev.last_offset, 0x32u);
  EXPECT_EQ(dev.last_size, 1u);
  EXPECT_EQ(dev.last_value, 0x12u);

  EXPECT_FALSE(load(0x20000000, v));
  EXPECT_EQ(cause(), exc::kLoadAccessFault);
  EXPECT_EQ(tval(), 0x20000000u);
  EXPECT_FALSE(hart().store<uint8_t>(0x20000000, 1));
  EXPECT_EQ(cause(), exc::kStoreAccessFault);
  // Fetch from MMIO is an access fault.
  hart().pc = 0x10000000;
  run(1);
  EXPECT_EQ(cause(), exc::kInsnAccessFault);
}

TEST_F(MmuTest, BusRangesInsideRam) {
  // The fixture routes [kRamBase + 0x7ff000, +8) to the bus (HTIF style).
  RecordingDevice dev;
  ASSERT_TRUE(bus_.add(GuestAddr(kRamBase + 0x7ff000), 8, &dev, "htif").has_value());
  ASSERT_TRUE(hart().store<uint64_t>(kRamBase + 0x7ff000, 0x1234));
  EXPECT_EQ(dev.last_value, 0x1234u);
  EXPECT_EQ(peek64(kRamBase + 0x7ff000), 0u) << "RAM untouched";
  // The rest of that page is still RAM.
  ASSERT_TRUE(hart().store<uint64_t>(kRamBase + 0x7ff008, 0x99));
  EXPECT_EQ(peek64(kRamBase + 0x7ff008), 0x99u);
}

TEST_F(MmuTest, AtomicPointers) {
  uint8_t* p = hart().atomic_ptr(kData + 8, 8, false);
  ASSERT_NE(p, nullptr);
  *reinterpret_cast<uint64_t*>(p) = 5;
  EXPECT_EQ(peek64(kData + 8), 5u);
  EXPECT_EQ(hart().atomic_ptr(kData + 4, 8, false), nullptr);
  EXPECT_EQ(cause(), exc::kStoreMisaligned);
  EXPECT_EQ(hart().atomic_ptr(kData + 2, 4, true), nullptr);
  EXPECT_EQ(cause(), exc::kLoadMisaligned);
  RecordingDevice dev;
  ASSERT_TRUE(bus_.add(GuestAddr(0x10000000), 0x100, &dev, "dev").has_value());
  EXPECT_EQ(hart().atomic_ptr(0x10000000, 4, false), nullptr);
  EXPECT_EQ(cause(), exc::kStoreAccessFault);
  EXPECT_EQ(hart().atomic_ptr(0x10000000, 4, true), nullptr);
  EXPECT_EQ(cause(), exc::kLoadAccessFault);

  new_address_space();
  map(kVa, kData, pte::kV | pte::kR | pte::kA);
  hart().set_priv(Priv::kSupervisor);
  EXPECT_NE(hart().atomic_ptr(kVa + 8, 8, true), nullptr) << "LR needs only R";
  EXPECT_EQ(hart().atomic_ptr(kVa + 8, 8, false), nullptr);
  EXPECT_EQ(cause(), exc::kStorePageFault);
}

// ---- PMP ----

// MmuTest opens PMP entry 15 over everything; lower entries take precedence.
class PmpTest : public MmuTest {
 protected:
  static uint64_t cfg(unsigned entry, uint8_t bits) {
    return static_cast<uint64_t>(bits) << (8 * (entry % 8));
  }
};

TEST_F(PmpTest, NapotReadOnlyRegion) {
  set_csr(kPmpaddr0, (kData >> 2) | 0x1ff);  // 4 KiB NAPOT at kData
  set_csr(kPmpcfg0, cfg(0, pmp::kR | (pmp::kNapot << pmp::kAShift)));
  hart().set_priv(Priv::kSupervisor);
  uint64_t v;
  EXPECT_TRUE(load(kData, v));
  EXPECT_FALSE(hart().store<uint64_t>(kData, 1));
  EXPECT_EQ(cause(), exc::kStoreAccessFault);
  hart().set_priv(Priv::kSupervisor);
  EXPECT_TRUE(hart().store<uint64_t>(kData + 0x1000, 1)) << "outside: entry 15";

  // M-mode ignores unlocked entries, obeys locked ones.
  hart().set_priv(Priv::kMachine);
  EXPECT_TRUE(hart().store<uint64_t>(kData, 1));
  set_csr(kPmpcfg0, cfg(0, pmp::kL | pmp::kR | (pmp::kNapot << pmp::kAShift)));
  EXPECT_FALSE(hart().store<uint64_t>(kData, 1));
  EXPECT_EQ(cause(), exc::kStoreAccessFault);
}

TEST_F(PmpTest, TorRegionAndNoMatch) {
  // Only entry 0 (TOR [0, kData)) with RWX; no catch-all.
  set_csr(kPmpcfg0 + 2, 0);
  set_csr(kPmpaddr0, kData >> 2);
  set_csr(kPmpcfg0, cfg(0, pmp::kR | pmp::kW | pmp::kX | (pmp::kTor << pmp::kAShift)));
  hart().set_priv(Priv::kSupervisor);
  uint64_t v;
  EXPECT_TRUE(load(kData - 8, v));
  EXPECT_FALSE(load(kData, v)) << "no entry matches an S access: denied";
  EXPECT_EQ(cause(), exc::kLoadAccessFault);
  // An access straddling the boundary matches only partially: denied.
  hart().set_priv(Priv::kSupervisor);
  EXPECT_FALSE(load(kData - 4, v));
  EXPECT_EQ(cause(), exc::kLoadAccessFault);
  hart().set_priv(Priv::kMachine);
  EXPECT_TRUE(load(kData, v)) << "M: no match means allowed";
}

TEST_F(PmpTest, RegionSmallerThanAPage) {
  // NA4 hole at kData + 8: the page cannot be cached, every access is checked.
  set_csr(kPmpaddr0, (kData + 8) >> 2);
  set_csr(kPmpcfg0, cfg(0, pmp::kNa4 << pmp::kAShift));
  hart().set_priv(Priv::kSupervisor);
  uint32_t v;
  for (int round = 0; round < 2; ++round) {
    hart().set_priv(Priv::kSupervisor);
    EXPECT_TRUE(load(kData, v));
    EXPECT_FALSE(load(kData + 8, v));
    EXPECT_EQ(cause(), exc::kLoadAccessFault);
    hart().set_priv(Priv::kSupervisor);
    EXPECT_TRUE(load(kData + 12, v));
  }
}

TEST_F(PmpTest, PageTableWalkIsChecked) {
  new_address_space();
  map(kVa, kData, kRW);
  // Deny S access to the page-table area.
  set_csr(kPmpaddr0, (kTables >> 2) | 0x7fff);  // 256 KiB NAPOT
  set_csr(kPmpcfg0, cfg(0, pmp::kNapot << pmp::kAShift));
  hart().set_priv(Priv::kSupervisor);
  uint64_t v;
  EXPECT_FALSE(load(kVa, v));
  EXPECT_EQ(cause(), exc::kLoadAccessFault);
}

}  // namespace
}  // namespace vireo::riscv::test
