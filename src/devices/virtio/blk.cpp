#include "devices/virtio/blk.hpp"

#include <fcntl.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/log.hpp"

namespace vireo::virtio {
namespace {

constexpr uint64_t kCancelTag = ~0ull;

// Splits "a=b,c=d" at single commas; ",," stands for a comma in a value.
std::vector<std::string> split_options(std::string_view text) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ',') {
      if (i + 1 < text.size() && text[i + 1] == ',') {
        out.back() += ',';
        ++i;
      } else {
        out.emplace_back();
      }
    } else {
      out.back() += text[i];
    }
  }
  return out;
}

bool parse_on_off(std::string_view v, bool& out) {
  if (v == "on" || v == "true" || v == "yes" || v == "1") {
    out = true;
    return true;
  }
  if (v == "off" || v == "false" || v == "no" || v == "0") {
    out = false;
    return true;
  }
  return false;
}

std::unexpected<Error> open_error(const DiskConfig& c, int err) {
  const std::string& p = c.path;
  switch (err) {
    case ENOENT:
      return make_error(ErrorCode::kNotFound,
                        fmt::format("disk image '{}' does not exist: check --disk path=", p));
    case EACCES:
    case EPERM:
      if (c.readonly) {
        return make_error(ErrorCode::kPermission,
                          fmt::format("disk image '{}' is not readable: fix its permissions", p));
      }
      return make_error(ErrorCode::kPermission,
                        fmt::format("disk image '{}' is not readable and writable: fix its "
                                    "permissions, or attach it with readonly=on",
                                    p));
    case EROFS:
      return make_error(ErrorCode::kPermission,
                        fmt::format("disk image '{}' is on a read-only filesystem: attach it with "
                                    "readonly=on",
                                    p));
    case EISDIR:
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("disk image '{}' is a directory: give a raw image file", p));
    default:
      return make_error(ErrorCode::kIo,
                        fmt::format("disk image '{}' cannot be opened: {}", p, std::strerror(err)));
  }
}

}  // namespace

Result<DiskConfig> parse_disk_option(std::string_view text) {
  DiskConfig c;
  bool have_path = false;
  const auto parts = split_options(text);
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    const size_t eq = part.find('=');
    if (eq == std::string::npos) {
      if (i == 0 && !part.empty()) {  // --disk FILE,readonly=on
        c.path = part;
        have_path = true;
        continue;
      }
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("--disk '{}': '{}' is not key=value: use "
                                    "path=FILE[,readonly=on][,serial=ID]",
                                    text, part));
    }
    const std::string key = part.substr(0, eq);
    const std::string value = part.substr(eq + 1);
    if (key == "path") {
      if (value.empty()) {
        return make_error(ErrorCode::kInvalidArgument,
                          "--disk path= is empty: give the image file, e.g. path=disk.img");
      }
      c.path = value;
      have_path = true;
    } else if (key == "readonly" || key == "ro") {
      if (!parse_on_off(value, c.readonly)) {
        return make_error(ErrorCode::kInvalidArgument,
                          fmt::format("--disk readonly='{}' is not valid: use on or off", value));
      }
    } else if (key == "serial") {
      if (value.size() > Blk::kIdBytes) {
        return make_error(ErrorCode::kInvalidArgument,
                          fmt::format("--disk serial='{}' is {} bytes: a virtio-blk serial is at "
                                      "most {} bytes",
                                      value, value.size(), Blk::kIdBytes));
      }
      for (char ch : value) {
        if (ch < 0x21 || ch > 0x7e) {
          return make_error(ErrorCode::kInvalidArgument,
                            fmt::format("--disk serial='{}' has a character that is not printable "
                                        "ASCII: use letters, digits and punctuation",
                                        value));
        }
      }
      c.serial = value;
    } else {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("--disk: unknown option '{}': use "
                                    "path=FILE[,readonly=on][,serial=ID]",
                                    key));
    }
  }
  if (!have_path) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("--disk '{}' has no path: use path=FILE, e.g. --disk "
                                  "path=disk.img",
                                  text));
  }
  return c;
}

