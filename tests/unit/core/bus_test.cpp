#include "core/bus.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace vireo {
namespace {

// Records every access and answers reads with a fixed value.
class RecordingDevice final : public BusDevice {
 public:
  struct Access {
    bool is_write;
    uint64_t offset;
    unsigned size;
    uint64_t value;
    bool operator==(const Access&) const = default;
  };
  explicit RecordingDevice(uint64_t read_value = 0) : read_value_(read_value) {}
  uint64_t read(uint64_t offset, unsigned size) override {
    log.push_back({false, offset, size, 0});
    return read_value_;
  }
  void write(uint64_t offset, unsigned size, uint64_t value) override {
    log.push_back({true, offset, size, value});
  }
  std::vector<Access> log;

 private:
  uint64_t read_value_;
};

TEST(BusAdd, RejectsEmptyRangeAndNullDevice) {
  Bus bus("test");
  RecordingDevice dev;
  auto r = bus.add(GuestAddr(0x1000), 0, &dev, "empty");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(bus.add(GuestAddr(0x1000), 0x10, nullptr, "null"));
  EXPECT_TRUE(bus.ranges().empty());
}

TEST(BusAdd, WrapRejectedButTheLastByteOfTheAddressSpaceIsUsable) {
  Bus bus("test");
  RecordingDevice dev(0xabcd);
  auto r = bus.add(GuestAddr(UINT64_MAX - 0xf), 0x11, &dev, "wraps");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(bus.add(GuestAddr(2), UINT64_MAX, &dev, "wraps too"));

  // [2^64 - 16, 2^64) ends exactly at the top: no wrap.
  ASSERT_TRUE(bus.add(GuestAddr(UINT64_MAX - 0xf), 0x10, &dev, "top"));
  uint64_t v = 0;
  EXPECT_TRUE(bus.read(UINT64_MAX - 7, 8, v));
  EXPECT_EQ(v, 0xabcdu);
  EXPECT_TRUE(bus.read(UINT64_MAX, 1, v));
  EXPECT_FALSE(bus.read(UINT64_MAX - 6, 8, v));  // would run past 2^64
  EXPECT_FALSE(bus.read(UINT64_MAX, 2, v));
  ASSERT_EQ(dev.log.size(), 2u);
  EXPECT_EQ(dev.log[1].offset, 0xfu);
}

TEST(BusAdd, WholeAddressSpaceMinusOne) {
  Bus bus("test");
  RecordingDevice dev;
  ASSERT_TRUE(bus.add(GuestAddr(0), UINT64_MAX, &dev, "almost all"));
  uint64_t v;
  EXPECT_TRUE(bus.read(UINT64_MAX - 1, 1, v));
  EXPECT_FALSE(bus.read(UINT64_MAX, 1, v));
  // Anything else overlaps.
  EXPECT_FALSE(bus.add(GuestAddr(0x1234), 1, &dev, "inside"));
  EXPECT_TRUE(bus.add(GuestAddr(UINT64_MAX), 1, &dev, "last byte"));
}

TEST(BusAdd, OverlapsRejectedTouchingAccepted) {
  Bus bus("test");
  RecordingDevice dev;
  ASSERT_TRUE(bus.add(GuestAddr(0x1000), 0x1000, &dev, "a"));  // [0x1000, 0x2000)
  struct Case {
    uint64_t base, size;
  };
  const Case overlapping[] = {
      {0x1000, 0x1000},  // identical
      {0x1fff, 1},       // last byte
      {0x1fff, 0x1000},  // starts on the last byte
      {0xfff, 2},        // ends on the first byte
      {0x0, 0x1001},     // ends on the first byte, from far below
      {0x1800, 0x10},    // inside
      {0x0, 0x10000},    // contains
  };
  for (const auto& c : overlapping) {
    auto r = bus.add(GuestAddr(c.base), c.size, &dev, "b");
    ASSERT_FALSE(r) << std::hex << c.base << "+" << c.size;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("overlaps"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(bus.ranges().size(), 1u);

  EXPECT_TRUE(bus.add(GuestAddr(0x2000), 0x10, &dev, "after"));  // touches the end
  EXPECT_TRUE(bus.add(GuestAddr(0xff0), 0x10, &dev, "before"));  // touches the start
  EXPECT_FALSE(bus.add(GuestAddr(0x200f), 1, &dev, "end of after"));
  EXPECT_FALSE(bus.add(GuestAddr(0xff0), 1, &dev, "start of before"));
  EXPECT_EQ(bus.ranges().size(), 3u);
}

TEST(BusAdd, RangesStaySortedWhateverTheRegistrationOrder) {
  Bus bus("test");
  RecordingDevice dev;
  for (uint64_t base : {0x5000, 0x1000, 0x9000, 0x3000}) {
    ASSERT_TRUE(bus.add(GuestAddr(base), 0x100, &dev, "d"));
  }
  const auto& ranges = bus.ranges();
  ASSERT_EQ(ranges.size(), 4u);
  for (size_t i = 1; i < ranges.size(); ++i) EXPECT_LT(ranges[i - 1].base, ranges[i].base);
}

TEST(BusDispatch, ReachesTheRightDeviceWithItsOffset) {
  Bus bus("test");
  RecordingDevice low(0x11), mid(0x22), high(0x33);
  // Registered out of order on purpose.
  ASSERT_TRUE(bus.add(GuestAddr(0x1000'0000), 0x100, &mid, "mid"));
  ASSERT_TRUE(bus.add(GuestAddr(0x0c00'0000), 0x400'0000, &high, "high-ish"));
  ASSERT_TRUE(bus.add(GuestAddr(0x0010'0000), 0x1000, &low, "low"));

  uint64_t v = 0;
  ASSERT_TRUE(bus.read(0x1000'0005, 1, v));
  EXPECT_EQ(v, 0x22u);
  ASSERT_TRUE(bus.write(0x0c20'0004, 4, 0xdeadbeef));
  ASSERT_TRUE(bus.read(0x0010'0000, 8, v));
  EXPECT_EQ(v, 0x11u);
  ASSERT_TRUE(bus.write(0x0010'0ff8, 8, 0x0123456789abcdefull));

  using A = RecordingDevice::Access;
  EXPECT_EQ(mid.log, (std::vector<A>{{false, 5, 1, 0}}));
  EXPECT_EQ(high.log, (std::vector<A>{{true, 0x20'0004, 4, 0xdeadbeef}}));
  EXPECT_EQ(low.log, (std::vector<A>{{false, 0, 8, 0}, {true, 0xff8, 8, 0x0123456789abcdefull}}));
}

TEST(BusDispatch, StraddlingAndMissesAreRejectedWithoutSideEffects) {
  Bus bus("test");
  RecordingDevice a, b;
  ASSERT_TRUE(bus.add(GuestAddr(0x1000), 0x10, &a, "a"));  // [0x1000, 0x1010)
  ASSERT_TRUE(bus.add(GuestAddr(0x1010), 0x10, &b, "b"));  // touching: [0x1010, 0x1020)
  ASSERT_TRUE(bus.add(GuestAddr(0x3000), 0x10, &b, "b2"));
  uint64_t v = 0x5555;

  EXPECT_TRUE(bus.read(0x100c, 4, v));   // the last 4 bytes of a
  EXPECT_FALSE(bus.read(0x100d, 4, v));  // one byte into b: belongs to neither
  EXPECT_FALSE(bus.write(0x100f, 2, 0));
  EXPECT_FALSE(bus.read(0x101c, 8, v));  // runs past b into the gap
  EXPECT_FALSE(bus.read(0x0fff, 1, v));  // below every range
  EXPECT_FALSE(bus.read(0x0, 8, v));
  EXPECT_FALSE(bus.read(0x2000, 4, v));  // in the gap
  EXPECT_FALSE(bus.write(0x2000, 4, 1));
  EXPECT_FALSE(bus.read(0x3010, 1, v));  // just past the last range
  EXPECT_FALSE(bus.read(UINT64_MAX, 8, v));
  EXPECT_EQ(a.log.size(), 1u);
  EXPECT_TRUE(b.log.empty());

  EXPECT_TRUE(bus.read(0x1010, 8, v));
  EXPECT_EQ(b.log.size(), 1u);
  EXPECT_EQ(b.log[0].offset, 0u);
}

TEST(BusDispatch, EmptyBusMissesEverything) {
  Bus bus("empty");
  uint64_t v = 0;
  EXPECT_FALSE(bus.read(0, 1, v));
  EXPECT_FALSE(bus.write(0x1000, 4, 0));
}

}  // namespace
}  // namespace vireo
