// Differential test of the RISC-V interpreter against Unicorn (QEMU's TCG):
// random user-level instruction sequences (RV64 I, M, A, F, D, C) run from
// the same random registers, fcsr and scratch memory in a Vireo Hart and in
// Unicorn, one instruction at a time; x, f, fflags, frm and pc are compared
// after every instruction and the scratch memory after every sequence.
//
//   diff_riscv [--seed N] [--count N] [--only I] [--verbose]
//
// Sequence I of seed N is reproducible on its own with --only I.
//
// What the generator guarantees, so that both sides must agree:
//  - memory accesses use a base register that generated code never writes
//    (sp, s0, s1), each pointing at the middle of its own 4 KiB window of
//    the scratch buffer, so every 12-bit offset stays inside it; AMOs and
//    LR/SC are naturally aligned; LR/SC of one size always use one base;
//  - branches and jal only jump forward to an instruction boundary inside
//    the sequence or to its end; no jalr, system, CSR or Zb* instruction
//    (Unicorn 2.0.1 carries QEMU 5.0, which has no Zba/Zbb/Zbs);
//  - QEMU 5.0 neither checks nor produces NaN-boxing for single-precision
//    values, so f0-f15 only ever hold doubles and f16-f31 only boxed singles
//    (each FP operand is drawn from its format's half), and singles are
//    compared on their low 32 bits (Vireo's upper half must be all ones);
//  - where QEMU 5.0 is known to differ from the spec, Unicorn's result is
//    corrected to the spec before comparing (see correct_unicorn): fmin/fmax
//    with a signaling NaN and NV for inf*0 plus a quiet NaN in fused
//    multiply-add (F/D 2.2 postdates QEMU 5.0), and amomin/amomax .w, which
//    single-threaded QEMU 5.0 compares against all 64 bits of rs2.
#include <unicorn/unicorn.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
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

constexpr uint64_t kRamBase = 0x80000000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kCode = kRamBase;
constexpr uint64_t kTrapVector = kRamBase + 0x8000;  // a Vireo trap shows as a jump here
constexpr uint64_t kScratch = kRamBase + 0x10000;
constexpr uint64_t kScratchSize = 0x4000;
constexpr uint64_t kUnicornMapSize = 0x20000;  // code and scratch
constexpr unsigned kMaxLen = 32;

// Memory base registers and where they point.
constexpr unsigned kSp = 2, kS0 = 8, kS1 = 9;
uint64_t base_value(unsigned reg) {
  return kScratch + (reg == kSp ? 0x800 : reg == kS0 ? 0x1800 : 0x2800);
}
bool is_base(unsigned reg) { return reg == kSp || reg == kS0 || reg == kS1; }

// ---- Operand classes ----

enum class Cls : uint8_t { kInt, kS, kD };

bool in_class(Cls c, unsigned freg) { return c == Cls::kD ? freg < 16 : freg >= 16; }

Cls cls_of(std::string_view part) {
  if (part == "s") return Cls::kS;
  if (part == "d") return Cls::kD;
  return Cls::kInt;
}

// Formats of the FP destination and sources of an FP instruction.
void fp_classes(std::string_view name, Cls& dst, Cls& src) {
  dst = src = Cls::kInt;
  if (name.starts_with("fcvt.")) {
    const std::string_view rest = name.substr(5);
    const size_t dot = rest.find('.');
    dst = cls_of(rest.substr(0, dot));
    src = cls_of(rest.substr(dot + 1));
    return;
  }
  if (name == "fmv.x.w") return void(src = Cls::kS);
  if (name == "fmv.w.x") return void(dst = Cls::kS);
  if (name == "fmv.x.d") return void(src = Cls::kD);
  if (name == "fmv.d.x") return void(dst = Cls::kD);
  if (name == "flw" || name == "fsw") return void(dst = src = Cls::kS);
  if (name == "fld" || name == "fsd") return void(dst = src = Cls::kD);
  if (name.ends_with(".s")) dst = src = Cls::kS;
  if (name.ends_with(".d")) dst = src = Cls::kD;
}

// What the operand list of a table row names.

// ---- Instruction rows the generator may use ----