std::string default_disk_serial(std::string_view path) {
  std::string absolute(path);
  if (char* real = ::realpath(absolute.c_str(), nullptr)) {
    absolute = real;
    std::free(real);
  }
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char ch : absolute) {
    h ^= ch;
    h *= 0x100000001b3ull;
  }
  return fmt::format("vireo-{:014x}", h & ((1ull << 56) - 1));
}

Result<DiskImage> open_disk_image(const DiskConfig& config) {
  // A FIFO or a terminal would block open() or make no sense as a disk.
  if (struct stat pre{}; ::stat(config.path.c_str(), &pre) == 0 && !S_ISREG(pre.st_mode) &&
                         !S_ISBLK(pre.st_mode) && !S_ISDIR(pre.st_mode)) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("disk image '{}' is not a regular file or block device: give a "
                                  "raw image file",
                                  config.path));
  }
  const int fd = ::open(config.path.c_str(), (config.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) return open_error(config, errno);
  DiskImage image;
  image.fd = fd;
  image.readonly = config.readonly;
  image.path = config.path;
  auto fail = [&](std::unexpected<Error> e) {
    ::close(fd);
    return e;
  };

  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return fail(errno_error(ErrorCode::kIo, fmt::format("disk image '{}': fstat", config.path)));
  }
  uint64_t bytes = 0;
  if (S_ISREG(st.st_mode)) {
    bytes = static_cast<uint64_t>(st.st_size);
  } else if (S_ISBLK(st.st_mode)) {
    image.block_device = true;
    if (::ioctl(fd, BLKGETSIZE64, &bytes) != 0) {
      return fail(errno_error(ErrorCode::kIo, fmt::format("disk '{}': BLKGETSIZE64", config.path)));
    }
  } else if (S_ISDIR(st.st_mode)) {
    return fail(open_error(config, EISDIR));
  } else {
    return fail(make_error(ErrorCode::kInvalidArgument,
                           fmt::format("disk image '{}' is not a regular file or block device: "
                                       "give a raw image file",
                                       config.path)));
  }
  if (bytes < Blk::kSectorSize) {
    return fail(make_error(ErrorCode::kInvalidArgument,
                           fmt::format("disk image '{}' is {} bytes, less than one 512-byte "
                                       "sector: grow it first, e.g. truncate -s 64M {}",
                                       config.path, bytes, config.path)));
  }
  if (bytes % Blk::kSectorSize != 0) {
    log::warn("disk image '{}' is {} bytes, not a multiple of 512: the guest sees {} bytes",
              config.path, bytes, bytes / Blk::kSectorSize * Blk::kSectorSize);
  }
  image.sectors = bytes / Blk::kSectorSize;

  // Advisory OFD lock over the whole file: one writer, or any readers.
  struct flock lock {};
  lock.l_type = config.readonly ? F_RDLCK : F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (::fcntl(fd, F_OFD_SETLK, &lock) != 0) {
    const int err = errno;
    if (err == EAGAIN || err == EACCES) {
      return fail(make_error(
          ErrorCode::kInvalidArgument,
          fmt::format("disk image '{}' is locked by another process (another vireo using it{}): "
                      "stop that VM first, or attach the image with readonly=on in every VM",
                      config.path, config.readonly ? " read-write" : "")));
    }
    log::warn("disk image '{}': no advisory lock ({}); other VMs are not kept out", config.path,
              std::strerror(err));
  }
  image.serial = config.serial.empty() ? default_disk_serial(config.path) : config.serial;
  return image;
}

// ---- The device

Result<std::unique_ptr<Blk>> Blk::create(DiskImage image) {
  auto close_image = [&] {
    if (image.fd >= 0) ::close(image.fd);
  };
  auto* ring = new io_uring{};
  // Room for every request plus a cancellation.
  if (int r = io_uring_queue_init(2 * kMaxInFlight, ring, 0); r < 0) {
    delete ring;
    close_image();
    return make_error(ErrorCode::kUnsupported,
                      fmt::format("disk '{}': io_uring is not available on this host ({}): "
                                  "vireo needs Linux 5.19 or later with io_uring enabled",
                                  image.path, std::strerror(-r)));
  }
  const int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0 || io_uring_register_eventfd(ring, efd) < 0) {
    if (efd >= 0) ::close(efd);
    io_uring_queue_exit(ring);
    delete ring;
    close_image();
    return make_error(ErrorCode::kIo,
                      fmt::format("disk '{}': cannot set up the completion eventfd", image.path));
  }
  return std::unique_ptr<Blk>(new Blk(std::move(image), ring, efd));
}

