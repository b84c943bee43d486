// The JIT's code generator (see block_emitter.hpp), with xbyak.
#include "cpu/riscv/jit/block_emitter.hpp"

#include <deque>
#include <type_traits>

#include <xbyak/xbyak.h>

#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa/fp_exec.hpp"
#include "cpu/riscv/isa/inline_ops.hpp"
#include "cpu/riscv/jit/jit.hpp"

namespace vireo::riscv {

namespace {

static_assert(sizeof(TlbEntry) == 32 && offsetof(TlbEntry, tag) == 0 &&
                  offsetof(TlbEntry, addend) == 8,
              "the inlined TLB lookup knows this layout");
static_assert(offsetof(TlbSet, entries) == 0);
constexpr int kTlbAccessStride = static_cast<int>(sizeof(TlbEntry) * kTlbEntries);

static_assert(sizeof(JitJump) == 32 && offsetof(JitJump, vpc) == 0 &&
                  offsetof(JitJump, epoch) == 8 && offsetof(JitJump, block) == 16 &&
                  offsetof(JitJump, table) == 24,
              "the inlined jump-cache lookup knows this layout");

// Slow paths of the inlined loads and stores: the access through the Hart's
// full path (misaligned, page-crossing, TLB miss, MMIO, code pages). `reg` is
// rd for a load, rs2 for a store. False after a trap.
using MemSlowFn = bool (*)(Hart*, uint64_t vaddr, uint32_t reg);

template <class T>
bool load_slow_path(Hart* h, uint64_t vaddr, uint32_t rd) {
  using Unsigned = std::make_unsigned_t<T>;
  Unsigned value;
  if (!h->load<Unsigned>(vaddr, value)) return false;
  h->x[rd] = static_cast<uint64_t>(static_cast<int64_t>(static_cast<T>(value)));
  return true;
}

template <class T>
bool store_slow_path(Hart* h, uint64_t vaddr, uint32_t rs2) {
  return h->store<T>(vaddr, static_cast<T>(h->x[rs2]));
}

constexpr MemSlowFn kMemSlowPaths[] = {
    &load_slow_path<int8_t>,    &load_slow_path<int16_t>,   &load_slow_path<int32_t>,
    &load_slow_path<int64_t>,   &load_slow_path<uint8_t>,   &load_slow_path<uint16_t>,
    &load_slow_path<uint32_t>,  &store_slow_path<uint8_t>,  &store_slow_path<uint16_t>,
    &store_slow_path<uint32_t>, &store_slow_path<uint64_t>,
};

// The index of a slow path in kMemSlowPaths.
template <class T, bool kStore>
constexpr uint32_t mem_slow_index() {
  for (uint32_t i = 0; i < std::size(kMemSlowPaths); ++i) {
    if (kMemSlowPaths[i] == (kStore ? &store_slow_path<T> : &load_slow_path<T>)) return i;
  }
  return ~0u;
}

// What a block passes the shared slow-path and call thunks in edx: where the
// instruction is and how far into the block.
//   bits 0-11 page offset, 12-17 instructions before it in the block,
//   18 a 4-byte instruction, 19-24 register, 25-28 slow-path index.
constexpr uint32_t pack_site(unsigned off, unsigned k, unsigned len, uint32_t reg = 0,
                             uint32_t slow = 0) {
  return off | k << 12 | (len == 4 ? 1u : 0u) << 18 | reg << 19 | slow << 25;
}
static_assert(Jit::kMaxBlockInsns <= 64 && kPageSize == 4096, "pack_site's field widths");

// The 4-byte form of an inline op (each op comes as 4-byte, compressed).
unsigned base_op(uint8_t inline_op) {
  return inline_op >= kInlineCall ? (inline_op & ~1u) : inline_op;
}

using namespace Xbyak::util;
using Xbyak::CodeGenerator;
using Xbyak::Operand;

// xbyak's two-operand ALU instructions and shifts, as member pointers.
using BinOp = void (CodeGenerator::*)(const Operand&, const Operand&);
using ImmOp = void (CodeGenerator::*)(const Operand&, uint32_t);
using ShiftClOp = void (CodeGenerator::*)(const Operand&, const Xbyak::Reg8&);
using ShiftImmOp = void (CodeGenerator::*)(const Operand&, int);
constexpr BinOp kAdd = &CodeGenerator::add, kSub = &CodeGenerator::sub, kXor = &CodeGenerator::xor_,
                kOr = &CodeGenerator::or_, kAnd = &CodeGenerator::and_;
constexpr ImmOp kAddI = &CodeGenerator::add, kXorI = &CodeGenerator::xor_,
                kOrI = &CodeGenerator::or_, kAndI = &CodeGenerator::and_;
constexpr ShiftClOp kShl = &CodeGenerator::shl, kShr = &CodeGenerator::shr,
                    kSar = &CodeGenerator::sar;
constexpr ShiftImmOp kShlI = &CodeGenerator::shl, kShrI = &CodeGenerator::shr,
                     kSarI = &CodeGenerator::sar;

// What blocks call for FP arithmetic: the fpu.cpp operation on whole
// f-register values. A single's operands are unboxed and its result boxed,
// exactly as fp_exec's handlers do through their precision policy.
template <class P>
typename P::Bits from_reg(uint64_t v) {
  if constexpr (std::is_same_v<P, fp_exec::SinglePrecision>) {
    return fpu::unbox_s(v);
  } else {
    return v;
  }
}
template <class P>
uint64_t to_reg(typename P::Bits v) {
  if constexpr (std::is_same_v<P, fp_exec::SinglePrecision>) {
    return fpu::box_s(v);
  } else {
    return v;
  }
}
template <class P, auto Op>
uint64_t fp_unary(uint64_t a, unsigned rm, uint32_t& flags) {
  return to_reg<P>(Op(from_reg<P>(a), rm, flags));
}
template <class P, auto Op>
uint64_t fp_binary(uint64_t a, uint64_t b, unsigned rm, uint32_t& flags) {
  return to_reg<P>(Op(from_reg<P>(a), from_reg<P>(b), rm, flags));
}
template <class P, auto Op>
uint64_t fp_fused(uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint32_t& flags) {
  return to_reg<P>(Op(from_reg<P>(a), from_reg<P>(b), from_reg<P>(c), rm, flags));
}

// An FP instruction's exec, the function a block calls instead, and how
// many f-register operands it takes (the SysV argument registers hold them,
// then rm, then &fflags).
struct FpArith {
  ExecFn exec;
  const void* fn;
  unsigned sources;
};
template <class P, auto Op>
constexpr FpArith fp_unary_row() {
  return {&fp_exec::exec_fsqrt<P, Op>, reinterpret_cast<const void*>(&fp_unary<P, Op>), 1};
}
template <class P, auto Op>
constexpr FpArith fp_binary_row() {
  return {&fp_exec::exec_binary<P, Op>, reinterpret_cast<const void*>(&fp_binary<P, Op>), 2};
}
template <class P, auto Op>
constexpr FpArith fp_fused_row() {
  return {&fp_exec::exec_fused<P, Op>, reinterpret_cast<const void*>(&fp_fused<P, Op>), 3};
}
using fp_exec::DoublePrecision, fp_exec::SinglePrecision;
const FpArith kFpArith[] = {
    fp_binary_row<DoublePrecision, &fpu::add_d>(),  fp_binary_row<DoublePrecision, &fpu::sub_d>(),
    fp_binary_row<DoublePrecision, &fpu::mul_d>(),  fp_binary_row<DoublePrecision, &fpu::div_d>(),
    fp_unary_row<DoublePrecision, &fpu::sqrt_d>(),  fp_fused_row<DoublePrecision, &fpu::madd_d>(),
    fp_fused_row<DoublePrecision, &fpu::msub_d>(),  fp_fused_row<DoublePrecision, &fpu::nmsub_d>(),
    fp_fused_row<DoublePrecision, &fpu::nmadd_d>(), fp_binary_row<SinglePrecision, &fpu::add_s>(),
    fp_binary_row<SinglePrecision, &fpu::sub_s>(),  fp_binary_row<SinglePrecision, &fpu::mul_s>(),
    fp_binary_row<SinglePrecision, &fpu::div_s>(),  fp_unary_row<SinglePrecision, &fpu::sqrt_s>(),
    fp_fused_row<SinglePrecision, &fpu::madd_s>(),  fp_fused_row<SinglePrecision, &fpu::msub_s>(),
    fp_fused_row<SinglePrecision, &fpu::nmsub_s>(), fp_fused_row<SinglePrecision, &fpu::nmadd_s>(),
};

class BlockEmitter : public CodeGenerator {
 public:
  BlockEmitter(uint8_t* buffer, size_t size, const JitHartLayout& layout, const void* jump_state,
               const JitThunks& thunks)
      : CodeGenerator(size, buffer), l_(layout), jump_state_(jump_state), thunks_(thunks) {}

