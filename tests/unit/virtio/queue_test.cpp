#include "devices/virtio/queue.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "virtio_test_support.hpp"

namespace vireo::virtio {
namespace {

using test::DriverRing;
using test::kRamBase;
using test::kRamEnd;

constexpr uint64_t kAllFeatures = kFeatureVersion1 | kFeatureIndirectDesc | kFeatureEventIdx;
constexpr uint64_t kData = DriverRing::kData;
constexpr uint64_t kTable = kRamBase + 0x8000;  // indirect tables

class VirtQueueTest : public ::testing::Test {
 protected:
  void make_queue(uint16_t size = 8, uint64_t features = kAllFeatures) {
    ring_ = std::make_unique<DriverRing>(ram_.memory, size);
    auto q = VirtQueue::create(ram_.memory, ring_->layout(), features);
    ASSERT_TRUE(q) << q.error().message;
    queue_ = std::move(*q);
  }
  void SetUp() override { make_queue(); }

  // Pops one chain and expects the driver to have broken the protocol, with
  // `what` in the message; the queue stays broken afterwards.
  void expect_protocol_error(const std::string& what) {
    auto r = queue_.pop_chain();
    ASSERT_FALSE(r) << "expected an error mentioning '" << what << "'";
    EXPECT_EQ(r.error().code, ErrorCode::kGuest);
    EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
    EXPECT_TRUE(queue_.broken());
    EXPECT_FALSE(queue_.pop_chain());
    EXPECT_EQ(ring_->used_idx(), 0) << "nothing may be returned for a bad chain";
  }

  test::TestRam ram_;
  std::unique_ptr<DriverRing> ring_;
  VirtQueue queue_;
};

TEST_F(VirtQueueTest, EmptyRingPopsNothing) {
  auto r = queue_.pop_chain();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(queue_.next_avail(), 0);
}

TEST_F(VirtQueueTest, NotReadyQueuePopsNothing) {
  VirtQueue idle;
  EXPECT_FALSE(idle.ready());
  auto r = idle.pop_chain();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
  EXPECT_FALSE(idle.add_used(0, 0));
  EXPECT_FALSE(idle.needs_notification());
}

TEST_F(VirtQueueTest, ReadableThenWritableChain) {
  ring_->set_desc(0, kData, 16, kDescFlagNext, 3);
  ring_->set_desc(3, kData + 0x100, 32, kDescFlagNext, 5);
  ring_->set_desc(5, kData + 0x200, 64, kDescFlagWrite);
  ring_->push(0);

  auto r = queue_.pop_chain();
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->has_value());
  const DescriptorChain& c = **r;
  EXPECT_EQ(c.head(), 0);
  ASSERT_EQ(c.segments().size(), 3u);
  EXPECT_EQ(c.readable().size(), 2u);
  EXPECT_EQ(c.writable().size(), 1u);
  EXPECT_EQ(c.readable_bytes(), 48u);
  EXPECT_EQ(c.writable_bytes(), 64u);
  EXPECT_EQ(c.segments()[1].addr.value, kData + 0x100);
  EXPECT_EQ(c.segments()[1].len, 32u);
  EXPECT_FALSE(c.segments()[1].writable);
  EXPECT_TRUE(c.writable()[0].writable);
  EXPECT_EQ(queue_.next_avail(), 1);

  ASSERT_TRUE(queue_.add_used(c.head(), 10));
  EXPECT_EQ(ring_->used_idx(), 1);
  EXPECT_EQ(ring_->used(0).id, 0u);
  EXPECT_EQ(ring_->used(0).len, 10u);

  auto empty = queue_.pop_chain();
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->has_value());
}

