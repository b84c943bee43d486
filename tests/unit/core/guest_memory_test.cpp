#include "core/guest_memory.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <fstream>
#include <vector>

namespace vireo {
namespace {

constexpr uint64_t kBase = 0x8000'0000;
constexpr uint64_t kSize = 64 * 1024;

// A region at kBase plus a pattern, so edge tests can check exactly which
// bytes an access touched.
class GuestMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mem_.add_ram(GuestAddr(kBase), kSize)); }
  GuestMemory mem_;
};

TEST(GuestAddrTest, CheckedAdd) {
  GuestAddr out(7);
  EXPECT_TRUE(GuestAddr(0x1000).checked_add(0x10, out));
  EXPECT_EQ(out.value, 0x1010u);
  EXPECT_TRUE(GuestAddr(UINT64_MAX).checked_add(0, out));
  EXPECT_EQ(out.value, UINT64_MAX);
  EXPECT_TRUE(GuestAddr(UINT64_MAX - 1).checked_add(1, out));
  EXPECT_EQ(out.value, UINT64_MAX);

  // On overflow the output is left untouched.
  out = GuestAddr(42);
  EXPECT_FALSE(GuestAddr(UINT64_MAX).checked_add(1, out));
  EXPECT_FALSE(GuestAddr(1).checked_add(UINT64_MAX, out));
  EXPECT_FALSE(GuestAddr(0x8000'0000'0000'0000).checked_add(0x8000'0000'0000'0000, out));
  EXPECT_EQ(out.value, 42u);

  // Usable in constant expressions (board constants are computed at compile time).
  constexpr bool ok = [] {
    GuestAddr r;
    return GuestAddr(1).checked_add(2, r) && r.value == 3;
  }();
  static_assert(ok);
  EXPECT_LT(GuestAddr(1), GuestAddr(2));
}

TEST(GuestMemoryAddRam, RejectsZeroSize) {
  GuestMemory mem;
  auto r = mem.add_ram(GuestAddr(kBase), 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(mem.regions().empty());
}

TEST(GuestMemoryAddRam, RejectsWrap) {
  GuestMemory mem;
  auto r = mem.add_ram(GuestAddr(UINT64_MAX - 0x7ff), 0x1000);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(mem.add_ram(GuestAddr(UINT64_MAX), 2));
  EXPECT_TRUE(mem.regions().empty());
}

TEST(GuestMemoryAddRam, RejectsEveryKindOfOverlap) {
  GuestMemory mem;
  ASSERT_TRUE(mem.add_ram(GuestAddr(0x10000), 0x10000));  // [0x10000, 0x20000)
  struct Case {
    uint64_t base, size;
  };
  const Case overlapping[] = {
      {0x10000, 0x10000},  // identical
      {0x8000, 0x8001},    // covers the first byte
      {0x1ffff, 0x10},     // covers the last byte
      {0x14000, 0x100},    // inside
      {0x0, 0x100000},     // contains
  };
  for (const auto& c : overlapping) {
    auto r = mem.add_ram(GuestAddr(c.base), c.size);
    ASSERT_FALSE(r) << std::hex << c.base << "+" << c.size;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(mem.regions().size(), 1u);

  // Touching ranges on either side are fine.
  EXPECT_TRUE(mem.add_ram(GuestAddr(0x20000), 0x1000));
  EXPECT_TRUE(mem.add_ram(GuestAddr(0xf000), 0x1000));
  EXPECT_EQ(mem.regions().size(), 3u);
  EXPECT_EQ(mem.ram_size(), 0x12000u);
}

TEST_F(GuestMemoryTest, ReadWriteInside) {
  const std::array<uint8_t, 4> in = {1, 2, 3, 4};
  ASSERT_TRUE(mem_.write(GuestAddr(kBase + 0x100), in));
  std::array<uint8_t, 4> out{};
  ASSERT_TRUE(mem_.read(GuestAddr(kBase + 0x100), out));
  EXPECT_EQ(out, in);

  ASSERT_TRUE(mem_.write_obj<uint64_t>(GuestAddr(kBase + 8), 0x1122334455667788ull));
  auto v = mem_.read_obj<uint64_t>(GuestAddr(kBase + 8));
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 0x1122334455667788ull);
  auto b = mem_.read_obj<uint8_t>(GuestAddr(kBase + 8));
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, 0x88);  // little-endian host layout
}