Blk::Blk(DiskImage image, io_uring* ring, int event_fd)
    : image_(std::move(image)),
      ring_(ring),
      event_fd_(event_fd),
      requests_(kMaxInFlight),
      iovecs_(size_t{kMaxInFlight} * kMaxDataSegments) {
  config_.capacity = image_.sectors;
  config_.size_max = kSizeMax;
  config_.seg_max = kSegMax;
  config_.blk_size = kSectorSize;
  config_.num_queues = 1;
  config_.max_discard_sectors = kMaxDiscardSectors;
  config_.max_discard_seg = 1;
  config_.discard_sector_alignment = kDiscardAlignmentSectors;
  config_.max_write_zeroes_sectors = kMaxWriteZeroesSectors;
  config_.max_write_zeroes_seg = 1;
  config_.write_zeroes_may_unmap = 1;
  std::memcpy(id_.data(), image_.serial.data(), std::min(image_.serial.size(), id_.size()));
  free_.reserve(kMaxInFlight);
  for (uint32_t i = kMaxInFlight; i-- > 0;) free_.push_back(static_cast<uint16_t>(i));
}

Blk::~Blk() {
  drain();
  io_uring_queue_exit(ring_);
  delete ring_;
  ::close(event_fd_);
  if (image_.fd >= 0) ::close(image_.fd);
}

uint64_t Blk::device_features() const {
  uint64_t f = kFeatureSizeMax | kFeatureSegMax | kFeatureBlkSize | kFeatureFlush;
  if (image_.readonly) {
    f |= kFeatureRo;
  } else {
    f |= kFeatureDiscard | kFeatureWriteZeroes;
  }
  return f;
}

void Blk::read_config(uint32_t offset, std::span<uint8_t> out) {
  // The transport keeps [offset, offset + size) inside config_size().
  std::memcpy(out.data(), reinterpret_cast<const uint8_t*>(&config_) + offset, out.size());
}

Result<void> Blk::activate(uint64_t features, std::span<VirtQueue> queues,
                           const GuestMemory& memory, DeviceHost& host) {
  if (queues.size() != 1 || !queues[0].ready()) {
    return make_error(ErrorCode::kGuest, "DRIVER_OK without the request queue ready");
  }
  features_ = features;
  queue_ = &queues[0];
  memory_ = &memory;
  host_ = &host;
  failed_ = false;
  stalled_ = false;
  uint64_t stale;
  [[maybe_unused]] ssize_t n = ::read(event_fd_, &stale, sizeof(stale));
  auto watched = host.watch_fd(event_fd_, EPOLLIN, [this](uint32_t) { on_ring_event(); });
  inline_mode_ = false;
  if (!watched) {
    if (watched.error().code != ErrorCode::kUnsupported) return std::unexpected(watched.error());
    inline_mode_ = true;  // no event loop (tests, fuzzing): complete in place
  }
  return {};
}

Result<void> Blk::queue_notify(uint16_t queue) {
  if (queue != 0 || queue_ == nullptr || failed_) return {};
  auto r = process_queue();
  if (!r) failed_ = true;
  return r;
}

Result<void> Blk::process_queue() {
  Result<void> result;
  for (uint32_t taken = 0;;) {
    if (taken == kQueueSize) {  // bound one call; the rest on a requeued one
      host_->requeue(0);
      break;
    }
    if (free_.empty()) {
      if (inline_mode_) {
        wait_and_reap();
        continue;
      }
      stalled_ = true;  // completions resume popping
      break;
    }
    auto popped = queue_->pop_chain(chain_);
    if (!popped) {
      result = std::unexpected(popped.error());
      break;
    }
    if (!*popped) break;
    ++taken;
    if (auto r = start(chain_); !r) {
      result = r;
      break;
    }
  }
  submit_pending();
  // Reads served from the page cache often complete inside the submit call:
  // returning them now saves the eventfd round trip through the loop.
  reap();
  submit_pending();  // resubmitted short transfers and fallbacks
  if (inline_mode_) {
    while (in_flight_ > 0) wait_and_reap();
  }
  signal_used();
  return result;
}