TEST_F(VirtQueueTest, SeveralChainsInOrderAndRingWrap) {
  // Drive the free-running indices through a 16-bit wrap.
  for (unsigned i = 0; i < 70000; i += 7) {
    for (unsigned k = 0; k < 7; ++k) {
      const auto head = static_cast<uint16_t>((i + k) % ring_->size());
      ring_->set_desc(head, kData + 0x10 * head, 4 + head, kDescFlagWrite);
      ring_->push(head);
    }
    for (unsigned k = 0; k < 7; ++k) {
      auto r = queue_.pop_chain();
      ASSERT_TRUE(r && r->has_value()) << i;
      const auto head = static_cast<uint16_t>((i + k) % ring_->size());
      ASSERT_EQ((*r)->head(), head);
      ASSERT_EQ((*r)->writable_bytes(), 4u + head);
      ASSERT_TRUE(queue_.add_used(head, 1));
    }
  }
  EXPECT_EQ(queue_.next_avail(), static_cast<uint16_t>(70000));
  EXPECT_EQ(ring_->used_idx(), static_cast<uint16_t>(70000));
}

TEST_F(VirtQueueTest, ChainObjectIsReused) {
  DescriptorChain chain;
  ring_->set_desc(0, kData, 8, kDescFlagNext, 1);
  ring_->set_desc(1, kData + 8, 8, kDescFlagWrite);
  ring_->push(0);
  ring_->set_desc(2, kData + 64, 4, kDescFlagWrite);
  ring_->push(2);
  ASSERT_TRUE(*queue_.pop_chain(chain));
  EXPECT_EQ(chain.segments().size(), 2u);
  ASSERT_TRUE(*queue_.pop_chain(chain));
  EXPECT_EQ(chain.head(), 2);
  ASSERT_EQ(chain.segments().size(), 1u);
  EXPECT_EQ(chain.readable_bytes(), 0u);
  EXPECT_EQ(chain.writable_bytes(), 4u);
  EXPECT_FALSE(*queue_.pop_chain(chain));
}

TEST_F(VirtQueueTest, ZeroLengthDescriptorsAreDropped) {
  // A zero-length descriptor names no memory, even at an address outside RAM.
  ring_->set_desc(0, 0xdead'0000, 0, kDescFlagNext, 1);
  ring_->set_desc(1, kData, 8, kDescFlagWrite);
  ring_->push(0);
  auto r = queue_.pop_chain();
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->segments().size(), 1u);
  EXPECT_EQ((*r)->descriptor_count(), 2u);
}

TEST_F(VirtQueueTest, BuffersAtTheEdgesOfRam) {
  ring_->set_desc(0, kRamBase, 1, kDescFlagNext, 1);
  ring_->set_desc(1, kRamEnd - 4096, 4096, kDescFlagWrite);
  ring_->push(0);
  auto r = queue_.pop_chain();
  ASSERT_TRUE(r && r->has_value()) << (r ? "" : r.error().message);
}

TEST_F(VirtQueueTest, IndirectTable) {
  ring_->set_desc_at(kTable + 0, kData, 16, kDescFlagNext, 1);
  ring_->set_desc_at(kTable + 16, kData + 0x100, 100, kDescFlagWrite | kDescFlagNext, 2);
  ring_->set_desc_at(kTable + 32, kData + 0x200, 28, kDescFlagWrite);
  // The WRITE flag on the descriptor that points at a table is ignored.
  ring_->set_desc(4, kTable, 48, kDescFlagIndirect | kDescFlagWrite);
  ring_->push(4);
  auto r = queue_.pop_chain();
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->head(), 4);
  EXPECT_EQ((*r)->readable_bytes(), 16u);
  EXPECT_EQ((*r)->writable_bytes(), 128u);
  EXPECT_EQ((*r)->descriptor_count(), 4u);
}

TEST_F(VirtQueueTest, DirectDescriptorsThenAnIndirectTable) {
  // §2.7.5.3.2: zero or more chained descriptors, then one indirect one.
  ring_->set_desc(0, kData, 16, kDescFlagNext, 1);
  ring_->set_desc(1, kTable, 16, kDescFlagIndirect);
  ring_->set_desc_at(kTable, kData + 0x100, 8, kDescFlagWrite);
  ring_->push(0);
  auto r = queue_.pop_chain();
  ASSERT_TRUE(r && r->has_value()) << (r ? "" : r.error().message);
  EXPECT_EQ((*r)->readable_bytes(), 16u);
  EXPECT_EQ((*r)->writable_bytes(), 8u);
}