TEST_F(GuestMemoryTest, FreshRamReadsZero) {
  std::vector<uint8_t> out(kSize, 0xee);
  ASSERT_TRUE(mem_.read(GuestAddr(kBase), out));
  for (uint8_t byte : out) ASSERT_EQ(byte, 0);
}

TEST_F(GuestMemoryTest, EdgesOfTheRegion) {
  const uint64_t end = kBase + kSize;
  // The whole region, the first byte and the last byte are accessible.
  EXPECT_TRUE(mem_.contains(GuestAddr(kBase), kSize));
  EXPECT_TRUE(mem_.fill(GuestAddr(kBase), 0x5a, kSize));
  EXPECT_TRUE(mem_.write_obj<uint8_t>(GuestAddr(end - 1), 0xa5));
  EXPECT_EQ(*mem_.read_obj<uint8_t>(GuestAddr(end - 1)), 0xa5);
  EXPECT_TRUE(mem_.read_obj<uint64_t>(GuestAddr(end - 8)));

  // One byte past the end, and an access that starts inside but ends one past.
  EXPECT_FALSE(mem_.contains(GuestAddr(end), 1));
  EXPECT_FALSE(mem_.read_obj<uint8_t>(GuestAddr(end)));
  auto r = mem_.read_obj<uint64_t>(GuestAddr(end - 7));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kOutOfRange);
  EXPECT_FALSE(mem_.write_obj<uint16_t>(GuestAddr(end - 1), 0));
  EXPECT_FALSE(mem_.fill(GuestAddr(kBase), 0, kSize + 1));
  EXPECT_FALSE(mem_.host_range(GuestAddr(kBase), kSize + 1));
  // A failed write must not have written its in-range part.
  EXPECT_EQ(*mem_.read_obj<uint8_t>(GuestAddr(end - 1)), 0xa5);
  EXPECT_EQ(*mem_.read_obj<uint8_t>(GuestAddr(end - 2)), 0x5a);

  // One byte below the start.
  EXPECT_FALSE(mem_.contains(GuestAddr(kBase - 1), 1));
  EXPECT_FALSE(mem_.contains(GuestAddr(kBase - 1), 2));
  EXPECT_FALSE(mem_.read_obj<uint32_t>(GuestAddr(kBase - 2)));
  EXPECT_FALSE(mem_.fill(GuestAddr(0), 0, 16));
}

TEST_F(GuestMemoryTest, LengthThatOverflowsTheAddress) {
  // addr + len wraps past 2^64: must be rejected, not wrap into the region.
  for (uint64_t len : {UINT64_MAX, UINT64_MAX - kBase + 1, UINT64_MAX - 0x7f}) {
    EXPECT_FALSE(mem_.contains(GuestAddr(kBase + 0x10), len)) << len;
    EXPECT_FALSE(mem_.host_range(GuestAddr(kBase + 0x10), len)) << len;
    EXPECT_FALSE(mem_.fill(GuestAddr(kBase + 0x10), 0xff, len)) << len;
  }
  EXPECT_FALSE(mem_.host_range(GuestAddr(UINT64_MAX), 2));
  EXPECT_FALSE(mem_.host_range(GuestAddr(UINT64_MAX), 1));
}

TEST_F(GuestMemoryTest, ZeroLengthAccesses) {
  // An empty access inside RAM succeeds; at or past the end it does not name RAM.
  EXPECT_TRUE(mem_.host_range(GuestAddr(kBase), 0));
  EXPECT_TRUE(mem_.host_range(GuestAddr(kBase + kSize - 1), 0));
  EXPECT_FALSE(mem_.host_range(GuestAddr(kBase + kSize), 0));
  EXPECT_FALSE(mem_.host_range(GuestAddr(0), 0));
  // Empty spans (whose data() may be null) read and write nothing.
  EXPECT_TRUE(mem_.write(GuestAddr(kBase), std::span<const uint8_t>()));
  EXPECT_TRUE(mem_.read(GuestAddr(kBase), std::span<uint8_t>()));
}

