// virtio-blk, the block device (virtio 1.2 §5.2, device ID 2), over a raw
// image file or a host block device. Requests run asynchronously through
// io_uring: queue_notify() (on the I/O loop thread) turns each request into
// one readv/writev/fdatasync/fallocate submission straight over the guest's
// buffers, and completions come back through the ring's eventfd, watched on
// the same loop. A vCPU thread never waits on the disk, except in reset(),
// which cancels and drains what is in flight before it returns.
//
// Every guest value is checked: a request with a short header, a range past
// the end of the disk, a length that is not whole sectors, a write to a
// read-only disk or an unknown type gets IOERR or UNSUPP in its status byte;
// a chain without a writable status byte is a protocol error (the device then
// needs a reset). At most kMaxInFlight requests and kMaxDataSegments buffers
// per request are in flight: all host memory is allocated up front.
#pragma once

#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "devices/virtio/device.hpp"

struct io_uring;
struct io_uring_sqe;

namespace vireo::virtio {

// What `--disk path=FILE[,readonly=on][,serial=ID]` asks for.
struct DiskConfig {
  std::string path;
  bool readonly = false;
  std::string serial;  // empty: derived from the path
};
// Parses the value of --disk. Errors name the problem and the fix.
Result<DiskConfig> parse_disk_option(std::string_view text);

// An open, locked disk image.
struct DiskImage {
  int fd = -1;
  uint64_t sectors = 0;  // capacity in 512-byte sectors
  bool readonly = false;
  bool block_device = false;
  std::string serial;  // at most 20 bytes
  std::string path;
};
// Opens `config.path` (O_RDONLY for readonly), takes an advisory OFD lock
// (write lock read-write, read lock read-only: two VMs cannot share an image
// read-write) and finds the capacity. A size that is not whole sectors is
// rounded down, with a warning, as Firecracker does. Errors are one line that
// names the file and the fix.
Result<DiskImage> open_disk_image(const DiskConfig& config);
// The serial a disk gets without serial=: "vireo-" and 14 hex digits of a
// hash of the image's absolute path (stable across runs, 20 bytes).
std::string default_disk_serial(std::string_view path);

class Blk final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr uint32_t kSectorSize = 512;
  // Requests submitted to the host at once; more wait in the ring.
  static constexpr uint32_t kMaxInFlight = 128;
  // Data buffers per request: SEG_MAX tells Linux kQueueSize - 2 (QEMU's
  // choice); a chain with more gets IOERR.
  static constexpr uint32_t kSegMax = kQueueSize - 2;
  static constexpr uint32_t kMaxDataSegments = kSegMax;
  static constexpr uint32_t kSizeMax = 1u << 20;  // per buffer, advertised by SIZE_MAX
  static constexpr uint32_t kMaxDiscardSectors = (1u << 30) / kSectorSize;  // 1 GiB
  static constexpr uint32_t kMaxWriteZeroesSectors = (1u << 30) / kSectorSize;
  static constexpr uint32_t kDiscardAlignmentSectors = 4096 / kSectorSize;
  static constexpr size_t kIdBytes = 20;

  // Feature bits (virtio 1.2 §5.2.3).
  static constexpr uint64_t kFeatureSizeMax = 1ull << 1;
  static constexpr uint64_t kFeatureSegMax = 1ull << 2;
  static constexpr uint64_t kFeatureRo = 1ull << 5;
  static constexpr uint64_t kFeatureBlkSize = 1ull << 6;
  static constexpr uint64_t kFeatureFlush = 1ull << 9;
  static constexpr uint64_t kFeatureDiscard = 1ull << 13;
  static constexpr uint64_t kFeatureWriteZeroes = 1ull << 14;

  // Request types and status values (§5.2.6).
  static constexpr uint32_t kTypeIn = 0;
  static constexpr uint32_t kTypeOut = 1;
  static constexpr uint32_t kTypeFlush = 4;
  static constexpr uint32_t kTypeGetId = 8;
  static constexpr uint32_t kTypeDiscard = 11;
  static constexpr uint32_t kTypeWriteZeroes = 13;
  static constexpr uint8_t kStatusOk = 0;
  static constexpr uint8_t kStatusIoErr = 1;
  static constexpr uint8_t kStatusUnsupp = 2;
  static constexpr uint32_t kFlagUnmap = 1;

  struct RequestHeader {
    uint32_t type;
    uint32_t ioprio;
    uint64_t sector;
  };
  static_assert(sizeof(RequestHeader) == 16);
  struct DiscardSegment {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;
  };
  static_assert(sizeof(DiscardSegment) == 16);