TEST_F(VirtQueueTest, IndirectTableLargerThanTheQueue) {
  // Linux uses one entry per scatter-gather element: more than the queue holds is fine.
  constexpr uint16_t kEntries = 40;
  for (uint16_t i = 0; i < kEntries; ++i) {
    ring_->set_desc_at(kTable + 16ull * i, kData + 8ull * i, 8,
                       kDescFlagWrite | (i + 1 < kEntries ? kDescFlagNext : 0), i + 1);
  }
  ring_->set_desc(0, kTable, 16 * kEntries, kDescFlagIndirect);
  ring_->push(0);
  auto r = queue_.pop_chain();
  ASSERT_TRUE(r && r->has_value()) << (r ? "" : r.error().message);
  EXPECT_EQ((*r)->segments().size(), kEntries);
}

// ---- Hostile chains

TEST_F(VirtQueueTest, RejectsALoop) {
  ring_->set_desc(0, kData, 8, kDescFlagNext, 1);
  ring_->set_desc(1, kData, 8, kDescFlagNext, 2);
  ring_->set_desc(2, kData, 8, kDescFlagNext, 0);
  ring_->push(0);
  expect_protocol_error("loops");
}

TEST_F(VirtQueueTest, RejectsASelfLoop) {
  ring_->set_desc(5, kData, 8, kDescFlagNext, 5);
  ring_->push(5);
  expect_protocol_error("loops");
}

TEST_F(VirtQueueTest, RejectsAChainLongerThanTheQueue) {
  // Every descriptor of the table in one chain is fine; the loop back makes
  // it one longer than the queue.
  for (uint16_t i = 0; i < 8; ++i) ring_->set_desc(i, kData, 1, kDescFlagNext, (i + 1) % 8);
  ring_->push(0);
  expect_protocol_error("longer than its descriptor table");
}

TEST_F(VirtQueueTest, AcceptsAChainAsLongAsTheQueue) {
  for (uint16_t i = 0; i < 8; ++i) {
    ring_->set_desc(i, kData, 1, i < 7 ? kDescFlagNext : 0, i + 1);
  }
  ring_->push(0);
  auto r = queue_.pop_chain();
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->descriptor_count(), 8u);
}

TEST_F(VirtQueueTest, RejectsALoopInsideAnIndirectTable) {
  ring_->set_desc_at(kTable + 0, kData, 8, kDescFlagNext, 1);
  ring_->set_desc_at(kTable + 16, kData, 8, kDescFlagNext, 0);
  ring_->set_desc(0, kTable, 32, kDescFlagIndirect);
  ring_->push(0);
  expect_protocol_error("indirect table");
}

TEST_F(VirtQueueTest, RejectsHeadOutsideTheTable) {
  ring_->push(8);
  expect_protocol_error("head 8");
}

TEST_F(VirtQueueTest, RejectsNextOutsideTheTable) {
  ring_->set_desc(0, kData, 8, kDescFlagNext, 8);
  ring_->push(0);
  expect_protocol_error("outside its table");
}

TEST_F(VirtQueueTest, RejectsNextChainingOutOfAnIndirectTable) {
  ring_->set_desc_at(kTable, kData, 8, kDescFlagNext, 2);  // the table has 2 entries
  ring_->set_desc(0, kTable, 32, kDescFlagIndirect);
  ring_->push(0);
  expect_protocol_error("outside its table of 2");
}

TEST_F(VirtQueueTest, RejectsAddressPastRam) {
  ring_->set_desc(0, kRamEnd, 1, kDescFlagWrite);
  ring_->push(0);
  expect_protocol_error("not inside guest RAM");
}

TEST_F(VirtQueueTest, RejectsBufferCrossingTheEndOfRam) {
  ring_->set_desc(0, kRamEnd - 8, 9, kDescFlagWrite);
  ring_->push(0);
  expect_protocol_error("not inside guest RAM");
}

