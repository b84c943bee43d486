// The x86-64 code generator of the JIT: one block of decoded RISC-V
// instructions in, host code out (see jit.hpp for what a block is).
//
// Register use inside blocks:
//   rbx  the Hart (x[] and the hot interpreter fields are rbx-relative)
//   r12  instructions left in the chunk when the current block was entered
//   r13  the current page's JitPage::entry table (for chaining)
//   r14  the Hart's data TlbSet (reloaded after every call)
//   r15  the virtual page the block runs on
//   rbp  the trampoline's exit path
// rax, rcx, rdx, rsi, rdi are scratch. Guest registers live in the Hart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cpu/riscv/isa.hpp"

namespace vireo::riscv {

class Hart;

// Offsets into the Hart that blocks address, taken from a live object (Hart
// is not standard-layout, so offsetof is not available for it).
struct JitHartLayout {
  int x, pc, budget, fetch_vpage, data_tlb, f, mstatus, fflags, frm;
  explicit JitHartLayout(const Hart& h);
};

// True for the instructions that end a block (branches and jumps).
bool jit_ends_block(const DecodedInsn& d);

// The code every block shares, at the start of the code buffer: the
// trampoline that enters blocks (Jit::EnterFn) and the thunks blocks call
// for slow paths and exec calls. Offsets from the buffer's start.
struct JitRuntime {
  size_t enter = 0, mem_slow = 0, call_exec = 0;
  size_t size = 0;
};
JitRuntime jit_emit_runtime(uint8_t* buffer, size_t room, const JitHartLayout& layout);

// The thunks, at their addresses in the buffer blocks are written to.
struct JitThunks {
  const uint8_t* mem_slow;
  const uint8_t* call_exec;
};

// Emits the block of `insns` (decoded, none straddling the page end), which
// starts at page offset `start`, into `buffer` (`room` bytes; the code runs
// at another address: it is position-independent, and reaches the thunks
// by relative calls). `jump_state` is the Jit's jump-cache state (current
// entries, epoch). Returns the code size; throws Xbyak::Error when `room` is
// too small.
size_t jit_emit_block(uint8_t* buffer, size_t room, const JitHartLayout& layout,
                      const void* jump_state, const JitThunks& thunks,
                      std::span<const DecodedInsn* const> insns, unsigned start);

}  // namespace vireo::riscv