namespace {

// iovecs for `len` bytes of `segments` after the first `skip` bytes. Each
// segment lies inside one RAM region (the chain is checked), so one host
// pointer covers it. False when more than `max` iovecs would be needed.
bool build_iovecs(const GuestMemory& memory, std::span<const Segment> segments, uint64_t skip,
                  uint64_t len, iovec* out, uint32_t max, uint32_t& count) {
  count = 0;
  for (const Segment& s : segments) {
    if (len == 0) break;
    if (skip >= s.len) {
      skip -= s.len;
      continue;
    }
    const uint64_t take = std::min<uint64_t>(s.len - skip, len);
    if (count == max) return false;
    GuestAddr at;
    if (!s.addr.checked_add(skip, at)) return false;
    auto host = memory.host_range(at, take);
    if (!host) return false;  // cannot happen for a checked chain
    out[count++] = iovec{*host, static_cast<size_t>(take)};
    len -= take;
    skip = 0;
  }
  return len == 0;
}

}  // namespace

Result<void> Blk::start(const DescriptorChain& chain) {
  auto writable = chain.writable();
  if (writable.empty()) {
    return make_error(
        ErrorCode::kGuest,
        fmt::format("virtio-blk request (head {}) has no writable status byte", chain.head()));
  }
  const Segment& last = writable.back();
  ++stats_.requests;
  const uint16_t slot = free_.back();
  free_.pop_back();
  Request& r = requests_[slot];
  r = Request{};
  r.busy = true;
  r.head = chain.head();
  r.status = GuestAddr(last.addr.value + last.len - 1);  // inside RAM: the chain is checked
  ++in_flight_;

  ChainReader reader(*memory_, chain);
  auto header = reader.read_obj<RequestHeader>();
  if (!header) {
    VIREO_LOG_RATELIMITED(log::warn, "virtio-blk: request header of {} bytes, 16 expected",
                          chain.readable_bytes());
    finish(r, kStatusIoErr, 1);
    return {};
  }
  const uint64_t data_in = chain.writable_bytes() - 1;  // the writable part before the status
  const uint64_t data_out = chain.readable_bytes() - sizeof(RequestHeader);
  iovec* iov = &iovecs_[size_t{slot} * kMaxDataSegments];

  // A transfer of `len` bytes at `sector`: whole sectors inside the disk.
  auto range_ok = [&](uint64_t sector, uint64_t len) {
    return len % kSectorSize == 0 && sector <= image_.sectors &&
           len / kSectorSize <= image_.sectors - sector;
  };

  switch (header->type) {
    case kTypeIn:
    case kTypeOut: {
      const bool in = header->type == kTypeIn;
      const uint64_t len = in ? data_in : data_out;
      if (!in && image_.readonly) {
        finish(r, kStatusIoErr, 1);
        return {};
      }
      if (!range_ok(header->sector, len)) {
        VIREO_LOG_RATELIMITED(log::warn,
                              "virtio-blk: {} of {} bytes at sector {} is outside the {}-sector "
                              "disk or not whole sectors",
                              in ? "read" : "write", len, header->sector, image_.sectors);
        finish(r, kStatusIoErr, 1);
        return {};
      }
      if (len == 0) {
        finish(r, kStatusOk, 1);
        return {};
      }
      uint32_t count = 0;
      const bool built = in ? build_iovecs(*memory_, writable, 0, len, iov, kMaxDataSegments, count)
                            : build_iovecs(*memory_, chain.readable(), sizeof(RequestHeader), len,
                                           iov, kMaxDataSegments, count);
      if (!built) {
        VIREO_LOG_RATELIMITED(log::warn, "virtio-blk: request with more than {} data buffers",
                              kMaxDataSegments);
        finish(r, kStatusIoErr, 1);
        return {};
      }
      r.op = in ? Op::kRead : Op::kWrite;
      r.iov_count = count;
      r.offset = header->sector * kSectorSize;
      r.remaining = len;
      queue_io(slot);
      return {};
    }
    case kTypeFlush:
      r.op = Op::kFlush;
      queue_io(slot);
      return {};
    case kTypeGetId: {
      const auto n = static_cast<size_t>(std::min<uint64_t>(data_in, kIdBytes));
      ChainWriter writer(*memory_, chain);
      if (!writer.write(std::span(id_.data(), n))) {  // room checked above
        finish(r, kStatusIoErr, 1);
        return {};
      }
      finish(r, kStatusOk, static_cast<uint32_t>(n + 1));
      return {};
    }
    case kTypeDiscard:
    case kTypeWriteZeroes: {
      const bool discard = header->type == kTypeDiscard;
      if ((features_ & (discard ? kFeatureDiscard : kFeatureWriteZeroes)) == 0) {
        finish(r, kStatusUnsupp, 1);
        return {};
      }
      if (image_.readonly) {
        finish(r, kStatusIoErr, 1);
        return {};
      }
      if (data_out != sizeof(DiscardSegment)) {
        // One segment per request (max_*_seg is 1, as in QEMU).
        finish(
            r,
            data_out % sizeof(DiscardSegment) == 0 && data_out != 0 ? kStatusUnsupp : kStatusIoErr,
            1);
        return {};
      }
      auto seg = reader.read_obj<DiscardSegment>();
      if (!seg) {
        finish(r, kStatusIoErr, 1);
        return {};
      }
      // Discard takes no flags; write-zeroes knows only UNMAP (§5.2.6.2).
      if (seg->flags & (discard ? ~0u : ~kFlagUnmap)) {
        finish(r, kStatusUnsupp, 1);
        return {};
      }
      const uint32_t max = discard ? kMaxDiscardSectors : kMaxWriteZeroesSectors;
      if (seg->num_sectors > max ||
          !range_ok(seg->sector, uint64_t{seg->num_sectors} * kSectorSize)) {
        finish(r, kStatusIoErr, 1);
        return {};
      }
      if (seg->num_sectors == 0) {
        finish(r, kStatusOk, 1);
        return {};
      }
      r.offset = seg->sector * kSectorSize;
      r.remaining = uint64_t{seg->num_sectors} * kSectorSize;
      r.op = discard ? Op::kDiscard
                     : ((seg->flags & kFlagUnmap) && !image_.block_device ? Op::kPunchZeroes
                                                                          : Op::kZeroRange);
      queue_io(slot);
      return {};
    }
    default:
      finish(r, kStatusUnsupp, 1);
      return {};
  }
}

