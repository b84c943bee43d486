// perf's jitdump file (Linux tools/perf/Documentation/jitdump-specification.txt):
// a record of every block the JIT writes, so that `perf` can name samples in
// translated code (it cannot otherwise: the blocks live in a memfd mapping).
//
//   vireo run --jitdump DIR ...        under  perf record -k mono
//   perf inject --jit -i perf.data -o perf.jit.data; perf report -i perf.jit.data
//
// The file is DIR/jit-PID.dump. Its first page is mapped executable for the
// process's lifetime: that mmap is the marker perf record notices and perf
// inject follows. Timestamps are CLOCK_MONOTONIC, hence `perf record -k mono`.
// Every hart's JIT writes to the one file, under a lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace vireo::riscv {

class JitDump {
 public:
  // Record ids and the file's magic, from the specification.
  static constexpr uint32_t kMagic = 0x4A695444;  // "JiTD" read as a little-endian u32
  static constexpr uint32_t kVersion = 1;
  static constexpr uint32_t kCodeLoad = 0;
  static constexpr uint32_t kCodeClose = 3;

  // Creates DIR/jit-PID.dump (replacing one left by an earlier process of the
  // same PID) and writes the header.
  static Result<std::unique_ptr<JitDump>> create(const std::string& dir);
  ~JitDump();
  JitDump(const JitDump&) = delete;
  JitDump& operator=(const JitDump&) = delete;

  // `size` bytes of code now at `addr` (where it runs), named `name`; `bytes`
  // is where the code can be read (the JIT's writable view of the same code).
  // Safe from any thread. A failed write is logged once and ends the dump.
  void code_load(const void* addr, const void* bytes, size_t size, std::string_view name);

  const std::string& path() const { return path_; }

 private:
  JitDump(int fd, std::string path, void* marker);
  bool write_all(const void* data, size_t size);  // with mutex_ held

  std::mutex mutex_;
  int fd_;
  std::string path_;
  void* marker_;
  uint64_t index_ = 0;  // code_index: a unique id per load
  bool failed_ = false;
};

}  // namespace vireo::riscv
