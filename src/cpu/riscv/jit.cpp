// The translator (see jit.hpp). Register use inside blocks:
//   rbx  the Hart (x[] and the hot interpreter fields are rbx-relative)
//   r12  instructions left in the chunk when the current block was entered
//   r13  the current page's JitPage::entry table (for chaining)
//   r14  the Hart's data TlbSet (reloaded after every call)
//   r15  the virtual page the block runs on
//   rbp  the trampoline's exit path
// rax, rcx, rdx, rsi, rdi are scratch. Guest registers live in the Hart.
#include "cpu/riscv/jit.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <type_traits>
#include <vector>

#include <xbyak/xbyak.h>

#include "core/log.hpp"
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa/inline_ops.hpp"

namespace vireo::riscv {

namespace {

constexpr size_t kCodeBytes = 32u << 20;
// Room a block may need at most: kMaxBlockInsns instructions of the largest
// kind (a load or store: fast path plus its out-of-line slow path) and the end.
constexpr size_t kMaxBlockBytes = 16u << 10;

static_assert(sizeof(TlbEntry) == 32 && offsetof(TlbEntry, tag) == 0 &&
                  offsetof(TlbEntry, addend) == 8,
              "the inlined TLB lookup knows this layout");
static_assert(offsetof(TlbSet, entries) == 0);
constexpr int kTlbAccessStride = static_cast<int>(sizeof(TlbEntry) * kTlbEntries);

// Slow paths of the inlined loads and stores: the access through the Hart's
// full path (misaligned, page-crossing, TLB miss, MMIO, code pages). False
// after a trap.
template <class T>
bool load_slow_path(Hart* h, uint64_t vaddr, uint32_t rd) {
  using Unsigned = std::make_unsigned_t<T>;
  Unsigned value;
  if (!h->load<Unsigned>(vaddr, value)) return false;
  h->x[rd] = static_cast<uint64_t>(static_cast<int64_t>(static_cast<T>(value)));
  return true;
}

template <class T>
bool store_slow_path(Hart* h, uint64_t vaddr, uint64_t value) {
  return h->store<T>(vaddr, static_cast<T>(value));
}

// The 4-byte form of an inline op (each op comes as 4-byte, compressed).
unsigned base_op(uint8_t inline_op) {
  return inline_op >= kInlineCall ? (inline_op & ~1u) : inline_op;
}

bool ends_block(unsigned op) {
  switch (op) {
    case kInline_jal:
    case kInline_jalr:
    case kInline_beq:
    case kInline_bne:
    case kInline_blt:
    case kInline_bge:
    case kInline_bltu:
    case kInline_bgeu:
      return true;
    default:
      return false;
  }
}

}  // namespace

// Offsets into the Hart, taken from the live object (Hart is not
// standard-layout, so offsetof is not available for it).
struct JitHartLayout {
  int x, pc, budget, fetch_vpage, data_tlb;
  explicit JitHartLayout(const Hart& h) {
    const auto* base = reinterpret_cast<const char*>(&h);
    x = static_cast<int>(reinterpret_cast<const char*>(&h.x[0]) - base);
    pc = static_cast<int>(reinterpret_cast<const char*>(&h.pc) - base);
    budget = static_cast<int>(reinterpret_cast<const char*>(&h.budget_left_) - base);
    fetch_vpage = static_cast<int>(reinterpret_cast<const char*>(&h.fetch_vpage_) - base);
    data_tlb = static_cast<int>(reinterpret_cast<const char*>(&h.data_tlb_) - base);
  }
};

namespace {

using namespace Xbyak::util;

// Emits one block.
class BlockEmitter : public Xbyak::CodeGenerator {
 public:
  BlockEmitter(uint8_t* buffer, size_t size, const JitHartLayout& layout, const void* jump_state)
      : Xbyak::CodeGenerator(size, buffer), l_(layout), jump_state_(jump_state) {}

