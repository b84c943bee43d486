#include "devices/virtio/blk.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../devices/fake_irq_sink.hpp"
#include "core/event_loop.hpp"
#include "mmio_driver.hpp"
#include "virtio_test_support.hpp"

namespace vireo::virtio {
namespace {

using test::DriverRing;
using test::kRamBase;
using T = MmioTransport;

constexpr uint32_t kIrq = 5;
constexpr uint64_t kDiskBytes = 1 << 20;
constexpr uint64_t kSectors = kDiskBytes / 512;
// Request pieces in guest RAM: headers, then status bytes, then data.
constexpr uint64_t kTables = kRamBase + 0x5000;  // indirect tables, 48 bytes each
constexpr uint64_t kHeaders = kRamBase + 0x8000;
constexpr uint64_t kStatus = kRamBase + 0xc000;
constexpr uint64_t kData = kRamBase + 0x20000;

// A temporary image file filled with a known pattern: byte i is (i * 7) mod 251.
class TempImage {
 public:
  TempImage() {
    char name[] = "/tmp/vireo-blk-test-XXXXXX";
    fd_ = ::mkstemp(name);
    path_ = name;
    std::vector<uint8_t> bytes(kDiskBytes);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 % 251);
    EXPECT_EQ(::pwrite(fd_, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  }
  ~TempImage() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::vector<uint8_t> read(uint64_t offset, size_t len) const {
    std::vector<uint8_t> out(len);
    EXPECT_EQ(::pread(fd_, out.data(), len, static_cast<off_t>(offset)), static_cast<ssize_t>(len));
    return out;
  }
  static uint8_t pattern(uint64_t i) { return static_cast<uint8_t>(i * 7 % 251); }

 private:
  int fd_ = -1;
  std::string path_;
};

class BlkTest : public ::testing::Test {
 protected:
  void SetUp() override { create(false); }
  void create(bool readonly, EventLoop* loop = nullptr) {
    transport_.reset();
    auto image = open_disk_image(DiskConfig{file_.path(), readonly, "test-serial"});
    ASSERT_TRUE(image) << image.error().message;
    auto blk = Blk::create(std::move(*image));
    ASSERT_TRUE(blk) << blk.error().message;
    blk_ = blk->get();
    auto t = T::create(std::move(*blk), ram_.memory, IrqLine(&irq_, kIrq), loop, "test-blk");
    ASSERT_TRUE(t) << t.error().message;
    transport_ = std::move(*t);
    driver_ = std::make_unique<test::MmioDriver>(*transport_);
  }
  void bring_up(DriverRing& ring) {
    ASSERT_EQ(transport_->read(T::kDeviceIdReg, 4), 2u);
    const uint64_t features = driver_->device_features();
    ASSERT_TRUE(driver_->negotiate(features));
    driver_->setup_queue(0, ring.layout());
    driver_->driver_ok();
    ASSERT_EQ(driver_->status() & T::kStatusNeedsReset, 0u);
  }
  void bring_up() { bring_up(ring_); }