struct Row {
  const OpcodeDef* def;
  Operands ops;
  Cls dst, src;
};

bool excluded(std::string_view name) {
  static constexpr std::string_view kNames[] = {"jalr", "ecall", "ebreak",    "sret",
                                                "mret", "wfi",   "sfence.vma"};
  for (auto n : kNames)
    if (name == n) return true;
  if (name.starts_with("csrr")) return true;
  for (const OpcodeDef& zb : opcodes_zb())
    if (name == zb.name) return true;
  return false;
}

struct Tables {
  std::vector<Row> plain;     // everything but control transfer
  std::vector<Row> branches;  // beq .. bgeu
  const OpcodeDef* jal = nullptr;
  Tables() {
    for (const OpcodeDef& def : all_opcodes()) {
      const std::string_view name = def.name;
      if (excluded(name)) continue;
      Row r{&def, operands_of(def), Cls::kInt, Cls::kInt};
      fp_classes(name, r.dst, r.src);
      if (name == "jal") {
        jal = &def;
      } else if (def.format == Format::kB) {
        branches.push_back(r);
      } else {
        plain.push_back(r);
      }
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

const Row* row_for(uint16_t op) {
  if (op == kInvalidOp) return nullptr;
  const OpcodeDef* def = &all_opcodes()[op];
  for (const Row& r : tables().plain)
    if (r.def == def) return &r;
  return nullptr;
}

// ---- Random values ----

class Random {
 public:
  explicit Random(uint64_t seed) : rng_(seed) {}
  uint64_t u64() { return rng_(); }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  bool chance(unsigned percent) { return below(100) < percent; }

  uint64_t int_value() {
    // Small values and shift amounts; 64-bit edges; 32-bit edges.
    static constexpr uint64_t kSpecial[] = {
        0,           1,          2,          0xffffffffffffffff, 31,
        32,          63,         64,         0x7fffffffffffffff, 0x8000000000000000,
        0x100000000, 0x7fffffff, 0x80000000, 0xffffffff,         0xffffffff80000000};
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
        0x0000000000000000, 0x8000000000000000, 0x3ff0000000000000, 0xbff0000000000000,
        0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000, 0x7ff4000000000000,
        0x7ff0000000000001, 0x0000000000000001, 0x000fffffffffffff, 0x0010000000000000,
        0x7fefffffffffffff, 0x43e0000000000000, 0xc3e0000000000000, 0x41e0000000000000,
        0x4000000000000000, 0x3fe0000000000000, 0x4008000000000000, 0x3ff0000000000001};
    switch (below(4)) {
      case 0:
        return kSpecial[below(std::size(kSpecial))];
      case 1: {
        const double d = static_cast<double>(static_cast<int64_t>(below(2001)) - 1000) / 8.0;
        uint64_t bits;
        std::memcpy(&bits, &d, 8);
        return bits;
      }
      default: {  // a random sign and mantissa with a moderate exponent
        const uint64_t exp = 1023 - 40 + below(80);
        return (u64() & 0x800fffffffffffff) | exp << 52;
      }
    }
  }
  uint32_t single_value() {
    static constexpr uint32_t kSpecial[] = {
        0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000,
        0x7fa00000, 0x7f800001, 0x00000001, 0x007fffff, 0x00800000, 0x7f7fffff, 0x4f000000,
        0xcf000000, 0x5f000000, 0x40000000, 0x3f000000, 0x40400000, 0x3f800001};
    switch (below(4)) {
      case 0:
        return kSpecial[below(std::size(kSpecial))];
      case 1: {
        const float f = static_cast<float>(static_cast<int32_t>(below(2001)) - 1000) / 8.0f;
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        return bits;
      }
      default: {
        const uint32_t exp = 127 - 20 + below(40);
        return (static_cast<uint32_t>(u64()) & 0x807fffff) | exp << 23;
      }
    }
  }
  unsigned int_dest() {
    for (;;) {
      const unsigned r = below(32);
      if (!is_base(r)) return r;
    }
  }
  unsigned freg(Cls c) { return (c == Cls::kD ? 0 : 16) + below(16); }
  unsigned rm() {
    static constexpr unsigned kModes[] = {0, 1, 2, 3, 4, 7};
    return kModes[below(std::size(kModes))];
  }

 private:
  std::mt19937_64 rng_;
};

// ---- Sequences ----

enum class Kind : uint8_t { kPlain, kBranch, kJal, kCBranch, kCJump };

struct Insn {
  uint32_t raw;
  uint8_t len;
  Kind kind;
};

uint32_t with_b_offset(uint32_t raw, int32_t off) {
  const uint32_t u = static_cast<uint32_t>(off);
  raw &= 0x01fff07f;
  return raw | ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 | ((u >> 1) & 0xf) << 8 |
         ((u >> 11) & 1) << 7;
}
uint32_t with_j_offset(uint32_t raw, int32_t off) {
  const uint32_t u = static_cast<uint32_t>(off);
  raw &= 0x00000fff;
  return raw | ((u >> 20) & 1) << 31 | ((u >> 1) & 0x3ff) << 21 | ((u >> 11) & 1) << 20 |
         ((u >> 12) & 0xff) << 12;
}
uint32_t with_cb_offset(uint32_t raw, int32_t off) {
  const uint32_t u = static_cast<uint32_t>(off);
  raw &= 0xe383;
  return raw | ((u >> 8) & 1) << 12 | ((u >> 3) & 3) << 10 | ((u >> 6) & 3) << 5 |
         ((u >> 1) & 3) << 3 | ((u >> 5) & 1) << 2;
}
uint32_t with_cj_offset(uint32_t raw, int32_t off) {
  const uint32_t u = static_cast<uint32_t>(off);
  raw &= 0xe003;
  return raw | ((u >> 11) & 1) << 12 | ((u >> 4) & 1) << 11 | ((u >> 8) & 3) << 9 |
         ((u >> 10) & 1) << 8 | ((u >> 6) & 1) << 7 | ((u >> 7) & 1) << 6 | ((u >> 1) & 7) << 3 |
         ((u >> 5) & 1) << 2;
}

// Checks the generator's rules on a decoded instruction (used for compressed
// encodings, which are drawn at random and filtered).
bool acceptable(const DecodedInsn& d) {
  const Row* r = row_for(d.op);
  if (r == nullptr) return false;
  const std::string_view name = r->def->name;
  if (r->ops.rd && d.rd != 32 && is_base(d.rd)) return false;
  if (r->ops.frd && !in_class(r->dst, d.rd)) return false;
  if (r->ops.frs1 && !in_class(r->src, d.rs1)) return false;
  if (r->ops.frs2 && !in_class(r->src, d.rs2)) return false;
  if (r->ops.mem && !is_base(d.rs1)) return false;
  if (name.starts_with("lr.") || name.starts_with("sc.")) return false;  // never compressed
  return true;
}

uint32_t random_plain(Random& rnd) {
  const auto& rows = tables().plain;
  const Row& r = rows[rnd.below(rows.size())];
  uint32_t raw = r.def->match | (static_cast<uint32_t>(rnd.u64()) & ~r.def->mask);
  const std::string_view name = r.def->name;
  if (r.ops.rd) raw = set_field(raw, 7, 5, rnd.int_dest());
  if (r.ops.frd) raw = set_field(raw, 7, 5, rnd.freg(r.dst));
  if (r.ops.frs1) raw = set_field(raw, 15, 5, rnd.freg(r.src));
  if (r.ops.frs2) raw = set_field(raw, 20, 5, rnd.freg(r.src));
  if (r.ops.frs3) raw = set_field(raw, 27, 5, rnd.freg(r.src));
  if (r.ops.rm) raw = set_field(raw, 12, 3, rnd.rm());
  if (r.ops.mem) {
    static constexpr unsigned kBases[] = {kSp, kS0, kS1};
    unsigned base = kBases[rnd.below(3)];
    // One size per base for LR/SC: an SC never meets a reservation of the
    // other size (implementation-defined).
    if (name.starts_with("lr.") || name.starts_with("sc.")) base = name.ends_with(".w") ? kS0 : kS1;
    raw = set_field(raw, 15, 5, base);
  }
  return raw;
}

uint32_t random_compressed(Random& rnd) {
  for (;;) {
    uint32_t c = static_cast<uint32_t>(rnd.u64()) & 0xffff;
    if ((c & 3) == 3) continue;
    // Bias memory forms towards the base registers: rs1' = s0/s1 (x8/x9).
    const uint32_t quadrant = c & 3, funct3 = c >> 13;
    if (quadrant == 0 && funct3 != 0 && rnd.chance(80)) c = set_field(c, 7, 3, rnd.below(2));
    const DecodedInsn d = decode(c);
    if (d.op == kInvalidOp) continue;
    const std::string_view name = all_opcodes()[d.op].name;
    if (name == "jal" || name == "beq" || name == "bne") continue;  // made separately
    if (acceptable(d)) return c;
  }
}

std::vector<Insn> generate(Random& rnd) {
  const unsigned n = 1 + rnd.below(kMaxLen);
  std::vector<Insn> seq;
  seq.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    const unsigned pick = rnd.below(100);
    if (pick < 8) {
      const auto& br = tables().branches;
      uint32_t raw = br[rnd.below(br.size())].def->match;
      raw = set_field(raw, 15, 5, rnd.below(32));
      raw = set_field(raw, 20, 5, rnd.below(32));
      seq.push_back({raw, 4, Kind::kBranch});
    } else if (pick < 10) {
      seq.push_back({set_field(tables().jal->match, 7, 5, rnd.int_dest()), 4, Kind::kJal});
    } else if (pick < 14) {
      // c.beqz / c.bnez rs1' (any of x8..x15), or c.j
      const unsigned which = rnd.below(3);
      if (which == 2) {
        seq.push_back({0xa001, 2, Kind::kCJump});
      } else {
        const uint32_t raw = (which == 0 ? 0xc001u : 0xe001u) | rnd.below(8) << 7;
        seq.push_back({raw, 2, Kind::kCBranch});
      }
    } else if (pick < 40) {
      seq.push_back({random_compressed(rnd), 2, Kind::kPlain});
    } else {
      seq.push_back({random_plain(rnd), 4, Kind::kPlain});
    }
  }
  // Forward targets: any later instruction boundary or the end.
  std::vector<uint32_t> addr(n + 1, 0);
  for (unsigned i = 0; i < n; ++i) addr[i + 1] = addr[i] + seq[i].len;
  for (unsigned i = 0; i < n; ++i) {
    Insn& in = seq[i];
    if (in.kind == Kind::kPlain) continue;
    unsigned t = i + 1 + rnd.below(n - i);
    const int32_t limit = in.kind == Kind::kCBranch ? 254 : 2046;
    while (static_cast<int32_t>(addr[t] - addr[i]) > limit) --t;
    const int32_t off = static_cast<int32_t>(addr[t] - addr[i]);
    switch (in.kind) {
      case Kind::kBranch:
        in.raw = with_b_offset(in.raw, off);
        break;
      case Kind::kJal:
        in.raw = with_j_offset(in.raw, off);
        break;
      case Kind::kCBranch:
        in.raw = with_cb_offset(in.raw, off);
        break;
      case Kind::kCJump:
        in.raw = with_cj_offset(in.raw, off);
        break;
      case Kind::kPlain:
        break;
    }
  }
  return seq;
}

std::vector<uint8_t> encode(const std::vector<Insn>& seq) {
  std::vector<uint8_t> bytes;
  for (const Insn& in : seq) {
    for (unsigned b = 0; b < in.len; ++b) bytes.push_back(static_cast<uint8_t>(in.raw >> (8 * b)));
  }
  return bytes;
}

// ---- Architectural state, as both sides see it ----

struct State {
  uint64_t x[32];
  uint64_t f[32];
  uint64_t pc;
  uint32_t fflags, frm;
};

// ---- The two engines ----

class VireoSide {
 public:
  VireoSide() {
    if (!memory_.add_ram(GuestAddr(kRamBase), kRamSize)) std::abort();
    ram_ = *memory_.host_range(GuestAddr(kRamBase), kRamSize);
    shared_ = std::make_unique<HartShared>(memory_);
    hart_ = std::make_unique<Hart>(HartConfig{}, memory_, bus_, clock_, host_, *shared_);
    host_.h = hart_.get();
  }
  void load(const std::vector<uint8_t>& code, const std::vector<uint8_t>& scratch, const State& s) {
    std::memset(ram_, 0, kScratch - kRamBase);
    std::memcpy(ram_, code.data(), code.size());
    std::memcpy(ram_ + (kScratch - kRamBase), scratch.data(), scratch.size());
    Hart& h = *hart_;
    h.reset(s.pc, Priv::kMachine, 0, 0, 0);  // also drops cached decodes and the reservation
    h.csr_write(csr::kMstatus, csr::mstatus::kFSDirty);
    h.csr_write(csr::kMtvec, kTrapVector);
    for (unsigned i = 1; i < 32; ++i) h.x[i] = s.x[i];
    for (unsigned i = 0; i < 32; ++i) h.f[i] = s.f[i];
    h.fflags = s.fflags;
    h.frm = s.frm;
  }
  void step() { hart_->run_for(1); }
  void read(State& s) const {
    const Hart& h = *hart_;
    for (unsigned i = 0; i < 32; ++i) s.x[i] = h.x[i], s.f[i] = h.f[i];
    s.pc = h.pc;
    s.fflags = h.fflags;
    s.frm = h.frm;
  }
  const uint8_t* scratch() const { return ram_ + (kScratch - kRamBase); }

