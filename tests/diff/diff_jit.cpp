// Differential test of the RISC-V JIT against the interpreter: random
// programs run on two independent machines (own RAM, HartShared, Hart and
// MMIO device), one with HartConfig::jit and one without, in random
// run_for() slices; after every slice the instruction counts, x, f, pc,
// privilege, the trap CSRs and counters, all of RAM and the device must be
// identical.
//
//   diff_jit [--seed N] [--count N] [--only I] [--insns N] [--verbose] [--dump]
//
// Program I of seed N is reproducible on its own with --only I.
//
// A program (even-numbered: M-mode, bare; odd-numbered: S-mode under Sv39,
// identity-mapped, with aliases of the code pages) is made of functions laid
// out back to back over several code pages, so functions, blocks and
// instructions straddle page boundaries:
//  - main calls every loop function, forever;
//  - a loop function saves ra, runs a loop body 17..400 times (hot enough to
//    be translated) and returns; its body may call leaves; some hold only
//    instructions that blocks inline (no call out that would end a block);
//  - a leaf may have a small loop of its own, and returns through ra.
// Bodies are random items: ALU/M/Zb/F/D/A rows with random operands
// (registers start at edge values, a constant pool per function holds more),
// loads and stores of every size (aligned, misaligned, page-crossing) to a
// scratch area, MMIO accesses, forward branches and jumps (direct, jalr,
// c.jr, compressed), calls (jal, auipc+jalr, c.jalr, and under Sv39 jalr to
// an alias of the leaf's page: a 4 KiB alias or a 2 MiB superpage), CSR
// reads of minstret/mcycle/instret/cycle, writes of minstret, stores that
// patch an instruction slot of the program (followed by FENCE.I or not),
// stores to the constant pools (data in code pages), FENCE.I, SFENCE.VMA and
// satp rewrites, sstatus.SUM toggles (one scratch page is a user page), calls
// through a page the program remaps on every iteration (PTE store and
// SFENCE.VMA, between two pages holding different functions), a
// software interrupt (bare), and traps: ECALL, EBREAK, illegal
// instructions, misaligned AMOs, loads/stores outside RAM (access faults) or
// unmapped (page faults). The trap handlers (mtvec; under Sv39 also stvec
// for delegated illegal instruction, breakpoint and page faults of loads and
// stores) log the cause and skip the instruction. Items that drop
// translations (stores over code, FENCE.I) mostly run on some iterations
// only, so that the code around them becomes hot again; an accumulator
// register folds results in, so that a divergence overwritten before the
// next comparison still shows.
//
// What keeps both machines comparable: nothing reads the wall clock (time,
// mtimecmp and stimecmp stay unused), the only interrupt is raised by the
// program itself, and every register the generator relies on (bases, loop
// counters, return addresses, temporaries) is never written by random code.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/bus.hpp"
#include "core/clock.hpp"
#include "core/guest_memory.hpp"
#include "cpu/riscv/csr.hpp"
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"
#include "riscv_diff_support.hpp"

namespace {

using namespace vireo;
using namespace vireo::riscv;
using difftest::NullHost;
using difftest::Operands;
using difftest::operands_of;
using difftest::set_field;

// ---- Memory map (guest-physical; Sv39 programs identity-map what they use) ----

constexpr uint64_t kRamBase = 0x80000000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kCodeBase = kRamBase;
constexpr unsigned kCodePages = 16;
constexpr uint64_t kCodeEnd = kCodeBase + kCodePages * 4096;
constexpr uint64_t kMHandler = kRamBase + 0x20000;
constexpr uint64_t kSHandler = kRamBase + 0x21000;
constexpr uint64_t kTrapLog = kRamBase + 0x22000;
// Sv39 only: two pages with a different function at offset 0 each, mapped in
// turn at kSwitchVa (the program rewrites the PTE, then SFENCE.VMA).
constexpr uint64_t kSwitchPages[2] = {kRamBase + 0x24000, kRamBase + 0x25000};
constexpr uint64_t kScratch = kRamBase + 0x30000;
constexpr uint64_t kScratchSize = 0x4000;
constexpr uint64_t kTables = kRamBase + 0x80000;
constexpr uint64_t kMmio = 0x10000000;  // a memory-like device, one page
constexpr uint64_t kNothing = 0x1000;   // neither RAM nor device: access faults
// Sv39 only.
constexpr uint64_t kAlias4K = 0x40000000;  // the code pages again (4 KiB leaves)
constexpr uint64_t kAlias2M = 0x20000000;  // RAM's first 2 MiB (one 2 MiB leaf)
constexpr uint64_t kFaultVa = 0x50001000;  // below: unmapped; from here: mapped to kNothing
constexpr uint64_t kMmioVa = 0x60000000;   // the device
constexpr uint64_t kSwitchVa = 0x70000000;

// ---- Registers ----

constexpr unsigned kZero = 0, kRa = 1, kSp = 2, kGp = 3, kTp = 4, kS0 = 8, kS1 = 9, kS8 = 24,
                   kS9 = 25, kS10 = 26, kS11 = 27, kT5 = 30, kT6 = 31;
// ra: calls. sp, s0, s1: scratch bases. gp: faulting base. tp: MMIO base.
// s8/s11: loop counters (leaf/loop function). s9: the accumulator (items
// fold registers into it, so a divergence that is overwritten before the
// next comparison still shows). s10: saved ra. t5, t6: temporaries of
// multi-instruction items and of the trap handlers.
constexpr unsigned kAcc = kS9;
bool is_reserved(unsigned r) {
  switch (r) {
    case kRa:
    case kSp:
    case kGp:
    case kTp:
    case kS0:
    case kS1:
    case kS8:
    case kS9:
    case kS10:
    case kS11:
    case kT5:
    case kT6:
      return true;
    default:
      return false;
  }
}
bool is_scratch_base(unsigned r) { return r == kSp || r == kS0 || r == kS1; }
// sp mid-page (offsets up to +2047 cross into the next page), s0 and s1 on
// page boundaries (small negative offsets cross).
uint64_t scratch_base(unsigned r) {
  return kScratch + (r == kSp ? 0x800 : r == kS0 ? 0x2000 : 0x3000);
}

// ---- Table rows ----

enum class Cat : uint8_t { kSkip, kAlu, kMem, kFp, kOther };

struct Row {
  const OpcodeDef* def;
  Operands ops;
  Cat cat;
};

struct Rows {
  std::vector<Row> by_op;  // indexed like all_opcodes()
  std::vector<const Row*> alu, mem, fp, other;
  std::vector<const Row*> inline_alu;  // the ALU rows blocks inline (no call out)
  Rows() {
    for (const OpcodeDef& def : all_opcodes()) {
      const std::string_view name = def.name;
      Row r{&def, operands_of(def), Cat::kSkip};
      bool system = false;
      for (const OpcodeDef& s : opcodes_system()) system = system || name == s.name;
      if (system || name == "jal" || name == "jalr" || def.format == Format::kB) {
        r.cat = Cat::kSkip;
      } else if (r.ops.mem) {
        r.cat = Cat::kMem;
      } else if (r.ops.frd || r.ops.frs1 || r.ops.frs2 || r.ops.frs3) {
        r.cat = Cat::kFp;
      } else if (r.ops.rd) {
        r.cat = Cat::kAlu;
      } else {
        r.cat = Cat::kOther;  // fence
      }
      by_op.push_back(r);
    }
    static constexpr std::string_view kInlined[] = {
        "lui",  "auipc", "addi", "slti",  "sltiu", "xori",  "ori",   "andi", "slli",
        "srli", "srai",  "add",  "sub",   "sll",   "slt",   "sltu",  "xor",  "srl",
        "sra",  "or",    "and",  "addiw", "slliw", "srliw", "sraiw", "addw", "subw",
        "sllw", "srlw",  "sraw", "mul",   "mulh",  "mulhu", "mulw"};
    for (const Row& r : by_op) {
      for (std::string_view n : kInlined) {
        if (r.cat == Cat::kAlu && n == r.def->name) inline_alu.push_back(&r);
      }
      if (r.cat == Cat::kAlu) alu.push_back(&r);
      if (r.cat == Cat::kMem) mem.push_back(&r);
      if (r.cat == Cat::kFp) fp.push_back(&r);
      if (r.cat == Cat::kOther) other.push_back(&r);
    }
  }
};

const Rows& rows() {
  static const Rows r;
  return r;
}

// ---- Random values ----

class Random {
 public:
  explicit Random(uint64_t seed) : rng_(seed) {}
  uint64_t u64() { return rng_(); }
  uint32_t below(uint64_t n) { return static_cast<uint32_t>(rng_() % n); }
  bool chance(unsigned percent) { return below(100) < percent; }
  int32_t range(int32_t lo, int32_t hi) { return lo + static_cast<int32_t>(below(hi - lo + 1)); }

  uint64_t int_value() {
    static constexpr uint64_t kSpecial[] = {0,
                                            1,
                                            2,
                                            0xffffffffffffffff,
                                            31,
                                            32,
                                            33,
                                            63,
                                            64,
                                            0x7fffffffffffffff,
                                            0x8000000000000000,
                                            0x100000000,
                                            0x7fffffff,
                                            0x80000000,
                                            0xffffffff,
                                            0xffffffff80000000,
                                            0xfffffffffffff800};
    switch (below(4)) {
      case 0:
        return kSpecial[below(std::size(kSpecial))];
      case 1:
        return static_cast<uint64_t>(static_cast<int64_t>(below(512)) - 256);
      default:
        return u64();
    }
  }
  uint64_t double_value() {
    static constexpr uint64_t kSpecial[] = {
        0x0000000000000000, 0x8000000000000000, 0x3ff0000000000000, 0x7ff0000000000000,
        0x7ff8000000000000, 0x7ff4000000000000, 0x0000000000000001, 0x43e0000000000000};
    if (chance(25)) return kSpecial[below(std::size(kSpecial))];
    return (u64() & 0x800fffffffffffff) | (1023 - 40 + u64() % 80) << 52;
  }
  // A destination for random code: a free register, sometimes x0.
  unsigned dest() {
    if (chance(8)) return kZero;
    for (;;) {
      const unsigned r = 1 + below(31);
      if (!is_reserved(r)) return r;
    }
  }
  unsigned any_reg() { return below(32); }
  unsigned scratch_reg() {
    static constexpr unsigned kBases[] = {kSp, kS0, kS1};
    return kBases[below(3)];
  }
  // A rounding mode: valid ones, and (unless no traps are wanted) the
  // reserved ones, which make the instruction illegal.
  unsigned rm(bool no_traps) {
    if (!no_traps && chance(3)) return 5 + below(2);
    static constexpr unsigned kModes[] = {0, 1, 2, 3, 4, 7};
    return kModes[below(std::size(kModes))];
  }