  void emit_block(std::span<const DecodedInsn* const> insns, unsigned start) {
    const unsigned n = static_cast<unsigned>(insns.size());
    Xbyak::Label bail;
    // Never start what the chunk's budget cannot finish: the interpreter
    // runs the rest of the chunk.
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
    for (Stub& stub : stubs_) emit_stub(stub);
  }

 private:
  // Out-of-line code after the block: the calls to the slow path of loads
  // and stores.
  struct Stub {
    Xbyak::Label entry, resume;
    uint32_t site;
    const DecodedInsn* exec = nullptr;  // set: the slow path is the instruction's exec
    int reload = -1;  // a load's rd: rax = x[rd] again before resuming, as on the fast path
  };

  Xbyak::Address X(unsigned r) { return qword[rbx + l_.x + 8 * static_cast<int>(r)]; }
  Xbyak::Address X32(unsigned r) { return dword[rbx + l_.x + 8 * static_cast<int>(r)]; }
  Xbyak::Address F(unsigned r) { return qword[rbx + l_.f + 8 * static_cast<int>(r)]; }
  Xbyak::Address hart_pc() { return qword[rbx + l_.pc]; }

  // rax (eax) = x[r], unless the previous instruction of the block left that
  // very value in rax (an ALU result or a loaded value, which it also
  // stored): the reload would wait for its own store.
  void rax_from(unsigned r) {
    if (static_cast<int>(r) != rax_had_) mov(rax, X(r));
  }
  void eax_from(unsigned r) {
    if (static_cast<int>(r) != rax_had_) mov(eax, X32(r));
  }