TEST_F(VirtQueueTest, RejectsBufferBelowRam) {
  ring_->set_desc(0, kRamBase - 4, 8);
  ring_->push(0);
  expect_protocol_error("not inside guest RAM");
}

TEST_F(VirtQueueTest, RejectsLengthThatOverflowsTheAddress) {
  // addr + len wraps past 2^64 into RAM if computed naively.
  ring_->set_desc(0, UINT64_MAX - 0xff, 0x1000'0000, kDescFlagWrite);
  ring_->push(0);
  expect_protocol_error("not inside guest RAM");
}

TEST_F(VirtQueueTest, OverlappingBuffersMayClaimMoreThanRam) {
  // Each buffer is inside RAM; overlapping, they add up to 8 times RAM. Legal,
  // which is why devices cap what they allocate for a request.
  for (uint16_t i = 0; i < 8; ++i) {
    ring_->set_desc(i, kRamBase, test::kRamSize, kDescFlagWrite | (i < 7 ? kDescFlagNext : 0),
                    i + 1);
  }
  ring_->push(0);
  auto r = queue_.pop_chain();
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->writable_bytes(), 8 * test::kRamSize);
}

TEST(VirtQueueTotalLength, RejectsChainsOver4GiB) {
  // Two overlapping 3 GiB buffers (MAP_NORESERVE RAM costs nothing untouched).
  GuestMemory big;
  ASSERT_TRUE(big.add_ram(GuestAddr(kRamBase), test::kRamSize));  // the rings
  ASSERT_TRUE(big.add_ram(GuestAddr(0x1'0000'0000), 3ull << 30));
  DriverRing ring(big, 4);
  ring.set_desc(0, 0x1'0000'0000, 3u << 30, kDescFlagWrite | kDescFlagNext, 1);
  ring.set_desc(1, 0x1'0000'0000, 3u << 30, kDescFlagWrite);
  ring.push(0);
  auto q = VirtQueue::create(big, ring.layout(), kAllFeatures);
  ASSERT_TRUE(q);
  auto bad = q->pop_chain();
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("longer than 4294967295 bytes"), std::string::npos)
      << bad.error().message;
}

TEST_F(VirtQueueTest, RejectsReadableAfterWritable) {
  ring_->set_desc(0, kData, 8, kDescFlagWrite | kDescFlagNext, 1);
  ring_->set_desc(1, kData + 8, 8);
  ring_->push(0);
  expect_protocol_error("device-readable descriptor 1 follows a device-writable one");
}

TEST_F(VirtQueueTest, RejectsReadableAfterWritableInsideAnIndirectTable) {
  ring_->set_desc_at(kTable, kData, 8, kDescFlagWrite | kDescFlagNext, 1);
  ring_->set_desc_at(kTable + 16, kData, 8);
  ring_->set_desc(0, kTable, 32, kDescFlagIndirect);
  ring_->push(0);
  expect_protocol_error("follows a device-writable one");
}

TEST_F(VirtQueueTest, RejectsIndirectInsideIndirect) {
  ring_->set_desc_at(kTable + 0x100, kData, 8, kDescFlagWrite);
  ring_->set_desc_at(kTable, kTable + 0x100, 16, kDescFlagIndirect);
  ring_->set_desc(0, kTable, 16, kDescFlagIndirect);
  ring_->push(0);
  expect_protocol_error("indirect descriptor inside an indirect table");
}

TEST_F(VirtQueueTest, RejectsZeroLengthIndirectTable) {
  ring_->set_desc(0, kTable, 0, kDescFlagIndirect);
  ring_->push(0);
  expect_protocol_error("not a nonzero multiple of 16");
}

TEST_F(VirtQueueTest, RejectsIndirectLengthNotAMultipleOf16) {
  ring_->set_desc(0, kTable, 24, kDescFlagIndirect);
  ring_->push(0);
  expect_protocol_error("not a nonzero multiple of 16");
}