 private:
  std::mt19937_64 rng_;
};

// ---- Encoders ----

uint32_t i_type(uint32_t op, unsigned rd, unsigned f3, unsigned rs1, int32_t imm) {
  return op | rd << 7 | f3 << 12 | rs1 << 15 | (static_cast<uint32_t>(imm) & 0xfff) << 20;
}
uint32_t s_type(uint32_t op, unsigned f3, unsigned rs1, unsigned rs2, int32_t imm) {
  const uint32_t u = static_cast<uint32_t>(imm);
  return op | (u & 0x1f) << 7 | f3 << 12 | rs1 << 15 | rs2 << 20 | ((u >> 5) & 0x7f) << 25;
}
uint32_t r_type(uint32_t op, unsigned rd, unsigned f3, unsigned rs1, unsigned rs2, unsigned f7) {
  return op | rd << 7 | f3 << 12 | rs1 << 15 | rs2 << 20 | f7 << 25;
}
uint32_t b_type(unsigned f3, unsigned rs1, unsigned rs2, int32_t off) {
  const uint32_t u = static_cast<uint32_t>(off);
  return 0x63 | ((u >> 11) & 1) << 7 | ((u >> 1) & 0xf) << 8 | f3 << 12 | rs1 << 15 | rs2 << 20 |
         ((u >> 5) & 0x3f) << 25 | ((u >> 12) & 1) << 31;
}
uint32_t j_type(unsigned rd, int32_t off) {
  const uint32_t u = static_cast<uint32_t>(off);
  return 0x6f | rd << 7 | ((u >> 12) & 0xff) << 12 | ((u >> 11) & 1) << 20 |
         ((u >> 1) & 0x3ff) << 21 | ((u >> 20) & 1) << 31;
}
uint32_t u_type(uint32_t op, unsigned rd, int64_t hi20) {
  return op | rd << 7 | (static_cast<uint32_t>(hi20) & 0xfffff) << 12;
}
uint32_t addi(unsigned rd, unsigned rs1, int32_t imm) { return i_type(0x13, rd, 0, rs1, imm); }
uint32_t addiw(unsigned rd, unsigned rs1, int32_t imm) { return i_type(0x1b, rd, 0, rs1, imm); }
uint32_t andi(unsigned rd, unsigned rs1, int32_t imm) { return i_type(0x13, rd, 7, rs1, imm); }
uint32_t jalr(unsigned rd, unsigned rs1, int32_t imm) { return i_type(0x67, rd, 0, rs1, imm); }
uint32_t load(unsigned f3, unsigned rd, unsigned rs1, int32_t imm) {
  return i_type(0x03, rd, f3, rs1, imm);
}
uint32_t store(unsigned f3, unsigned rs2, unsigned rs1, int32_t imm) {
  return s_type(0x23, f3, rs1, rs2, imm);
}
uint32_t csrr(unsigned rd, uint16_t csr) { return i_type(0x73, rd, 2, 0, csr); }
uint32_t csrw(unsigned rd, uint16_t csr, unsigned rs1) { return i_type(0x73, rd, 1, rs1, csr); }
uint32_t csrci(uint16_t csr, unsigned uimm) { return i_type(0x73, 0, 7, uimm, csr); }
uint32_t csrsi(uint16_t csr, unsigned uimm) { return i_type(0x73, 0, 6, uimm, csr); }
constexpr uint32_t kEcall = 0x00000073, kEbreak = 0x00100073, kMret = 0x30200073,
                   kSret = 0x10200073, kFenceI = 0x0000100f, kSfenceVma = 0x12000073;
constexpr uint32_t kIllegal32 = 0xc0001073;  // csrrw x0, cycle, x0: writes a read-only CSR
constexpr uint16_t kIllegal16 = 0x0000, kCEbreak = 0x9002;

uint16_t c_jr(unsigned rs1) { return static_cast<uint16_t>(0x8002 | rs1 << 7); }
uint16_t c_jalr(unsigned rs1) { return static_cast<uint16_t>(0x9002 | rs1 << 7); }
uint16_t c_mv(unsigned rd, unsigned rs2) {
  return static_cast<uint16_t>(0x8002 | rd << 7 | rs2 << 2);
}
uint16_t c_addi(unsigned rd, int32_t imm) {
  const uint32_t u = static_cast<uint32_t>(imm);
  return static_cast<uint16_t>(0x0001 | ((u >> 5) & 1) << 12 | rd << 7 | (u & 0x1f) << 2);
}
uint16_t c_j(int32_t off) {
  const uint32_t u = static_cast<uint32_t>(off);
  return static_cast<uint16_t>(0xa001 | ((u >> 11) & 1) << 12 | ((u >> 4) & 1) << 11 |
                               ((u >> 8) & 3) << 9 | ((u >> 10) & 1) << 8 | ((u >> 6) & 1) << 7 |
                               ((u >> 7) & 1) << 6 | ((u >> 1) & 7) << 3 | ((u >> 5) & 1) << 2);
}
uint16_t c_branch(bool bnez, unsigned rs1c, int32_t off) {  // rs1c: 0..7 for x8..x15
  const uint32_t u = static_cast<uint32_t>(off);
  return static_cast<uint16_t>((bnez ? 0xe001 : 0xc001) | ((u >> 8) & 1) << 12 |
                               ((u >> 3) & 3) << 10 | rs1c << 7 | ((u >> 6) & 3) << 5 |
                               ((u >> 1) & 3) << 3 | ((u >> 5) & 1) << 2);
}

// auipc+lo pair for `target` from an auipc at `pc`.
struct PcRel {
  int64_t hi;
  int32_t lo;
};
PcRel pc_rel(uint64_t pc, uint64_t target) {
  const int64_t d = static_cast<int64_t>(target - pc);
  const int64_t hi = (d + 0x800) >> 12;
  return {hi, static_cast<int32_t>(d - (hi << 12))};
}
// lui+addi(w) pair for a 32-bit signed value.
PcRel abs32(int64_t value) {
  const int64_t hi = (value + 0x800) >> 12;
  return {hi, static_cast<int32_t>(value - (hi << 12))};
}

// ---- Random instructions ----

uint32_t random_row(Random& rnd, const Row& r, bool no_traps) {
  uint32_t raw = r.def->match | (static_cast<uint32_t>(rnd.u64()) & ~r.def->mask);
  if (r.ops.rd) raw = set_field(raw, 7, 5, rnd.dest());
  if (r.ops.rm) raw = set_field(raw, 12, 3, rnd.rm(no_traps));
  if (r.ops.mem) raw = set_field(raw, 15, 5, rnd.scratch_reg());
  return raw;
}

// A random 16-bit instruction of category `want` (kSkip: any acceptable).
uint16_t random_compressed(Random& rnd, Cat want) {
  for (;;) {
    uint32_t c = static_cast<uint32_t>(rnd.u64()) & 0xffff;
    if ((c & 3) == 3) continue;
    // Memory forms with rs1' = s0/s1 (x8/x9), the scratch bases.
    if ((c & 3) == 0 && (c >> 13) != 0 && rnd.chance(85)) c = set_field(c, 7, 3, rnd.below(2));
    const DecodedInsn d = decode(c);
    if (d.op == kInvalidOp) continue;
    const Row& r = rows().by_op[d.op];
    if (r.cat == Cat::kSkip || (want != Cat::kSkip && r.cat != want)) continue;
    if (r.ops.rd && d.rd != 32 && is_reserved(d.rd)) continue;
    if (r.ops.mem && !is_scratch_base(d.rs1)) continue;
    return static_cast<uint16_t>(c);
  }
}

// ---- Programs ----

struct Insn {
  uint32_t raw;
  uint8_t len;
};

enum class K : uint8_t {
  kPlain,     // nothing to resolve
  kBranch,    // forward conditional branch (4 bytes)
  kCBranch,   // forward c.beqz/c.bnez
  kCJump,     // forward c.j
  kJalFwd,    // forward jal (rd random)
  kJumpInd,   // auipc t6 + jalr rd, lo(t6), forward
  kJumpIndC,  // auipc t6 + addi t6 + c.jr t6, forward
  kLoopBack,  // counter decrement + bne back to `ref`
  kMainBack,  // jal x0 back to `ref`
  kCall,      // call function `ref` (sub: how)
  kPool,      // auipc t6 + ld/sd reg, pool[ref]
  kPatch,     // build an instruction in t5, store it over a slot (sub: 4 or 2 bytes)
  kSlot,      // a patchable instruction (sub: 4 or 2 bytes)
  kRemap,     // point kSwitchVa at a switch page by the counter's parity (reg)
};

enum CallHow {
  kCallJal,      // jal ra
  kCallJalr,     // auipc t6 + jalr ra, lo(t6)
  kCallRaRa,     // auipc ra + jalr ra, lo(ra): rd = rs1
  kCallCJalr,    // auipc t6 + addi t6 + c.jalr t6
  kCallAlias4K,  // lui t6 + addi t6 + jalr ra, 0(t6) to the 4 KiB alias
  kCallAlias2M,  // ... to the 2 MiB alias
  kCallHows
};

struct Item {
  K kind = K::kPlain;
  std::vector<Insn> insns;
  int region_end = -1;  // forward control flow: the last item it may reach
  int ref = -1;
  int sub = 0;
  unsigned reg = 0;
  bool flag = false;   // kPool: a store; kPatch: FENCE.I after it
  unsigned first = 0;  // insns[first] is the item proper (before it: a guard)
  uint64_t addr = 0;
  std::string what;
  unsigned size() const {
    unsigned s = 0;
    for (const Insn& i : insns) s += i.len;
    return s;
  }
};

struct Function {
  enum Type { kMain, kLoop, kLeaf } type = kLeaf;
  bool alias_safe = false;  // no trap the M-mode handler would take (it runs bare)
  // Only instructions blocks inline (no exec call, which ends a block's run):
  // e.g. code patched by its own block keeps running in translated code.
  bool tight = false;
  std::vector<Item> items;
  std::vector<uint64_t> pool;
  uint64_t addr = 0, pool_addr = 0, end = 0;
};

struct Line {
  uint64_t addr;
  uint32_t raw;
  uint8_t len;
  int fn, item;
};

struct Program {
  bool sv39 = false;
  std::vector<Function> fns;
  std::vector<uint8_t> ram;  // the RAM image
  uint64_t x[32] = {}, f[32] = {};
  uint32_t frm = 0;
  uint64_t mscratch = 0;
  uint64_t satp = 0;
  uint64_t switch_pte = 0;  // Sv39: where kSwitchVa's leaf PTE is
  std::vector<Line> listing;
  std::vector<std::string> notes;  // per listing line: the item's description
};

Insn i4(uint32_t raw) { return {raw, 4}; }
Insn i2(uint16_t raw) { return {raw, 2}; }

class Generator {
 public:
  Generator(Random& rnd, Program& p) : rnd_(rnd), p_(p) {}