io_uring_sqe* Blk::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_);
  if (sqe == nullptr) {  // the SQ holds every slot's request: only if unsubmitted piled up
    submit_pending();
    sqe = io_uring_get_sqe(ring_);
  }
  return sqe;
}

void Blk::queue_io(uint16_t slot) {
  Request& r = requests_[slot];
  io_uring_sqe* sqe = get_sqe();
  if (sqe == nullptr) {  // the ring holds 2 * kMaxInFlight: cannot happen
    finish(r, kStatusIoErr, 1);
    return;
  }
  const int fd = image_.fd;
  switch (r.op) {
    case Op::kRead:
      io_uring_prep_readv(sqe, fd, &iovecs_[size_t{slot} * kMaxDataSegments + r.iov_first],
                          r.iov_count - r.iov_first, r.offset);
      break;
    case Op::kWrite:
      io_uring_prep_writev(sqe, fd, &iovecs_[size_t{slot} * kMaxDataSegments + r.iov_first],
                           r.iov_count - r.iov_first, r.offset);
      break;
    case Op::kFlush:
      io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
      break;
    case Op::kDiscard:
    case Op::kPunchZeroes:
      io_uring_prep_fallocate(sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                              static_cast<off_t>(r.offset), static_cast<off_t>(r.remaining));
      break;
    case Op::kZeroRange:
      io_uring_prep_fallocate(sqe, fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                              static_cast<off_t>(r.offset), static_cast<off_t>(r.remaining));
      break;
  }
  io_uring_sqe_set_data64(sqe, slot);
  ++pending_submit_;
}