  // `insns` are the block's decoded instructions, from page offset `start`.
  void emit_block(std::span<DecodedInsn* const> insns, unsigned start) {
    const unsigned n = static_cast<unsigned>(insns.size());
    Xbyak::Label bail;
    cmp(r12, n);
    jb(bail, T_NEAR);
    unsigned off = start;
    bool ended = false;
    for (unsigned k = 0; k < n; ++k) {
      const DecodedInsn& d = *insns[k];
      ended = emit_insn(d, off, k);
      off += d.len;
    }
    if (!ended) chain(off, n);  // ran into the page end or the length limit
    L(bail);
    set_pc(start);
    jmp(rbp);
    L(exit_at_rax_);
    mov(hart_pc(), rax);
    jmp(rbp);
    for (auto& stub : stubs_) emit_stub(stub);
  }

 private:
  struct Stub {
    enum Kind { kLoad, kStore, kCallExit } kind;
    Xbyak::Label entry, resume;
    unsigned off, len, k;
    uint32_t rd;
    const void* helper;
  };

  Xbyak::Address X(unsigned r) { return qword[rbx + l_.x + 8 * static_cast<int>(r)]; }
  Xbyak::Address hart_pc() { return qword[rbx + l_.pc]; }

  void set_pc(int64_t page_offset) {
    lea(rax, ptr[r15 + static_cast<int32_t>(page_offset)]);
    mov(hart_pc(), rax);
  }
  // The Hart's budget as the interpreter keeps it before instruction k.
  void sync_budget(unsigned k) {
    lea(rdx, ptr[r12 - static_cast<int32_t>(k)]);
    mov(qword[rbx + l_.budget], rdx);
  }

  // Leaves through `target` (a page offset) after `count` instructions:
  // straight into the target's block when it is on this page and translated,
  // through the jump cache when it is on another page.
  void chain(int64_t target, unsigned count) {
    sub(r12, count);
    if (target >= 0 && target < static_cast<int64_t>(kPageSize)) {
      Xbyak::Label miss;
      mov(rax, qword[r13 + static_cast<int32_t>(target / 2 * 8)]);
      test(rax, rax);
      jz(miss);
      jmp(rax);
      L(miss);
      set_pc(target);
      jmp(rbp);
      return;
    }
    lea(rax, ptr[r15 + static_cast<int32_t>(target)]);
    jump_out();
  }

  // To the pc in rax, on another page: its block from the jump cache, or
  // back to the interpreter. The block's page becomes the fetch page (the
  // interpreter notices the change when the run returns).
  void jump_out() {
    static_assert(sizeof(JitJump) == 32 && offsetof(JitJump, vpc) == 0 &&
                  offsetof(JitJump, epoch) == 8 && offsetof(JitJump, block) == 16 &&
                  offsetof(JitJump, table) == 24);
    mov(rsi, reinterpret_cast<uintptr_t>(jump_state_));
    mov(rdx, qword[rsi]);  // the current context's entries
    mov(ecx, eax);
    and_(ecx, (Jit::kJumpEntries - 1) << 1);
    shl(ecx, 4);  // (pc / 2 % entries) * 32
    add(rdx, rcx);
    cmp(qword[rdx], rax);
    jne(exit_at_rax_, T_NEAR);
    mov(rcx, qword[rsi + 8]);  // the epoch
    cmp(qword[rdx + 8], rcx);
    jne(exit_at_rax_, T_NEAR);
    mov(r13, qword[rdx + 24]);
    mov(r15, rax);
    and_(r15, static_cast<int32_t>(~kPageOffsetMask));
    mov(qword[rbx + l_.fetch_vpage], r15);
    jmp(qword[rdx + 16]);
  }