  void generate() {
    const unsigned loops = 2 + rnd_.below(5);
    const unsigned leaves = 2 + rnd_.below(7);
    p_.fns.resize(1 + loops + leaves);
    p_.fns[0].type = Function::kMain;
    for (unsigned i = 1; i <= loops; ++i) {
      p_.fns[i].type = Function::kLoop;
      p_.fns[i].tight = rnd_.chance(35);
    }
    for (unsigned i = loops + 1; i < p_.fns.size(); ++i) {
      p_.fns[i].type = Function::kLeaf;
      p_.fns[i].alias_safe = p_.sv39 && rnd_.chance(50);
      leaves_.push_back(static_cast<int>(i));
    }
    for (size_t i = 0; i < p_.fns.size(); ++i) {
      Function& fn = p_.fns[i];
      fn.pool.resize(4 + rnd_.below(12));
      for (auto& v : fn.pool) v = rnd_.int_value();
      cur_ = static_cast<int>(i);
      switch (fn.type) {
        case Function::kMain:
          gen_main(fn, loops);
          break;
        case Function::kLoop:
          gen_loop_fn(fn);
          break;
        case Function::kLeaf:
          gen_leaf(fn);
          break;
      }
    }
    layout();
    resolve();
    emit();
  }

 private:
  // ---- Function shapes ----

  void gen_main(Function& fn, unsigned loops) {
    const int top = static_cast<int>(fn.items.size());
    for (unsigned round = 0; round < 1 + rnd_.below(2); ++round) {
      for (unsigned i = 1; i <= loops; ++i) {
        if (rnd_.chance(30)) add(fn, plain(false));
        add(fn, call_item(static_cast<int>(i)));
      }
    }
    if (rnd_.chance(50)) add(fn, call_item(leaves_[rnd_.below(leaves_.size())]));
    Item back;
    back.kind = K::kMainBack;
    back.ref = top;
    back.insns = {i4(0)};
    back.what = "main: back to the top";
    add(fn, std::move(back));
  }

  void gen_loop_fn(Function& fn) {
    Item pro;
    pro.what = "loop fn: save ra, set the counter";
    pro.insns = {rnd_.chance(50) ? i2(c_mv(kS10, kRa)) : i4(addi(kS10, kRa, 0)),
                 i4(addi(kS11, kZero, rnd_.range(17, 400)))};
    add(fn, std::move(pro));
    loop_region(fn, kS11, 5 + rnd_.below(45), true);
    Item ret;
    ret.what = "loop fn: return";
    ret.insns = {rnd_.chance(50) ? i2(c_jr(kS10)) : i4(jalr(kZero, kS10, 0))};
    add(fn, std::move(ret));
  }

  void gen_leaf(Function& fn) {
    if (rnd_.chance(50)) {
      Item pro;
      pro.what = "leaf: set the counter";
      pro.insns = {i4(addi(kS8, kZero, rnd_.range(1, 40)))};
      add(fn, std::move(pro));
      loop_region(fn, kS8, 2 + rnd_.below(20), false);
    }
    const int start = static_cast<int>(fn.items.size());
    const unsigned n = rnd_.below(20);
    // After the loop: the caller's counter tells iterations apart.
    for (unsigned i = 0; i < n; ++i) add(fn, body_item(fn, false, kS11));
    Item ret;
    ret.what = "leaf: return";
    ret.insns = {rnd_.chance(50) ? i2(c_jr(kRa)) : i4(jalr(kZero, kRa, 0))};
    add(fn, std::move(ret));
    close_region(fn, start);
  }

  // A loop body of `n` items and its counter decrement and backward branch.
  void loop_region(Function& fn, unsigned counter, unsigned n, bool calls) {
    const int head = static_cast<int>(fn.items.size());
    for (unsigned i = 0; i < n; ++i) add(fn, body_item(fn, calls, counter));
    Item tail;
    tail.kind = K::kLoopBack;
    tail.ref = head;
    tail.reg = counter;
    tail.what = "loop: decrement, branch back";
    tail.insns = {rnd_.chance(50) ? i2(c_addi(counter, -1)) : i4(addi(counter, counter, -1)),
                  i4(b_type(1, counter, kZero, 0))};
    add(fn, std::move(tail));
    close_region(fn, head);
  }

  // Forward control flow from items [start, last) may reach up to the last item.
  void close_region(Function& fn, int start) {
    const int last = static_cast<int>(fn.items.size()) - 1;
    for (int i = start; i < last; ++i) fn.items[i].region_end = last;
  }

  void add(Function& fn, Item item) { fn.items.push_back(std::move(item)); }

  // ---- Items ----

  // Items that invalidate translations (FENCE.I, stores to code pages) run
  // on some iterations only (`counter` is the loop counter in force), so
  // that the code between them gets hot again and is translated.
  Item guarded(Item it, unsigned counter, unsigned never_percent = 10) {
    if (rnd_.chance(never_percent)) return it;  // every time
    static constexpr int32_t kMasks[] = {15, 31, 63, 127};
    const auto body = static_cast<int32_t>(it.size());
    it.insns.insert(it.insns.begin(),
                    {i4(andi(kT5, counter, kMasks[rnd_.below(std::size(kMasks))])),
                     i4(b_type(1, kT5, kZero, 4 + body))});
    it.first = 2;
    it.what += " (on some iterations)";
    return it;
  }

  Item tight_item(unsigned counter) {
    const unsigned pick = rnd_.below(100);
    if (pick < 40) {
      const auto& alu = rows().inline_alu;
      return one(i4(random_row(rnd_, *alu[rnd_.below(alu.size())], true)), "inlined ALU");
    }
    if (pick < 55) return one(i2(safe_alu2()), "compressed ALU");
    if (pick < 68) {
      static constexpr unsigned kSizes[] = {1, 2, 4, 8};
      const unsigned size_log = rnd_.below(4);
      const int32_t off = rnd_.range(-2048, 2047) & ~static_cast<int32_t>(kSizes[size_log] - 1);
      const uint32_t raw = rnd_.chance(50)
                               ? store(size_log, rnd_.any_reg(), rnd_.scratch_reg(), off)
                               : load(size_log, rnd_.dest(), rnd_.scratch_reg(), off);
      return one(i4(raw), "aligned load/store");
    }
    if (pick < 78) return slot_item();
    if (pick < 86) return guarded(patch_item(counter, rnd_.chance(85)), counter, 50);
    if (pick < 94) return branch_item();
    return mix_item();
  }

  Item body_item(const Function& fn, bool calls, unsigned counter) {
    if (fn.tight) return tight_item(counter);
    const bool no_traps = fn.alias_safe;
    for (;;) {
      const unsigned pick = rnd_.below(100);
      if (pick < 7) return mix_item();
      if (pick < 28) return plain(no_traps);
      if (pick < 40) return compressed();
      if (pick < 50) return mem_item();
      if (pick < 54) {
        Item it = pool_item(fn);
        return it.flag ? guarded(std::move(it), counter) : it;
      }
      if (pick < 57) return csr_item(no_traps);
      if (pick < 61) {
        if (no_traps) continue;
        return trap_item();
      }
      if (pick < 64) return mmio_item();
      if (pick < 68) return slot_item();
      if (pick < 71) return guarded(patch_item(counter), counter);
      if (pick < 80) return branch_item();
      if (pick < 83) return jump_item();
      if (pick < 89) {
        if (!calls) continue;
        return call_item(leaves_[rnd_.below(leaves_.size())]);
      }
      if (pick < 91) return guarded(one(i4(kFenceI), "fence.i"), counter);
      if (pick < 93) {
        if (!p_.sv39) continue;
        if (rnd_.chance(30)) {
          // satp rewritten with its own value: every translation flushed.
          Item it;
          it.insns = {i4(csrr(kT5, csr::kSatp)), i4(csrw(kZero, csr::kSatp, kT5))};
          it.what = "satp rewritten";
          return it;
        }
        // sfence.vma: everything, or the leaves of one address.
        const unsigned rs1 = rnd_.chance(50) ? 0 : rnd_.any_reg();
        return one(i4(kSfenceVma | rs1 << 15), "sfence.vma");
      }
      if (pick < 95) {
        if (p_.sv39) {
          // sstatus.SUM on or off: another data TLB context (one scratch
          // page is a user page, which S-mode reaches only with SUM).
          const bool on = rnd_.chance(50);
          Item it;
          it.insns = {i4(u_type(0x37, kT5, csr::mstatus::kSUM >> 12)),
                      i4(i_type(0x73, kZero, on ? 2 : 3, kT5, csr::kSstatus))};
          it.what = on ? "sstatus.SUM on" : "sstatus.SUM off";
          return it;
        }
        return guarded(one(i4(csrsi(csr::kMip, 2)), "raise SSIP (taken at once)"), counter, 50);
      }
      if (pick < 97) {
        // (The PTE's address is pc-relative: not from the aliases.)
        if (p_.sv39 && !no_traps && rnd_.chance(70)) return switch_item(counter);
        const auto& other = rows().other;
        return one(i4(random_row(rnd_, *other[rnd_.below(other.size())], no_traps)), "fence");
      }
      if (pick < 98 || !p_.sv39) {
        return one(i4(addi(rnd_.dest(), kZero, rnd_.range(-2048, 2047))), "li");
      }
      if (fn.alias_safe) continue;
      return switch_item(counter);
    }
  }