  // Lays out request `n` (header, data, status; len 0: no data) as
  // descriptors 3n, 3n+1, 3n+2 of ring_, or, on another ring, as an indirect
  // table in descriptor n, and makes it available.
  void request(uint16_t n, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
               DriverRing* ring = nullptr) {
    const uint64_t hdr = kHeaders + 16ull * n;
    ASSERT_TRUE(ram_.memory.write_obj(GuestAddr(hdr), Blk::RequestHeader{type, 0, sector}));
    ASSERT_TRUE(ram_.memory.write_obj<uint8_t>(GuestAddr(kStatus + n), 0xff));
    const bool device_writes = type == Blk::kTypeIn || type == Blk::kTypeGetId;
    const uint16_t data_flags = kDescFlagNext | (device_writes ? kDescFlagWrite : 0);
    if (ring != nullptr) {
      const uint64_t table = kTables + 48ull * n;
      const uint16_t last = len > 0 ? 2 : 1;
      ring->set_desc_at(table, hdr, 16, kDescFlagNext, 1);
      if (len > 0) ring->set_desc_at(table + 16, data, len, data_flags, 2);
      ring->set_desc_at(table + 16 * last, kStatus + n, 1, kDescFlagWrite);
      ring->set_desc(n, table, 16u * (last + 1), kDescFlagIndirect);
      ring->push(n);
      return;
    }
    const auto d = static_cast<uint16_t>(3 * n);
    if (len > 0) {
      ring_.set_desc(d, hdr, 16, kDescFlagNext, d + 1);
      ring_.set_desc(d + 1, data, len, data_flags, d + 2);
    } else {
      ring_.set_desc(d, hdr, 16, kDescFlagNext, d + 2);
    }
    ring_.set_desc(d + 2, kStatus + n, 1, kDescFlagWrite);
    ring_.push(d);
  }
  // A discard or write-zeroes request with one segment, as request `n`.
  void range_request(uint16_t n, uint32_t type, uint64_t sector, uint32_t count, uint32_t flags) {
    const uint64_t seg = kData + 0x80000 + 16ull * n;
    ASSERT_TRUE(ram_.memory.write_obj(GuestAddr(seg), Blk::DiscardSegment{sector, count, flags}));
    request(n, type, 0, seg, 16);
  }
  uint8_t status(uint16_t n) { return *ram_.memory.read_obj<uint8_t>(GuestAddr(kStatus + n)); }
  std::vector<uint8_t> guest_bytes(uint64_t addr, size_t len) {
    std::vector<uint8_t> out(len);
    EXPECT_TRUE(ram_.memory.read(GuestAddr(addr), out));
    return out;
  }
  void fill_guest(uint64_t addr, size_t len, uint8_t seed) {
    std::vector<uint8_t> b(len);
    for (size_t i = 0; i < len; ++i) b[i] = static_cast<uint8_t>(seed + i * 13);
    ASSERT_TRUE(ram_.memory.write(GuestAddr(addr), b));
  }
  bool needs_reset() { return (driver_->status() & T::kStatusNeedsReset) != 0; }