  // Returns true when the instruction ended the block.
  bool emit_insn(const DecodedInsn& d, unsigned off, unsigned k) {
    const unsigned op = base_op(d.inline_op);
    const bool sink = d.rd == 32;  // rd = x0: a pure ALU result is dropped
    const auto imm32 = static_cast<int32_t>(d.imm);
    switch (op) {
      case kInline_lui:
        if (!sink) mov(X(d.rd), imm32);
        return false;
      case kInline_auipc:
        if (!sink) {
          // imm is up to 2^31 - 4096 and off below 4096: the sum may not fit a displacement.
          const int64_t offset = static_cast<int64_t>(off) + d.imm;
          if (offset == static_cast<int32_t>(offset)) {
            lea(rax, ptr[r15 + static_cast<int32_t>(offset)]);
          } else {
            mov(rax, offset);
            add(rax, r15);
          }
          mov(X(d.rd), rax);
        }
        return false;
      case kInline_jal:
        if (!sink) {
          lea(rax, ptr[r15 + static_cast<int32_t>(off + d.len)]);
          mov(X(d.rd), rax);
        }
        chain(static_cast<int64_t>(off) + d.imm, k + 1);
        return true;
      case kInline_jalr: {
        mov(rax, X(d.rs1));
        if (imm32 != 0) add(rax, imm32);
        and_(rax, -2);
        if (!sink) {
          lea(rcx, ptr[r15 + static_cast<int32_t>(off + d.len)]);
          mov(X(d.rd), rcx);
        }
        sub(r12, k + 1);
        Xbyak::Label other_page;
        mov(rcx, rax);
        and_(rcx, static_cast<int32_t>(~kPageOffsetMask));
        cmp(rcx, r15);
        jne(other_page, T_NEAR);
        mov(ecx, eax);
        and_(ecx, static_cast<int32_t>(kPageOffsetMask));
        mov(rcx, qword[r13 + rcx * 4]);  // entry[offset / 2]
        test(rcx, rcx);
        jz(exit_at_rax_, T_NEAR);
        jmp(rcx);
        L(other_page);
        jump_out();
        return true;
      }
      case kInline_beq:
      case kInline_bne:
      case kInline_blt:
      case kInline_bge:
      case kInline_bltu:
      case kInline_bgeu: {
        Xbyak::Label taken;
        mov(rax, X(d.rs1));
        cmp(rax, X(d.rs2));
        switch (op) {
          case kInline_beq:
            je(taken, T_NEAR);
            break;
          case kInline_bne:
            jne(taken, T_NEAR);
            break;
          case kInline_blt:
            jl(taken, T_NEAR);
            break;
          case kInline_bge:
            jge(taken, T_NEAR);
            break;
          case kInline_bltu:
            jb(taken, T_NEAR);
            break;
          default:
            jae(taken, T_NEAR);
            break;
        }
        chain(off + d.len, k + 1);
        L(taken);
        chain(static_cast<int64_t>(off) + d.imm, k + 1);
        return true;
      }
      case kInline_lb:
        load(d, off, k, 1, true, reinterpret_cast<const void*>(&load_slow_path<int8_t>));
        return false;
      case kInline_lh:
        load(d, off, k, 2, true, reinterpret_cast<const void*>(&load_slow_path<int16_t>));
        return false;
      case kInline_lw:
        load(d, off, k, 4, true, reinterpret_cast<const void*>(&load_slow_path<int32_t>));
        return false;
      case kInline_ld:
        load(d, off, k, 8, true, reinterpret_cast<const void*>(&load_slow_path<int64_t>));
        return false;
      case kInline_lbu:
        load(d, off, k, 1, false, reinterpret_cast<const void*>(&load_slow_path<uint8_t>));
        return false;
      case kInline_lhu:
        load(d, off, k, 2, false, reinterpret_cast<const void*>(&load_slow_path<uint16_t>));
        return false;
      case kInline_lwu:
        load(d, off, k, 4, false, reinterpret_cast<const void*>(&load_slow_path<uint32_t>));
        return false;
      case kInline_sb:
        store(d, off, k, 1, reinterpret_cast<const void*>(&store_slow_path<uint8_t>));
        return false;
      case kInline_sh:
        store(d, off, k, 2, reinterpret_cast<const void*>(&store_slow_path<uint16_t>));
        return false;
      case kInline_sw:
        store(d, off, k, 4, reinterpret_cast<const void*>(&store_slow_path<uint32_t>));
        return false;
      case kInline_sd:
        store(d, off, k, 8, reinterpret_cast<const void*>(&store_slow_path<uint64_t>));
        return false;
      default:
        break;
    }
    if (emit_alu(d, op, sink)) return false;
    call_exec(d, off, k);
    return false;
  }