  // Sv39: a call to whatever is mapped at kSwitchVa now, or a remapping.
  Item switch_item(unsigned counter) {
    if (rnd_.chance(60)) {
      Item it;
      it.insns = {i4(u_type(0x37, kT6, kSwitchVa >> 12)), i4(jalr(kRa, kT6, 0))};
      it.what = "call the function mapped at the switch page";
      return it;
    }
    return remap_item(counter);
  }

  // Points kSwitchVa at one of the two switch pages, by the parity of the
  // loop counter, so that it changes on every iteration (PTE store, then
  // SFENCE.VMA of everything or of that address): calls through it must
  // reach the new page's code, however hot the old one was.
  Item remap_item(unsigned counter) {
    Item it;
    it.kind = K::kRemap;
    it.sub = static_cast<int>(rnd_.below(2));
    it.reg = counter;
    it.flag = rnd_.chance(50);  // SFENCE.VMA of kSwitchVa only
    it.insns.assign(10, i4(0));
    it.what = "map the switch page by the counter's parity";
    return it;
  }

  // acc = acc * 33 ^ reg.
  Item mix_item() {
    Item it;
    unsigned reg;
    do reg = rnd_.any_reg();
    while (reg == kAcc || reg == kT5);
    it.insns = {i4(i_type(0x13, kT5, 1, kAcc, 5)), i4(r_type(0x33, kAcc, 0, kAcc, kT5, 0)),
                i4(r_type(0x33, kAcc, 4, kAcc, reg, 0))};
    it.what = fmt::format("fold x{} into the accumulator", reg);
    return it;
  }

  Item one(Insn insn, std::string what) {
    Item it;
    it.insns = {insn};
    it.what = std::move(what);
    return it;
  }

  Item plain(bool no_traps) {
    const auto& r = rows();
    const unsigned pick = rnd_.below(100);
    const auto& pool = pick < 70 ? r.alu : pick < 88 ? r.mem : r.fp;
    return one(i4(random_row(rnd_, *pool[rnd_.below(pool.size())], no_traps)), "random");
  }

  Item compressed() { return one(i2(random_compressed(rnd_, Cat::kSkip)), "random compressed"); }

  // A load or store of 1..8 bytes to the scratch area: aligned, misaligned
  // or crossing a page.
  Item mem_item() {
    static constexpr unsigned kSizes[] = {1, 2, 4, 8};
    const unsigned size_log = rnd_.below(4), size = kSizes[size_log];
    const bool is_store = rnd_.chance(45);
    unsigned base = rnd_.scratch_reg();
    int32_t off;
    const char* how;
    switch (rnd_.below(4)) {
      case 0:  // crossing the page boundary at s0/s1 (or sp + 2048)
        how = "page-crossing";
        if (size == 1) {
          off = base == kSp ? 2047 : -1;  // a byte crosses nothing: next to the boundary
        } else if (base == kSp) {
          off = 2048 - static_cast<int32_t>(size) + 1 + rnd_.range(0, size - 2);
        } else {
          off = -rnd_.range(1, size - 1);
        }
        break;
      case 1:
        how = "misaligned";
        off = rnd_.range(-2048, 2047);
        if (size > 1 && off % static_cast<int32_t>(size) == 0) off += 1;
        if (off > 2047) off -= 2;
        break;
      default:
        how = "aligned";
        off = rnd_.range(-2048, 2047) & ~static_cast<int32_t>(size - 1);
        break;
    }
    uint32_t raw;
    if (is_store) {
      raw = store(size_log, rnd_.any_reg(), base, off);
    } else {
      const bool zext = size < 8 && rnd_.chance(40);
      raw = load(size_log | (zext ? 4 : 0), rnd_.dest(), base, off);
    }
    return one(i4(raw), fmt::format("{} {}-byte {}", how, size, is_store ? "store" : "load"));
  }

  Item pool_item(const Function& fn) {
    Item it;
    it.kind = K::kPool;
    it.ref = static_cast<int>(rnd_.below(fn.pool.size()));
    it.flag = rnd_.chance(20);
    it.reg = it.flag ? rnd_.any_reg() : rnd_.dest();
    it.insns = {i4(0), i4(0)};
    it.what = it.flag ? "store to the constant pool (a code page)" : "load from the constant pool";
    return it;
  }

  Item csr_item(bool no_traps) {
    const bool s = p_.sv39;
    const unsigned pick = rnd_.below(12);
    if (pick >= 10) {
      // mstatus.FS to Off (FP instructions trap), Initial, Clean or Dirty,
      // maybe frm too (5..7 make rm = 7 illegal), then an FP instruction,
      // which must make FS Dirty or trap. Off and an illegal frm do not
      // outlive the item: later code may be code that must not trap.
      const unsigned fs = no_traps ? 1 + rnd_.below(3) : rnd_.below(4);
      const uint16_t status = s ? csr::kSstatus : csr::kMstatus;
      auto set_fs = [&](Item& it, unsigned value) {
        it.insns.push_back(i4(u_type(0x37, kT5, csr::mstatus::kFS >> 12)));
        it.insns.push_back(i4(i_type(0x73, kZero, 3, kT5, status)));  // csrc
        it.insns.push_back(i4(u_type(0x37, kT5, (value << csr::mstatus::kFSShift) >> 12)));
        it.insns.push_back(i4(i_type(0x73, kZero, 2, kT5, status)));  // csrs
      };
      auto set_frm = [&](Item& it, unsigned value) {  // csrrwi x0, frm, value
        it.insns.push_back(i4(i_type(0x73, kZero, 5, value, csr::kFrm)));
      };
      Item it;
      set_fs(it, fs);
      it.what = fmt::format("mstatus.FS = {}", fs);
      const auto& fp = rows().fp;
      const Row* row = fp[rnd_.below(fp.size())];
      uint32_t raw = random_row(rnd_, *row, no_traps);
      const bool with_frm = row->ops.rm && rnd_.chance(50);
      if (with_frm) {
        const unsigned frm = no_traps ? rnd_.below(5) : rnd_.below(8);
        set_frm(it, frm);
        raw = set_field(raw, 12, 3, 7);  // the dynamic rounding mode
        it.what += fmt::format(", frm = {}", frm);
      }
      it.insns.push_back(i4(raw));
      if (with_frm) set_frm(it, rnd_.below(5));
      if (fs == 0) set_fs(it, 1 + rnd_.below(3));
      return it;
    }
    if (pick < 6) {
      static constexpr uint16_t kM[] = {csr::kMinstret, csr::kMcycle,  csr::kInstret, csr::kCycle,
                                        csr::kMscratch, csr::kMstatus, csr::kMip,     csr::kFflags};
      static constexpr uint16_t kS[] = {csr::kInstret, csr::kCycle, csr::kSscratch,
                                        csr::kSstatus, csr::kFcsr,  csr::kSip};
      uint16_t n = s ? kS[rnd_.below(std::size(kS))] : kM[rnd_.below(std::size(kM))];
      if (s && !no_traps && rnd_.chance(15)) n = csr::kMinstret;  // illegal in S-mode
      return one(i4(csrr(rnd_.dest(), n)), fmt::format("csrr {:#x}", n));
    }
    if (pick < 9 || s) {
      const uint16_t n = s ? csr::kSscratch : csr::kMscratch;
      return one(i4(csrw(rnd_.dest(), n, rnd_.any_reg())), "csrrw scratch");
    }
    // minstret/mcycle writes: the counters go on from the written value.
    const uint16_t n = rnd_.chance(50) ? csr::kMinstret : csr::kMcycle;
    return one(i4(csrw(kZero, n, rnd_.any_reg())), fmt::format("csrw {:#x}", n));
  }

  Item trap_item() {
    switch (rnd_.below(8)) {
      case 0:
        return one(i4(kEcall), "ecall");
      case 1:
        return one(rnd_.chance(50) ? i4(kEbreak) : i2(kCEbreak), "ebreak");
      case 2:
        return one(rnd_.chance(50) ? i4(kIllegal32) : i2(kIllegal16), "illegal");
      case 3: {
        // A misaligned AMO: store/AMO address misaligned.
        Item it;
        it.insns = {i4(addi(kT6, rnd_.scratch_reg(), 1 + 2 * static_cast<int32_t>(rnd_.below(3)))),
                    i4(r_type(0x2f, rnd_.dest(), rnd_.chance(50) ? 2 : 3, kT6, rnd_.any_reg(), 0))};
        it.what = "misaligned amoadd";
        return it;
      }
      default: {
        // An access through gp: bare, an access fault; Sv39, a page fault
        // below gp and an access fault from gp up (crossing: the first part).
        static constexpr unsigned kSizes[] = {1, 2, 4, 8};
        const unsigned size_log = rnd_.below(4);
        int32_t off = rnd_.chance(30) ? -static_cast<int32_t>(rnd_.below(kSizes[size_log]))
                                      : rnd_.range(-2048, 2047);
        const bool is_store = rnd_.chance(40);
        const uint32_t raw = is_store ? store(size_log, rnd_.any_reg(), kGp, off)
                                      : load(size_log, rnd_.dest(), kGp, off);
        return one(i4(raw), is_store ? "faulting store" : "faulting load");
      }
    }
  }

  Item mmio_item() {
    const unsigned size_log = rnd_.below(4);
    const int32_t off = rnd_.chance(70) ? rnd_.range(-2048, 2047) & ~((1 << size_log) - 1)
                                        : rnd_.range(-2048, 2040);
    const bool is_store = rnd_.chance(50);
    const uint32_t raw = is_store ? store(size_log, rnd_.any_reg(), kTp, off)
                                  : load(size_log | (size_log < 3 && rnd_.chance(40) ? 4 : 0),
                                         rnd_.dest(), kTp, off);
    return one(i4(raw), is_store ? "MMIO store" : "MMIO load");
  }