TEST_F(VirtQueueTest, RejectsOversizedIndirectTable) {
  ring_->set_desc(0, kTable, 16 * (VirtQueue::kMaxIndirectEntries + 1), kDescFlagIndirect);
  ring_->push(0);
  expect_protocol_error("exceeds the limit");
}

TEST_F(VirtQueueTest, RejectsIndirectTableOutsideRam) {
  ring_->set_desc(0, kRamEnd - 16, 32, kDescFlagIndirect);
  ring_->push(0);
  expect_protocol_error("indirect table at");
}

TEST_F(VirtQueueTest, RejectsIndirectWithNext) {
  ring_->set_desc_at(kTable, kData, 8, kDescFlagWrite);
  ring_->set_desc(0, kTable, 16, kDescFlagIndirect | kDescFlagNext, 1);
  ring_->push(0);
  expect_protocol_error("also has NEXT");
}

TEST_F(VirtQueueTest, RejectsIndirectWithoutTheFeature) {
  make_queue(8, kFeatureVersion1);
  ring_->set_desc_at(kTable, kData, 8, kDescFlagWrite);
  ring_->set_desc(0, kTable, 16, kDescFlagIndirect);
  ring_->push(0);
  expect_protocol_error("VIRTIO_F_INDIRECT_DESC");
}

TEST_F(VirtQueueTest, RejectsAvailIdxMoreThanAQueueAhead) {
  ring_->set_avail_idx(9);
  expect_protocol_error("more than the queue size");
}

TEST_F(VirtQueueTest, AcceptsAvailIdxExactlyAQueueAhead) {
  for (uint16_t i = 0; i < 8; ++i) {
    ring_->set_desc(i, kData, 8, kDescFlagWrite);
    ring_->push(i);
  }
  for (int i = 0; i < 8; ++i) {
    auto r = queue_.pop_chain();
    ASSERT_TRUE(r && r->has_value());
  }
}

// ---- Layouts

TEST(VirtQueueLayout, ChecksSizeAlignmentAndRam) {
  test::TestRam ram;
  const GuestMemory& m = ram.memory;
  const QueueLayout good{8, GuestAddr(kRamBase), GuestAddr(kRamBase + 0x1000),
                         GuestAddr(kRamBase + 0x2000)};
  EXPECT_TRUE(VirtQueue::check_layout(m, good));
  auto with = [&](auto change) {
    QueueLayout l = good;
    change(l);
    return VirtQueue::check_layout(m, l);
  };
  EXPECT_FALSE(with([](QueueLayout& l) { l.size = 0; }));
  EXPECT_FALSE(with([](QueueLayout& l) { l.size = 6; }));  // not a power of two
  EXPECT_TRUE(with([](QueueLayout& l) { l.size = 1; }));
  EXPECT_FALSE(with([](QueueLayout& l) { l.desc = GuestAddr(kRamBase + 8); }));
  EXPECT_FALSE(with([](QueueLayout& l) { l.avail = GuestAddr(kRamBase + 0x1001); }));
  EXPECT_FALSE(with([](QueueLayout& l) { l.used = GuestAddr(kRamBase + 0x2002); }));
  // Each ring must fit in RAM to its last byte.
  EXPECT_TRUE(with([](QueueLayout& l) { l.desc = GuestAddr(kRamEnd - 16 * 8); }));
  EXPECT_FALSE(with([](QueueLayout& l) { l.desc = GuestAddr(kRamEnd - 16 * 7); }));
  EXPECT_TRUE(with([](QueueLayout& l) { l.avail = GuestAddr(kRamEnd - (6 + 2 * 8)); }));
  EXPECT_FALSE(with([](QueueLayout& l) { l.avail = GuestAddr(kRamEnd - (4 + 2 * 8)); }));
  EXPECT_TRUE(with([](QueueLayout& l) { l.used = GuestAddr(kRamEnd - (8 + 8 * 8)); }));
  EXPECT_FALSE(with([](QueueLayout& l) { l.used = GuestAddr(kRamEnd - (4 + 8 * 8)); }));
  EXPECT_FALSE(with([](QueueLayout& l) { l.used = GuestAddr(UINT64_MAX - 3); }));
  EXPECT_FALSE(VirtQueue::create(m, QueueLayout{}, 0));
}