  TempImage file_;
  test::TestRam ram_;
  DriverRing ring_{ram_.memory, 64};
  vireo::test::FakeIrqSink irq_;
  Blk* blk_ = nullptr;
  std::unique_ptr<T> transport_;
  std::unique_ptr<test::MmioDriver> driver_;
};

Blk::Config read_config(T& t) {
  Blk::Config c{};
  auto* bytes = reinterpret_cast<uint8_t*>(&c);
  for (uint32_t i = 0; i < Blk::kConfigSize; ++i) {
    bytes[i] = static_cast<uint8_t>(t.read(T::kConfig + i, 1));
  }
  return c;
}

TEST_F(BlkTest, FeaturesAndConfiguration) {
  const uint64_t f = driver_->device_features();
  EXPECT_TRUE(f & Blk::kFeatureFlush);
  EXPECT_TRUE(f & Blk::kFeatureSegMax);
  EXPECT_TRUE(f & Blk::kFeatureSizeMax);
  EXPECT_TRUE(f & Blk::kFeatureBlkSize);
  EXPECT_TRUE(f & Blk::kFeatureDiscard);
  EXPECT_TRUE(f & Blk::kFeatureWriteZeroes);
  EXPECT_FALSE(f & Blk::kFeatureRo);
  const Blk::Config c = read_config(*transport_);
  EXPECT_EQ(c.capacity, kSectors);
  EXPECT_EQ(c.seg_max, Blk::kSegMax);
  EXPECT_EQ(c.size_max, Blk::kSizeMax);
  EXPECT_EQ(c.blk_size, 512u);
  EXPECT_EQ(c.max_discard_seg, 1u);
  EXPECT_EQ(c.max_discard_sectors, Blk::kMaxDiscardSectors);
  EXPECT_EQ(c.max_write_zeroes_seg, 1u);
  EXPECT_EQ(c.write_zeroes_may_unmap, 1u);
  // Outside the configuration space reads as 0 and is refused by the transport.
  EXPECT_EQ(transport_->read(T::kConfig + Blk::kConfigSize, 1), 0u);
}

TEST_F(BlkTest, ReadReturnsTheImage) {
  bring_up();
  request(0, Blk::kTypeIn, 3, kData, 1024);
  driver_->notify(0);
  ASSERT_EQ(ring_.used_idx(), 1);
  EXPECT_EQ(ring_.used(0).id, 0u);
  EXPECT_EQ(ring_.used(0).len, 1025u) << "data and the status byte";
  EXPECT_EQ(status(0), Blk::kStatusOk);
  EXPECT_EQ(guest_bytes(kData, 1024), file_.read(3 * 512, 1024));
  EXPECT_TRUE(irq_.level(kIrq));
  EXPECT_EQ(blk_->stats().bytes_read, 1024u);
}

TEST_F(BlkTest, WriteReachesTheFileAcrossSegments) {
  bring_up();
  // Header and the first data bytes share one descriptor; the rest is split.
  fill_guest(kData + 16, 1536, 0x40);
  ASSERT_TRUE(ram_.memory.write_obj(GuestAddr(kData), Blk::RequestHeader{Blk::kTypeOut, 0, 10}));
  ASSERT_TRUE(ram_.memory.write_obj<uint8_t>(GuestAddr(kStatus), 0xff));
  ring_.set_desc(0, kData, 16 + 512, kDescFlagNext, 1);
  ring_.set_desc(1, kData + 16 + 512, 1024, kDescFlagNext, 2);
  ring_.set_desc(2, kStatus, 1, kDescFlagWrite);
  ring_.push(0);
  driver_->notify(0);
  ASSERT_EQ(ring_.used_idx(), 1);
  EXPECT_EQ(status(0), Blk::kStatusOk);
  EXPECT_EQ(ring_.used(0).len, 1u);
  EXPECT_EQ(file_.read(10 * 512, 1536), guest_bytes(kData + 16, 1536));
  EXPECT_EQ(file_.read(9 * 512, 512)[511], TempImage::pattern(10 * 512 - 1)) << "before";
  EXPECT_EQ(file_.read(13 * 512, 1)[0], TempImage::pattern(13 * 512)) << "after";
  EXPECT_EQ(blk_->stats().bytes_written, 1536u);
}

TEST_F(BlkTest, FlushSucceeds) {
  bring_up();
  request(0, Blk::kTypeFlush, 0, 0, 0);
  driver_->notify(0);
  ASSERT_EQ(ring_.used_idx(), 1);
  EXPECT_EQ(status(0), Blk::kStatusOk);
  EXPECT_EQ(blk_->stats().flushes, 1u);
}

TEST_F(BlkTest, GetIdReturnsTheSerial) {
  bring_up();
  ASSERT_TRUE(ram_.memory.fill(GuestAddr(kData), 0xee, 20));
  request(0, Blk::kTypeGetId, 0, kData, 20);
  driver_->notify(0);
  ASSERT_EQ(ring_.used_idx(), 1);
  EXPECT_EQ(status(0), Blk::kStatusOk);
  EXPECT_EQ(ring_.used(0).len, 21u);
  auto id = guest_bytes(kData, 20);
  EXPECT_EQ(std::string(id.begin(), id.begin() + 11), "test-serial");
  EXPECT_EQ(id[11], 0) << "padded with NULs";
}

TEST_F(BlkTest, DefaultSerialIsStableAndFits) {
  const std::string a = default_disk_serial(file_.path());
  EXPECT_EQ(a, default_disk_serial(file_.path()));
  EXPECT_EQ(a.size(), Blk::kIdBytes);
  EXPECT_NE(a, default_disk_serial("/some/other.img"));
}

TEST_F(BlkTest, DiscardAndWriteZeroesReadAsZero) {
  bring_up();
  range_request(0, Blk::kTypeDiscard, 8, 8, 0);                     // 4 KiB at 4 KiB
  range_request(1, Blk::kTypeWriteZeroes, 24, 3, 0);                // 1.5 KiB at 12 KiB
  range_request(2, Blk::kTypeWriteZeroes, 40, 8, Blk::kFlagUnmap);  // 4 KiB at 20 KiB
  driver_->notify(0);
  ASSERT_EQ(ring_.used_idx(), 3);
  for (uint16_t i = 0; i < 3; ++i) EXPECT_EQ(status(i), Blk::kStatusOk) << i;
  const std::vector<uint8_t> zeros4k(4096, 0);
  EXPECT_EQ(file_.read(4096, 4096), zeros4k);
  EXPECT_EQ(file_.read(12 * 1024, 1536), std::vector<uint8_t>(1536, 0));
  EXPECT_EQ(file_.read(12 * 1024 + 1536, 1)[0], TempImage::pattern(12 * 1024 + 1536));
  EXPECT_EQ(file_.read(20 * 1024, 4096), zeros4k);
  EXPECT_EQ(file_.read(4095, 1)[0], TempImage::pattern(4095));
  struct stat st {};
  ASSERT_EQ(::stat(file_.path().c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kDiskBytes) << "the image keeps its size";
}

TEST_F(BlkTest, BadDiscardsAreRefused) {
  bring_up();
  range_request(0, Blk::kTypeDiscard, 0, 8, Blk::kFlagUnmap);  // discard takes no flags
  range_request(1, Blk::kTypeWriteZeroes, 0, 8, 2);            // unknown flag
  range_request(2, Blk::kTypeDiscard, kSectors - 4, 8, 0);     // past the end
  range_request(3, Blk::kTypeDiscard, 0, Blk::kMaxDiscardSectors + 1, 0);
  // Two segments: max_discard_seg is 1.
  ASSERT_TRUE(ram_.memory.write_obj(GuestAddr(kData + 0x1000), Blk::DiscardSegment{0, 8, 0}));
  ASSERT_TRUE(ram_.memory.write_obj(GuestAddr(kData + 0x1010), Blk::DiscardSegment{16, 8, 0}));
  request(4, Blk::kTypeDiscard, 0, kData + 0x1000, 32);
  driver_->notify(0);
  ASSERT_EQ(ring_.used_idx(), 5);
  EXPECT_EQ(status(0), Blk::kStatusUnsupp);
  EXPECT_EQ(status(1), Blk::kStatusUnsupp);
  EXPECT_EQ(status(2), Blk::kStatusIoErr);
  EXPECT_EQ(status(3), Blk::kStatusIoErr);
  EXPECT_EQ(status(4), Blk::kStatusUnsupp);
  EXPECT_EQ(file_.read(0, 1)[0], TempImage::pattern(0)) << "nothing discarded";
  EXPECT_FALSE(needs_reset());
}

TEST_F(BlkTest, OutOfRangeAndMisshapenTransfersGetIoErr) {
  bring_up();
  request(0, Blk::kTypeIn, kSectors, kData, 512);               // starts at the end
  request(1, Blk::kTypeIn, kSectors - 1, kData, 1024);          // crosses the end
  request(2, Blk::kTypeOut, ~0ull / 512, kData, 512);           // sector * 512 would overflow
  request(3, Blk::kTypeOut, ~0ull, kData, 512);                 // as would sector + count
  request(4, Blk::kTypeIn, 0, kData, 100);                      // not whole sectors
  request(5, Blk::kTypeIn, kSectors - 1, kData + 0x1000, 512);  // the last sector: fine
  driver_->notify(0);
  ASSERT_EQ(ring_.used_idx(), 6);
  for (uint16_t i = 0; i < 5; ++i) EXPECT_EQ(status(i), Blk::kStatusIoErr) << i;
  EXPECT_EQ(status(5), Blk::kStatusOk);
  EXPECT_EQ(guest_bytes(kData + 0x1000, 512), file_.read(kDiskBytes - 512, 512));
  EXPECT_EQ(file_.read(0, 1)[0], TempImage::pattern(0));
  EXPECT_FALSE(needs_reset());
  EXPECT_EQ(blk_->stats().errors, 5u);
}

TEST_F(BlkTest, ShortHeaderAndUnknownTypes) {
  bring_up();
  // An 8-byte header.
  ring_.set_desc(0, kHeaders, 8, kDescFlagNext, 1);
  ring_.set_desc(1, kStatus, 1, kDescFlagWrite);
  ASSERT_TRUE(ram_.memory.write_obj<uint8_t>(GuestAddr(kStatus), 0xff));
  ring_.push(0);
  request(1, 99, 0, 0, 0);
  request(2, 10 /* GET_LIFETIME, not offered */, 0, kData, 16);
  driver_->notify(0);
  ASSERT_EQ(ring_.used_idx(), 3);
  EXPECT_EQ(status(0), Blk::kStatusIoErr);
  EXPECT_EQ(status(1), Blk::kStatusUnsupp);
  EXPECT_EQ(status(2), Blk::kStatusUnsupp);
  EXPECT_FALSE(needs_reset());
}

TEST_F(BlkTest, NoWritableStatusByteNeedsReset) {
  bring_up();
  request(0, Blk::kTypeIn, 0, kData, 512);
  ASSERT_TRUE(
      ram_.memory.write_obj(GuestAddr(kHeaders + 16), Blk::RequestHeader{Blk::kTypeOut, 0, 0}));
  ring_.set_desc(10, kHeaders + 16, 16, kDescFlagNext, 11);
  ring_.set_desc(11, kData + 0x1000, 512);  // readable only: nowhere to put the status
  ring_.push(10);
  driver_->notify(0);
  EXPECT_EQ(ring_.used_idx(), 1) << "the good request before it completed";
  EXPECT_TRUE(needs_reset());
  EXPECT_EQ(file_.read(0, 1)[0], TempImage::pattern(0)) << "nothing written";
  EXPECT_EQ(blk_->in_flight(), 0u);
}

TEST_F(BlkTest, TooManyDataBuffersGetIoErr) {
  bring_up();
  // An indirect table: header, kMaxDataSegments + 1 data buffers, status.
  constexpr uint64_t kTable = kRamBase + 0x40000;
  constexpr uint32_t n = Blk::kMaxDataSegments + 1;
  ASSERT_TRUE(ram_.memory.write_obj(GuestAddr(kHeaders), Blk::RequestHeader{Blk::kTypeIn, 0, 0}));
  ring_.set_desc_at(kTable, kHeaders, 16, kDescFlagNext, 1);
  for (uint32_t i = 0; i < n; ++i) {
    ring_.set_desc_at(kTable + 16 * (i + 1), kData + 512 * i, 512, kDescFlagWrite | kDescFlagNext,
                      static_cast<uint16_t>(i + 2));
  }
  ring_.set_desc_at(kTable + 16 * (n + 1), kStatus, 1, kDescFlagWrite);
  ring_.set_desc(0, kTable, 16 * (n + 2), kDescFlagIndirect);
  ASSERT_TRUE(ram_.memory.write_obj<uint8_t>(GuestAddr(kStatus), 0xff));
  ring_.push(0);
  driver_->notify(0);
  ASSERT_EQ(ring_.used_idx(), 1);
  EXPECT_EQ(status(0), Blk::kStatusIoErr);
  EXPECT_FALSE(needs_reset());
}

TEST_F(BlkTest, ReadonlyDiskRefusesWrites) {
  create(true);
  const uint64_t f = driver_->device_features();
  EXPECT_TRUE(f & Blk::kFeatureRo);
  EXPECT_FALSE(f & Blk::kFeatureDiscard);
  bring_up();
  fill_guest(kData, 512, 1);
  request(0, Blk::kTypeOut, 0, kData, 512);
  range_request(1, Blk::kTypeWriteZeroes, 0, 8, 0);
  request(2, Blk::kTypeIn, 0, kData + 0x1000, 512);
  request(3, Blk::kTypeFlush, 0, 0, 0);
  driver_->notify(0);
  ASSERT_EQ(ring_.used_idx(), 4);
  EXPECT_EQ(status(0), Blk::kStatusIoErr);
  EXPECT_EQ(status(1), Blk::kStatusUnsupp) << "WRITE_ZEROES was not offered";
  EXPECT_EQ(status(2), Blk::kStatusOk);
  EXPECT_EQ(status(3), Blk::kStatusOk);
  EXPECT_EQ(file_.read(0, 512), guest_bytes(kData + 0x1000, 512)) << "unchanged";
  EXPECT_EQ(file_.read(0, 1)[0], TempImage::pattern(0));
}

TEST_F(BlkTest, ReadWriteLockKeepsOthersOut) {
  // The fixture's device holds a write lock.
  auto again = open_disk_image(DiskConfig{file_.path(), false, ""});
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("locked"), std::string::npos) << again.error().message;
  auto reader = open_disk_image(DiskConfig{file_.path(), true, ""});
  ASSERT_FALSE(reader);
  transport_.reset();  // closes the image: the lock goes with it
  auto now = open_disk_image(DiskConfig{file_.path(), true, ""});
  ASSERT_TRUE(now) << now.error().message;
  auto second_reader = open_disk_image(DiskConfig{file_.path(), true, ""});
  ASSERT_TRUE(second_reader) << "readers share";
  ::close(now->fd);
  ::close(second_reader->fd);
}

TEST(BlkOpen, MissingFileAndOddSizes) {
  auto missing = open_disk_image(DiskConfig{"/nonexistent/disk.img", false, ""});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  TempImage f;
  ASSERT_EQ(::truncate(f.path().c_str(), kDiskBytes + 100), 0);
  auto odd = open_disk_image(DiskConfig{f.path(), true, ""});
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->sectors, kSectors) << "rounded down to whole sectors";
  ::close(odd->fd);
}

TEST(BlkOption, Parses) {
  auto c = parse_disk_option("path=a.img,readonly=on,serial=abc");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->path, "a.img");
  EXPECT_TRUE(c->readonly);
  EXPECT_EQ(c->serial, "abc");
  c = parse_disk_option("path=we,,ird.img");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->path, "we,ird.img");
  EXPECT_FALSE(c->readonly);
  c = parse_disk_option("plain.img,readonly=off");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->path, "plain.img");
  EXPECT_FALSE(parse_disk_option("readonly=on"));
  EXPECT_FALSE(parse_disk_option("path=a,readonly=maybe"));
  EXPECT_FALSE(parse_disk_option("path=a,serial=123456789012345678901"));
  EXPECT_FALSE(parse_disk_option("path=a,serial=has space"));
  EXPECT_FALSE(parse_disk_option("path=a,cache=none"));
  EXPECT_FALSE(parse_disk_option("path="));
}

