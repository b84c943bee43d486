// The JIT's code memory, block tables and jump cache (see jit.hpp); the code
// itself comes from block_emitter.cpp.
#include "cpu/riscv/jit/jit.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <xbyak/xbyak.h>

#include "core/log.hpp"
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/jit/block_emitter.hpp"
#include "cpu/riscv/jit/jitdump.hpp"

namespace vireo::riscv {

namespace {

// Room a block may need at most: kMaxBlockInsns instructions of the largest
// kind (a load or store: fast path plus its out-of-line slow path) and the end.
constexpr size_t kMaxBlockBytes = 16u << 10;

}  // namespace

Jit::Jit(Hart& hart, unsigned pages, size_t code_bytes, JitDump* dump)
    : hart_(hart),
      dump_(dump),
      page_count_(pages),
      code_bytes_(std::max(code_bytes, kMinCodeBytes)) {
  const size_t table_bytes = sizeof(JitPage) * pages;
  void* t = ::mmap(nullptr, table_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  const int fd = ::memfd_create("vireo-jit", MFD_CLOEXEC);
  if (t == MAP_FAILED || fd < 0 || ::ftruncate(fd, code_bytes_) != 0) {
    log::warn("jit: cannot set up code memory ({}); hart {} interprets", std::strerror(errno),
              hart.hart_id());
    if (t != MAP_FAILED) ::munmap(t, table_bytes);
    if (fd >= 0) ::close(fd);
    return;
  }
  void* rw = ::mmap(nullptr, code_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  void* rx = ::mmap(nullptr, code_bytes_, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
  ::close(fd);
  if (rw == MAP_FAILED || rx == MAP_FAILED) {
    log::warn("jit: cannot map code memory ({}); hart {} interprets", std::strerror(errno),
              hart.hart_id());
    if (rw != MAP_FAILED) ::munmap(rw, code_bytes_);
    if (rx != MAP_FAILED) ::munmap(rx, code_bytes_);
    ::munmap(t, table_bytes);
    return;
  }
  jump_tables_ = new JitJump[kTlbContexts * kJumpEntries]();
  jumps_.current = jump_tables_;
  tables_ = static_cast<JitPage*>(t);
  touched_ = new uint8_t[pages]();
  code_rw_ = static_cast<uint8_t*>(rw);
  code_rx_ = static_cast<uint8_t*>(rx);
  emit_runtime();
}

Jit::~Jit() {
  if (code_rx_ == nullptr) return;
  ::munmap(code_rw_, code_bytes_);
  ::munmap(code_rx_, code_bytes_);
  ::munmap(tables_, sizeof(JitPage) * page_count_);
  delete[] touched_;
  delete[] jump_tables_;
}

void Jit::emit_runtime() {
  const JitRuntime rt = jit_emit_runtime(code_rw_, 4096, JitHartLayout(hart_));
  enter_ = reinterpret_cast<EnterFn>(code_rx_ + rt.enter);
  thunk_mem_slow_ = rt.mem_slow;
  thunk_call_exec_ = rt.call_exec;
  code_start_ = code_used_ = (rt.size + 63) & ~size_t{63};
  if (dump_ != nullptr) {
    dump_->code_load(code_rx_, code_rw_, rt.size,
                     fmt::format("vireo-jit-runtime (hart {})", hart_.hart_id()));
  }
}

void Jit::reset_page(unsigned index) {
  if (touched_[index] == 0) return;
  std::memset(static_cast<void*>(&tables_[index]), 0, sizeof(JitPage));
  touched_[index] = 0;
  forget_jumps();
}

void Jit::flush_all() {
  for (unsigned i = 0; i < page_count_; ++i) reset_page(i);
  code_used_ = code_start_;
  forget_jumps();
  ++flushes_;
}

const void* Jit::translate(CodePage& code, JitPage& table, unsigned slot, const uint8_t* host) {
  if (code_bytes_ - code_used_ < kMaxBlockBytes) flush_all();
  const DecodedInsn* insns[kMaxBlockInsns];
  unsigned n = 0;
  for (unsigned off = slot * 2; n < kMaxBlockInsns && off < kPageSize;) {
    DecodedInsn& d = code.insns[off / 2];
    if (d.exec == &Hart::exec_decode_lazily) Hart::decode_slot(d, host, off);
    if (d.exec == &Hart::exec_page_straddling) break;  // the interpreter runs it
    insns[n++] = &d;
    off += d.len;
    if (jit_ends_block(d)) break;
  }
  touched_[&table - tables_] = 1;  // reset_page() must clear what is written now
  if (n == 0) {
    table.heat[slot] = kCold;
    return nullptr;
  }
  size_t size;
  try {
    const JitThunks thunks{code_rw_ + thunk_mem_slow_, code_rw_ + thunk_call_exec_};
    size = jit_emit_block(code_rw_ + code_used_, code_bytes_ - code_used_, JitHartLayout(hart_),
                          &jumps_, thunks, std::span<const DecodedInsn* const>(insns, n), slot * 2);
  } catch (const Xbyak::Error& err) {
    log::warn("jit: cannot translate a block ({}); it stays interpreted", err.what());
    table.heat[slot] = kCold;
    return nullptr;
  }
  const void* entry = code_rx_ + code_used_;
  if (dump_ != nullptr) {
    // Named by the guest address of its first instruction (the virtual one,
    // as the guest's symbols give it, then the physical one).
    dump_->code_load(
        entry, code_rw_ + code_used_, size,
        fmt::format("riscv:{:x} (pa {:x})", hart_.fetch_vpage_ + slot * 2, code.ppage + slot * 2));
  }
  code_used_ += (size + 15) & ~size_t{15};
  table.entry[slot] = entry;
  ++blocks_;
  return entry;
}

}  // namespace vireo::riscv
