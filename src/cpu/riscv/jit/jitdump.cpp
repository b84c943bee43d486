#include "cpu/riscv/jit/jitdump.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/log.hpp"

namespace vireo::riscv {

namespace {

struct FileHeader {
  uint32_t magic;
  uint32_t version;
  uint32_t total_size;  // of this header
  uint32_t elf_mach;
  uint32_t pad1;
  uint32_t pid;
  uint64_t timestamp;
  uint64_t flags;  // 0: timestamps are CLOCK_MONOTONIC, not the TSC
};
static_assert(sizeof(FileHeader) == 40);

struct RecordHeader {
  uint32_t id;
  uint32_t total_size;  // of the whole record
  uint64_t timestamp;
};

// JIT_CODE_LOAD: this, then the name with its NUL, then the code.
struct CodeLoad {
  RecordHeader header;
  uint32_t pid;
  uint32_t tid;
  uint64_t vma;
  uint64_t code_addr;
  uint64_t code_size;
  uint64_t code_index;
};
static_assert(sizeof(CodeLoad) == 56);

}  // namespace

Result<std::unique_ptr<JitDump>> JitDump::create(const std::string& dir) {
  const std::string path = fmt::format("{}/jit-{}.dump", dir, ::getpid());
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) {
    const ErrorCode code = errno == ENOENT   ? ErrorCode::kNotFound
                           : errno == EACCES ? ErrorCode::kPermission
                                             : ErrorCode::kIo;
    return make_error(code, fmt::format("--jitdump: cannot create {} ({}): give an existing, "
                                        "writable directory",
                                        path, std::strerror(errno)));
  }
  const FileHeader header{kMagic,
                          kVersion,
                          sizeof(FileHeader),
                          EM_X86_64,
                          0,
                          static_cast<uint32_t>(::getpid()),
                          GuestClock::host_ns(),
                          0};
  if (::write(fd, &header, sizeof header) != static_cast<ssize_t>(sizeof header)) {
    auto err = errno_error(ErrorCode::kIo, "--jitdump: cannot write " + path);
    ::close(fd);
    return err;
  }
  // The marker: perf record sees this mapping of the file (it must be
  // executable to be recorded) and perf inject reads the file it names.
  void* marker = ::mmap(nullptr, static_cast<size_t>(::sysconf(_SC_PAGESIZE)),
                        PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
  if (marker == MAP_FAILED) {
    auto err = errno_error(ErrorCode::kIo, "--jitdump: cannot map " + path);
    ::close(fd);
    return err;
  }
  return std::unique_ptr<JitDump>(new JitDump(fd, path, marker));
}

JitDump::JitDump(int fd, std::string path, void* marker)
    : fd_(fd), path_(std::move(path)), marker_(marker) {}

JitDump::~JitDump() {
  const RecordHeader close{kCodeClose, sizeof(RecordHeader), GuestClock::host_ns()};
  {
    std::lock_guard lock(mutex_);
    if (!failed_) write_all(&close, sizeof close);
  }
  ::munmap(marker_, static_cast<size_t>(::sysconf(_SC_PAGESIZE)));
  ::close(fd_);
}

bool JitDump::write_all(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      log::warn("jitdump: cannot write {} ({}); no more blocks are recorded", path_,
                n < 0 ? std::strerror(errno) : "short write");
      failed_ = true;
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void JitDump::code_load(const void* addr, const void* bytes, size_t size, std::string_view name) {
  const auto name_bytes = name.size() + 1;
  const auto tid = static_cast<uint32_t>(::syscall(SYS_gettid));
  std::lock_guard lock(mutex_);
  if (failed_) return;
  const auto code_addr = reinterpret_cast<uint64_t>(addr);
  const CodeLoad rec{{kCodeLoad, static_cast<uint32_t>(sizeof(CodeLoad) + name_bytes + size),
                      GuestClock::host_ns()},
                     static_cast<uint32_t>(::getpid()),
                     tid,
                     code_addr,
                     code_addr,
                     size,
                     index_++};
  if (write_all(&rec, sizeof rec) && write_all(name.data(), name.size()) && write_all("", 1))
    write_all(bytes, size);
}

}  // namespace vireo::riscv