  // Register and immediate ALU operations, and the multiplies. Returns false
  // for anything else (the caller calls exec).
  bool emit_alu(const DecodedInsn& d, unsigned op, bool sink) {
    const auto imm = static_cast<int32_t>(d.imm);
    auto alu = [&](auto&& body) {
      if (sink) return;
      body();
      mov(X(d.rd), rax);
    };
    switch (op) {
      case kInline_addi:
        alu([&] {
          mov(rax, X(d.rs1));
          if (imm) add(rax, imm);
        });
        return true;
      case kInline_xori:
        alu([&] {
          mov(rax, X(d.rs1));
          xor_(rax, imm);
        });
        return true;
      case kInline_ori:
        alu([&] {
          mov(rax, X(d.rs1));
          or_(rax, imm);
        });
        return true;
      case kInline_andi:
        alu([&] {
          mov(rax, X(d.rs1));
          and_(rax, imm);
        });
        return true;
      case kInline_slli:
        alu([&] {
          mov(rax, X(d.rs1));
          shl(rax, imm & 63);
        });
        return true;
      case kInline_srli:
        alu([&] {
          mov(rax, X(d.rs1));
          shr(rax, imm & 63);
        });
        return true;
      case kInline_srai:
        alu([&] {
          mov(rax, X(d.rs1));
          sar(rax, imm & 63);
        });
        return true;
      case kInline_slti:
        alu([&] {
          xor_(eax, eax);
          cmp(X(d.rs1), imm);
          setl(al);
        });
        return true;
      case kInline_sltiu:
        alu([&] {
          xor_(eax, eax);
          cmp(X(d.rs1), imm);
          setb(al);
        });
        return true;
      case kInline_addiw:
        alu([&] {
          mov(eax, dword[rbx + l_.x + 8 * d.rs1]);
          if (imm) add(eax, imm);
          movsxd(rax, eax);
        });
        return true;
      case kInline_slliw:
        alu([&] {
          mov(eax, dword[rbx + l_.x + 8 * d.rs1]);
          shl(eax, imm & 31);
          movsxd(rax, eax);
        });
        return true;
      case kInline_srliw:
        alu([&] {
          mov(eax, dword[rbx + l_.x + 8 * d.rs1]);
          shr(eax, imm & 31);
          movsxd(rax, eax);
        });
        return true;
      case kInline_sraiw:
        alu([&] {
          mov(eax, dword[rbx + l_.x + 8 * d.rs1]);
          sar(eax, imm & 31);
          movsxd(rax, eax);
        });
        return true;
      case kInline_add:
        alu([&] {
          mov(rax, X(d.rs1));
          add(rax, X(d.rs2));
        });
        return true;
      case kInline_sub:
        alu([&] {
          mov(rax, X(d.rs1));
          sub(rax, X(d.rs2));
        });
        return true;
      case kInline_xor:
        alu([&] {
          mov(rax, X(d.rs1));
          xor_(rax, X(d.rs2));
        });
        return true;
      case kInline_or:
        alu([&] {
          mov(rax, X(d.rs1));
          or_(rax, X(d.rs2));
        });
        return true;
      case kInline_and:
        alu([&] {
          mov(rax, X(d.rs1));
          and_(rax, X(d.rs2));
        });
        return true;
      // x86 masks shift counts to 6 bits (5 for 32-bit operands), as RISC-V does.
      case kInline_sll:
        alu([&] {
          mov(rcx, X(d.rs2));
          mov(rax, X(d.rs1));
          shl(rax, cl);
        });
        return true;
      case kInline_srl:
        alu([&] {
          mov(rcx, X(d.rs2));
          mov(rax, X(d.rs1));
          shr(rax, cl);
        });
        return true;
      case kInline_sra:
        alu([&] {
          mov(rcx, X(d.rs2));
          mov(rax, X(d.rs1));
          sar(rax, cl);
        });
        return true;
      case kInline_slt:
        alu([&] {
          xor_(eax, eax);
          mov(rcx, X(d.rs1));
          cmp(rcx, X(d.rs2));
          setl(al);
        });
        return true;
      case kInline_sltu:
        alu([&] {
          xor_(eax, eax);
          mov(rcx, X(d.rs1));
          cmp(rcx, X(d.rs2));
          setb(al);
        });
        return true;
      case kInline_addw:
        alu([&] {
          mov(eax, dword[rbx + l_.x + 8 * d.rs1]);
          add(eax, dword[rbx + l_.x + 8 * d.rs2]);
          movsxd(rax, eax);
        });
        return true;
      case kInline_subw:
        alu([&] {
          mov(eax, dword[rbx + l_.x + 8 * d.rs1]);
          sub(eax, dword[rbx + l_.x + 8 * d.rs2]);
          movsxd(rax, eax);
        });
        return true;
      case kInline_sllw:
        alu([&] {
          mov(rcx, X(d.rs2));
          mov(eax, dword[rbx + l_.x + 8 * d.rs1]);
          shl(eax, cl);
          movsxd(rax, eax);
        });
        return true;
      case kInline_srlw:
        alu([&] {
          mov(rcx, X(d.rs2));
          mov(eax, dword[rbx + l_.x + 8 * d.rs1]);
          shr(eax, cl);
          movsxd(rax, eax);
        });
        return true;
      case kInline_sraw:
        alu([&] {
          mov(rcx, X(d.rs2));
          mov(eax, dword[rbx + l_.x + 8 * d.rs1]);
          sar(eax, cl);
          movsxd(rax, eax);
        });
        return true;
      case kInline_mul:
        alu([&] {
          mov(rax, X(d.rs1));
          imul(rax, X(d.rs2));
        });
        return true;
      case kInline_mulw:
        alu([&] {
          mov(eax, dword[rbx + l_.x + 8 * d.rs1]);
          imul(eax, dword[rbx + l_.x + 8 * d.rs2]);
          movsxd(rax, eax);
        });
        return true;
      case kInline_mulh:
        alu([&] {
          mov(rax, X(d.rs1));
          imul(X(d.rs2));
          mov(rax, rdx);
        });
        return true;
      case kInline_mulhu:
        alu([&] {
          mov(rax, X(d.rs1));
          mul(X(d.rs2));
          mov(rax, rdx);
        });
        return true;
      default:
        return false;  // mulhsu, divisions (their edge cases), everything else
    }
  }