  // A safe ALU instruction (never traps, writes free registers only).
  uint32_t safe_alu4() {
    const auto& alu = rows().alu;
    for (;;) {
      const uint32_t raw = random_row(rnd_, *alu[rnd_.below(alu.size())], true);
      const DecodedInsn d = decode(raw);
      if (d.op != kInvalidOp && rows().by_op[d.op].cat == Cat::kAlu) return raw;
    }
  }
  uint16_t safe_alu2() { return random_compressed(rnd_, Cat::kAlu); }
  uint32_t safe_word() {
    if (rnd_.chance(70)) return safe_alu4();
    return safe_alu2() | static_cast<uint32_t>(safe_alu2()) << 16;
  }

  // An instruction (or two compressed) adding to or xoring into the
  // accumulator: which version of a patched slot ran stays visible.
  uint16_t acc2() {
    int32_t imm = rnd_.range(-32, 30);
    if (imm >= 0) ++imm;  // nonzero
    return c_addi(kAcc, imm);
  }
  uint32_t acc_word() {
    if (rnd_.chance(25)) return acc2() | static_cast<uint32_t>(acc2()) << 16;
    static constexpr unsigned kOps[] = {0x13 | 0 << 12, 0x13 | 4 << 12, 0x1b | 0 << 12};
    return kOps[rnd_.below(3)] | kAcc << 7 | kAcc << 15 |
           (static_cast<uint32_t>(rnd_.range(-2048, 2047)) & 0xfff) << 20;
  }

  Item slot_item() {
    Item it;
    it.kind = K::kSlot;
    it.sub = rnd_.chance(70) ? 4 : 2;
    it.flag = rnd_.chance(60);  // an accumulator slot
    if (it.sub == 4) {
      const uint32_t w = it.flag ? acc_word() : safe_word();
      if ((w & 3) == 3) {
        it.insns = {i4(w)};
      } else {
        it.insns = {i2(static_cast<uint16_t>(w)), i2(static_cast<uint16_t>(w >> 16))};
      }
    } else {
      it.insns = {i2(it.flag ? acc2() : safe_alu2())};
    }
    it.what = it.flag ? "patchable slot (accumulates)" : "patchable slot";
    slots_.push_back({cur_, static_cast<int>(p_.fns[cur_].items.size())});
    return it;
  }

  // lui t5 + addiw t5: an instruction; andi t6, counter + slli t6 + xor t5,
  // t6: for an accumulator slot, a different immediate on every iteration
  // (so code translated before the store is stale after it); auipc t6 + sw
  // or sh t5 over the slot.
  Item patch_item(unsigned counter, bool no_fence = false) {
    Item it;
    it.kind = K::kPatch;
    it.sub = rnd_.chance(70) ? 4 : 2;
    it.reg = counter;
    it.flag = !no_fence && rnd_.chance(50);
    it.insns = {i4(0), i4(0), i4(0), i4(0), i4(0), i4(0), i4(0)};
    if (it.flag) it.insns.push_back(i4(kFenceI));
    it.what = it.flag ? "patch a slot, fence.i" : "patch a slot";
    return it;
  }

  Item branch_item() {
    Item it;
    if (rnd_.chance(30)) {
      it.kind = K::kCBranch;
      it.flag = rnd_.chance(50);
      it.reg = rnd_.below(8);
      it.insns = {i2(0)};
      it.what = "forward c.beqz/c.bnez";
    } else {
      static constexpr unsigned kF3[] = {0, 1, 4, 5, 6, 7};
      it.kind = K::kBranch;
      it.sub = static_cast<int>(kF3[rnd_.below(std::size(kF3))]);
      it.reg = rnd_.any_reg() | rnd_.any_reg() << 5;
      it.insns = {i4(0)};
      it.what = "forward branch";
    }
    return it;
  }

  Item jump_item() {
    Item it;
    switch (rnd_.below(4)) {
      case 0:
        it.kind = K::kCJump;
        it.insns = {i2(0)};
        it.what = "forward c.j";
        break;
      case 1:
        it.kind = K::kJalFwd;
        it.reg = rnd_.dest();
        it.insns = {i4(0)};
        it.what = "forward jal";
        break;
      case 2:
        // rd is x0, a free register or t6 itself (the target is read first).
        it.kind = K::kJumpInd;
        it.reg = rnd_.chance(30) ? kT6 : rnd_.dest();
        it.insns = {i4(0), i4(0)};
        it.what = "forward jalr";
        break;
      default:
        it.kind = K::kJumpIndC;
        it.insns = {i4(0), i4(0), i2(c_jr(kT6))};
        it.what = "forward c.jr";
        break;
    }
    return it;
  }

  Item call_item(int target) {
    Item it;
    it.kind = K::kCall;
    it.ref = target;
    int how = static_cast<int>(rnd_.below(kCallHows));
    if (how >= kCallAlias4K && !(p_.sv39 && p_.fns[target].alias_safe)) how = kCallJalr;
    it.sub = how;
    switch (how) {
      case kCallJal:
        it.insns = {i4(0)};
        it.what = "call (jal)";
        break;
      case kCallJalr:
      case kCallRaRa:
        it.insns = {i4(0), i4(0)};
        it.what = how == kCallJalr ? "call (auipc t6 + jalr)" : "call (auipc ra + jalr ra, lo(ra))";
        break;
      case kCallCJalr:
        it.insns = {i4(0), i4(0), i2(c_jalr(kT6))};
        it.what = "call (c.jalr)";
        break;
      default:
        it.insns = {i4(0), i4(0), i4(0)};
        it.what =
            how == kCallAlias4K ? "call through the 4 KiB alias" : "call through the 2 MiB alias";
        break;
    }
    return it;
  }

  // ---- Layout, resolution, emission ----

  void layout() {
    uint64_t a = kCodeBase;
    for (Function& fn : p_.fns) {
      // A random gap moves functions across page boundaries.
      a += 2 * rnd_.below(200);
      fn.addr = a;
      for (Item& it : fn.items) {
        it.addr = a;
        a += it.size();
      }
      a = (a + 7) & ~uint64_t{7};
      fn.pool_addr = a;
      a += 8 * fn.pool.size();
      fn.end = a;
    }
    if (a > kCodeEnd) {
      std::fprintf(stderr, "diff_jit: program does not fit (%#llx bytes)\n",
                   static_cast<unsigned long long>(a - kCodeBase));
      std::abort();
    }
  }

  // A forward target for item `i` of `fn` within `limit` bytes (the next item
  // when nothing else fits).
  const Item& forward_target(const Function& fn, int i, int64_t limit) {
    const Item& it = fn.items[i];
    std::vector<int> ok;
    for (int j = i + 1; j <= it.region_end; ++j) {
      if (static_cast<int64_t>(fn.items[j].addr - it.addr) <= limit) ok.push_back(j);
    }
    if (ok.empty()) {
      std::fprintf(stderr, "diff_jit: no forward target\n");
      std::abort();
    }
    return fn.items[ok[rnd_.below(ok.size())]];
  }

  // Sometimes an odd jalr offset: jalr clears bit 0 of the target.
  int32_t odd(int32_t lo) { return lo < 2047 && rnd_.chance(25) ? lo + 1 : lo; }

  uint64_t alias_of(uint64_t pa, int how) const {
    return how == kCallAlias4K ? kAlias4K + (pa - kCodeBase) : kAlias2M + (pa - kRamBase);
  }

  void resolve() {
    for (Function& fn : p_.fns) {
      for (int i = 0; i < static_cast<int>(fn.items.size()); ++i) {
        Item& it = fn.items[i];
        Insn* in = it.insns.data() + it.first;
        const uint64_t at = it.addr + 4 * it.first;  // the guard is two 4-byte instructions
        switch (it.kind) {
          case K::kPlain:
          case K::kSlot:
            break;
          case K::kBranch: {
            const Item& t = forward_target(fn, i, 4094);
            in[0].raw = b_type(static_cast<unsigned>(it.sub), it.reg & 31, it.reg >> 5,
                               static_cast<int32_t>(t.addr - it.addr));
            break;
          }
          case K::kCBranch: {
            const Item& t = forward_target(fn, i, 254);
            in[0].raw = c_branch(it.flag, it.reg, static_cast<int32_t>(t.addr - it.addr));
            break;
          }
          case K::kCJump: {
            const Item& t = forward_target(fn, i, 2046);
            in[0].raw = c_j(static_cast<int32_t>(t.addr - it.addr));
            break;
          }
          case K::kJalFwd: {
            const Item& t = forward_target(fn, i, 1 << 19);
            in[0].raw = j_type(it.reg, static_cast<int32_t>(t.addr - it.addr));
            break;
          }
          case K::kJumpInd: {
            const Item& t = forward_target(fn, i, 1 << 19);
            const PcRel r = pc_rel(it.addr, t.addr);
            in[0].raw = u_type(0x17, kT6, r.hi);
            in[1].raw = jalr(it.reg, kT6, odd(r.lo));
            break;
          }
          case K::kJumpIndC: {
            const Item& t = forward_target(fn, i, 1 << 19);
            const PcRel r = pc_rel(it.addr, t.addr);
            in[0].raw = u_type(0x17, kT6, r.hi);
            in[1].raw = addi(kT6, kT6, odd(r.lo));
            break;
          }
          case K::kLoopBack: {
            const uint64_t bne_at = it.addr + in[0].len;
            in[1].raw =
                b_type(1, it.reg, kZero, static_cast<int32_t>(fn.items[it.ref].addr - bne_at));
            break;
          }
          case K::kMainBack:
            in[0].raw = j_type(kZero, static_cast<int32_t>(fn.items[it.ref].addr - it.addr));
            break;
          case K::kCall: {
            const uint64_t target = p_.fns[it.ref].addr;
            const PcRel r = pc_rel(it.addr, target);
            switch (it.sub) {
              case kCallJal:
                in[0].raw = j_type(kRa, static_cast<int32_t>(target - it.addr));
                break;
              case kCallJalr:
                in[0].raw = u_type(0x17, kT6, r.hi);
                in[1].raw = jalr(kRa, kT6, odd(r.lo));
                break;
              case kCallRaRa:
                in[0].raw = u_type(0x17, kRa, r.hi);
                in[1].raw = jalr(kRa, kRa, odd(r.lo));
                break;
              case kCallCJalr:
                in[0].raw = u_type(0x17, kT6, r.hi);
                in[1].raw = addi(kT6, kT6, odd(r.lo));
                break;
              default: {
                const PcRel a = abs32(static_cast<int64_t>(alias_of(target, it.sub)));
                in[0].raw = u_type(0x37, kT6, a.hi);
                in[1].raw = addi(kT6, kT6, a.lo);
                in[2].raw = jalr(kRa, kT6, 0);
                break;
              }
            }
            break;
          }
          case K::kPool: {
            const PcRel r = pc_rel(at, fn.pool_addr + 8 * static_cast<uint64_t>(it.ref));
            in[0].raw = u_type(0x17, kT6, r.hi);
            in[1].raw = it.flag ? store(3, it.reg, kT6, r.lo) : load(3, it.reg, kT6, r.lo);
            break;
          }
          case K::kPatch:
            resolve_patch(fn, in, at, it.sub, it.reg);
            break;
          case K::kRemap: {
            const uint64_t pte = (kSwitchPages[it.sub] >> 12) << 10 | pte::kV | pte::kR | pte::kW |
                                 pte::kX | pte::kA | pte::kD;
            const PcRel v = abs32(static_cast<int64_t>(pte));
            in[0].raw = u_type(0x37, kT5, v.hi);
            in[1].raw = addiw(kT5, kT5, v.lo);
            // The other page on odd counts (the pages are adjacent: PPN + 1),
            // xor so that page 1 alternates with page 0.
            in[2].raw = andi(kT6, it.reg, 1);
            in[3].raw = i_type(0x13, kT6, 1, kT6, 10);      // slli: the PPN's lowest bit
            in[4].raw = r_type(0x33, kT5, 4, kT5, kT6, 0);  // xor
            const PcRel r = pc_rel(it.addr + 20, p_.switch_pte);
            in[5].raw = u_type(0x17, kT6, r.hi);
            in[6].raw = addi(kT6, kT6, r.lo);
            in[7].raw = store(3, kT5, kT6, 0);
            in[8].raw = u_type(0x37, kT6, kSwitchVa >> 12);
            in[9].raw = kSfenceVma | (it.flag ? kT6 : 0) << 15;
            break;
          }
        }
      }
    }
  }