 private:
  GuestMemory memory_;
  Bus bus_{"diff"};
  GuestClock clock_{10'000'000};
  NullHost host_;
  std::unique_ptr<HartShared> shared_;
  std::unique_ptr<Hart> hart_;
  uint8_t* ram_ = nullptr;
};

class UnicornSide {
 public:
  UnicornSide() {
    if (uc_open(UC_ARCH_RISCV, UC_MODE_RISCV64, &uc_) != UC_ERR_OK) {
      std::fprintf(stderr, "diff_riscv: uc_open failed\n");
      std::exit(2);
    }
    uc_mem_map(uc_, kRamBase, kUnicornMapSize, UC_PROT_ALL);
    uint64_t mstatus = 0;
    uc_reg_read(uc_, UC_RISCV_REG_MSTATUS, &mstatus);
    mstatus |= csr::mstatus::kFSDirty;
    uc_reg_write(uc_, UC_RISCV_REG_MSTATUS, &mstatus);
  }
  ~UnicornSide() { uc_close(uc_); }

  void load(const std::vector<uint8_t>& code, const std::vector<uint8_t>& scratch, const State& s) {
    // Drop any LR reservation left by the previous sequence: an SC always
    // clears it (x0 <- result; the store, if it happens, is overwritten).
    const uint32_t sc_d = 0x1804b02f;  // sc.d x0, x0, (s1)
    uint64_t s1 = base_value(kS1);
    uc_reg_write(uc_, UC_RISCV_REG_X9, &s1);
    uc_mem_write(uc_, kTrapVector, &sc_d, 4);
    uc_ctl_remove_cache(uc_, kTrapVector, kTrapVector + 4);
    uc_emu_start(uc_, kTrapVector, kTrapVector + 4, 0, 1);

    std::vector<uint8_t> code_area(kMaxLen * 4 + 16, 0);
    std::memcpy(code_area.data(), code.data(), code.size());
    uc_mem_write(uc_, kCode, code_area.data(), code_area.size());
    uc_ctl_remove_cache(uc_, kCode, kCode + code_area.size());
    uc_mem_write(uc_, kScratch, scratch.data(), scratch.size());
    for (unsigned i = 1; i < 32; ++i) uc_reg_write(uc_, UC_RISCV_REG_X0 + i, &s.x[i]);
    for (unsigned i = 0; i < 32; ++i) uc_reg_write(uc_, UC_RISCV_REG_F0 + i, &s.f[i]);
    uint64_t fcsr = s.frm << 5 | s.fflags;
    uc_reg_write(uc_, UC_RISCV_REG_FCSR, &fcsr);
    uc_reg_write(uc_, UC_RISCV_REG_PC, &s.pc);
  }
  uc_err step(uint64_t pc, uint64_t end) { return uc_emu_start(uc_, pc, end, 0, 1); }
  void read(State& s) {
    s.x[0] = 0;
    for (unsigned i = 1; i < 32; ++i) uc_reg_read(uc_, UC_RISCV_REG_X0 + i, &s.x[i]);
    for (unsigned i = 0; i < 32; ++i) uc_reg_read(uc_, UC_RISCV_REG_F0 + i, &s.f[i]);
    uc_reg_read(uc_, UC_RISCV_REG_PC, &s.pc);
    uint64_t v = 0;
    uc_reg_read(uc_, UC_RISCV_REG_FFLAGS, &v);
    s.fflags = static_cast<uint32_t>(v & 31);
    uc_reg_read(uc_, UC_RISCV_REG_FRM, &v);
    s.frm = static_cast<uint32_t>(v & 7);
  }
  void write_f(unsigned reg, uint64_t value) { uc_reg_write(uc_, UC_RISCV_REG_F0 + reg, &value); }
  uint32_t read_word(uint64_t addr) {
    uint32_t v = 0;
    uc_mem_read(uc_, addr, &v, 4);
    return v;
  }
  void write_word(uint64_t addr, uint32_t v) { uc_mem_write(uc_, addr, &v, 4); }
  void write_fflags(uint32_t flags) {
    uint64_t v = flags;
    uc_reg_write(uc_, UC_RISCV_REG_FFLAGS, &v);
  }
  std::vector<uint8_t> scratch() {
    std::vector<uint8_t> out(kScratchSize);
    uc_mem_read(uc_, kScratch, out.data(), out.size());
    return out;
  }