  // vaddr = x[rs1] + imm into rax; then the TLB probe of `access` for a
  // `size`-byte access. On a hit rax holds the host address; a miss jumps to
  // `slow` with rax = vaddr.
  void tlb_probe(const DecodedInsn& d, Access access, unsigned size, Xbyak::Label& slow) {
    const int a = static_cast<int>(access) * kTlbAccessStride;
    mov(rax, X(d.rs1));
    if (d.imm != 0) add(rax, static_cast<int32_t>(d.imm));
    mov(ecx, eax);
    shr(ecx, 7);
    and_(ecx, static_cast<int32_t>((kTlbEntries - 1) * sizeof(TlbEntry)));  // index * 32
    mov(rdx, rax);
    and_(rdx, static_cast<int32_t>(~kPageOffsetMask | (size - 1)));
    cmp(rdx, qword[r14 + rcx + a]);
    jne(slow, T_NEAR);
    add(rax, qword[r14 + rcx + a + 8]);
  }

  void load(const DecodedInsn& d, unsigned off, unsigned k, unsigned size, bool sign,
            const void* helper) {
    Stub& s = stubs_.emplace_back();
    s.kind = Stub::kLoad;
    s.off = off;
    s.len = d.len;
    s.k = k;
    s.rd = d.rd;
    s.helper = helper;
    tlb_probe(d, Access::kLoad, size, s.entry);
    switch (size) {
      case 1:
        sign ? movsx(rax, byte[rax]) : movzx(eax, byte[rax]);
        break;
      case 2:
        sign ? movsx(rax, word[rax]) : movzx(eax, word[rax]);
        break;
      case 4:
        sign ? movsxd(rax, dword[rax]) : mov(eax, dword[rax]);
        break;
      default:
        mov(rax, qword[rax]);
        break;
    }
    mov(X(d.rd), rax);
    L(s.resume);
  }