  void resolve_patch(Function& fn, Insn* in, uint64_t at, int width, unsigned counter) {
    // A slot of the right width, preferably in this function.
    std::vector<std::pair<int, int>> fits, here;
    for (const auto& s : slots_) {
      if (p_.fns[s.first].items[s.second].sub != width) continue;
      fits.push_back(s);
      if (&p_.fns[s.first] == &fn) here.push_back(s);
    }
    uint64_t target;
    uint32_t value;
    int32_t vary = 0;  // counter bits xored in (mask)
    unsigned shift = 0;
    if (fits.empty()) {
      target = fn.pool_addr;  // no slot: patch the constant pool instead
      value = static_cast<uint32_t>(rnd_.u64());
    } else {
      const auto& pick = !here.empty() && rnd_.chance(70) ? here[rnd_.below(here.size())]
                                                          : fits[rnd_.below(fits.size())];
      const Item& slot = p_.fns[pick.first].items[pick.second];
      target = slot.addr;
      if (slot.flag) {
        value = width == 4 ? acc_word() : acc2();
        // The immediate's low bits: addi/xori/addiw imm[4:0]; c.addi imm[2:0]
        // (of the upper one of two).
        vary = width == 4 && (value & 3) == 3 ? 31 : 7;
        shift = width == 4 ? ((value & 3) == 3 ? 20 : 18) : 2;
      } else {
        value = width == 4 ? safe_word() : safe_alu2();
      }
    }
    const PcRel v = abs32(static_cast<int32_t>(value));
    in[0].raw = u_type(0x37, kT5, v.hi);
    in[1].raw = addiw(kT5, kT5, v.lo);
    in[2].raw = andi(kT6, counter, vary);
    in[3].raw = i_type(0x13, kT6, 1, kT6, static_cast<int32_t>(shift));  // slli
    in[4].raw = r_type(0x33, kT5, 4, kT5, kT6, 0);                       // xor
    const PcRel r = pc_rel(at + 20, target);
    in[5].raw = u_type(0x17, kT6, r.hi);
    in[6].raw = store(width == 4 ? 2 : 1, kT5, kT6, r.lo);
  }

  void emit() {
    p_.ram.assign(kRamSize, 0);
    auto put = [&](uint64_t addr, const void* src, size_t n) {
      std::memcpy(&p_.ram[addr - kRamBase], src, n);
    };
    for (size_t f = 0; f < p_.fns.size(); ++f) {
      const Function& fn = p_.fns[f];
      for (size_t i = 0; i < fn.items.size(); ++i) {
        uint64_t a = fn.items[i].addr;
        for (const Insn& in : fn.items[i].insns) {
          put(a, &in.raw, in.len);
          p_.listing.push_back({a, in.raw, in.len, static_cast<int>(f), static_cast<int>(i)});
          p_.notes.push_back(fn.items[i].what);
          a += in.len;
        }
      }
      for (size_t k = 0; k < fn.pool.size(); ++k) put(fn.pool_addr + 8 * k, &fn.pool[k], 8);
    }
    emit_handler(kMHandler, false);
    emit_handler(kSHandler, true);
    // The switch pages: different effects on the accumulator, then return.
    const uint32_t switch_fns[2][3] = {
        {addi(kAcc, kAcc, 3), i_type(0x13, kAcc, 1, kAcc, 1), jalr(kZero, kRa, 0)},
        {i_type(0x13, kAcc, 4, kAcc, 0x2a5), addi(kAcc, kAcc, -7), jalr(kZero, kRa, 0)}};
    for (unsigned k = 0; k < 2; ++k) put(kSwitchPages[k], switch_fns[k], sizeof switch_fns[k]);
    for (uint64_t a = kScratch; a < kScratch + kScratchSize; a += 8) {
      const uint64_t v = rnd_.int_value();
      put(a, &v, 8);
    }
  }

  // The trap handler: logs cause and tval, skips the instruction at xepc
  // (2 or 4 bytes); the software interrupt is cleared and returned from.
  void emit_handler(uint64_t base, bool s) {
    const uint16_t cause = s ? csr::kScause : csr::kMcause, epc = s ? csr::kSepc : csr::kMepc,
                   tval = s ? csr::kStval : csr::kMtval, ip = s ? csr::kSip : csr::kMip;
    const uint64_t log = kTrapLog + (s ? 0x40 : 0);
    std::vector<uint32_t> h;
    h.push_back(csrr(kT6, cause));          // 0
    h.push_back(0);                         // 1: bltz t6, irq
    h.push_back(csrr(kT6, epc));            // 2
    h.push_back(load(5, kT5, kT6, 0));      // 3: lhu t5, 0(t6)
    h.push_back(andi(kT5, kT5, 3));         // 4
    h.push_back(addi(kT6, kT6, 2));         // 5
    h.push_back(addi(kT5, kT5, -3));        // 6
    h.push_back(b_type(1, kT5, kZero, 8));  // 7: bnez t5, 9
    h.push_back(addi(kT6, kT6, 2));         // 8
    h.push_back(csrw(kZero, epc, kT6));     // 9
    const size_t at = h.size();             // 10
    const PcRel r = pc_rel(base + 4 * at, log);
    h.push_back(u_type(0x17, kT5, r.hi));
    h.push_back(addi(kT5, kT5, r.lo));
    h.push_back(csrr(kT6, cause));
    h.push_back(store(3, kT6, kT5, 0));
    h.push_back(csrr(kT6, tval));
    h.push_back(store(3, kT6, kT5, 8));
    h.push_back(load(3, kT6, kT5, 16));
    h.push_back(addi(kT6, kT6, 1));
    h.push_back(store(3, kT6, kT5, 16));
    h.push_back(s ? kSret : kMret);
    const size_t irq = h.size();
    h[1] = b_type(4, kT6, kZero, static_cast<int32_t>(4 * (irq - 1)));  // blt t6, x0
    h.push_back(csrci(ip, 2));
    const PcRel r2 = pc_rel(base + 4 * h.size(), log);
    h.push_back(u_type(0x17, kT5, r2.hi));
    h.push_back(addi(kT5, kT5, r2.lo));
    h.push_back(load(3, kT6, kT5, 24));
    h.push_back(addi(kT6, kT6, 1));
    h.push_back(store(3, kT6, kT5, 24));
    h.push_back(s ? kSret : kMret);
    std::memcpy(&p_.ram[base - kRamBase], h.data(), 4 * h.size());
  }

  Random& rnd_;
  Program& p_;
  int cur_ = 0;
  std::vector<int> leaves_;
  std::vector<std::pair<int, int>> slots_;  // (function, item)
};

// Sv39 page tables in the RAM image.
class PageTables {
 public:
  explicit PageTables(std::vector<uint8_t>& ram) : ram_(ram) { root_ = alloc(); }
  uint64_t satp() const { return csr::satp::kModeSv39 << 60 | root_ >> 12; }
  // Returns the address of the leaf PTE.
  uint64_t map(uint64_t va, uint64_t pa, uint64_t flags, unsigned level = 0) {
    uint64_t table = root_;
    for (unsigned l = 2; l > level; --l) {
      const uint64_t slot = table + ((va >> (12 + 9 * l)) & 0x1ff) * 8;
      uint64_t pte = get(slot);
      if (!(pte & pte::kV)) {
        pte = (alloc() >> 12) << 10 | pte::kV;
        set(slot, pte);
      }
      table = (pte >> 10) << 12;
    }
    const uint64_t slot = table + ((va >> (12 + 9 * level)) & 0x1ff) * 8;
    set(slot, (pa >> 12) << 10 | flags);
    return slot;
  }