  void set_pc(int64_t page_offset) {
    lea(rax, ptr[r15 + static_cast<int32_t>(page_offset)]);
    mov(hart_pc(), rax);
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
  // clang-format off
  bool emit_insn(const DecodedInsn& d, unsigned off, unsigned k) {
    const unsigned op = base_op(d.inline_op);
    // Only ALU instructions and loads leave a known register in rax (rd);
    // everything else may clobber it.
    rax_had_ = rax_holds_;
    rax_holds_ = -1;
    switch (op) {
      case kInline_jal:
        if (d.rd != 32) {
          lea(rax, ptr[r15 + static_cast<int32_t>(off + d.len)]);
          mov(X(d.rd), rax);
        }
        chain(static_cast<int64_t>(off) + d.imm, k + 1);
        return true;
      case kInline_jalr: emit_jalr(d, off, k); return true;
      case kInline_beq: case kInline_bne: case kInline_blt:
      case kInline_bge: case kInline_bltu: case kInline_bgeu:
        emit_branch(d, op, off, k);
        return true;
      case kInline_lb: load<int8_t>(d, off, k); return false;
      case kInline_lh: load<int16_t>(d, off, k); return false;
      case kInline_lw: load<int32_t>(d, off, k); return false;
      case kInline_ld: load<int64_t>(d, off, k); return false;
      case kInline_lbu: load<uint8_t>(d, off, k); return false;
      case kInline_lhu: load<uint16_t>(d, off, k); return false;
      case kInline_lwu: load<uint32_t>(d, off, k); return false;
      case kInline_sb: store<uint8_t>(d, off, k); return false;
      case kInline_sh: store<uint16_t>(d, off, k); return false;
      case kInline_sw: store<uint32_t>(d, off, k); return false;
      case kInline_sd: store<uint64_t>(d, off, k); return false;
      default: break;
    }
    if (!emit_alu(d, op, off) && !emit_fp_mem(d, off, k) && !emit_fp_arith(d, off, k))
      call_exec(d, off, k);
    return false;
  }
  // clang-format on

  void emit_jalr(const DecodedInsn& d, unsigned off, unsigned k) {
    rax_from(d.rs1);  // the target is read before rd is written
    if (d.imm != 0) add(rax, static_cast<int32_t>(d.imm));
    and_(rax, -2);
    if (d.rd != 32) {
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
  }

  // clang-format off
  void emit_branch(const DecodedInsn& d, unsigned op, unsigned off, unsigned k) {
    Xbyak::Label taken;
    rax_from(d.rs1);
    cmp(rax, X(d.rs2));
    switch (op) {
      case kInline_beq: je(taken, T_NEAR); break;
      case kInline_bne: jne(taken, T_NEAR); break;
      case kInline_blt: jl(taken, T_NEAR); break;
      case kInline_bge: jge(taken, T_NEAR); break;
      case kInline_bltu: jb(taken, T_NEAR); break;
      default: jae(taken, T_NEAR); break;
    }
    chain(off + d.len, k + 1);
    L(taken);
    chain(static_cast<int64_t>(off) + d.imm, k + 1);
  }
  // clang-format on

  // ---- ALU: rax = the result, then x[rd] = rax ----

  void op64(const DecodedInsn& d, BinOp op) {
    rax_from(d.rs1);
    (this->*op)(rax, X(d.rs2));
  }
  void op64i(const DecodedInsn& d, ImmOp op) {
    rax_from(d.rs1);
    (this->*op)(rax, static_cast<uint32_t>(static_cast<int32_t>(d.imm)));
  }
  // The W forms compute on the low 32 bits and sign-extend the result.
  void op32(const DecodedInsn& d, BinOp op) {
    eax_from(d.rs1);
    (this->*op)(eax, X32(d.rs2));
    movsxd(rax, eax);
  }
  // x86 masks shift counts to 6 bits (5 for 32-bit operands), as RISC-V does.
  void shift64(const DecodedInsn& d, ShiftClOp op) {
    mov(rcx, X(d.rs2));
    rax_from(d.rs1);
    (this->*op)(rax, cl);
  }
  void shift32(const DecodedInsn& d, ShiftClOp op) {
    mov(rcx, X(d.rs2));
    eax_from(d.rs1);
    (this->*op)(eax, cl);
    movsxd(rax, eax);
  }
  void shift64i(const DecodedInsn& d, ShiftImmOp op) {
    rax_from(d.rs1);
    (this->*op)(rax, static_cast<int>(d.imm & 63));
  }
  void shift32i(const DecodedInsn& d, ShiftImmOp op) {
    eax_from(d.rs1);
    (this->*op)(eax, static_cast<int>(d.imm & 31));
    movsxd(rax, eax);
  }
  // slt/sltu/slti/sltiu: rax = 0 or 1.
  void set_less(const DecodedInsn& d, bool immediate, bool is_unsigned) {
    xor_(eax, eax);
    mov(rcx, X(d.rs1));
    if (immediate) {
      cmp(rcx, static_cast<uint32_t>(static_cast<int32_t>(d.imm)));
    } else {
      cmp(rcx, X(d.rs2));
    }
    is_unsigned ? setb(al) : setl(al);
  }

  // Register-register and register-immediate ALU operations, the upper
  // immediates and the multiplies. Returns false for anything else (the
  // caller calls exec): mulhsu, the divisions (their edge cases), CSRs,
  // atomics, FP, system instructions. rd = x0 writes the sink x[32], as
  // the interpreter does.
  // clang-format off
  bool emit_alu(const DecodedInsn& d, unsigned op, unsigned off) {
    switch (op) {
      case kInline_lui:  // a sign-extended 32-bit immediate
        mov(X(d.rd), static_cast<uint64_t>(d.imm));
        return true;
      case kInline_auipc: {
        // imm is up to 2^31 - 4096 and off below 4096: the sum may not fit a displacement.
        const int64_t offset = static_cast<int64_t>(off) + d.imm;
        if (offset == static_cast<int32_t>(offset)) {
          lea(rax, ptr[r15 + static_cast<int32_t>(offset)]);
        } else {
          mov(rax, offset);
          add(rax, r15);
        }
        break;
      }
      case kInline_addi:
        rax_from(d.rs1);
        if (d.imm != 0) add(rax, static_cast<int32_t>(d.imm));
        break;
      case kInline_xori: op64i(d, kXorI); break;
      case kInline_ori: op64i(d, kOrI); break;
      case kInline_andi: op64i(d, kAndI); break;
      case kInline_slli: shift64i(d, kShlI); break;
      case kInline_srli: shift64i(d, kShrI); break;
      case kInline_srai: shift64i(d, kSarI); break;
      case kInline_slti: set_less(d, true, false); break;
      case kInline_sltiu: set_less(d, true, true); break;
      case kInline_addiw:
        eax_from(d.rs1);
        add(eax, static_cast<uint32_t>(static_cast<int32_t>(d.imm)));
        movsxd(rax, eax);
        break;
      case kInline_slliw: shift32i(d, kShlI); break;
      case kInline_srliw: shift32i(d, kShrI); break;
      case kInline_sraiw: shift32i(d, kSarI); break;
      case kInline_add: op64(d, kAdd); break;
      case kInline_sub: op64(d, kSub); break;
      case kInline_xor: op64(d, kXor); break;
      case kInline_or: op64(d, kOr); break;
      case kInline_and: op64(d, kAnd); break;
      case kInline_sll: shift64(d, kShl); break;
      case kInline_srl: shift64(d, kShr); break;
      case kInline_sra: shift64(d, kSar); break;
      case kInline_slt: set_less(d, false, false); break;
      case kInline_sltu: set_less(d, false, true); break;
      case kInline_addw: op32(d, kAdd); break;
      case kInline_subw: op32(d, kSub); break;
      case kInline_sllw: shift32(d, kShl); break;
      case kInline_srlw: shift32(d, kShr); break;
      case kInline_sraw: shift32(d, kSar); break;
      case kInline_mul: rax_from(d.rs1); imul(rax, X(d.rs2)); break;
      case kInline_mulw: eax_from(d.rs1); imul(eax, X32(d.rs2)); movsxd(rax, eax); break;
      case kInline_mulh:  // rdx:rax = rax * operand
        rax_from(d.rs1);
        imul(X(d.rs2));
        mov(rax, rdx);
        break;
      case kInline_mulhu: rax_from(d.rs1); mul(X(d.rs2)); mov(rax, rdx); break;
      default: return false;
    }
    mov(X(d.rd), rax);
    rax_holds_ = static_cast<int>(d.rd);
    return true;
  }
  // clang-format on

  // ---- Loads and stores ----

  // vaddr = x[rs1] + imm into rax; then the TLB probe of `access` for a
  // `size`-byte access. On a hit rax holds the host address; a miss jumps to
  // `slow` with rax = vaddr.
  void tlb_probe(const DecodedInsn& d, Access access, unsigned size, Xbyak::Label& slow) {
    const int a = static_cast<int>(access) * kTlbAccessStride;
    rax_from(d.rs1);
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

  Stub& add_stub(const DecodedInsn& d, unsigned off, unsigned k, uint32_t reg, uint32_t slow) {
    Stub& s = stubs_.emplace_back();
    s.site = pack_site(off, k, d.len, reg, slow);
    return s;
  }

  // T is the guest access type; its signedness decides the extension.
  // clang-format off
  template <class T>
  void load(const DecodedInsn& d, unsigned off, unsigned k) {
    Stub& s = add_stub(d, off, k, d.rd, mem_slow_index<T, false>());
    tlb_probe(d, Access::kLoad, sizeof(T), s.entry);
    constexpr bool kSigned = std::is_signed_v<T>;
    switch (sizeof(T)) {
      case 1: kSigned ? movsx(rax, byte[rax]) : movzx(eax, byte[rax]); break;
      case 2: kSigned ? movsx(rax, word[rax]) : movzx(eax, word[rax]); break;
      case 4: kSigned ? movsxd(rax, dword[rax]) : mov(eax, dword[rax]); break;
      default: mov(rax, qword[rax]); break;
    }
    mov(X(d.rd), rax);
    L(s.resume);
    s.reload = static_cast<int>(d.rd);
    rax_holds_ = static_cast<int>(d.rd);
  }

  template <class T>
  void store(const DecodedInsn& d, unsigned off, unsigned k) {
    Stub& s = add_stub(d, off, k, d.rs2, mem_slow_index<T, true>());
    tlb_probe(d, Access::kStore, sizeof(T), s.entry);
    mov(rcx, X(d.rs2));
    switch (sizeof(T)) {
      case 1: mov(byte[rax], cl); break;
      case 2: mov(word[rax], cx); break;
      case 4: mov(dword[rax], ecx); break;
      default: mov(qword[rax], rcx); break;
    }
    L(s.resume);
  }
  // clang-format on

  // An FP instruction's way out: its exec, which raises what it must. The
  // first check every FP instruction makes is emitted here: mstatus.FS Off
  // takes the stub (exec raises illegal instruction).
  Stub& fp_exec_stub(const DecodedInsn& d, unsigned off, unsigned k) {
    Stub& s = stubs_.emplace_back();
    s.site = pack_site(off, k, d.len);
    s.exec = &d;
    test(dword[rbx + l_.mstatus], static_cast<uint32_t>(csr::mstatus::kFS));
    jz(s.entry, T_NEAR);
    return s;
  }

  // FP loads and stores (flw, fld, fsw, fsd and their compressed forms):
  // the integer path's TLB probe, after a check of mstatus.FS. Bits move
  // unchanged; a single is NaN-boxed on load, and a load marks FS dirty, as
  // in fp_exec. Every other case (FS off, a TLB miss, a misaligned or MMIO
  // access) calls the instruction's exec, which raises whatever it must.
  bool emit_fp_mem(const DecodedInsn& d, unsigned off, unsigned k) {
    using fp_exec::DoublePrecision, fp_exec::SinglePrecision;
    const bool load = d.exec == &fp_exec::exec_load<SinglePrecision> ||
                      d.exec == &fp_exec::exec_load<DoublePrecision>;
    const bool store = d.exec == &fp_exec::exec_store<SinglePrecision> ||
                       d.exec == &fp_exec::exec_store<DoublePrecision>;
    if (!load && !store) return false;
    const bool single = d.exec == &fp_exec::exec_load<SinglePrecision> ||
                        d.exec == &fp_exec::exec_store<SinglePrecision>;
    Stub& s = fp_exec_stub(d, off, k);
    tlb_probe(d, load ? Access::kLoad : Access::kStore, single ? 4 : 8, s.entry);
    if (load && single) {
      mov(eax, dword[rax]);
      mov(rcx, fpu::box_s(0));
      or_(rax, rcx);
      mov(F(d.rd), rax);
    } else if (load) {
      mov(rax, qword[rax]);
      mov(F(d.rd), rax);
    } else if (single) {
      mov(ecx, dword[rbx + l_.f + 8 * static_cast<int>(d.rs2)]);
      mov(dword[rax], ecx);
    } else {
      mov(rcx, F(d.rs2));
      mov(qword[rax], rcx);
    }
    if (load) or_(dword[rbx + l_.mstatus], static_cast<uint32_t>(csr::mstatus::kFSDirty));
    L(s.resume);
    return true;
  }

  // FP arithmetic (fadd, fsub, fmul, fdiv, fsqrt and the fused four, .s and
  // .d): a direct call of the FPU function its exec calls (through fp_binary
  // and its kin), after the checks exec makes first (FS not Off, a valid
  // rounding mode); when they fail the instruction's exec runs and raises
  // the trap.
  static const FpArith* fp_arith_of(ExecFn exec) {
    for (const FpArith& a : kFpArith) {
      if (a.exec == exec) return &a;
    }
    return nullptr;
  }

  bool emit_fp_arith(const DecodedInsn& d, unsigned off, unsigned k) {
    const FpArith* a = fp_arith_of(d.exec);
    if (a == nullptr || d.rm == 5 || d.rm == 6) return false;  // rm 5, 6: exec raises illegal
    Stub& s = fp_exec_stub(d, off, k);
    if (d.rm == 7) {  // dynamic: frm, which may hold an invalid mode
      mov(eax, dword[rbx + l_.frm]);
      cmp(eax, 4);
      ja(s.entry, T_NEAR);
    } else {
      mov(eax, d.rm);
    }
    // fn(operands..., rm, &fflags): SysV integer argument registers in order.
    static const Xbyak::Reg64 kArgs[] = {rdi, rsi, rdx, rcx, r8};
    const uint8_t sources[] = {d.rs1, d.rs2, d.rs3};
    for (unsigned i = 0; i < a->sources; ++i) mov(kArgs[i], F(sources[i]));
    mov(kArgs[a->sources].cvt32(), eax);
    lea(kArgs[a->sources + 1], ptr[rbx + l_.fflags]);
    mov(rax, reinterpret_cast<uintptr_t>(a->fn));
    call(rax);  // blocks run with rsp 16-aligned; rbx, rbp, r12-r15 survive
    mov(F(d.rd), rax);
    or_(dword[rbx + l_.mstatus], static_cast<uint32_t>(csr::mstatus::kFSDirty));
    L(s.resume);
    return true;
  }

  // An instruction the block does not inline: its exec, as the interpreter
  // calls it, through the shared thunk (see jit_emit_runtime), which returns
  // here only if pc moved to the next instruction and the fetch page is
  // still valid (no trap, no jump, no context change).
  void call_exec(const DecodedInsn& d, unsigned off, unsigned k) {
    mov(rsi, reinterpret_cast<uintptr_t>(&d));
    mov(edx, pack_site(off, k, d.len));
    call(thunks_.call_exec);
  }

  // rax = the virtual address; the thunk returns here unless the access
  // trapped or invalidated the fetch page.
  void emit_stub(Stub& s) {
    L(s.entry);
    if (s.exec) mov(rsi, reinterpret_cast<uintptr_t>(s.exec));
    mov(edx, s.site);
    call(s.exec ? thunks_.call_exec : thunks_.mem_slow);
    if (s.reload >= 0) mov(rax, X(static_cast<unsigned>(s.reload)));
    jmp(s.resume, T_NEAR);
  }

  const JitHartLayout& l_;
  const void* jump_state_;  // Jit's jump-cache state
  const JitThunks& thunks_;
  std::deque<Stub> stubs_;    // a deque: Labels must not move
  int rax_holds_ = -1;        // the register rax holds after the instruction emitted last
  int rax_had_ = -1;          // ... and before the current one (-1: none)
  Xbyak::Label exit_at_rax_;  // leave with pc = rax
};

}  // namespace

JitHartLayout::JitHartLayout(const Hart& h) {
  const auto* base = reinterpret_cast<const char*>(&h);
  auto at = [base](const void* field) {
    return static_cast<int>(static_cast<const char*>(field) - base);
  };
  x = at(&h.x[0]);
  pc = at(&h.pc);
  budget = at(&h.budget_left_);
  fetch_vpage = at(&h.fetch_vpage_);
  data_tlb = at(&h.data_tlb_);
  f = at(&h.f[0]);
  mstatus = at(&h.mstatus_);
  fflags = at(&h.fflags);
  frm = at(&h.frm);
}

bool jit_ends_block(const DecodedInsn& d) {
  switch (base_op(d.inline_op)) {
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

size_t jit_emit_block(uint8_t* buffer, size_t room, const JitHartLayout& layout,
                      const void* jump_state, const JitThunks& thunks,
                      std::span<const DecodedInsn* const> insns, unsigned start) {
  BlockEmitter e(buffer, room, layout, jump_state, thunks);
  e.emit_block(insns, start);
  return e.getSize();
}

namespace {

// ecx = a field of the site in edx (shift, width mask).
void site_field(CodeGenerator& g, int shift, uint32_t mask) {
  g.mov(g.ecx, g.edx);
  if (shift != 0) g.shr(g.ecx, shift);
  g.and_(g.ecx, mask);
}

// pc = the site's instruction, budget_left_ = the budget before it.
void sync_site(CodeGenerator& g, const JitHartLayout& l) {
  site_field(g, 0, 0xfff);
  g.lea(rax, g.ptr[r15 + rcx]);
  g.mov(g.qword[rbx + l.pc], rax);
  site_field(g, 12, 63);
  g.mov(rax, r12);
  g.sub(rax, rcx);
  g.mov(g.qword[rbx + l.budget], rax);
}

// rax = the address of the instruction after the site's.
void next_pc(CodeGenerator& g) {
  Xbyak::Label compressed;
  site_field(g, 0, 0xfff);
  g.lea(rax, g.ptr[r15 + rcx + 2]);
  g.bt(g.edx, 18);
  g.jnc(compressed);
  g.add(rax, 2);
  g.L(compressed);
}

// Leaves the block from a thunk after the site's instruction: the budget
// pays for it and the thunk's return address is dropped.
void leave_from_thunk(CodeGenerator& g) {
  site_field(g, 12, 63);
  g.sub(r12, rcx);
  g.sub(r12, 1);
  g.add(rsp, 8);
  g.jmp(rbp);
}

}  // namespace

JitRuntime jit_emit_runtime(uint8_t* buffer, size_t room, const JitHartLayout& layout) {
  static_assert(offsetof(DecodedInsn, exec) == 0, "the call thunk calls through [rsi]");
  CodeGenerator g(room, buffer);
  JitRuntime rt;

  // enter(hart, budget, table, vpage, block): SysV arguments in rdi, rsi,
  // rdx, rcx, r8. Six pushes and the return address leave rsp 16-aligned
  // after one more 8-byte adjustment: blocks run with rsp 16-aligned.
  Xbyak::Label exit;
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

  // The slow path of a load or store: rax = the virtual address, edx = the
  // site (pack_site). Returns to the block after a completed access; leaves
  // it after a trap (pc is the vector) or when the access invalidated the
  // fetch page (an MMIO access, a store to a page holding code: the
  // interpreter looks the page up again, from the next instruction).
  g.align(16);
  rt.mem_slow = g.getSize();
  {
    Xbyak::Label trapped, invalidated;
    g.push(rdx);  // rsp is 16-aligned again for the call
    g.mov(rsi, rax);
    sync_site(g, layout);
    site_field(g, 25, 15);
    g.mov(rax, reinterpret_cast<uintptr_t>(&kMemSlowPaths[0]));
    g.mov(rax, g.qword[rax + rcx * 8]);
    site_field(g, 19, 63);
    g.mov(g.edx, g.ecx);
    g.mov(rdi, rbx);
    g.call(rax);
    g.pop(rdx);
    g.test(g.al, g.al);
    g.jz(trapped);
    g.cmp(g.qword[rbx + layout.fetch_vpage], r15);
    g.jne(invalidated);
    g.mov(r14, g.qword[rbx + layout.data_tlb]);
    g.ret();
    g.L(invalidated);
    next_pc(g);
    g.mov(g.qword[rbx + layout.pc], rax);
    g.L(trapped);
    leave_from_thunk(g);
  }

  // An instruction's exec: rsi = its DecodedInsn, edx = the site. Returns to
  // the block when pc moved to the next instruction and the fetch page is
  // still valid; leaves it otherwise (pc is where execution goes on).
  g.align(16);
  rt.call_exec = g.getSize();
  {
    Xbyak::Label leave;
    g.push(rdx);
    sync_site(g, layout);
    g.mov(rdi, rbx);
    g.call(g.qword[rsi]);
    g.pop(rdx);
    next_pc(g);
    g.cmp(g.qword[rbx + layout.pc], rax);
    g.jne(leave);
    g.cmp(g.qword[rbx + layout.fetch_vpage], r15);
    g.jne(leave);
    g.mov(r14, g.qword[rbx + layout.data_tlb]);
    g.ret();
    g.L(leave);
    leave_from_thunk(g);
  }
  rt.size = g.getSize();
  return rt;
}

}  // namespace vireo::riscv