// With an event loop (run by the test thread): requests really are in
// flight between queue_notify() and the completion handler.
class BlkLoopTest : public BlkTest {
 protected:
  void SetUp() override {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    loop_ = std::move(*loop);
    create(false, loop_.get());
  }
  void TearDown() override { transport_.reset(); }
  // Runs the loop until `done` or 10 s pass.
  template <class F>
  bool run_until(F done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      loop_->run_once(10);
    }
    return true;
  }
  std::unique_ptr<EventLoop> loop_;
};

TEST_F(BlkLoopTest, ManyRequestsInFlightMoreThanTheSlots) {
  DriverRing big(ram_.memory, Blk::kQueueSize);
  bring_up(big);
  // 200 4 KiB reads (more than kMaxInFlight) in the first 512 KiB, 50 writes after it.
  constexpr uint16_t kReads = 200, kWrites = 50;
  static_assert(kReads + kWrites < Blk::kQueueSize && 3 * (kReads + kWrites) < 1024);
  for (uint16_t i = 0; i < kReads; ++i) {
    request(i, Blk::kTypeIn, (i * 8u) % 1016, kData + 4096ull * i, 4096, &big);
  }
  fill_guest(kData + 0xd0000, 4096, 9);
  for (uint16_t i = kReads; i < kReads + kWrites; ++i) {
    request(i, Blk::kTypeOut, 1024 + 8u * (i - kReads), kData + 0xd0000, 4096, &big);
  }
  driver_->notify(0);
  ASSERT_TRUE(run_until([&] { return big.used_idx() == kReads + kWrites; }))
      << "used " << big.used_idx();
  for (uint16_t i = 0; i < kReads + kWrites; ++i) ASSERT_EQ(status(i), Blk::kStatusOk) << i;
  for (uint16_t i = 0; i < kReads; i += 37) {
    EXPECT_EQ(guest_bytes(kData + 4096ull * i, 4096), file_.read((i * 8ull) % 1016 * 512, 4096))
        << i;
  }
  for (uint16_t i = 0; i < kWrites; ++i) {
    EXPECT_EQ(file_.read((1024 + 8ull * i) * 512, 4096), guest_bytes(kData + 0xd0000, 4096));
  }
  EXPECT_EQ(blk_->in_flight(), 0u);
  EXPECT_FALSE(needs_reset());
}