void Blk::submit_pending() {
  while (pending_submit_ > 0) {
    const int n = io_uring_submit(ring_);
    if (n == -EINTR || n == -EAGAIN || n == -EBUSY) {
      if (n != -EINTR) reap();  // make room in the completion queue
      continue;
    }
    if (n < 0) {
      // The kernel refused the whole batch: nothing was consumed. Should not
      // happen with a valid ring; fail the requests rather than spin.
      VIREO_LOG_RATELIMITED(log::error, "virtio-blk: io_uring_submit: {}", std::strerror(-n));
      return;
    }
    pending_submit_ -= std::min<uint32_t>(pending_submit_, static_cast<uint32_t>(n));
  }
}

bool Blk::reap() {
  bool any = false;
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(ring_, &cqe) == 0 && cqe != nullptr) {
    const uint64_t tag = io_uring_cqe_get_data64(cqe);
    const int32_t res = cqe->res;
    io_uring_cqe_seen(ring_, cqe);
    if (tag == kCancelTag || tag >= kMaxInFlight || !requests_[tag].busy) continue;
    complete(static_cast<uint16_t>(tag), res);
    any = true;
  }
  return any;
}

void Blk::wait_and_reap() {
  submit_pending();
  io_uring_cqe* cqe = nullptr;
  const int r = io_uring_wait_cqe(ring_, &cqe);
  if (r < 0 && r != -EINTR) {
    VIREO_LOG_RATELIMITED(log::error, "virtio-blk: io_uring_wait_cqe: {}", std::strerror(-r));
  }
  reap();
}

void Blk::complete(uint16_t slot, int32_t res) {
  Request& r = requests_[slot];
  if (res == -EINTR || res == -EAGAIN) {
    queue_io(slot);
    return;
  }
  switch (r.op) {
    case Op::kRead:
    case Op::kWrite: {
      if (res <= 0) {
        // 0: the file shrank under us (someone truncated the image).
        VIREO_LOG_RATELIMITED(log::error, "virtio-blk: {} at {} in '{}': {}",
                              r.op == Op::kRead ? "read" : "write", r.offset, image_.path,
                              res == 0 ? "end of file" : std::strerror(-res));
        finish(r, kStatusIoErr, 1);
        return;
      }
      auto n = static_cast<uint64_t>(res);
      r.done += n;
      r.offset += n;
      r.remaining -= std::min(n, r.remaining);
      if (r.op == Op::kRead) {
        stats_.bytes_read += n;
      } else {
        stats_.bytes_written += n;
      }
      if (r.remaining == 0) {
        finish(r, kStatusOk, r.op == Op::kRead ? static_cast<uint32_t>(r.done + 1) : 1);
        return;
      }
      // A short transfer: go on after what was done.
      iovec* iov = &iovecs_[size_t{slot} * kMaxDataSegments];
      while (n > 0 && r.iov_first < r.iov_count) {
        iovec& v = iov[r.iov_first];
        if (v.iov_len <= n) {
          n -= v.iov_len;
          ++r.iov_first;
        } else {
          v.iov_base = static_cast<uint8_t*>(v.iov_base) + n;
          v.iov_len -= n;
          n = 0;
        }
      }
      queue_io(slot);
      return;
    }
    case Op::kFlush:
      ++stats_.flushes;
      if (res < 0) {
        VIREO_LOG_RATELIMITED(log::error, "virtio-blk: fdatasync '{}': {}", image_.path,
                              std::strerror(-res));
      }
      finish(r, res < 0 ? kStatusIoErr : kStatusOk, 1);
      return;
    case Op::kDiscard:
      // Discard is a hint: a filesystem without hole punching just keeps the data.
      finish(r, res < 0 && res != -EOPNOTSUPP ? kStatusIoErr : kStatusOk, 1);
      return;
    case Op::kZeroRange:
      if ((res == -EOPNOTSUPP || res == -EINVAL) && !image_.block_device) {
        r.op = Op::kPunchZeroes;  // e.g. tmpfs: a hole reads as zeroes too
        queue_io(slot);
        return;
      }
      [[fallthrough]];
    case Op::kPunchZeroes:
      // UNSUPP makes Linux write the zeroes itself from then on.
      finish(r, res == 0 ? kStatusOk : res == -EOPNOTSUPP ? kStatusUnsupp : kStatusIoErr, 1);
      return;
  }
}