  void store(const DecodedInsn& d, unsigned off, unsigned k, unsigned size, const void* helper) {
    Stub& s = stubs_.emplace_back();
    s.kind = Stub::kStore;
    s.off = off;
    s.len = d.len;
    s.k = k;
    s.rd = d.rs2;  // the value's register
    s.helper = helper;
    tlb_probe(d, Access::kStore, size, s.entry);
    mov(rcx, X(d.rs2));
    switch (size) {
      case 1:
        mov(byte[rax], cl);
        break;
      case 2:
        mov(word[rax], cx);
        break;
      case 4:
        mov(dword[rax], ecx);
        break;
      default:
        mov(qword[rax], rcx);
        break;
    }
    L(s.resume);
  }

  // An instruction the block does not inline: its exec, as the interpreter
  // calls it. The block goes on only if pc moved to the next instruction and
  // the fetch page is still valid (no trap, no jump, no context change).
  void call_exec(const DecodedInsn& d, unsigned off, unsigned k) {
    set_pc(off);
    sync_budget(k);
    mov(rdi, rbx);
    mov(rsi, reinterpret_cast<uintptr_t>(&d));
    mov(rax, reinterpret_cast<uintptr_t>(d.exec));
    call(rax);
    Stub& s = stubs_.emplace_back();
    s.kind = Stub::kCallExit;
    s.k = k;
    lea(rax, ptr[r15 + static_cast<int32_t>(off + d.len)]);
    cmp(hart_pc(), rax);
    jne(s.entry, T_NEAR);
    cmp(qword[rbx + l_.fetch_vpage], r15);
    jne(s.entry, T_NEAR);
    mov(r14, qword[rbx + l_.data_tlb]);
  }

  void emit_stub(Stub& s) {
    L(s.entry);
    if (s.kind == Stub::kCallExit) {
      sub(r12, s.k + 1);  // pc is already where execution goes on
      jmp(rbp);
      return;
    }
    mov(rsi, rax);  // the virtual address (set_pc clobbers rax)
    set_pc(s.off);
    sync_budget(s.k);
    mov(rdi, rbx);
    if (s.kind == Stub::kLoad) {
      mov(edx, s.rd);
    } else {
      mov(rdx, X(s.rd));
    }
    mov(rax, reinterpret_cast<uintptr_t>(s.helper));
    call(rax);
    Xbyak::Label trapped, invalidated;
    test(al, al);
    jz(trapped);
    // An MMIO access or a store to a page holding code invalidates the fetch
    // page: the interpreter looks it up again, from the next instruction.
    cmp(qword[rbx + l_.fetch_vpage], r15);
    jne(invalidated);
    mov(r14, qword[rbx + l_.data_tlb]);
    jmp(s.resume, T_NEAR);
    L(invalidated);
    set_pc(s.off + s.len);
    L(trapped);  // the trap left the vector in pc
    sub(r12, s.k + 1);
    jmp(rbp);
  }