 private:
  uc_engine* uc_ = nullptr;
};

// ---- QEMU 5.0 versus the F/D 2.2 spec ----

bool is_nan(Cls c, uint64_t v) {
  return c == Cls::kS ? (v & 0x7fffffff) > 0x7f800000 : (v & ~(1ull << 63)) > 0x7ff0000000000000;
}
bool is_snan(Cls c, uint64_t v) {
  return is_nan(c, v) && !(c == Cls::kS ? (v >> 22) & 1 : (v >> 51) & 1);
}
bool is_inf(Cls c, uint64_t v) {
  return c == Cls::kS ? (v & 0x7fffffff) == 0x7f800000 : (v & ~(1ull << 63)) == 0x7ff0000000000000;
}
bool is_zero(Cls c, uint64_t v) {
  return c == Cls::kS ? (v & 0x7fffffff) == 0 : (v & ~(1ull << 63)) == 0;
}

// amomin/amomax/amominu/amomaxu .w: the 32-bit result the spec defines.
bool amo_minmax_w(std::string_view name, uint32_t mem, uint32_t src, uint32_t& out) {
  const auto s = [](uint32_t v) { return static_cast<int32_t>(v); };
  if (name.starts_with("amomin.w")) return out = s(mem) < s(src) ? mem : src, true;
  if (name.starts_with("amomax.w")) return out = s(mem) > s(src) ? mem : src, true;
  if (name.starts_with("amominu.w")) return out = mem < src ? mem : src, true;
  if (name.starts_with("amomaxu.w")) return out = mem > src ? mem : src, true;
  return false;
}

// Called with the state before the instruction `d` (and the memory word its
// AMO reads, `amo_word`) and Unicorn's state after it; rewrites Unicorn's
// answer where QEMU 5.0 is known to differ from the spec.
void correct_unicorn(const DecodedInsn& d, const State& before, uint32_t amo_word, State& after,
                     UnicornSide& uc) {
  const Row* r = row_for(d.op);
  if (r == nullptr) return;
  const std::string_view name = r->def->name;
  const Cls c = r->src;
  if (uint32_t want; amo_minmax_w(name, amo_word, static_cast<uint32_t>(before.x[d.rs2]), want)) {
    uc.write_word(before.x[d.rs1], want);
  }
  if (name.starts_with("fmin.") || name.starts_with("fmax.")) {
    const uint64_t a = before.f[d.rs1], b = before.f[d.rs2];
    uint64_t want = after.f[d.rd];
    if (is_snan(c, a) && !is_nan(c, b)) want = b;
    if (is_snan(c, b) && !is_nan(c, a)) want = a;
    if (want != after.f[d.rd]) uc.write_f(d.rd, after.f[d.rd] = want);
  }
  if (name.starts_with("fmadd.") || name.starts_with("fmsub.") || name.starts_with("fnmadd.") ||
      name.starts_with("fnmsub.")) {
    const uint64_t a = before.f[d.rs1], b = before.f[d.rs2], addend = before.f[d.rs3];
    const bool inf_times_zero = (is_inf(c, a) && is_zero(c, b)) || (is_zero(c, a) && is_inf(c, b));
    if (inf_times_zero && is_nan(c, addend) && !(after.fflags & fflag::kNV)) {
      uc.write_fflags(after.fflags |= fflag::kNV);
    }
  }
}

// ---- Driver ----

struct Options {
  uint64_t seed = 1;
  uint64_t count = 20000;
  int64_t only = -1;
  bool verbose = false;
};

std::string describe(const std::vector<Insn>& seq, int mark) {
  std::string out;
  uint64_t pc = kCode;
  for (size_t i = 0; i < seq.size(); ++i) {
    const DecodedInsn d = decode(seq[i].raw);
    out += fmt::format(
        "  {} {:x}: {:>8} {}\n", static_cast<int>(i) == mark ? "=>" : "  ", pc,
        seq[i].len == 2 ? fmt::format("{:04x}", seq[i].raw) : fmt::format("{:08x}", seq[i].raw),
        disassemble(d, pc));
    pc += seq[i].len;
  }
  return out;
}

// Compares states; returns a description of the differences (empty if none).
std::string compare(const State& v, const State& u) {
  std::string diff;
  if (v.pc != u.pc) diff += fmt::format("  pc: vireo {:#x} unicorn {:#x}\n", v.pc, u.pc);
  for (unsigned i = 1; i < 32; ++i) {
    if (v.x[i] != u.x[i])
      diff += fmt::format("  x{}: vireo {:#x} unicorn {:#x}\n", i, v.x[i], u.x[i]);
  }
  if (v.x[0] != 0) diff += fmt::format("  x0: vireo {:#x}\n", v.x[0]);
  for (unsigned i = 0; i < 32; ++i) {
    const bool single = i >= 16;
    const bool same = single ? (v.f[i] & 0xffffffff) == (u.f[i] & 0xffffffff) : v.f[i] == u.f[i];
    if (!same) diff += fmt::format("  f{}: vireo {:#x} unicorn {:#x}\n", i, v.f[i], u.f[i]);
    if (single && (v.f[i] >> 32) != 0xffffffff) {
      diff += fmt::format("  f{}: vireo {:#x} is not NaN-boxed\n", i, v.f[i]);
    }
  }
  if (v.fflags != u.fflags) {
    diff += fmt::format("  fflags: vireo {:#x} unicorn {:#x}\n", v.fflags, u.fflags);
  }
  if (v.frm != u.frm) diff += fmt::format("  frm: vireo {} unicorn {}\n", v.frm, u.frm);
  return diff;
}

State random_state(Random& rnd) {
  State s{};
  for (unsigned i = 1; i < 32; ++i) s.x[i] = rnd.int_value();
  for (unsigned r : {kSp, kS0, kS1}) s.x[r] = base_value(r);
  for (unsigned i = 0; i < 16; ++i) s.f[i] = rnd.double_value();
  for (unsigned i = 16; i < 32; ++i) s.f[i] = 0xffffffff00000000ull | rnd.single_value();
  s.pc = kCode;
  s.frm = rnd.below(5);
  s.fflags = rnd.chance(20) ? rnd.below(32) : 0;
  return s;
}

// Runs sequence `index`; returns false (after printing why) on a mismatch.
bool run_one(const Options& opt, uint64_t index, VireoSide& vireo, UnicornSide& uc,
             uint64_t& steps) {
  Random rnd(opt.seed * 0x9e3779b97f4a7c15ull + index);
  const std::vector<Insn> seq = generate(rnd);
  const std::vector<uint8_t> code = encode(seq);
  const uint64_t end = kCode + code.size();
  std::vector<uint8_t> scratch(kScratchSize);
  for (auto& b : scratch) b = static_cast<uint8_t>(rnd.u64());
  const State init = random_state(rnd);
  vireo.load(code, scratch, init);
  uc.load(code, scratch, init);

  auto report = [&](int mark, const std::string& what) {
    std::printf(
        "diff_riscv: MISMATCH seed %llu sequence %llu (reproduce: diff_riscv --seed %llu "
        "--only %llu)\n%s%s",
        static_cast<unsigned long long>(opt.seed), static_cast<unsigned long long>(index),
        static_cast<unsigned long long>(opt.seed), static_cast<unsigned long long>(index),
        describe(seq, mark).c_str(), what.c_str());
    return false;
  };
  auto index_of = [&](uint64_t pc) {
    uint64_t a = kCode;
    for (size_t i = 0; i < seq.size(); ++i) {
      if (a == pc) return static_cast<int>(i);
      a += seq[i].len;
    }
    return -1;
  };

  State before = init, v{}, u{};
  // Forward-only control flow: at most one step per instruction.
  for (size_t n = 0; n <= seq.size() && before.pc != end; ++n) {
    const int at = index_of(before.pc);
    if (at < 0)
      return report(-1, fmt::format("  pc {:#x} is not an instruction boundary\n", before.pc));
    const DecodedInsn d = decode(seq[at].raw);
    const uint32_t amo_word = d.rs1 < 32 && is_base(d.rs1) ? uc.read_word(before.x[d.rs1]) : 0;
    const uc_err err = uc.step(before.pc, end);
    if (err != UC_ERR_OK) {
      return report(at,
                    fmt::format("  unicorn: {} (generator produced an instruction it rejects)\n",
                                uc_strerror(err)));
    }
    vireo.step();  // a trap shows up below as a jump to kTrapVector
    ++steps;
    vireo.read(v);
    uc.read(u);
    correct_unicorn(d, before, amo_word, u, uc);
    if (const std::string diff = compare(v, u); !diff.empty()) return report(at, diff);
    before = v;
  }
  if (before.pc != end) return report(-1, "  did not reach the end of the sequence\n");
  const std::vector<uint8_t> uc_mem = uc.scratch();
  for (size_t i = 0; i < kScratchSize; ++i) {
    if (uc_mem[i] != vireo.scratch()[i]) {
      return report(-1, fmt::format("  memory at {:#x}: vireo {:#04x} unicorn {:#04x}\n",
                                    kScratch + i, vireo.scratch()[i], uc_mem[i]));
    }
  }
  if (opt.verbose)
    std::printf("sequence %llu ok\n%s", static_cast<unsigned long long>(index),
                describe(seq, -1).c_str());
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
    } else if (a == "--verbose") {
      opt.verbose = true;
    } else {
      std::fprintf(stderr, "usage: diff_riscv [--seed N] [--count N] [--only I] [--verbose]\n");
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!parse(argc, argv, opt)) return 2;
  VireoSide vireo;
  UnicornSide uc;
  uint64_t failures = 0, steps = 0, runs = 0;
  const uint64_t first = opt.only >= 0 ? static_cast<uint64_t>(opt.only) : 0;
  const uint64_t last = opt.only >= 0 ? first + 1 : opt.count;
  for (uint64_t i = first; i < last; ++i) {
    ++runs;
    if (!run_one(opt, i, vireo, uc, steps) && ++failures >= 10) {
      std::printf("diff_riscv: stopping after %llu mismatches\n",
                  static_cast<unsigned long long>(failures));
      break;
    }
  }
  std::printf("diff_riscv: seed %llu, %llu sequences, %llu instructions, %llu mismatches\n",
              static_cast<unsigned long long>(opt.seed), static_cast<unsigned long long>(runs),
              static_cast<unsigned long long>(steps), static_cast<unsigned long long>(failures));
  return failures == 0 ? 0 : 1;
}