TEST_F(BlkLoopTest, ResetWithIoInFlightDrainsAndForgets) {
  DriverRing big(ram_.memory, Blk::kQueueSize);
  bring_up(big);
  // Writes and flushes: fdatasync always runs on io_uring's workers, so the
  // batch is still in flight when the reset comes (page-cache reads may
  // complete inside the submit call).
  constexpr uint16_t kCount = 200;
  fill_guest(kData, 4096, 3);
  for (uint16_t i = 0; i < kCount; ++i) {
    if (i % 2 == 0) {
      request(i, Blk::kTypeOut, (i * 8u) % 1016, kData, 4096, &big);
    } else {
      request(i, Blk::kTypeFlush, 0, 0, 0, &big);
    }
  }
  driver_->notify(0);
  // Let the device submit, but not necessarily reap.
  ASSERT_TRUE(run_until([&] { return blk_->in_flight() > 0 || big.used_idx() > 0; }));
  const uint16_t used_before = big.used_idx();
  EXPECT_GT(blk_->in_flight(), 0u) << "submitted, not yet reaped";
  driver_->write(T::kStatus, 0);  // reset on this (the "vCPU") thread
  EXPECT_EQ(blk_->in_flight(), 0u) << "reset returned with I/O in flight";
  // Nothing more reaches the driver's rings or status bytes after the reset.
  for (int i = 0; i < 20; ++i) loop_->run_once(5);
  EXPECT_EQ(big.used_idx(), used_before);
  // (Completions come in any order: count the status bytes written.)
  uint32_t answered = 0;
  for (uint16_t i = 0; i < kCount; ++i) answered += status(i) != 0xff;
  EXPECT_EQ(answered, used_before);
  // The device comes back after a reset and serves new requests.
  DriverRing again(ram_.memory, 16);
  bring_up(again);
  request(0, Blk::kTypeIn, 5, kData, 512, &again);
  driver_->notify(0);
  ASSERT_TRUE(run_until([&] { return again.used_idx() == 1; }));
  EXPECT_EQ(status(0), Blk::kStatusOk);
  EXPECT_EQ(guest_bytes(kData, 512), file_.read(5 * 512, 512));
}

}  // namespace
}  // namespace vireo::virtio