void Blk::finish(Request& r, uint8_t status, uint32_t written) {
  if (status != kStatusOk) ++stats_.errors;
  const auto slot = static_cast<uint16_t>(&r - requests_.data());
  r.busy = false;
  free_.push_back(slot);
  --in_flight_;
  if (queue_ == nullptr || failed_) return;  // reset or failed: the queue is not ours
  // The status byte lies inside RAM: it is part of a checked chain.
  auto w = memory_->write_obj<uint8_t>(r.status, status);
  auto u = w ? queue_->add_used(r.head, written) : Result<void>(std::unexpected(w.error()));
  if (!u) {
    failed_ = true;
    host_->fail(u.error());
    return;
  }
  used_since_notify_ = true;
}

void Blk::signal_used() {
  if (!used_since_notify_ || queue_ == nullptr || failed_) return;
  used_since_notify_ = false;
  if (queue_->needs_notification()) host_->notify_used(0);
}

void Blk::on_ring_event() {
  uint64_t count;
  [[maybe_unused]] ssize_t n = ::read(event_fd_, &count, sizeof(count));
  if (queue_ == nullptr || failed_) return;
  reap();
  submit_pending();  // resubmitted short transfers and fallbacks
  signal_used();
  if (stalled_ && !free_.empty() && !failed_) {
    stalled_ = false;
    if (auto r = process_queue(); !r) {
      failed_ = true;
      host_->fail(r.error());
    }
  }
}

void Blk::drain() {
  if (in_flight_ == 0 && pending_submit_ == 0) return;
  submit_pending();
  // Stop what has not started; what has, finishes (a read into guest RAM
  // must be over before the driver gets its memory back).
  if (io_uring_sqe* sqe = io_uring_get_sqe(ring_)) {
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
    io_uring_sqe_set_data64(sqe, kCancelTag);
    io_uring_submit(ring_);
  }
  while (in_flight_ > 0) {
    io_uring_cqe* cqe = nullptr;
    const int r = io_uring_wait_cqe(ring_, &cqe);
    if (r == -EINTR) continue;
    if (r < 0) {
      log::error("virtio-blk: io_uring_wait_cqe while draining: {}", std::strerror(-r));
      break;
    }
    const uint64_t tag = io_uring_cqe_get_data64(cqe);
    io_uring_cqe_seen(ring_, cqe);
    if (tag < kMaxInFlight && requests_[tag].busy) {
      requests_[tag].busy = false;
      free_.push_back(static_cast<uint16_t>(tag));
      --in_flight_;
    }
  }
  // The cancellation's own completion may still be queued: drop it.
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(ring_, &cqe) == 0 && cqe != nullptr) io_uring_cqe_seen(ring_, cqe);
}

void Blk::reset() {
  // Forget the queue first: completions reaped while draining must not be
  // returned to a driver that has just reset the device.
  queue_ = nullptr;
  drain();
  memory_ = nullptr;
  host_ = nullptr;
  features_ = 0;
  stalled_ = false;
  failed_ = false;
  used_since_notify_ = false;
  inline_mode_ = false;
}

DeviceFactory blk_factory(DiskConfig config) {
  return [config](EventLoop&) -> Result<std::unique_ptr<VirtioDevice>> {
    auto image = open_disk_image(config);
    if (!image) return std::unexpected(image.error());
    auto blk = Blk::create(std::move(*image));
    if (!blk) return std::unexpected(blk.error());
    return std::unique_ptr<VirtioDevice>(std::move(*blk));
  };
}

}  // namespace vireo::virtio