  // The configuration space up to write_zeroes_may_unmap and its padding.
  struct Config {
    uint64_t capacity;
    uint32_t size_max;
    uint32_t seg_max;
    uint16_t cylinders;
    uint8_t heads;
    uint8_t sectors;
    uint32_t blk_size;
    uint8_t physical_block_exp;
    uint8_t alignment_offset;
    uint16_t min_io_size;
    uint32_t opt_io_size;
    uint8_t writeback;
    uint8_t unused0;
    uint16_t num_queues;
    uint32_t max_discard_sectors;
    uint32_t max_discard_seg;
    uint32_t discard_sector_alignment;
    uint32_t max_write_zeroes_sectors;
    uint32_t max_write_zeroes_seg;
    uint8_t write_zeroes_may_unmap;
    uint8_t unused1[3];
  };
  // 60 bytes are the device's; the struct's tail padding is not.
  static constexpr uint32_t kConfigSize = 60;
  static_assert(offsetof(Config, max_discard_sectors) == 36);
  static_assert(offsetof(Config, write_zeroes_may_unmap) == 56 && sizeof(Config) >= kConfigSize);

  struct Stats {
    uint64_t requests = 0;
    uint64_t bytes_read = 0;
    uint64_t bytes_written = 0;
    uint64_t flushes = 0;
    uint64_t errors = 0;  // requests answered IOERR or UNSUPP
  };

  // Takes ownership of the image's fd. Fails if io_uring is unavailable.
  static Result<std::unique_ptr<Blk>> create(DiskImage image);
  ~Blk() override;
  Blk(const Blk&) = delete;
  Blk& operator=(const Blk&) = delete;

  uint32_t device_id() const override { return static_cast<uint32_t>(DeviceId::kBlock); }
  uint64_t device_features() const override;
  std::span<const uint16_t> queue_max_sizes() const override { return kQueueSizes; }
  uint32_t config_size() const override { return kConfigSize; }
  void read_config(uint32_t offset, std::span<uint8_t> out) override;

  Result<void> activate(uint64_t features, std::span<VirtQueue> queues, const GuestMemory& memory,
                        DeviceHost& host) override;
  Result<void> queue_notify(uint16_t queue) override;
  void reset() override;

  const Stats& stats() const { return stats_; }
  uint32_t in_flight() const { return in_flight_; }
  const DiskImage& image() const { return image_; }

 private:
  static constexpr uint16_t kQueueSizes[1] = {kQueueSize};

  // One request submitted to io_uring. At most one submission per request
  // is outstanding at a time (short transfers and fallbacks resubmit).
  enum class Op : uint8_t { kRead, kWrite, kFlush, kDiscard, kZeroRange, kPunchZeroes };
  struct Request {
    bool busy = false;
    Op op = Op::kRead;
    uint16_t head = 0;
    uint32_t iov_count = 0;
    uint32_t iov_first = 0;  // iovecs done by earlier partial transfers
    uint64_t offset = 0;     // file offset of what remains
    uint64_t remaining = 0;  // bytes still to transfer (or fallocate length)
    uint64_t done = 0;       // bytes transferred
    GuestAddr status;        // the status byte
  };

  Blk(DiskImage image, io_uring* ring, int event_fd);
  // Pops and starts requests until the ring is empty, every slot is busy or
  // a ring's worth was taken.
  Result<void> process_queue();
  // Starts one popped chain in a free slot: either it completes at once
  // (errors, GET_ID, zero-length transfers) or it is queued to io_uring. An
  // error only for a chain without a status byte.
  Result<void> start(const DescriptorChain& chain);
  io_uring_sqe* get_sqe();
  void queue_io(uint16_t slot);
  void submit_pending();
  // Reaps completions without waiting; true when any request finished.
  bool reap();
  void wait_and_reap();
  void complete(uint16_t slot, int32_t res);
  // Writes the status byte and returns the chain to the driver.
  void finish(Request& r, uint8_t status, uint32_t written);
  void signal_used();
  void on_ring_event();
  // Cancels what is in flight and waits for every completion, touching no queue.
  void drain();

  DiskImage image_;
  io_uring* ring_;
  int event_fd_;
  Config config_{};
  Stats stats_;
  std::vector<Request> requests_;       // kMaxInFlight slots
  std::vector<iovec> iovecs_;           // kMaxDataSegments per slot
  std::array<uint8_t, kIdBytes> id_{};  // GET_ID answer
  std::vector<uint16_t> free_;          // free slots
  DescriptorChain chain_;               // reused across pops
  uint64_t features_ = 0;
  bool failed_ = false;          // the driver broke the protocol: wait for reset
  uint32_t in_flight_ = 0;       // busy slots
  uint32_t pending_submit_ = 0;  // prepared, not yet submitted SQEs
  bool stalled_ = false;         // stopped popping: every slot busy
  bool inline_mode_ = false;     // no event loop: wait for completions in place
  bool used_since_notify_ = false;
  VirtQueue* queue_ = nullptr;  // set while active
  const GuestMemory* memory_ = nullptr;
  DeviceHost* host_ = nullptr;
};

// The factory `vireo run --disk` adds to the VM configuration: opens and
// locks the image when the board is built.
DeviceFactory blk_factory(DiskConfig config);

}  // namespace vireo::virtio