 private:
  uint64_t alloc() {
    const uint64_t t = next_;
    next_ += 4096;
    return t;
  }
  uint64_t get(uint64_t pa) {
    uint64_t v;
    std::memcpy(&v, &ram_[pa - kRamBase], 8);
    return v;
  }
  void set(uint64_t pa, uint64_t v) { std::memcpy(&ram_[pa - kRamBase], &v, 8); }
  std::vector<uint8_t>& ram_;
  uint64_t next_ = kTables;
  uint64_t root_;
};

Program make_program(uint64_t seed, uint64_t index) {
  Random rnd(seed * 0x9e3779b97f4a7c15ull + index);
  Program p;
  p.sv39 = (index & 1) != 0;
  // kSwitchVa is mapped first: its leaf PTE is in the third table.
  p.switch_pte = kTables + 2 * 4096 + ((kSwitchVa >> 12) & 0x1ff) * 8;
  Generator(rnd, p).generate();
  for (unsigned i = 1; i < 32; ++i) p.x[i] = rnd.int_value();
  for (unsigned i = 0; i < 32; ++i) {
    p.f[i] = rnd.chance(50) ? rnd.double_value()
                            : 0xffffffff00000000ull | static_cast<uint32_t>(rnd.u64());
  }
  p.frm = rnd.below(5);
  p.mscratch = rnd.u64();
  for (unsigned r : {kSp, kS0, kS1}) p.x[r] = scratch_base(r);
  p.x[kGp] = p.sv39 ? kFaultVa : kNothing;
  p.x[kTp] = (p.sv39 ? kMmioVa : kMmio) + 0x800;
  if (p.sv39) {
    using namespace pte;
    PageTables pt(p.ram);
    const uint64_t all = kV | kR | kW | kX | kA | kD;
    if (pt.map(kSwitchVa, kSwitchPages[0], all) != p.switch_pte) std::abort();
    pt.map(p.switch_pte & ~kPageOffsetMask, p.switch_pte & ~kPageOffsetMask,
           kV | kR | kW | kA | kD);
    for (uint64_t a = kCodeBase; a < kCodeEnd; a += 4096) {
      pt.map(a, a, all);
      pt.map(kAlias4K + (a - kCodeBase), a, all);
    }
    pt.map(kAlias2M, kRamBase, all, 1);
    pt.map(kSHandler, kSHandler, kV | kR | kX | kA);
    pt.map(kTrapLog, kTrapLog, kV | kR | kW | kA | kD);
    // The scratch pages in another order (a page-crossing access must not
    // find its second part next to the first in host memory), some without
    // A/D (the walk sets them: in RAM, compared too).
    uint64_t order[kScratchSize / 4096] = {1, 3, 0, 2};
    for (size_t k = std::size(order) - 1; k > 0; --k) std::swap(order[k], order[rnd.below(k + 1)]);
    if (order[0] == 0 && order[1] == 1 && order[2] == 2) std::swap(order[0], order[3]);
    const uint64_t user_page = rnd.below(std::size(order));
    for (uint64_t k = 0; k < std::size(order); ++k) {
      pt.map(kScratch + 4096 * k, kScratch + 4096 * order[k],
             kV | kR | kW | (rnd.chance(50) ? kA | kD : 0) | (k == user_page ? kU : 0));
    }
    pt.map(kFaultVa, kNothing, kV | kR | kW | kA | kD);
    pt.map(kMmioVa, kMmio, kV | kR | kW | kA | kD);
    p.satp = pt.satp();
  }
  return p;
}

// ---- The two machines ----

// Memory-like MMIO: what is written reads back; every access is hashed in order.
class MemDevice final : public BusDevice {
 public:
  uint8_t bytes[4096] = {};
  uint64_t hash = 0, accesses = 0;
  uint64_t read(uint64_t offset, unsigned size) override {
    uint64_t v = 0;
    std::memcpy(&v, bytes + offset, size);
    note(0, offset, size, v);
    return v;
  }
  void write(uint64_t offset, unsigned size, uint64_t value) override {
    std::memcpy(bytes + offset, &value, size);
    note(1, offset, size, value);
  }

 private:
  void note(uint64_t kind, uint64_t offset, unsigned size, uint64_t value) {
    ++accesses;
    for (uint64_t v : {kind, offset, uint64_t{size}, value}) {
      hash = (hash ^ v) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
    }
  }
};

class Machine {
 public:
  explicit Machine(bool jit) {
    if (!memory_.add_ram(GuestAddr(kRamBase), kRamSize)) std::abort();
    ram_ = *memory_.host_range(GuestAddr(kRamBase), kRamSize);
    if (!bus_.add(GuestAddr(kMmio), 4096, &device_, "mem")) std::abort();
    shared_ = std::make_unique<HartShared>(memory_);
    HartConfig config;
    config.jit = jit;
    hart_ = std::make_unique<Hart>(config, memory_, bus_, clock_, host_, *shared_);
    host_.h = hart_.get();
  }

  void load(const Program& p) {
    std::memcpy(ram_, p.ram.data(), kRamSize);
    Hart& h = *hart_;
    h.reset(p.fns[0].addr, Priv::kMachine, 0, 0, 0);
    for (unsigned i = 1; i < 32; ++i) h.x[i] = p.x[i];
    for (unsigned i = 0; i < 32; ++i) h.f[i] = p.f[i];
    h.frm = p.frm;
    using namespace csr;
    bool ok = h.csr_write(kMtvec, kMHandler) && h.csr_write(kMscratch, p.mscratch);
    if (!p.sv39) {
      ok = ok && h.csr_write(kMstatus, mstatus::kFSDirty | mstatus::kMIE) &&
           h.csr_write(kMie, ip::kSSIP);
    } else {
      ok = ok && h.csr_write(kMstatus, mstatus::kFSDirty) &&
           h.csr_write(kPmpaddr0, pmp::kAddrMask) &&
           h.csr_write(kPmpcfg0, pmp::kR | pmp::kW | pmp::kX | pmp::kNapot << pmp::kAShift) &&
           h.csr_write(kMcounteren, 5) && h.csr_write(kStvec, kSHandler) &&
           h.csr_write(kMedeleg, 1u << exc::kIllegalInsn | 1u << exc::kBreakpoint |
                                     1u << exc::kLoadPageFault | 1u << exc::kStorePageFault) &&
           h.csr_write(kSatp, p.satp);
      h.set_priv(Priv::kSupervisor);
    }
    if (!ok) std::abort();
  }

  Hart& hart() { return *hart_; }
  const uint8_t* ram() const { return ram_; }
  const MemDevice& device() const { return device_; }

  uint64_t csr(uint16_t n) {
    Hart& h = *hart_;
    const Priv saved = h.priv;
    h.set_priv(Priv::kMachine);
    uint64_t v = 0;
    if (!h.csr_read(n, v)) v = 0xdeadbeef;
    h.set_priv(saved);
    return v;
  }

  // The instruction at virtual `pc`, disassembled (or why not).
  std::string disassemble_at(uint64_t pc) {
    const auto pa = hart_->translate_debug(pc, Access::kFetch);
    if (!pa || *pa < kRamBase || *pa + 4 > kRamBase + kRamSize) return "(not in RAM)";
    uint32_t raw;
    std::memcpy(&raw, ram_ + (*pa - kRamBase), 4);
    if ((raw & 3) != 3) raw &= 0xffff;
    const DecodedInsn d = decode(raw);
    return fmt::format("{:0{}x}  {}", d.raw, d.len == 2 ? 4 : 8, riscv::disassemble(d, pc));
  }

 private:
  GuestMemory memory_;
  Bus bus_{"diff"};
  GuestClock clock_{10'000'000};
  NullHost host_;
  MemDevice device_;
  std::unique_ptr<HartShared> shared_;
  std::unique_ptr<Hart> hart_;
  uint8_t* ram_ = nullptr;
};

// ---- Comparison ----

constexpr uint16_t kComparedCsrs[] = {csr::kMstatus,  csr::kMie,    csr::kMip,      csr::kMscratch,
                                      csr::kMepc,     csr::kMcause, csr::kMtval,    csr::kSepc,
                                      csr::kScause,   csr::kStval,  csr::kSscratch, csr::kSatp,
                                      csr::kMinstret, csr::kMcycle, csr::kFcsr};

std::string compare(Machine& a, Machine& b) {
  std::string diff;
  Hart& j = a.hart();
  Hart& i = b.hart();
  auto note = [&](std::string_view what, uint64_t x, uint64_t y) {
    if (x != y) diff += fmt::format("  {}: jit {:#x} interp {:#x}\n", what, x, y);
  };
  note("instret", j.instret(), i.instret());
  note("pc", j.pc, i.pc);
  note("priv", static_cast<uint64_t>(j.priv), static_cast<uint64_t>(i.priv));
  for (unsigned r = 0; r < 32; ++r) note(fmt::format("x{}", r), j.x[r], i.x[r]);
  for (unsigned r = 0; r < 32; ++r) note(fmt::format("f{}", r), j.f[r], i.f[r]);
  note("fflags", j.fflags, i.fflags);
  note("frm", j.frm, i.frm);
  note("reservation", j.reservation_valid ? j.reservation_addr : ~0ull,
       i.reservation_valid ? i.reservation_addr : ~0ull);
  for (uint16_t n : kComparedCsrs) note(fmt::format("csr {:#x}", n), a.csr(n), b.csr(n));
  if (std::memcmp(a.ram(), b.ram(), kRamSize) != 0) {
    for (uint64_t k = 0; k < kRamSize; ++k) {
      if (a.ram()[k] != b.ram()[k]) {
        diff += fmt::format("  RAM differs first at {:#x}: jit {:#04x} interp {:#04x}\n",
                            kRamBase + k, a.ram()[k], b.ram()[k]);
        break;
      }
    }
  }
  note("device accesses", a.device().accesses, b.device().accesses);
  note("device access hash", a.device().hash, b.device().hash);
  if (std::memcmp(a.device().bytes, b.device().bytes, 4096) != 0)
    diff += "  device memory differs\n";
  return diff;
}

// The program around the (virtual) pc, from the generator's listing.
std::string listing_around(const Program& p, uint64_t pc) {
  uint64_t pa = pc;
  if (pc >= kAlias4K && pc < kAlias4K + (kCodeEnd - kCodeBase)) pa = pc - kAlias4K + kCodeBase;
  if (pc >= kAlias2M && pc < kAlias2M + (2u << 20)) pa = pc - kAlias2M + kRamBase;
  size_t at = 0;
  while (at < p.listing.size() && p.listing[at].addr < pa) ++at;
  if (at == p.listing.size() || p.listing[at].addr != pa) {
    if (pa >= kMHandler && pa < kMHandler + 0x2000) return "  (in a trap handler)\n";
    return fmt::format("  ({:#x} is not in the listing)\n", pa);
  }
  std::string out;
  const size_t lo = at >= 8 ? at - 8 : 0, hi = std::min(p.listing.size(), at + 6);
  for (size_t k = lo; k < hi; ++k) {
    const Line& l = p.listing[k];
    const DecodedInsn d = decode(l.raw);
    out +=
        fmt::format("  {} {:x}: {:>8}  {:<32} fn {} item {}: {}\n", k == at ? "=>" : "  ", l.addr,
                    l.len == 2 ? fmt::format("{:04x}", l.raw) : fmt::format("{:08x}", l.raw),
                    riscv::disassemble(d, l.addr), l.fn, l.item, p.notes[k]);
  }
  return out;
}

std::string dump(const Program& p) {
  std::string out;
  for (size_t k = 0; k < p.listing.size(); ++k) {
    const Line& l = p.listing[k];
    out += fmt::format("{:x}: {:>8}  {:<32} fn {} item {}: {}\n", l.addr,
                       l.len == 2 ? fmt::format("{:04x}", l.raw) : fmt::format("{:08x}", l.raw),
                       riscv::disassemble(decode(l.raw), l.addr), l.fn, l.item, p.notes[k]);
  }
  return out;
}

// ---- Driver ----

// What runs now, for the watchdog: a JIT bug can also hang the host (a block
// that never returns), which must fail the test with a useful message.
std::atomic<uint64_t> g_seed{0}, g_program{0}, g_slice{0}, g_progress{0};

void start_watchdog() {
  std::thread([] {
    uint64_t seen = ~0ull;
    int still = 0;
    for (;;) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      const uint64_t now = g_progress.load();
      still = now == seen ? still + 1 : 0;
      seen = now;
      if (still >= 60) {
        std::printf("diff_jit: HANG: seed %llu program %llu slice %llu made no progress for 60 s\n",
                    static_cast<unsigned long long>(g_seed.load()),
                    static_cast<unsigned long long>(g_program.load()),
                    static_cast<unsigned long long>(g_slice.load()));
        std::fflush(stdout);
        std::_Exit(3);
      }
    }
  }).detach();
}