// ---- Notification suppression

TEST_F(VirtQueueTest, EventIdxSuppressesUsedNotifications) {
  auto complete_one = [&](uint16_t head) {
    ring_->set_desc(head, kData, 8, kDescFlagWrite);
    ring_->push(head);
    auto r = queue_.pop_chain();
    ASSERT_TRUE(r && r->has_value());
    ASSERT_TRUE(queue_.add_used(head, 8));
  };
  // Nothing used yet: nothing to notify.
  EXPECT_FALSE(queue_.needs_notification());
  // used_event = 0: notify when used idx moves past 0 (the first buffer).
  ring_->set_used_event(0);
  complete_one(0);
  EXPECT_TRUE(queue_.needs_notification());
  complete_one(1);
  EXPECT_FALSE(queue_.needs_notification()) << "used idx 2 did not cross used_event 0 again";
  // The driver asks to hear about entry 3 (used idx reaching 4).
  ring_->set_used_event(3);
  complete_one(2);
  EXPECT_FALSE(queue_.needs_notification());
  complete_one(3);
  EXPECT_TRUE(queue_.needs_notification());
  // Nothing new since the last notification: nothing to say.
  EXPECT_FALSE(queue_.needs_notification());
  // Two at once that jump over used_event = 5 still notify.
  ring_->set_used_event(4);
  complete_one(4);
  complete_one(5);
  EXPECT_TRUE(queue_.needs_notification());
  // The NO_INTERRUPT flag is ignored with EVENT_IDX.
  ring_->set_avail_flags(kAvailFlagNoInterrupt);
  ring_->set_used_event(6);
  complete_one(6);
  EXPECT_TRUE(queue_.needs_notification());
}

TEST_F(VirtQueueTest, EventIdxAcrossTheIndexWrap) {
  for (unsigned i = 0; i < 65534; ++i) {
    ring_->set_desc(0, kData, 8, kDescFlagWrite);
    ring_->push(0);
    ASSERT_TRUE(*queue_.pop_chain());
    ASSERT_TRUE(queue_.add_used(0, 0));
  }
  ring_->set_used_event(65533);
  EXPECT_TRUE(queue_.needs_notification());
  ring_->set_used_event(0);  // entry 0 of the next lap
  for (int i = 0; i < 2; ++i) {
    ring_->set_desc(0, kData, 8, kDescFlagWrite);
    ring_->push(0);
    ASSERT_TRUE(*queue_.pop_chain());
    ASSERT_TRUE(queue_.add_used(0, 0));
  }
  EXPECT_EQ(queue_.next_used(), 0);
  EXPECT_FALSE(queue_.needs_notification()) << "used idx 0 has not passed used_event 0";
  ring_->set_desc(0, kData, 8, kDescFlagWrite);
  ring_->push(0);
  ASSERT_TRUE(*queue_.pop_chain());
  ASSERT_TRUE(queue_.add_used(0, 0));
  EXPECT_TRUE(queue_.needs_notification());
}

TEST_F(VirtQueueTest, EmptyRingArmsAvailEvent) {
  // With EVENT_IDX, finding the ring empty asks the driver to notify for the
  // next entry it publishes.
  auto r = queue_.pop_chain();
  ASSERT_TRUE(r && !r->has_value());
  EXPECT_EQ(ring_->avail_event(), 0);
  for (uint16_t i = 0; i < 3; ++i) {
    ring_->set_desc(i, kData, 8, kDescFlagWrite);
    ring_->push(i);
  }
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(*queue_.pop_chain());
  EXPECT_EQ(ring_->avail_event(), 0) << "not re-armed while chains were pending";
  ASSERT_FALSE(*queue_.pop_chain());
  EXPECT_EQ(ring_->avail_event(), 3);
  EXPECT_EQ(ring_->used_flags(), 0) << "the device leaves used flags at 0 with EVENT_IDX";
}