  const JitHartLayout& l_;
  const void* jump_state_;    // Jit::jumps_
  std::deque<Stub> stubs_;    // deque: Labels must not move
  Xbyak::Label exit_at_rax_;  // leave with pc = rax
};

}  // namespace

Jit::Jit(Hart& hart, unsigned pages) : hart_(hart), page_count_(pages) {
  const size_t table_bytes = sizeof(JitPage) * pages;
  void* t = ::mmap(nullptr, table_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  const int fd = ::memfd_create("vireo-jit", MFD_CLOEXEC);
  if (t == MAP_FAILED || fd < 0 || ::ftruncate(fd, kCodeBytes) != 0) {
    log::warn("jit: cannot set up code memory ({}); hart {} interprets", std::strerror(errno),
              hart.hart_id());
    if (t != MAP_FAILED) ::munmap(t, table_bytes);
    if (fd >= 0) ::close(fd);
    return;
  }
  void* rw = ::mmap(nullptr, kCodeBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  void* rx = ::mmap(nullptr, kCodeBytes, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
  ::close(fd);
  if (rw == MAP_FAILED || rx == MAP_FAILED) {
    log::warn("jit: cannot map code memory ({}); hart {} interprets", std::strerror(errno),
              hart.hart_id());
    if (rw != MAP_FAILED) ::munmap(rw, kCodeBytes);
    if (rx != MAP_FAILED) ::munmap(rx, kCodeBytes);
    ::munmap(t, table_bytes);
    return;
  }
  jump_tables_ = new JitJump[kTlbContexts * kJumpEntries]();
  jumps_.current = jump_tables_;
  tables_ = static_cast<JitPage*>(t);
  touched_ = new uint8_t[pages]();
  code_rw_ = static_cast<uint8_t*>(rw);
  code_rx_ = static_cast<uint8_t*>(rx);
  emit_trampoline();
}

Jit::~Jit() {
  if (code_rx_ == nullptr) return;
  ::munmap(code_rw_, kCodeBytes);
  ::munmap(code_rx_, kCodeBytes);
  ::munmap(tables_, sizeof(JitPage) * page_count_);
  delete[] touched_;
  delete[] jump_tables_;
}

void Jit::emit_trampoline() {
  const JitHartLayout layout(hart_);
  Xbyak::CodeGenerator g(4096, code_rw_);
  using namespace Xbyak::util;
  Xbyak::Label exit;
  // enter(hart, budget, table, vpage, block): SysV arguments in rdi, rsi,
  // rdx, rcx, r8. Six pushes and the return address leave rsp 16-aligned
  // after one more 8-byte adjustment, as calls from blocks need.
  g.push(rbp);
  g.push(rbx);
  g.push(r12);
  g.push(r13);
  g.push(r14);
  g.push(r15);
  g.sub(rsp, 8);
  g.mov(rbx, rdi);
  g.mov(r12, rsi);
  g.mov(r13, rdx);
  g.mov(r15, rcx);
  g.mov(r14, g.qword[rbx + layout.data_tlb]);
  g.lea(rbp, g.ptr[rip + exit]);
  g.jmp(r8);
  g.L(exit);
  g.mov(rax, r12);
  g.add(rsp, 8);
  g.pop(r15);
  g.pop(r14);
  g.pop(r13);
  g.pop(r12);
  g.pop(rbx);
  g.pop(rbp);
  g.ret();
  enter_ = reinterpret_cast<EnterFn>(code_rx_);
  code_start_ = code_used_ = (g.getSize() + 63) & ~size_t{63};
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
  if (kCodeBytes - code_used_ < kMaxBlockBytes) flush_all();
  DecodedInsn* insns[kMaxBlockInsns];
  unsigned n = 0;
  for (unsigned off = slot * 2; n < kMaxBlockInsns && off < kPageSize;) {
    DecodedInsn& d = code.insns[off / 2];
    if (d.exec == &Hart::exec_decode_lazily) {
      uint16_t lo;
      std::memcpy(&lo, host + off, 2);
      if ((lo & 3) != 3) {
        d = decode(lo);
      } else if (off == kPageSize - 2) {
        break;  // straddles the page end: the interpreter runs it
      } else {
        uint16_t hi;
        std::memcpy(&hi, host + off + 2, 2);
        d = decode(lo | static_cast<uint32_t>(hi) << 16);
      }
    }
    if (d.exec == &Hart::exec_page_straddling) break;
    insns[n++] = &d;
    off += d.len;
    if (ends_block(base_op(d.inline_op))) break;
  }
  if (n == 0) {
    table.heat[slot] = kCold;
    return nullptr;
  }
  const JitHartLayout layout(hart_);
  size_t size;
  try {
    BlockEmitter e(code_rw_ + code_used_, kCodeBytes - code_used_, layout, &jumps_);
    e.emit_block(std::span<DecodedInsn* const>(insns, n), slot * 2);
    size = e.getSize();
  } catch (const Xbyak::Error& err) {
    log::warn("jit: cannot translate a block ({}); it stays interpreted", err.what());
    table.heat[slot] = kCold;
    return nullptr;
  }
  const void* entry = code_rx_ + code_used_;
  code_used_ += (size + 15) & ~size_t{15};
  table.entry[slot] = entry;
  touched_[&table - tables_] = 1;
  ++blocks_;
  return entry;
}

}  // namespace vireo::riscv