struct Options {
  uint64_t seed = 1;
  uint64_t count = 200;
  int64_t only = -1;
  uint64_t insns = 300000;  // per program
  bool verbose = false;
  bool dump = false;
};

struct Stats {
  uint64_t insns = 0, slices = 0, blocks = 0, traps = 0, interrupts = 0;
};

uint64_t slice_size(Random& rnd) {
  switch (rnd.below(10)) {
    case 0:
      return 1 + rnd.below(20);
    case 1:
      return 4096 * (1 + rnd.below(2)) + rnd.below(3) - 1;  // around the chunk size
    default:
      return 1 + rnd.below(5000);
  }
}

// Replays program `index` on fresh machines: slices[0..k) then `last`
// instructions; true when the states differ afterwards.
bool differs_after(const Program& p, const std::vector<uint64_t>& slices, size_t k, uint64_t last) {
  Machine jit(true), ref(false);
  jit.load(p);
  ref.load(p);
  for (size_t s = 0; s < k; ++s) {
    jit.hart().run_for(slices[s]);
    ref.hart().run_for(slices[s]);
    ++g_progress;
  }
  const uint64_t a = jit.hart().run_for(last), b = ref.hart().run_for(last);
  return a != b || !compare(jit, ref).empty();
}

bool run_one(const Options& opt, uint64_t index, Stats& stats) {
  const Program p = make_program(opt.seed, index);
  if (opt.dump) std::printf("%s", dump(p).c_str());
  Random rnd(opt.seed ^ (index * 0xbf58476d1ce4e5b9ull) ^ 0x5eed);
  Machine jit(true), ref(false);
  jit.load(p);
  ref.load(p);
  std::vector<uint64_t> slices;
  uint64_t total = 0;
  while (total < opt.insns) {
    const uint64_t n = slice_size(rnd);
    slices.push_back(n);
    g_program = index;
    g_slice = slices.size() - 1;
    ++g_progress;
    const uint64_t a = jit.hart().run_for(n);
    const uint64_t b = ref.hart().run_for(n);
    ++stats.slices;
    std::string diff = compare(jit, ref);
    if (a != b) diff = fmt::format("  run_for({}) returned: jit {} interp {}\n", n, a, b) + diff;
    if (!diff.empty()) {
      std::printf(
          "diff_jit: MISMATCH seed %llu program %llu (%s) slice %zu: run_for(%llu) after %llu "
          "instructions\n  reproduce: diff_jit --seed %llu --only %llu\n%s",
          static_cast<unsigned long long>(opt.seed), static_cast<unsigned long long>(index),
          p.sv39 ? "S-mode, Sv39" : "M-mode, bare", slices.size() - 1,
          static_cast<unsigned long long>(n), static_cast<unsigned long long>(total),
          static_cast<unsigned long long>(opt.seed), static_cast<unsigned long long>(index),
          diff.c_str());
      std::printf("  jit    pc %#llx: %s\n  interp pc %#llx: %s\n",
                  static_cast<unsigned long long>(jit.hart().pc),
                  jit.disassemble_at(jit.hart().pc).c_str(),
                  static_cast<unsigned long long>(ref.hart().pc),
                  ref.disassemble_at(ref.hart().pc).c_str());
      std::printf("  program around the interpreter's pc:\n%s",
                  listing_around(p, ref.hart().pc).c_str());
      // Narrow down: the shortest last slice that still diverges.
      uint64_t lo = 0, hi = n;  // differs after hi, not (known) after lo
      if (differs_after(p, slices, slices.size() - 1, n)) {
        while (hi - lo > 1) {
          const uint64_t mid = lo + (hi - lo) / 2;
          if (differs_after(p, slices, slices.size() - 1, mid)) {
            hi = mid;
          } else {
            lo = mid;
          }
        }
        Machine j2(true), r2(false);
        j2.load(p);
        r2.load(p);
        for (size_t s = 0; s + 1 < slices.size(); ++s) {
          j2.hart().run_for(slices[s]);
          r2.hart().run_for(slices[s]);
        }
        j2.hart().run_for(hi);
        r2.hart().run_for(hi);
        std::printf(
            "  narrowed: the same start with run_for(%llu) instead diverges (run_for(%llu) "
            "does not):\n%s  program around the interpreter's pc:\n%s",
            static_cast<unsigned long long>(hi), static_cast<unsigned long long>(lo),
            compare(j2, r2).c_str(), listing_around(p, r2.hart().pc).c_str());
      } else {
        std::printf("  (not reproduced on a replay)\n");
      }
      return false;
    }
    total += n;
    if (opt.verbose && std::getenv("DIFF_JIT_PCS")) {
      std::printf("  slice %zu: pc %#llx\n", slices.size() - 1,
                  static_cast<unsigned long long>(ref.hart().pc));
    }
    if (a == 0) break;  // the hart stopped (nothing in these programs does that)
  }
  stats.insns += total;
  stats.blocks += jit.hart().jit_blocks_translated();
  uint64_t log[12];
  std::memcpy(log, ref.ram() + (kTrapLog - kRamBase), sizeof log);
  stats.traps += log[2] + log[10];  // the M and S handlers' counts
  stats.interrupts += log[3];
  if (opt.verbose) {
    std::printf("program %llu (%s): %zu functions, %llu insns, %llu blocks, %llu traps\n",
                static_cast<unsigned long long>(index), p.sv39 ? "sv39" : "bare", p.fns.size(),
                static_cast<unsigned long long>(total),
                static_cast<unsigned long long>(jit.hart().jit_blocks_translated()),
                static_cast<unsigned long long>(log[2] + log[10]));
    std::printf("  ended at pc %#llx (mcause %#llx scause %#llx wfi %d):\n%s",
                static_cast<unsigned long long>(ref.hart().pc),
                static_cast<unsigned long long>(ref.csr(csr::kMcause)),
                static_cast<unsigned long long>(ref.csr(csr::kScause)),
                ref.hart().waiting_for_interrupt(), listing_around(p, ref.hart().pc).c_str());
  }
  return true;
}

bool parse(int argc, char** argv, Options& opt) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](uint64_t& out) {
      if (i + 1 >= argc) return false;
      out = std::strtoull(argv[++i], nullptr, 0);
      return true;
    };
    uint64_t v = 0;
    if (a == "--seed" && value(v)) {
      opt.seed = v;
    } else if (a == "--count" && value(v)) {
      opt.count = v;
    } else if (a == "--only" && value(v)) {
      opt.only = static_cast<int64_t>(v);
    } else if (a == "--insns" && value(v)) {
      opt.insns = v;
    } else if (a == "--verbose") {
      opt.verbose = true;
    } else if (a == "--dump") {
      opt.dump = true;
    } else {
      std::fprintf(
          stderr,
          "usage: diff_jit [--seed N] [--count N] [--only I] [--insns N] [--verbose] [--dump]\n");
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!parse(argc, argv, opt)) return 2;
  Stats stats;
  uint64_t failures = 0, runs = 0;
  g_seed = opt.seed;
  start_watchdog();
  const uint64_t first = opt.only >= 0 ? static_cast<uint64_t>(opt.only) : 0;
  const uint64_t last = opt.only >= 0 ? first + 1 : opt.count;
  for (uint64_t i = first; i < last; ++i) {
    ++runs;
    if (!run_one(opt, i, stats) && ++failures >= 5) {
      std::printf("diff_jit: stopping after %llu mismatches\n",
                  static_cast<unsigned long long>(failures));
      break;
    }
  }
  std::printf(
      "diff_jit: seed %llu, %llu programs, %llu instructions in %llu slices, %llu blocks "
      "translated, %llu traps, %llu interrupts, %llu mismatches\n",
      static_cast<unsigned long long>(opt.seed), static_cast<unsigned long long>(runs),
      static_cast<unsigned long long>(stats.insns), static_cast<unsigned long long>(stats.slices),
      static_cast<unsigned long long>(stats.blocks), static_cast<unsigned long long>(stats.traps),
      static_cast<unsigned long long>(stats.interrupts), static_cast<unsigned long long>(failures));
  if (failures == 0 && stats.blocks == 0) {
    std::printf("diff_jit: FAIL: the JIT translated no block (the test would be vacuous)\n");
    return 1;
  }
  return failures == 0 ? 0 : 1;
}