TEST_F(VirtQueueTest, NoInterruptFlagWithoutEventIdx) {
  make_queue(8, kFeatureVersion1);
  ring_->set_desc(0, kData, 8, kDescFlagWrite);
  ring_->push(0);
  ASSERT_TRUE(*queue_.pop_chain());
  ASSERT_TRUE(queue_.add_used(0, 0));
  EXPECT_TRUE(queue_.needs_notification());
  ring_->set_avail_flags(kAvailFlagNoInterrupt);
  EXPECT_FALSE(queue_.needs_notification());
  ring_->set_used_event(1);  // ignored without EVENT_IDX
  ring_->set_avail_flags(0);
  EXPECT_TRUE(queue_.needs_notification());
  // Without EVENT_IDX, avail_event is not written.
  ASSERT_FALSE(*queue_.pop_chain());
  EXPECT_EQ(ring_->avail_event(), 0);
}

TEST_F(VirtQueueTest, AddUsedChecksTheHead) {
  EXPECT_FALSE(queue_.add_used(8, 0));
  EXPECT_EQ(ring_->used_idx(), 0);
}

// ---- Reading and writing chain contents

TEST_F(VirtQueueTest, ReaderAndWriterCrossSegments) {
  const std::array<uint8_t, 6> in = {1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(ram_.memory.write(GuestAddr(kData), std::span(in).first(2)));
  ASSERT_TRUE(ram_.memory.write(GuestAddr(kData + 0x100), std::span(in).subspan(2)));
  ring_->set_desc(0, kData, 2, kDescFlagNext, 1);
  ring_->set_desc(1, kData + 0x100, 4, kDescFlagNext, 2);
  ring_->set_desc(2, kData + 0x200, 3, kDescFlagWrite | kDescFlagNext, 3);
  ring_->set_desc(3, kData + 0x300, 5, kDescFlagWrite);
  ring_->push(0);
  auto r = queue_.pop_chain();
  ASSERT_TRUE(r && r->has_value());

  ChainReader reader(ram_.memory, **r);
  EXPECT_EQ(reader.remaining(), 6u);
  std::array<uint8_t, 7> too_big{};
  EXPECT_FALSE(reader.read(too_big));
  EXPECT_EQ(reader.remaining(), 6u) << "a failed read consumes nothing";
  auto first = reader.read_obj<uint8_t>();
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 1);
  std::array<uint8_t, 5> rest{};
  ASSERT_TRUE(reader.read(rest));
  EXPECT_EQ(rest, (std::array<uint8_t, 5>{2, 3, 4, 5, 6}));
  EXPECT_EQ(reader.remaining(), 0u);

  ChainWriter writer(ram_.memory, **r);
  EXPECT_EQ(writer.remaining(), 8u);
  const std::array<uint8_t, 9> nine{};
  EXPECT_FALSE(writer.write(nine));
  EXPECT_EQ(writer.written(), 0u);
  ASSERT_TRUE(writer.write_obj<uint32_t>(0x44332211));
  ASSERT_TRUE(writer.write(std::array<uint8_t, 4>{0x55, 0x66, 0x77, 0x88}));
  EXPECT_EQ(writer.written(), 8u);
  EXPECT_EQ(*ram_.memory.read_obj<uint16_t>(GuestAddr(kData + 0x200)), 0x2211);
  EXPECT_EQ(*ram_.memory.read_obj<uint8_t>(GuestAddr(kData + 0x202)), 0x33);
  EXPECT_EQ(*ram_.memory.read_obj<uint32_t>(GuestAddr(kData + 0x300)), 0x77665544u);
  EXPECT_EQ(*ram_.memory.read_obj<uint8_t>(GuestAddr(kData + 0x304)), 0x88);
}

}  // namespace
}  // namespace vireo::virtio