TEST_F(GuestMemoryTest, HostRangeAliasesGuestRam) {
  auto p = mem_.host_range(GuestAddr(kBase + 0x200), 16);
  ASSERT_TRUE(p);
  (*p)[3] = 0x77;
  EXPECT_EQ(*mem_.read_obj<uint8_t>(GuestAddr(kBase + 0x203)), 0x77);
  auto base = mem_.host_range(GuestAddr(kBase), 1);
  ASSERT_TRUE(base);
  EXPECT_EQ(*p - *base, 0x200);
}

TEST_F(GuestMemoryTest, AtomicAccessesAreCheckedAndAligned) {
  ASSERT_TRUE(mem_.store_release<uint16_t>(GuestAddr(kBase + 2), 0xbeef));
  EXPECT_EQ(*mem_.read_obj<uint16_t>(GuestAddr(kBase + 2)), 0xbeef);
  auto v = mem_.load_acquire<uint16_t>(GuestAddr(kBase + 2));
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 0xbeef);
  ASSERT_TRUE(mem_.store_release<uint64_t>(GuestAddr(kBase + kSize - 8), 7));
  EXPECT_EQ(*mem_.load_acquire<uint64_t>(GuestAddr(kBase + kSize - 8)), 7u);

  // Misaligned: an atomic access must not straddle its natural alignment.
  auto m = mem_.load_acquire<uint16_t>(GuestAddr(kBase + 1));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(mem_.store_release<uint32_t>(GuestAddr(kBase + 2), 1));
  // Outside RAM.
  auto o = mem_.load_acquire<uint32_t>(GuestAddr(kBase + kSize));
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().code, ErrorCode::kOutOfRange);
  EXPECT_FALSE(mem_.store_release<uint16_t>(GuestAddr(kBase - 2), 1));
}

TEST(GuestMemoryRegions, AccessMayNotSpanTwoAdjacentRegions) {
  // Two regions that touch are still two host mappings: one pointer cannot
  // cover both, so a straddling access is refused.
  GuestMemory mem;
  ASSERT_TRUE(mem.add_ram(GuestAddr(0x1000), 0x1000));
  ASSERT_TRUE(mem.add_ram(GuestAddr(0x2000), 0x1000));
  EXPECT_TRUE(mem.write_obj<uint32_t>(GuestAddr(0x1ffc), 1));
  EXPECT_TRUE(mem.write_obj<uint32_t>(GuestAddr(0x2000), 2));
  EXPECT_FALSE(mem.write_obj<uint32_t>(GuestAddr(0x1ffe), 3));
  EXPECT_EQ(*mem.read_obj<uint32_t>(GuestAddr(0x1ffc)), 1u);
  EXPECT_EQ(*mem.read_obj<uint32_t>(GuestAddr(0x2000)), 2u);
  EXPECT_EQ(mem.ram_size(), 0x2000u);
}

uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

TEST(GuestMemoryLarge, EightGibRegionCostsOnlyTouchedPages) {
  constexpr uint64_t kHuge = 8ull << 30;
  const uint64_t before = resident_bytes();
  {
    GuestMemory mem;
    auto r = mem.add_ram(GuestAddr(kBase), kHuge);
    ASSERT_TRUE(r) << r.error().message;
    // Touch the first and last pages and one in the middle.
    ASSERT_TRUE(mem.write_obj<uint64_t>(GuestAddr(kBase), 1));
    ASSERT_TRUE(mem.write_obj<uint64_t>(GuestAddr(kBase + kHuge / 2), 2));
    ASSERT_TRUE(mem.write_obj<uint64_t>(GuestAddr(kBase + kHuge - 8), 3));
    EXPECT_EQ(*mem.read_obj<uint64_t>(GuestAddr(kBase + kHuge - 8)), 3u);
    EXPECT_EQ(mem.ram_size(), kHuge);
    // A few touched pages (maybe huge pages with THP), nowhere near 8 GiB.
    EXPECT_LT(resident_bytes() - std::min(before, resident_bytes()), 64ull << 20);
  }
}

}  // namespace
}  // namespace vireo
