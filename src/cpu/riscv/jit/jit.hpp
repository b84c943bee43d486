// The dynamic binary translator: hot straight-line RISC-V code of one
// physical page becomes x86-64 host code, one block per entry point.
//
// It sits on the interpreter, not beside it: the decode cache, the software
// TLB, traps and every instruction's semantics stay the interpreter's. A
// block inlines the integer instructions the interpreter inlines (ALU, M
// multiplies, loads/stores through the TLB's fast entries, branches and
// jumps) and calls DecodedInsn::exec for everything else, with pc and the
// budget written back first, exactly as the interpreter's call path does.
// So a block is correct wherever the interpreter is, and --jit=off is the
// interpreter alone.
//
// Blocks belong to a decode-cache page: they are dropped with it (a store to
// the page, FENCE.I, eviction), so self-modifying code needs nothing more.
// They are position-independent in the virtual address (the page's virtual
// base is a register), like the decoded slots they come from: one physical
// page mapped at two addresses shares its blocks. A block ends at a branch or
// jump, at the end of its page, or after kMaxBlockInsns; a direct branch to
// a slot of the same page chains straight into that slot's block when there
// is one. Everything else returns to the interpreter's dispatch, which
// translates a slot once it has been entered there kHotThreshold times.
//
// Code lives in one shared-memory buffer per hart, mapped twice: writable
// (the translator writes there) and executable (blocks run there), never
// both at one address. When it fills, every block is dropped and
// translation starts again.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/riscv/decode_cache.hpp"
#include "cpu/riscv/mmu.hpp"

namespace vireo::riscv {

class Hart;
class JitDump;

// The blocks of one decode-cache page: a host entry point (or nullptr) and a
// hotness counter per instruction slot.
struct JitPage {
  const void* entry[kInsnSlotsPerPage];
  uint8_t heat[kInsnSlotsPerPage];
};

// A jump cache entry: where a virtual pc's block is, on which page table.
// Valid while its epoch is the current one (see Jit::forget_jumps()).
struct JitJump {
  uint64_t vpc;
  uint64_t epoch;
  const void* block;
  JitPage* table;
};

class Jit {
 public:
  // Jump cache entries per fetch context (direct-mapped by pc).
  static constexpr unsigned kJumpEntries = 1024;

  static constexpr unsigned kMaxBlockInsns = 64;
  // Entries through the dispatch before a slot is translated: code that runs
  // once (most of a boot) is never worth translating.
  static constexpr uint8_t kHotThreshold = 16;
  // Heat of a slot the translator refused (it starts with an instruction it
  // cannot take, e.g. one straddling the page end): never tried again.
  static constexpr uint8_t kCold = 255;

  static constexpr size_t kDefaultCodeBytes = 32u << 20;
  static constexpr size_t kMinCodeBytes = 64u << 10;  // the runtime and a few blocks

  // `pages` is the number of decode-cache pages (one JitPage each);
  // `code_bytes` the size of the code buffer (at least kMinCodeBytes);
  // `dump`, when set, records every block for perf (jitdump.hpp).
  Jit(Hart& hart, unsigned pages, size_t code_bytes = kDefaultCodeBytes, JitDump* dump = nullptr);
  ~Jit();
  Jit(const Jit&) = delete;
  Jit& operator=(const Jit&) = delete;

  // False when the code buffer could not be created (the hart then
  // interprets; the reason was logged).
  bool usable() const { return code_rx_ != nullptr; }

  // The table of decode-cache page `index`.
  JitPage& page(unsigned index) { return tables_[index]; }
  // Drops the blocks of page `index` (it was refilled with other code).
  void reset_page(unsigned index);

  // Translates the block at `slot` of `code` (decoding lazily decoded slots
  // from `host`, the page's RAM) and records it in `table`. Returns the entry
  // point, or nullptr (the slot is then marked kCold).
  const void* translate(CodePage& code, JitPage& table, unsigned slot, const uint8_t* host);

  // Runs `block` (and the blocks it chains to) with pc on virtual page
  // `vpage` and `budget` instructions left in the chunk. Returns the budget
  // left; the Hart's pc holds where execution stopped. A block that finds
  // less budget than it may need returns at once without executing.
  uint64_t run(const void* block, uint64_t budget, JitPage& table, uint64_t vpage) {
    return enter_(&hart_, budget, table.entry, vpage, block);
  }

  // The jump cache: how a block leaving its page (a call, a return, falling
  // off the end) goes straight into the next page's block without the
  // interpreter's dispatch, which fills it. It holds what enter_fetch_page()
  // would find, so it is forgotten whenever that could change: a TLB flush
  // (SFENCE.VMA, satp, PMP), FENCE.I, a store invalidating code, a page of
  // blocks dropped. There is one per fetch context (M, S, U), so that
  // privilege changes (every trap and xRET) keep it.
  void set_fetch_context(unsigned context) {
    jumps_.current = jump_tables_ + context * kJumpEntries;
  }
  void forget_jumps() { ++jumps_.epoch; }
  void remember_jump(uint64_t vpc, const void* block, JitPage* table) {
    jumps_.current[(vpc >> 1) % kJumpEntries] = {vpc, jumps_.epoch, block, table};
  }

  // Blocks translated, and times the buffer filled up (statistics).
  uint64_t blocks_translated() const { return blocks_; }
  uint64_t buffer_flushes() const { return flushes_; }

 private:
  using EnterFn = uint64_t (*)(Hart*, uint64_t budget, const void* const* table, uint64_t vpage,
                               const void* block);
  void emit_runtime();  // the trampoline and thunks, at the buffer's start
  void flush_all();

  Hart& hart_;
  JitDump* dump_;
  unsigned page_count_;
  size_t code_bytes_;
  // Read by blocks at a fixed address: keep the two words together.
  struct JumpState {
    JitJump* current;
    uint64_t epoch;
  } jumps_{nullptr, 1};
  JitJump* jump_tables_ = nullptr;  // kTlbContexts * kJumpEntries
  JitPage* tables_ = nullptr;
  uint8_t* touched_ = nullptr;  // per table: reset_page() must clear it
  uint8_t* code_rw_ = nullptr;  // the writable view of the buffer
  uint8_t* code_rx_ = nullptr;  // the executable view
  size_t code_used_ = 0;
  size_t code_start_ = 0;                            // first byte after the trampoline and thunks
  size_t thunk_mem_slow_ = 0, thunk_call_exec_ = 0;  // their offsets
  EnterFn enter_ = nullptr;
  const void* exit_ = nullptr;  // the trampoline's return path (kept in rbp)
  uint64_t blocks_ = 0;
  uint64_t flushes_ = 0;
};

}  // namespace vireo::riscv
