// The JIT (HartConfig::jit): targeted cases where translated code must
// behave exactly like the interpreter. Every test runs code hot enough to be
// translated and checks that blocks were translated (otherwise it would test
// the interpreter twice), then checks the result against hand-computed
// values and, where the program allows, against an interpreting hart.
#include <chrono>
#include <cstring>
#include <map>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "hart_fixture.hpp"

namespace vireo::riscv::test {
namespace {

using namespace csr;

// ---- More encodings ----
namespace jenc {
inline uint32_t r_type(unsigned f7, unsigned rs2, unsigned rs1, unsigned f3, unsigned rd,
                       uint32_t op = 0x33) {
  return op | rd << 7 | f3 << 12 | rs1 << 15 | rs2 << 20 | f7 << 25;
}
inline uint32_t add(unsigned rd, unsigned rs1, unsigned rs2) { return r_type(0, rs2, rs1, 0, rd); }
inline uint32_t sub(unsigned rd, unsigned rs1, unsigned rs2) {
  return r_type(0x20, rs2, rs1, 0, rd);
}
inline uint32_t sll(unsigned rd, unsigned rs1, unsigned rs2) { return r_type(0, rs2, rs1, 1, rd); }
inline uint32_t slt(unsigned rd, unsigned rs1, unsigned rs2) { return r_type(0, rs2, rs1, 2, rd); }
inline uint32_t xor_(unsigned rd, unsigned rs1, unsigned rs2) { return r_type(0, rs2, rs1, 4, rd); }
inline uint32_t or_(unsigned rd, unsigned rs1, unsigned rs2) { return r_type(0, rs2, rs1, 6, rd); }
inline uint32_t mul(unsigned rd, unsigned rs1, unsigned rs2) { return r_type(1, rs2, rs1, 0, rd); }
inline uint32_t mulhu(unsigned rd, unsigned rs1, unsigned rs2) {
  return r_type(1, rs2, rs1, 3, rd);
}
inline uint32_t div(unsigned rd, unsigned rs1, unsigned rs2) { return r_type(1, rs2, rs1, 4, rd); }
inline uint32_t sllw(unsigned rd, unsigned rs1, unsigned rs2) {
  return r_type(0, rs2, rs1, 1, rd, 0x3b);
}
inline uint32_t slli(unsigned rd, unsigned rs1, unsigned sh) {
  return enc::i_type(0x13, rd, 1, rs1, static_cast<int32_t>(sh));
}
inline uint32_t srai(unsigned rd, unsigned rs1, unsigned sh) {
  return enc::i_type(0x13, rd, 5, rs1, static_cast<int32_t>(0x400 | sh));
}
inline uint32_t sltiu(unsigned rd, unsigned rs1, int32_t imm) {
  return enc::i_type(0x13, rd, 3, rs1, imm);
}
inline uint32_t ori(unsigned rd, unsigned rs1, int32_t imm) {
  return enc::i_type(0x13, rd, 6, rs1, imm);
}
inline uint32_t andi(unsigned rd, unsigned rs1, int32_t imm) {
  return enc::i_type(0x13, rd, 7, rs1, imm);
}
inline uint32_t addiw(unsigned rd, unsigned rs1, int32_t imm) {
  return enc::i_type(0x1b, rd, 0, rs1, imm);
}
inline uint32_t lui(unsigned rd, uint32_t imm20) {
  return 0x37 | rd << 7 | (imm20 & 0xfffff) << 12;
}
inline uint32_t auipc(unsigned rd, uint32_t imm20) {
  return 0x17 | rd << 7 | (imm20 & 0xfffff) << 12;
}
inline uint32_t load(unsigned f3, unsigned rd, unsigned rs1, int32_t imm) {
  return enc::i_type(0x03, rd, f3, rs1, imm);
}
inline uint32_t lb(unsigned rd, unsigned rs1, int32_t imm) { return load(0, rd, rs1, imm); }
inline uint32_t lw(unsigned rd, unsigned rs1, int32_t imm) { return load(2, rd, rs1, imm); }
inline uint32_t lbu(unsigned rd, unsigned rs1, int32_t imm) { return load(4, rd, rs1, imm); }
inline uint32_t sb(unsigned rs2, unsigned rs1, int32_t imm) {
  return enc::s_type(0x23, 0, rs1, rs2, imm);
}
inline uint32_t sh(unsigned rs2, unsigned rs1, int32_t imm) {
  return enc::s_type(0x23, 1, rs1, rs2, imm);
}
inline uint32_t jalr(unsigned rd, unsigned rs1, int32_t imm) {
  return enc::i_type(0x67, rd, 0, rs1, imm);
}
inline uint32_t b_type(unsigned f3, unsigned rs1, unsigned rs2, int32_t off) {
  const uint32_t u = static_cast<uint32_t>(off);
  return 0x63 | ((u >> 11) & 1) << 7 | ((u >> 1) & 0xf) << 8 | f3 << 12 | rs1 << 15 | rs2 << 20 |
         ((u >> 5) & 0x3f) << 25 | ((u >> 12) & 1) << 31;
}
inline uint32_t j_type(unsigned rd, int32_t off) {
  const uint32_t u = static_cast<uint32_t>(off);
  return 0x6f | rd << 7 | ((u >> 12) & 0xff) << 12 | ((u >> 11) & 1) << 20 |
         ((u >> 1) & 0x3ff) << 21 | ((u >> 20) & 1) << 31;
}
inline uint16_t c_addi(unsigned rd, int32_t imm) {
  const uint32_t u = static_cast<uint32_t>(imm);
  return static_cast<uint16_t>(0x0001 | ((u >> 5) & 1) << 12 | rd << 7 | (u & 0x1f) << 2);
}
inline uint16_t c_li(unsigned rd, int32_t imm) {
  const uint32_t u = static_cast<uint32_t>(imm);
  return static_cast<uint16_t>(0x4001 | ((u >> 5) & 1) << 12 | rd << 7 | (u & 0x1f) << 2);
}
inline uint16_t c_mv(unsigned rd, unsigned rs2) {
  return static_cast<uint16_t>(0x8002 | rd << 7 | rs2 << 2);
}
inline uint16_t c_jr(unsigned rs1) { return static_cast<uint16_t>(0x8002 | rs1 << 7); }
inline uint16_t c_jalr(unsigned rs1) { return static_cast<uint16_t>(0x9002 | rs1 << 7); }
inline uint16_t c_j(int32_t off) {
  const uint32_t u = static_cast<uint32_t>(off);
  return static_cast<uint16_t>(0xa001 | ((u >> 11) & 1) << 12 | ((u >> 4) & 1) << 11 |
                               ((u >> 8) & 3) << 9 | ((u >> 10) & 1) << 8 | ((u >> 6) & 1) << 7 |
                               ((u >> 7) & 1) << 6 | ((u >> 1) & 7) << 3 | ((u >> 5) & 1) << 2);
}
// c.bnez x8..x15 (rs1c = register - 8).
inline uint16_t c_bnez(unsigned rs1c, int32_t off) {
  const uint32_t u = static_cast<uint32_t>(off);
  return static_cast<uint16_t>(0xe001 | ((u >> 8) & 1) << 12 | ((u >> 3) & 3) << 10 | rs1c << 7 |
                               ((u >> 6) & 3) << 5 | ((u >> 1) & 3) << 3 | ((u >> 5) & 1) << 2);
}
}  // namespace jenc

// More registers by ABI name.
inline constexpr unsigned kZero = 0, kGp = 3, kTp = 4, kS0 = 8, kS1 = 9, kS2 = 18, kS3 = 19,
                          kT3 = 28, kT4 = 29, kT5 = 30, kT6 = 31;

// A tiny assembler: instructions at consecutive addresses from `base`, with
// labels for branches and jumps inside it.
class Asm {
 public:
  explicit Asm(uint64_t base) : base_(base) {}
  uint64_t here() const { return base_ + bytes_.size(); }
  uint64_t base() const { return base_; }
  Asm& i(uint32_t insn) { return put(insn, 4); }
  Asm& c(uint16_t insn) { return put(insn, 2); }
  Asm& label(const std::string& name) {
    labels_[name] = here();
    return *this;
  }
  uint64_t addr(const std::string& name) const { return labels_.at(name); }
  // auipc + addi: rd = `target` (an absolute address), pc-relative.
  Asm& la(unsigned rd, uint64_t target) {
    const int64_t d = static_cast<int64_t>(target - here());
    const int64_t hi = (d + 0x800) >> 12;
    i(jenc::auipc(rd, static_cast<uint32_t>(hi)));
    return i(enc::addi(rd, rd, static_cast<int32_t>(d - (hi << 12))));
  }
  // auipc + addi: rd = the address of a label of this Asm.
  Asm& la_label(unsigned rd, const std::string& target) {
    fixups_.push_back({bytes_.size(), target, Fix::kLa, rd});
    return i(0).i(0);
  }
  // lui + addiw: rd = a 32-bit value (sign-extended).
  Asm& li32(unsigned rd, int32_t value) {
    const int64_t hi = (static_cast<int64_t>(value) + 0x800) >> 12;
    i(jenc::lui(rd, static_cast<uint32_t>(hi)));
    return i(jenc::addiw(rd, rd, static_cast<int32_t>(value - (hi << 12))));
  }
  Asm& b(unsigned f3, unsigned rs1, unsigned rs2, const std::string& target) {
    fixups_.push_back({bytes_.size(), target, Fix::kB, f3 | rs1 << 3 | rs2 << 8});
    return i(0);
  }
  Asm& beq(unsigned rs1, unsigned rs2, const std::string& t) { return b(0, rs1, rs2, t); }
  Asm& bne(unsigned rs1, unsigned rs2, const std::string& t) { return b(1, rs1, rs2, t); }
  Asm& blt(unsigned rs1, unsigned rs2, const std::string& t) { return b(4, rs1, rs2, t); }
  Asm& jal(unsigned rd, const std::string& target) {
    fixups_.push_back({bytes_.size(), target, Fix::kJ, rd});
    return i(0);
  }
  Asm& c_j(const std::string& target) {
    fixups_.push_back({bytes_.size(), target, Fix::kCJ, 0});
    return c(0);
  }
  Asm& c_bnez(unsigned rs1, const std::string& target) {
    fixups_.push_back({bytes_.size(), target, Fix::kCB, rs1 - 8});
    return c(0);
  }
  // The bytes, with every label reference resolved.
  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out = bytes_;
    for (const Fixup& f : fixups_) {
      const auto off = static_cast<int32_t>(labels_.at(f.target) - (base_ + f.at));
      uint32_t raw = 0;
      unsigned len = 4;
      switch (f.kind) {
        case Fix::kB:
          raw = jenc::b_type(f.arg & 7, (f.arg >> 3) & 31, f.arg >> 8, off);
          break;
        case Fix::kJ:
          raw = jenc::j_type(f.arg, off);
          break;
        case Fix::kCJ:
          raw = jenc::c_j(off);
          len = 2;
          break;
        case Fix::kCB:
          raw = jenc::c_bnez(f.arg, off);
          len = 2;
          break;
        case Fix::kLa: {
          const int32_t hi = (off + 0x800) >> 12;
          raw = jenc::auipc(f.arg, static_cast<uint32_t>(hi));
          const uint32_t lo = enc::addi(f.arg, f.arg, off - (hi << 12));
          std::memcpy(&out[f.at + 4], &lo, 4);
          break;
        }
      }
      std::memcpy(&out[f.at], &raw, len);
    }
    return out;
  }

 private:
  enum class Fix { kB, kJ, kCJ, kCB, kLa };
  struct Fixup {
    size_t at;
    std::string target;
    Fix kind;
    unsigned arg;
  };
  Asm& put(uint32_t v, unsigned len) {
    for (unsigned k = 0; k < len; ++k) bytes_.push_back(static_cast<uint8_t>(v >> (8 * k)));
    return *this;
  }
  uint64_t base_;
  std::vector<uint8_t> bytes_;
  std::map<std::string, uint64_t> labels_;
  std::vector<Fixup> fixups_;
};

// The M-mode trap vector: a6 = minstret (the instructions before the trap,
// the trapping one included), a7 += 1, then spin.
constexpr uint64_t kMVec = kCode + 0x7000;
constexpr uint64_t kIterations = 200;

// Hart 0 translates, hart 1 only interprets (the reference).
class JitTest : public HartFixture {
 protected:
  // A small code buffer (256 KiB) lets a test fill it quickly.
  explicit JitTest(size_t code_bytes = Jit::kDefaultCodeBytes)
      : HartFixture(2, false, {}, /*jit_harts=*/1, code_bytes) {}
  void SetUp() override {
    for (unsigned i = 0; i < 2; ++i) set_csr(kMtvec, kMVec, i);
    code(kMVec, {enc::csrrs(kA6, kMinstret, 0), enc::addi(kA7, kA7, 1), enc::jal_self()});
    open_pmp();
  }
  Hart& jit() { return hart(0); }
  Hart& interp() { return hart(1); }

  // Writes assembled code; like a hart's store, it invalidates decoded copies.
  void load(const Asm& a) {
    const std::vector<uint8_t> bytes = a.bytes();
    ASSERT_TRUE(memory_.write(GuestAddr(a.base()), bytes).has_value());
    for (uint64_t p = a.base() & ~kPageOffsetMask; p < a.base() + bytes.size(); p += kPageSize) {
      HartShared::invalidate_on_store(*shared_->code_state(p));
    }
  }
};

// ---- Self-modifying code ----

// Each iteration stores `addi a0, a0, t0` over a slot later in the same
// straight-line code and `addi a5, a5, t0` over a slot before it: every
// execution of a slot must run what was stored last. Both stores are in the
// loop's hot block, so some of them run in translated code (a store to its
// own page drops the page's blocks; the loop is translated again once hot).
TEST_F(JitTest, StoreIntoOwnHotBlockTakesEffectAtNextExecution) {
  const uint32_t addi_a0 = enc::addi(kA0, kA0, 0), addi_a5 = enc::addi(kA5, kA5, 0);
  Asm a(kCode);
  a.i(enc::addi(kT0, 0, kIterations))
      .i(enc::addi(kA0, 0, 0))
      .i(enc::addi(kA5, 0, 0))
      .li32(kA2, static_cast<int32_t>(addi_a0))
      .li32(kA4, static_cast<int32_t>(addi_a5))
      .la_label(kA3, "slotA")
      .la_label(kA6, "slotB")
      .label("loop")
      .label("slotA")
      .i(addi_a5)  // what the previous iteration stored
      .i(jenc::slli(kT1, kT0, 20))
      .i(jenc::or_(kT2, kT1, kA4))
      .i(enc::sw(kT2, kA3, 0))  // addi a5, a5, t0 over slot A
      .i(jenc::or_(kT1, kT1, kA2))
      .i(enc::sw(kT1, kA6, 0))  // addi a0, a0, t0 over slot B
      .label("slotB")
      .i(addi_a0)  // what was just stored
      .i(enc::addi(kT0, kT0, -1))
      .bne(kT0, 0, "loop")
      .label("done")
      .i(enc::jal_self());
  load(a);
  jit().pc = kCode;
  run(100000);
  EXPECT_EQ(jit().pc, a.addr("done"));
  EXPECT_EQ(jit().x[kA0], kIterations * (kIterations + 1) / 2);      // t0 = 200 .. 1
  EXPECT_EQ(jit().x[kA5], kIterations * (kIterations + 1) / 2 - 1);  // 0, then 200 .. 2
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
}

// A hot, translated loop patches one of its instructions once (on a path
// that is cold): the next execution of the patched instruction runs the new
// one, whether it comes later in the same iteration or in the next.
TEST_F(JitTest, PatchedInstructionOfHotLoopRunsNewCode) {
  Asm a(kCode);
  a.i(enc::addi(kT0, 0, kIterations))
      .i(enc::addi(kA0, 0, 0))
      .i(enc::addi(kA1, 0, 0))
      .li32(kA2, static_cast<int32_t>(enc::addi(kA0, kA0, 100)))
      .li32(kA4, static_cast<int32_t>(enc::addi(kA1, kA1, 100)))
      .la_label(kA3, "slotA")
      .la_label(kA5, "slotB")
      .label("loop")
      .label("slotA")
      .i(enc::addi(kA1, kA1, 1))
      .i(enc::addi(kT1, kT0, -static_cast<int32_t>(kIterations / 2)))
      .bne(kT1, 0, "skip")
      .i(enc::sw(kA2, kA5, 0))  // slot B: later in this iteration
      .i(enc::sw(kA4, kA3, 0))  // slot A: from the next iteration
      .label("skip")
      .i(enc::addi(kT6, kT6, 1))
      .label("slotB")
      .i(enc::addi(kA0, kA0, 1))
      .i(enc::addi(kT0, kT0, -1))
      .bne(kT0, 0, "loop")
      .label("done")
      .i(enc::jal_self());
  load(a);
  jit().pc = kCode;
  run(1000000);
  EXPECT_EQ(jit().pc, a.addr("done"));
  // The patch runs when t0 = 100: slot B adds 1 for t0 = 200..101 and 100
  // from t0 = 100 on; slot A adds 1 up to t0 = 100 and 100 from t0 = 99 on.
  const uint64_t half = kIterations / 2;
  EXPECT_EQ(jit().x[kA0], half * 1 + half * 100);
  EXPECT_EQ(jit().x[kA1], (half + 1) * 1 + (half - 1) * 100);
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
}

// A hot loop on one page calls a hot function on another page, and patches
// that function once: the next call runs the new code.
TEST_F(JitTest, PatchedFunctionOnAnotherPageRunsNewCode) {
  const uint64_t fn = kCode + 0x1000;
  Asm f(fn);
  f.i(enc::addi(kA0, kA0, 1)).i(jenc::jalr(0, kRa, 0));
  Asm a(kCode);
  a.i(enc::addi(kT0, 0, kIterations))
      .i(enc::addi(kA0, 0, 0))
      .li32(kA2, static_cast<int32_t>(enc::addi(kA0, kA0, 7)))
      .la(kA3, fn)
      .label("loop")
      .i(jenc::jalr(kRa, kA3, 0))
      .i(enc::addi(kT1, kT0, -50))
      .bne(kT1, 0, "skip")
      .i(enc::sw(kA2, kA3, 0))
      .label("skip")
      .i(enc::addi(kT0, kT0, -1))
      .bne(kT0, 0, "loop")
      .label("done")
      .i(enc::jal_self());
  load(f);
  load(a);
  jit().pc = kCode;
  run(100000);
  EXPECT_EQ(jit().pc, a.addr("done"));
  EXPECT_EQ(jit().x[kA0], (kIterations - 50 + 1) * 1 + 49 * 7);
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
}

// ---- Instruction counts ----

// The loop used for run_for() exactness: inlined ALU ops, a multiply, a
// division (called out), loads and stores (fast path and misaligned slow
// path), compressed instructions, a taken and a not-taken branch inside the
// body, and minstret read in the middle of a block (stored, so that every
// read is compared). Position-independent; a0 = its data page.
Asm counting_loop(uint64_t base) {
  Asm a(base);
  a.i(enc::addi(kT0, 0, 0))
      .i(enc::addi(kA1, 0, 3))
      .label("loop")
      .i(enc::addi(kT0, kT0, 1))
      .i(jenc::mul(kT1, kT0, kT0))
      .i(jenc::div(kT2, kT1, kA1))
      .c(jenc::c_addi(kA1, 1))
      .i(enc::ld(kA2, kA0, 0))
      .i(jenc::add(kA2, kA2, kT2))
      .i(enc::sd(kA2, kA0, 0))
      .i(enc::csrrs(kA3, kMinstret, 0))
      .i(jenc::andi(kA4, kT0, 0xf8))
      .i(jenc::add(kA4, kA4, kA0))
      .i(enc::sd(kA3, kA4, 0x100))  // minstret into a ring of 32 slots
      .i(jenc::lw(kA5, kA0, 3))     // misaligned: slow path
      .i(jenc::xor_(kA5, kA5, kT0))
      .i(enc::sw(kA5, kA0, 5))
      .i(jenc::andi(kT3, kT0, 3))
      .beq(kT3, 0, "skip")
      .c(jenc::c_addi(kA6, 1))
      .label("skip")
      .i(jenc::andi(kS0, kT0, 1))
      .c_bnez(kS0, "odd")  // compressed branch: both ways
      .c(jenc::c_addi(kA6, 2))
      .label("odd")
      .i(jenc::sltiu(kT4, kT0, 1000))
      .bne(kT4, 0, "loop")
      .c_j("loop");
  return a;
}

TEST_F(JitTest, RunForOddBudgetsMatchesInterpreterExactly) {
  // The same loop twice, hart 0's at kCode, hart 1's at kCode + 0x8000, each
  // with its own data page.
  constexpr uint64_t kOther = 0x8000;
  load(counting_loop(kCode));
  load(counting_loop(kCode + kOther));
  jit().pc = kCode;
  interp().pc = kCode + kOther;
  jit().x[kA0] = kData;
  interp().x[kA0] = kData + kOther;
  uint64_t total = 0;
  std::vector<uint64_t> budgets;
  for (uint64_t n = 1; n < 200; n += 2) budgets.push_back(n);
  for (uint64_t n : {1001ull, 4095ull, 4097ull, 8191ull, 12345ull, 3ull, 5ull, 99999ull}) {
    budgets.push_back(n);
  }
  for (uint64_t n : budgets) {
    ASSERT_EQ(run(n, 0), n);
    ASSERT_EQ(run(n, 1), n);
    total += n;
    ASSERT_EQ(jit().instret(), total);
    ASSERT_EQ(interp().instret(), total);
    ASSERT_EQ(jit().pc - kCode, interp().pc - (kCode + kOther)) << "after run_for(" << n << ")";
    for (unsigned r = 1; r < 32; ++r) {
      if (r == kA0 || r == kA4) continue;  // the data addresses
      ASSERT_EQ(jit().x[r], interp().x[r]) << "x" << r << " after run_for(" << n << ")";
    }
    // a4: an offset, or (after the add) an address in the hart's data page.
    auto rel = [](uint64_t v, uint64_t base) { return v >= base ? v - base : v; };
    ASSERT_EQ(rel(jit().x[kA4], kData), rel(interp().x[kA4], kData + kOther));
    ASSERT_EQ(csr(kMinstret, 0), csr(kMinstret, 1));
    for (uint64_t off = 0; off < 0x200; off += 8) {
      ASSERT_EQ(peek64(kData + off), peek64(kData + kOther + off)) << "data +" << off;
    }
  }
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
  EXPECT_EQ(interp().jit_blocks_translated(), 0u);
}

// Traps from called-out instructions inside a hot block (ECALL, an illegal
// CSR write) and the handler's MRET back into it, under odd run_for()
// budgets: instret, minstret and registers stay the interpreter's.
Asm trapping_loop(uint64_t base) {
  Asm a(base);
  a.label("loop")
      .i(enc::addi(kT0, kT0, 1))
      .i(enc::kEcall)
      .i(enc::addi(kT1, kT1, 1))
      .i(enc::csrrw(0, kCycle, 0))  // illegal: cycle is read-only
      .i(enc::addi(kT2, kT2, 1))
      .i(enc::csrrs(kA3, kMinstret, 0))
      .i(jenc::add(kA4, kA4, kA3))
      .jal(0, "loop");
  return a;
}

TEST_F(JitTest, TrapsInHotBlockCountOnceUnderOddBudgets) {
  constexpr uint64_t kOther = 0x8000, kHandler = kCode + 0x6000;
  // Skips the trapping instruction (always 4 bytes here); shared by both harts.
  code(kHandler, {enc::csrrs(kT6, kMepc, 0), enc::addi(kT6, kT6, 4), enc::csrrw(0, kMepc, kT6),
                  enc::addi(kA7, kA7, 1), enc::kMret});
  load(trapping_loop(kCode));
  load(trapping_loop(kCode + kOther));
  for (unsigned h = 0; h < 2; ++h) {
    set_csr(kMtvec, kHandler, h);
    hart(h).pc = kCode + h * kOther;
  }
  uint64_t total = 0;
  for (uint64_t n = 1; n < 300; n += 2) {
    ASSERT_EQ(run(n, 0), n);
    ASSERT_EQ(run(n, 1), n);
    total += n;
    ASSERT_EQ(jit().instret(), total);
    ASSERT_EQ(interp().instret(), total);
    ASSERT_EQ(csr(kMinstret, 0), csr(kMinstret, 1));
    auto in_handler = [&](uint64_t pc) { return pc >= kHandler && pc < kHandler + 0x100; };
    const uint64_t base0 = in_handler(jit().pc) ? kHandler : kCode;
    const uint64_t base1 = in_handler(interp().pc) ? kHandler : kCode + kOther;
    ASSERT_EQ(jit().pc - base0, interp().pc - base1) << "after run_for(" << n << ")";
    for (unsigned r : {kT0, kT1, kT2, kA3, kA4, kA7}) {
      ASSERT_EQ(jit().x[r], interp().x[r]) << "x" << r << " after run_for(" << n << ")";
    }
  }
  EXPECT_GT(jit().x[kA7], 1000u);
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
}

// Every inlined ALU op (and some called out), with register operands from a
// table of edge values and edge immediates, and loads of every size from the
// table (some misaligned): a hot loop over all 256 operand pairs stores
// every result; the JIT's results must be the interpreter's.
Asm edge_value_loop(uint64_t base) {
  struct Op {
    uint32_t op, f3, f7;
  };
  // add sub sll slt sltu xor srl sra or and, addw subw sllw srlw sraw,
  // mul mulh mulhsu mulhu div divu rem remu, mulw divw.
  static constexpr Op kRegOps[] = {
      {0x33, 0, 0}, {0x33, 0, 0x20}, {0x33, 1, 0},    {0x33, 2, 0}, {0x33, 3, 0},
      {0x33, 4, 0}, {0x33, 5, 0},    {0x33, 5, 0x20}, {0x33, 6, 0}, {0x33, 7, 0},
      {0x3b, 0, 0}, {0x3b, 0, 0x20}, {0x3b, 1, 0},    {0x3b, 5, 0}, {0x3b, 5, 0x20},
      {0x33, 0, 1}, {0x33, 1, 1},    {0x33, 2, 1},    {0x33, 3, 1}, {0x33, 4, 1},
      {0x33, 5, 1}, {0x33, 6, 1},    {0x33, 7, 1},    {0x3b, 0, 1}, {0x3b, 4, 1}};
  struct ImmOp {
    uint32_t op, f3;
    int32_t imm;
  };
  // addi slti sltiu xori ori andi slli srli srai addiw slliw srliw sraiw with
  // edge immediates and shift amounts, then loads (lb lh lw ld lbu lhu lwu)
  // from the first operand's table entry, misaligned and aligned.
  static constexpr ImmOp kImmOps[] = {
      {0x13, 0, -2048}, {0x13, 0, 2047},       {0x13, 2, -1},         {0x13, 2, 2047},
      {0x13, 3, -1},    {0x13, 3, 33},         {0x13, 4, -1},         {0x13, 4, 0x555},
      {0x13, 6, -2048}, {0x13, 7, 0x7f0},      {0x13, 1, 0},          {0x13, 1, 31},
      {0x13, 1, 32},    {0x13, 1, 63},         {0x13, 5, 1},          {0x13, 5, 33},
      {0x13, 5, 63},    {0x13, 5, 0x400 | 1},  {0x13, 5, 0x400 | 32}, {0x13, 5, 0x400 | 63},
      {0x1b, 0, -1},    {0x1b, 0, 2047},       {0x1b, 1, 31},         {0x1b, 5, 0},
      {0x1b, 5, 31},    {0x1b, 5, 0x400 | 31}, {0x03, 0, 1},          {0x03, 1, 1},
      {0x03, 2, 2},     {0x03, 3, 0},          {0x03, 3, 4},          {0x03, 4, 7},
      {0x03, 5, 6},     {0x03, 6, 4},          {0x03, 2, 4},          {0x03, 1, 2},
      {0x03, 5, 2},     {0x03, 6, 0},          {0x03, 0, 7}};
  Asm a(base);
  a.i(enc::addi(kT5, 0, 0)).label("loop");
  // s2 = table[k >> 4] (t0 its address), s3 = table[k & 15]
  a.i(enc::i_type(0x13, kT0, 5, kT5, 4))
      .i(jenc::slli(kT0, kT0, 3))
      .i(jenc::add(kT0, kT0, kA0))
      .i(enc::ld(kS2, kT0, 0))
      .i(jenc::andi(kT1, kT5, 15))
      .i(jenc::slli(kT1, kT1, 3))
      .i(jenc::add(kT1, kT1, kA0))
      .i(enc::ld(kS3, kT1, 0))
      // t2 = a1 + k * 1024: this pair's results
      .i(jenc::slli(kT2, kT5, 10))
      .i(jenc::add(kT2, kT2, kA1));
  int32_t slot = 0;
  for (const Op& o : kRegOps) {
    a.i(jenc::r_type(o.f7, kS3, kS2, o.f3, kT3, o.op)).i(enc::sd(kT3, kT2, 8 * slot++));
  }
  for (const ImmOp& o : kImmOps) {
    const unsigned rs1 = o.op == 0x03 ? kT0 : kS2;
    a.i(enc::i_type(o.op, kT3, o.f3, rs1, o.imm)).i(enc::sd(kT3, kT2, 8 * slot++));
  }
  a.i(jenc::lui(kT3, 0x80000)).i(enc::sd(kT3, kT2, 8 * slot++));  // lui: sign-extended
  // Narrow stores over a doubleword: only their bytes change.
  a.i(enc::sd(kS2, kT2, 8 * slot)).i(enc::sw(kS3, kT2, 8 * slot));
  ++slot;
  a.i(enc::sd(kS2, kT2, 8 * slot)).i(jenc::sh(kS3, kT2, 8 * slot));
  ++slot;
  a.i(enc::sd(kS2, kT2, 8 * slot)).i(jenc::sb(kS3, kT2, 8 * slot));
  ++slot;
  a.i(enc::addi(kT5, kT5, 1))
      .i(enc::addi(kT6, kT5, -256))
      .bne(kT6, 0, "loop")
      .label("done")
      .i(enc::jal_self());
  return a;
}

TEST_F(JitTest, InlinedOpsOnEdgeValuesMatchInterpreter) {
  constexpr uint64_t kOther = 0x8000;
  constexpr uint64_t kValues[16] = {0,
                                    1,
                                    ~0ull,
                                    0x8000000000000000,
                                    0x7fffffffffffffff,
                                    0x80000000,
                                    0x7fffffff,
                                    0xffffffff,
                                    0xffffffff80000000,
                                    31,
                                    32,
                                    33,
                                    63,
                                    64,
                                    0x123456789abcdef0,
                                    static_cast<uint64_t>(-2048)};
  for (unsigned k = 0; k < 16; ++k) poke64(kData + 8 * k, kValues[k]);
  const Asm a = edge_value_loop(kCode);
  load(a);
  load(edge_value_loop(kCode + kOther));
  constexpr uint64_t kOut0 = kData + 0x1000, kOut1 = kData + 0x80000;
  jit().pc = kCode;
  interp().pc = kCode + kOther;
  jit().x[kA0] = interp().x[kA0] = kData;
  jit().x[kA1] = kOut0;
  interp().x[kA1] = kOut1;
  run(1000000, 0);
  run(1000000, 1);
  ASSERT_EQ(jit().pc, a.addr("done"));
  ASSERT_EQ(interp().pc, a.addr("done") + kOther);
  for (uint64_t k = 0; k < 256; ++k) {
    for (uint64_t r = 0; r < 128; ++r) {
      const uint64_t off = k * 1024 + r * 8;
      ASSERT_EQ(peek64(kOut0 + off), peek64(kOut1 + off))
          << "operands " << std::hex << kValues[k >> 4] << ", " << kValues[k & 15] << std::dec
          << ": result " << r;
    }
  }
  // Spot checks of the pair (0, 1): the loop really ran the operations.
  EXPECT_EQ(peek64(kOut0 + 1024 + 0), 1u);     // 0 + 1
  EXPECT_EQ(peek64(kOut0 + 1024 + 8), ~0ull);  // 0 - 1
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
}

// ---- Faults in translated code ----

struct FaultCase {
  bool delegate;  // load page faults go to S-mode
  bool crossing;  // the faulting load is misaligned across into the unmapped page
};

class JitFaultTest : public JitTest, public ::testing::WithParamInterface<FaultCase> {};

// S-mode under Sv39 runs a hot loop walking a pointer up a mapped page; the
// load that reaches the unmapped page after it faults in translated code:
// xepc is the load, xtval the first unmapped byte, the instructions before
// it in the block have run and those after it have not.
TEST_P(JitFaultTest, LoadPageFaultInsideTranslatedBlock) {
  const FaultCase fc = GetParam();
  constexpr uint64_t kVCode = 0x10000, kVData = 0x20000, kVSVec = 0x30000;
  constexpr uint64_t kSVec = kCode + 0x3000;
  new_address_space();
  map(kVCode, kCode, kRWX);
  map(kVData, kData, kRW);  // kVData + 0x1000 stays unmapped
  map(kVSVec, kSVec, kRWX);
  code(kSVec, {enc::csrrs(kA6, kInstret, 0), enc::addi(kA7, kA7, 1), enc::jal_self()});
  set_csr(kStvec, kVSVec);
  set_csr(kMcounteren, 4);  // instret for the S-mode handler
  if (fc.delegate) set_csr(kMedeleg, 1u << exc::kLoadPageFault);
  for (uint64_t off = 0; off < kPageSize; off += 8) poke64(kData + off, 0x1000 + off);

  // Loads at a3 (aligned: the 513th faults at kVData + 0x1000) or at a3 + 4
  // (the 512th, at kVData + 0xffc, crosses into the unmapped page).
  const int32_t disp = fc.crossing ? 4 : 0;
  Asm a(kVCode);
  a.i(enc::addi(kA0, 0, 0))
      .i(enc::addi(kA1, 0, 0))
      .i(enc::addi(kA4, 0, 0))
      .i(enc::addi(kA5, 0, 0))
      .i(jenc::lui(kA3, kVData >> 12))
      .label("loop")
      .i(enc::addi(kA0, kA0, 1))
      .i(enc::addi(kA1, kA1, 2))
      .label("load")
      .i(enc::ld(kA2, kA3, disp))
      .i(enc::addi(kA4, kA4, 3))
      .i(enc::addi(kA5, kA5, 1))
      .i(enc::addi(kA3, kA3, 8))
      .jal(0, "loop");
  // Assembled for its virtual address, placed at kCode.
  const std::vector<uint8_t> bytes = a.bytes();
  ASSERT_TRUE(memory_.write(GuestAddr(kCode), bytes).has_value());
  HartShared::invalidate_on_store(*shared_->code_state(kCode));

  const uint64_t good_loads = fc.crossing ? 511 : 512;
  // 5 set-up instructions, 7 per good iteration, then addi, addi, ld.
  const uint64_t insns = 5 + 7 * good_loads + 3;
  jit().set_priv(Priv::kSupervisor);
  jit().pc = kVCode;
  // More budget than the loop needs: the last iteration runs in the block
  // too (with exactly `insns` it would be too short for it, and interpreted).
  run(insns + 1000);
  EXPECT_EQ(jit().x[kA6], insns);  // the handler's count: the load counted once
  EXPECT_EQ(jit().x[kA7], 1u);     // one trap
  const uint64_t want_pc = (fc.delegate ? kVSVec : kMVec) + 8;
  EXPECT_EQ(jit().pc, want_pc);
  const uint64_t epc = csr(fc.delegate ? kSepc : kMepc);
  const uint64_t cause = csr(fc.delegate ? kScause : kMcause);
  const uint64_t tval = csr(fc.delegate ? kStval : kMtval);
  EXPECT_EQ(epc, a.addr("load"));
  EXPECT_EQ(cause, exc::kLoadPageFault);
  EXPECT_EQ(tval, kVData + kPageSize);
  EXPECT_EQ(jit().x[kA0], good_loads + 1);  // before the load: done
  EXPECT_EQ(jit().x[kA1], 2 * (good_loads + 1));
  const uint64_t last_good = kData + 8 * (good_loads - 1) + disp;
  EXPECT_EQ(jit().x[kA2], *memory_.read_obj<uint64_t>(GuestAddr(last_good)));  // the last good load
  EXPECT_EQ(jit().x[kA4], 3 * good_loads);                                     // after it: not done
  EXPECT_EQ(jit().x[kA5], good_loads);
  EXPECT_EQ(jit().x[kA3], kVData + 8 * good_loads);
  EXPECT_EQ(jit().priv, fc.delegate ? Priv::kSupervisor : Priv::kMachine);
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
}

INSTANTIATE_TEST_SUITE_P(All, JitFaultTest,
                         ::testing::Values(FaultCase{false, false}, FaultCase{true, false},
                                           FaultCase{false, true}, FaultCase{true, true}),
                         [](const ::testing::TestParamInfo<FaultCase>& info) {
                           return std::string(info.param.delegate ? "ToS" : "ToM") +
                                  (info.param.crossing ? "Crossing" : "Aligned");
                         });

// ---- MMIO ----

// Records every access, in order.
class LoggingDevice : public RecordingDevice {
 public:
  struct Access {
    bool write;
    uint64_t offset;
    unsigned size;
    uint64_t value;
    bool operator==(const Access&) const = default;
  };
  std::vector<Access> log;
  uint64_t read(uint64_t offset, unsigned size) override {
    const uint64_t v = RecordingDevice::read(offset, size);
    log.push_back({false, offset, size, v});
    return v;
  }
  void write(uint64_t offset, unsigned size, uint64_t value) override {
    RecordingDevice::write(offset, size, value);
    log.push_back({true, offset, size, value});
  }
};

std::ostream& operator<<(std::ostream& os, const LoggingDevice::Access& a) {
  return os << (a.write ? "write" : "read") << " +" << a.offset << " size " << a.size << " value "
            << std::hex << a.value << std::dec;
}

// A hot loop stores to (and loads from) a device: every access reaches it,
// in order, with the right size and value. Each access starts a block of
// its own (after a taken branch), so each runs in translated code.
TEST_F(JitTest, MmioAccessesInHotLoopAllReachTheDeviceInOrder) {
  constexpr uint64_t kDev = 0x10000000;
  LoggingDevice dev;
  ASSERT_TRUE(bus_.add(GuestAddr(kDev), 0x1000, &dev, "log").has_value());
  Asm a(kCode);
  a.i(jenc::lui(kA0, kDev >> 12))
      .i(enc::addi(kT0, 0, kIterations))
      .label("loop")
      .i(enc::sw(kT0, kA0, 0))
      .beq(0, 0, "1")
      .label("1")
      .i(enc::sd(kT0, kA0, 8))
      .beq(0, 0, "2")
      .label("2")
      .i(jenc::sb(kT0, kA0, 17))
      .beq(0, 0, "3")
      .label("3")
      .i(jenc::lw(kA1, kA0, 32))
      .beq(0, 0, "4")
      .label("4")
      .i(jenc::sh(kT0, kA0, 3))  // misaligned: two byte writes
      .i(enc::addi(kT0, kT0, -1))
      .bne(kT0, 0, "loop")
      .label("done")
      .i(enc::jal_self());
  load(a);
  jit().pc = kCode;
  run(100000);
  EXPECT_EQ(jit().pc, a.addr("done"));
  std::vector<LoggingDevice::Access> want;
  for (uint64_t t = kIterations; t > 0; --t) {
    want.push_back({true, 0, 4, t});
    want.push_back({true, 8, 8, t});
    want.push_back({true, 17, 1, t & 0xff});
    want.push_back({false, 32, 4, dev.read_value & 0xffffffff});
    want.push_back({true, 3, 1, t & 0xff});
    want.push_back({true, 4, 1, (t >> 8) & 0xff});
  }
  ASSERT_EQ(dev.log.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) ASSERT_EQ(dev.log[k], want[k]) << "access " << k;
  EXPECT_EQ(jit().x[kA1], static_cast<uint64_t>(static_cast<int32_t>(dev.read_value)));
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
}

// ---- Interrupts ----

enum class Source { kTimer, kExternal, kSoftware };

class JitInterruptTest : public JitTest, public ::testing::WithParamInterface<Source> {};

// run() on its own thread spins in a hot loop on one page (one block
// chaining to itself); an interrupt raised from this thread is taken: the
// handler runs (a0 = 0x55) and then waits in WFI with interrupts off.
TEST_P(JitInterruptTest, InterruptLeavesHotLoopUnderRun) {
  const Source source = GetParam();
  constexpr uint64_t kHandler = kCode + 0x2000;
  Asm h(kHandler);
  h.i(enc::addi(kA0, 0, 0x55)).i(enc::csrrw(0, kMie, 0)).label("wait").i(enc::kWfi).jal(0, "wait");
  Asm a(kCode);
  a.label("loop").i(enc::addi(kT0, kT0, 1)).c(jenc::c_addi(kT1, 1)).jal(0, "loop");
  load(h);
  load(a);
  const uint64_t bit = source == Source::kTimer      ? irq::kMTI
                       : source == Source::kExternal ? irq::kMEI
                                                     : irq::kMSI;
  set_csr(kMtvec, kHandler, 0);
  set_csr(kMie, 1ull << bit, 0);
  set_csr(kMstatus, mstatus::kMIE, 0);
  jit().pc = kCode;

  std::thread runner([&] { jit().run(); });
  auto wait_for = [](auto&& done, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return done();
  };
  // Spinning long enough to be translated and chained.
  const bool spun = wait_for([&] { return jit().instret() > 2'000'000; }, std::chrono::seconds(20));
  switch (source) {
    case Source::kTimer:
      jit().set_mtimecmp(0);
      break;
    case Source::kExternal:
      jit().set_interrupt_pending(irq::kMEI, true);
      break;
    case Source::kSoftware:
      jit().set_interrupt_pending(irq::kMSI, true);
      break;
  }
  // Taken: the hart ends up asleep in WFI and stops counting.
  uint64_t last = jit().instret();
  int steady = 0;
  const bool settled = wait_for(
      [&] {
        const uint64_t now = jit().instret();
        steady = now == last ? steady + 1 : 0;
        last = now;
        return steady >= 50;
      },
      std::chrono::seconds(20));
  host_.stop = true;
  jit().kick();
  runner.join();
  ASSERT_TRUE(spun) << "the hart did not run";
  EXPECT_TRUE(settled) << "the interrupt was not taken: the hart kept spinning";
  EXPECT_EQ(jit().x[kA0], 0x55u);
  EXPECT_EQ(csr(kMcause, 0), kInterruptBit | bit);
  const uint64_t epc = csr(kMepc, 0);
  EXPECT_GE(epc, kCode);
  EXPECT_LT(epc, a.here());
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
}

INSTANTIATE_TEST_SUITE_P(All, JitInterruptTest,
                         ::testing::Values(Source::kTimer, Source::kExternal, Source::kSoftware),
                         [](const ::testing::TestParamInfo<Source>& info) {
                           switch (info.param) {
                             case Source::kTimer:
                               return "Timer";
                             case Source::kExternal:
                               return "External";
                             default:
                               return "Software";
                           }
                         });

// The same loop under run_for(): the interrupt raised between two calls is
// taken at the start of the next, however hot the loop is.
TEST_F(JitTest, InterruptRaisedBetweenRunForCallsIsTakenAtOnce) {
  Asm a(kCode);
  a.label("loop").i(enc::addi(kT0, kT0, 1)).jal(0, "loop");
  load(a);
  set_csr(kMie, 1ull << irq::kMEI, 0);
  set_csr(kMstatus, mstatus::kMIE, 0);
  jit().pc = kCode;
  ASSERT_EQ(run(100001), 100001u);
  ASSERT_GT(jit().jit_blocks_translated(), 0u);
  jit().set_interrupt_pending(irq::kMEI, true);
  const uint64_t before = jit().x[kT0];
  run(3);
  EXPECT_EQ(jit().x[kT0], before);  // the instructions are the vector's
  EXPECT_EQ(jit().x[kA6], 100001u);
  EXPECT_EQ(jit().x[kA7], 1u);
  EXPECT_EQ(csr(kMcause, 0), kInterruptBit | irq::kMEI);
  EXPECT_EQ(jit().pc, kMVec + 8);
}

// A translated block unmasks interrupts (csrsi mstatus.MIE, then csrci right
// after) while one is pending: it is taken right after the unmasking
// instruction, not at the end of the block or later.
TEST_F(JitTest, InterruptUnmaskedInsideHotBlockIsTakenAfterTheUnmasking) {
  Asm a(kCode);
  a.label("loop")
      .i(enc::addi(kT0, kT0, 1))
      .i(enc::csrrsi(0, kMstatus, 8))  // MIE on
      .label("masking")
      .i(enc::i_type(0x73, 0, 7, 8, kMstatus))  // csrrci: MIE off
      .i(enc::addi(kT1, kT1, 1))
      .jal(0, "loop");
  load(a);
  set_csr(kMie, 1ull << irq::kMEI, 0);
  jit().pc = kCode;
  ASSERT_EQ(run(100000), 100000u);  // hot, and nothing pending yet
  ASSERT_GT(jit().jit_blocks_translated(), 0u);
  ASSERT_EQ(jit().x[kA7], 0u);
  // Stop right before the loop's first instruction, then raise the line.
  while (jit().pc != kCode) run(1);
  const uint64_t t0 = jit().x[kT0], t1 = jit().x[kT1];
  jit().set_interrupt_pending(irq::kMEI, true);
  run(1000);
  EXPECT_EQ(csr(kMcause, 0), kInterruptBit | irq::kMEI);
  EXPECT_EQ(csr(kMepc, 0), a.addr("masking"));
  EXPECT_EQ(jit().x[kT0], t0 + 1);
  EXPECT_EQ(jit().x[kT1], t1);
  EXPECT_EQ(jit().x[kA7], 1u);
}

// ---- x0 ----

// Loads, ALU ops, multiplies, jumps and called-out instructions with rd = x0
// in a hot block: x0 stays 0, as a source too.
TEST_F(JitTest, X0DestinationStaysZeroInHotBlock) {
  constexpr uint64_t kDev = 0x10000000;
  RecordingDevice dev;
  ASSERT_TRUE(bus_.add(GuestAddr(kDev), 0x1000, &dev, "rec").has_value());
  poke64(kData, 0x1122334455667788);
  poke64(kData + 8, 0x99aabbccddeeff00);
  poke64(kData + 16, 0xdead);
  Asm a(kCode);
  a.la(kA0, kData)
      .i(jenc::lui(kS1, kDev >> 12))
      .i(enc::addi(kT0, 0, kIterations))
      .i(enc::addi(kT1, 0, -7))
      .i(enc::addi(kA6, 0, 0))
      .label("loop")
      .i(enc::addi(0, kT0, 5))
      .i(jenc::add(0, kT0, kT1))
      .i(jenc::lui(0, 0x12345))
      .i(jenc::auipc(0, 1))
      .i(jenc::mul(0, kT0, kT1))
      .i(jenc::mulhu(0, kT1, kT1))
      .i(jenc::slli(0, kT1, 3))
      .i(jenc::srai(0, kT1, 1))
      .i(jenc::sltiu(0, kT0, 1000))
      .i(jenc::slt(0, kT1, kT0))
      .i(jenc::addiw(0, kT1, 1))
      .i(jenc::sllw(0, kT1, kT0))
      .i(enc::ld(0, kA0, 0))      // fast path
      .i(jenc::lw(0, kA0, 3))     // misaligned: slow path
      .i(jenc::lb(0, kS1, 0))     // MMIO
      .i(jenc::lbu(0, kA0, 9))    // fast path, zero-extending
      .i(jenc::div(0, kT1, kT0))  // called out
      .i(enc::csrrs(0, kMscratch, 0))
      .c(jenc::c_li(0, 5))  // hints with rd = x0
      .c(jenc::c_mv(0, kT1))
      .jal(0, "next")
      .label("next")
      .la_label(kT6, "use")
      .i(jenc::jalr(0, kT6, 0))
      .label("use")
      .i(jenc::add(kA2, 0, 0))
      .i(jenc::or_(kA3, kT0, 0))
      .i(enc::sd(0, kA0, 16))
      .beq(0, kZero, "ok")
      .i(enc::addi(kA6, kA6, 1))  // only if x0 != 0
      .label("ok")
      .i(enc::addi(kT0, kT0, -1))
      .bne(kT0, 0, "loop")
      .label("done")
      .i(enc::jal_self());
  load(a);
  jit().x[kA2] = 0xbad;
  jit().pc = kCode;
  run(100000);
  EXPECT_EQ(jit().pc, a.addr("done"));
  EXPECT_EQ(jit().x[0], 0u);
  EXPECT_EQ(jit().x[kA2], 0u);
  EXPECT_EQ(jit().x[kA3], 1u);  // t0 | x0 in the last iteration
  EXPECT_EQ(jit().x[kA6], 0u);
  EXPECT_EQ(peek64(kData + 16), 0u);
  EXPECT_EQ(peek64(kData), 0x1122334455667788u);
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
}

// ---- FP loads and stores ----

// flw/fld/fsw/fsd run inline in blocks: a single is NaN-boxed on load, a
// store moves the raw low bits, a load marks mstatus.FS Dirty; once FS is
// Off, the same translated block must raise illegal instruction at the load.
TEST_F(JitTest, FpLoadsAndStoresInHotBlockFollowMstatusFs) {
  auto fp_i = [](unsigned f3, unsigned rd, unsigned rs1, int32_t imm) {
    return enc::i_type(0x07, rd, f3, rs1, imm);
  };
  auto fp_s = [](unsigned f3, unsigned rs2, unsigned rs1, int32_t imm) {
    return enc::s_type(0x27, f3, rs1, rs2, imm);
  };
  poke64(kData, 0x3ff8000000000000);      // 1.5
  poke64(kData + 8, 0x123456783fc00000);  // 1.5f in the low half
  poke64(kData + 16, 0);
  poke64(kData + 24, 0xaaaaaaaaaaaaaaaa);
  Asm a(kCode);
  a.la(kA0, kData)
      .i(enc::addi(kT0, 0, kIterations))
      .label("loop")
      .label("fld")
      .i(fp_i(3, 0, kA0, 0))   // fld f0, 0(a0)
      .i(fp_i(2, 1, kA0, 8))   // flw f1, 8(a0)
      .i(fp_s(3, 0, kA0, 16))  // fsd f0, 16(a0)
      .i(fp_s(2, 1, kA0, 24))  // fsw f1, 24(a0)
      .i(enc::addi(kT0, kT0, -1))
      .bne(kT0, 0, "loop")
      .label("done")
      .i(enc::jal_self());
  load(a);
  const uint64_t fs_initial = uint64_t{1} << mstatus::kFSShift;
  set_csr(kMstatus, (csr(kMstatus) & ~mstatus::kFS) | fs_initial);
  jit().pc = kCode;
  run(100000);
  ASSERT_EQ(jit().pc, a.addr("done"));
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
  EXPECT_EQ(jit().f[0], 0x3ff8000000000000u);
  EXPECT_EQ(jit().f[1], 0xffffffff3fc00000u) << "NaN-boxed";
  EXPECT_EQ(peek64(kData + 16), 0x3ff8000000000000u);
  EXPECT_EQ(peek64(kData + 24), 0xaaaaaaaa3fc00000u) << "fsw writes 4 bytes";
  EXPECT_EQ(csr(kMstatus) & mstatus::kFS, mstatus::kFSDirty);

  // FS Clean, and the loop again, now translated from its first iteration.
  const uint64_t fs_clean = uint64_t{2} << mstatus::kFSShift;
  set_csr(kMstatus, (csr(kMstatus) & ~mstatus::kFS) | fs_clean);
  jit().pc = a.addr("loop");
  jit().x[kT0] = kIterations;
  run(100000);
  ASSERT_EQ(jit().pc, a.addr("done"));
  EXPECT_EQ(csr(kMstatus) & mstatus::kFS, mstatus::kFSDirty) << "loads in blocks dirty FS";

  // FS Off: the loop, translated and hot, traps at its first FP load.
  set_csr(kMstatus, csr(kMstatus) & ~mstatus::kFS);
  jit().f[0] = 0;
  jit().pc = a.addr("loop");
  jit().x[kT0] = kIterations;
  run(1000);
  EXPECT_EQ(jit().x[kA7], 1u) << "one trap";
  EXPECT_EQ(csr(kMcause), exc::kIllegalInsn);
  EXPECT_EQ(csr(kMepc), a.addr("fld"));
  EXPECT_EQ(jit().f[0], 0u);
  EXPECT_EQ(csr(kMstatus) & mstatus::kFS, 0u);
}

// fmadd.d and fadd.d run in blocks as direct calls of the FPU: results and
// fflags as the interpreter computes them, FS made Dirty; a dynamic rounding
// mode reads frm, and an invalid frm makes the translated instruction raise
// illegal instruction, as FS Off does.
TEST_F(JitTest, FpArithmeticInHotBlockChecksFsAndFrm) {
  auto fmadd_d = [](unsigned rd, unsigned rs1, unsigned rs2, unsigned rs3, unsigned rm) {
    return 0x02000043u | rs3 << 27 | rs2 << 20 | rs1 << 15 | rm << 12 | rd << 7;
  };
  auto fadd_d = [](unsigned rd, unsigned rs1, unsigned rs2, unsigned rm) {
    return 0x02000053u | rs2 << 20 | rs1 << 15 | rm << 12 | rd << 7;
  };
  Asm a(kCode);
  a.i(enc::addi(kT0, 0, kIterations))
      .label("loop")
      .label("fmadd")
      .i(fmadd_d(3, 0, 1, 2, 7))  // f3 = f0 * f1 + f2, rm = frm
      .i(fadd_d(4, 4, 3, 0))      // f4 += f3, to nearest
      .i(fadd_d(5, 5, 6, 7))      // f5 += f6 (1/3: inexact), rm = frm
      .i(enc::addi(kT0, kT0, -1))
      .bne(kT0, 0, "loop")
      .label("done")
      .i(enc::jal_self());
  load(a);
  auto start = [&](Hart& h) {
    h.f[0] = 0x3ff8000000000000;  // 1.5
    h.f[1] = 0x4000000000000000;  // 2.0
    h.f[2] = 0x3fd0000000000000;  // 0.25
    h.f[4] = 0;
    h.f[5] = 0;
    h.f[6] = 0x3fd5555555555555;  // 1/3
    h.fflags = 0;
    h.frm = 2;  // down
    h.x[kT0] = kIterations;
  };
  const uint64_t fs_clean = uint64_t{2} << mstatus::kFSShift;
  for (unsigned i = 0; i < 2; ++i) {
    start(hart(i));
    set_csr(kMstatus, (csr(kMstatus, i) & ~mstatus::kFS) | fs_clean, i);
    hart(i).pc = kCode;
    hart(i).run_for(100000);
    ASSERT_EQ(hart(i).pc, a.addr("done"));
  }
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
  EXPECT_EQ(jit().f[4], 0x4084500000000000u) << "200 * 3.25 = 650, exact";
  EXPECT_EQ(jit().f[5], interp().f[5]) << "rounded down 200 times, like the interpreter";
  EXPECT_EQ(jit().fflags, interp().fflags);
  EXPECT_EQ(jit().fflags, uint32_t{fflag::kNX});

  // FS Clean again: the translated loop alone must make it Dirty.
  set_csr(kMstatus, (csr(kMstatus) & ~mstatus::kFS) | fs_clean);
  jit().pc = a.addr("loop");
  jit().x[kT0] = kIterations;
  run(100000);
  ASSERT_EQ(jit().pc, a.addr("done"));
  EXPECT_EQ(csr(kMstatus) & mstatus::kFS, mstatus::kFSDirty);

  // An invalid frm (5): the translated fmadd.d with rm = frm is illegal.
  jit().frm = 5;
  jit().f[3] = 0;
  jit().pc = a.addr("loop");
  jit().x[kT0] = kIterations;
  run(1000);
  EXPECT_EQ(jit().x[kA7], 1u) << "one trap";
  EXPECT_EQ(csr(kMcause), exc::kIllegalInsn);
  EXPECT_EQ(csr(kMepc), a.addr("fmadd"));
  EXPECT_EQ(jit().f[3], 0u);
}

// ---- The code buffer ----

// A loop whose page is invalidated on every iteration (a store over its own
// code) is translated again and again (once its heat builds up), until the
// code buffer fills and every block is dropped; a function on another page,
// translated early and called on every iteration, must be translated anew
// after that, not entered where its old code was overwritten.
class JitSmallBufferTest : public JitTest {
 protected:
  JitSmallBufferTest() : JitTest(256u << 10) {}
};

TEST_F(JitSmallBufferTest, CodeBufferRefillDropsEveryBlockAndExecutionGoesOn) {
  constexpr int32_t kLoops = 20000;  // several buffers of blocks
  const uint64_t other = kCode + 0x1000;
  Asm f(other);
  f.i(enc::addi(kA1, kA1, 1)).i(jenc::jalr(0, kRa, 0));
  Asm a(kCode);
  a.li32(kT0, kLoops)
      .la(kA0, kData)
      .la(kA4, other)
      .la_label(kA3, "slot")
      .li32(kA2, static_cast<int32_t>(enc::addi(kA5, kA5, 1)))
      .label("loop")
      .i(enc::sw(kA2, kA3, 0));  // the same instruction again: drops the page's blocks
  for (int k = 0; k < 56; ++k) a.i(enc::ld(kT2, kA0, 8 * k));  // a large block
  a.label("slot")
      .i(enc::addi(kA5, kA5, 1))
      .i(jenc::jalr(kRa, kA4, 0))
      .i(enc::addi(kT0, kT0, -1))
      .bne(kT0, 0, "loop")
      .label("done")
      .i(enc::jal_self());
  load(f);
  load(a);
  poke64(kData + 8 * 55, 0x5555);
  jit().pc = kCode;
  uint64_t ran = 0;
  while (jit().pc != a.addr("done") && ran < 20'000'000) ran += run(1'000'000);
  EXPECT_EQ(jit().pc, a.addr("done"));
  EXPECT_EQ(jit().x[kA1], static_cast<uint64_t>(kLoops));
  EXPECT_EQ(jit().x[kA5], static_cast<uint64_t>(kLoops));
  EXPECT_EQ(jit().x[kT2], 0x5555u);
  EXPECT_GE(HartTestPeer::jit_buffer_flushes(jit()), 2u)
      << jit().jit_blocks_translated() << " blocks did not fill the buffer";
}

// ---- Jumps through registers ----

// From a hot loop: jalr to functions on the same page (also through c.jalr,
// with an odd offset, and with rd = rs1) and on another page, and jal; each
// returns through its link register.
TEST_F(JitTest, JalrToSamePageAndOtherPageFromHotCode) {
  // f_other sits at the same page offset as f_same, which has a block: a
  // jalr to the other page must not be taken for a jump inside this one.
  const uint64_t other = kCode + 0x1000 + 8;
  Asm o(other);
  o.label("f_other").i(enc::addi(kA1, kA1, 1)).c(jenc::c_jr(kRa));
  Asm a(kCode);
  a.i(enc::addi(kT0, 0, kIterations))
      .jal(0, "loop")
      .label("f_same")  // a0 += 1
      .i(enc::addi(kA0, kA0, 1))
      .i(jenc::jalr(0, kRa, 0))
      .label("f_jal")  // a2 += 1
      .i(enc::addi(kA2, kA2, 1))
      .c(jenc::c_jr(kRa))
      .label("f_rd_rs1")  // a3 += 1, back through t3
      .i(enc::addi(kA3, kA3, 1))
      .i(jenc::jalr(0, kT3, 0))
      .label("loop");
  const uint64_t f_same = a.addr("f_same"), f_rd_rs1 = a.addr("f_rd_rs1");
  ASSERT_EQ(f_same & kPageOffsetMask, other & kPageOffsetMask);
  a.la(kT1, f_same)
      .i(jenc::jalr(kRa, kT1, 0))  // same page
      .c(jenc::c_jalr(kT1))        // same page, compressed
      .i(jenc::jalr(kRa, kT1, 1))  // same page, odd offset: bit 0 cleared
      .la(kT2, other)
      .i(jenc::jalr(kRa, kT2, 0))  // other page
      .jal(kRa, "f_jal")           // direct
      .la(kT3, f_rd_rs1)
      .i(jenc::jalr(kT3, kT3, 0))  // rd = rs1: the target is read first
      .label("after_rd_rs1")
      .i(enc::addi(kT0, kT0, -1))
      .bne(kT0, 0, "loop")
      .label("done")
      .i(enc::jal_self());
  load(o);
  load(a);
  jit().pc = kCode;
  interp().pc = kCode;
  run(200000, 0);
  run(200000, 1);
  EXPECT_EQ(jit().pc, a.addr("done"));
  EXPECT_EQ(jit().x[kA0], 3 * kIterations);
  EXPECT_EQ(jit().x[kA1], kIterations);
  EXPECT_EQ(jit().x[kA2], kIterations);
  EXPECT_EQ(jit().x[kA3], kIterations);
  EXPECT_EQ(jit().x[kT3], a.addr("after_rd_rs1"));  // the link jalr t3 wrote
  for (unsigned r = 1; r < 32; ++r) EXPECT_EQ(jit().x[r], interp().x[r]) << "x" << r;
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
}

// ---- Aliases and page ends ----

// One physical page mapped at two virtual addresses: blocks translated
// through the first run through the second with the second's pc (auipc,
// links, branch targets).
TEST_F(JitTest, BlocksOfAPageMappedTwiceUseTheCurrentAddress) {
  constexpr uint64_t kV1 = 0x10000, kV2 = 0x7654000;
  new_address_space();
  map(kV1, kCode, kRWX);
  map(kV2, kCode, kRWX);
  Asm a(0);  // position-independent
  a.i(enc::addi(kT0, 0, kIterations))
      .label("loop")
      .i(jenc::auipc(kA0, 0))
      .jal(kA1, "next")
      .label("next")
      .i(enc::addi(kT0, kT0, -1))
      .bne(kT0, 0, "loop")
      .i(enc::kEcall);
  const std::vector<uint8_t> bytes = a.bytes();
  ASSERT_TRUE(memory_.write(GuestAddr(kCode), bytes).has_value());
  HartShared::invalidate_on_store(*shared_->code_state(kCode));
  for (uint64_t base : {kV1, kV2, kV1}) {
    jit().set_priv(Priv::kSupervisor);
    jit().pc = base;
    run(1 + 4 * kIterations + 1);
    EXPECT_EQ(csr(kMcause, 0), exc::kEcallFromS);
    EXPECT_EQ(csr(kMepc, 0), base + a.here() - 4);
    EXPECT_EQ(jit().x[kA0], base + a.addr("loop"));
    EXPECT_EQ(jit().x[kA1], base + a.addr("next"));
  }
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
}

// A hot loop calls through a virtual page whose mapping it flips between two
// physical pages on every iteration (PTE store, then SFENCE.VMA of the page
// or of everything): every call reaches the page mapped at that moment,
// however hot the other page's code is (and whatever cache of jump targets
// the JIT keeps).
class JitRemapTest : public JitTest, public ::testing::WithParamInterface<bool> {};

TEST_P(JitRemapTest, CallThroughRemappedPageReachesTheNewPage) {
  const bool by_address = GetParam();
  constexpr uint64_t kVCode = 0x10000, kVSwitch = 0x40000, kVPt = 0x50000;
  constexpr uint64_t kPage0 = kCode + 0x2000, kPage1 = kCode + 0x3000;  // PPNs differ in bit 0
  new_address_space();
  map(kVCode, kCode, kRWX);
  const uint64_t pte = map(kVSwitch, kPage0, kRWX);
  map(kVPt, pte & ~kPageOffsetMask, kRW);  // the PTE, writable from S-mode
  code(kPage0, {enc::addi(kA0, kA0, 1), jenc::jalr(0, kRa, 0)});
  code(kPage1, {enc::addi(kA1, kA1, 1), jenc::jalr(0, kRa, 0)});
  Asm a(kVCode);
  a.i(enc::addi(kT0, 0, kIterations))
      .i(jenc::lui(kA3, kVPt >> 12))
      .i(enc::addi(kA3, kA3, static_cast<int32_t>(pte & kPageOffsetMask)))
      .li32(kA4, static_cast<int32_t>(peek64(pte)))
      .i(jenc::lui(kS2, kVSwitch >> 12))
      .label("loop")
      .i(jenc::jalr(kRa, kS2, 0))
      .i(jenc::andi(kT1, kT0, 1))
      .i(jenc::slli(kT1, kT1, 10))  // the PPN's bit 0
      .i(jenc::xor_(kT2, kA4, kT1))
      .i(enc::sd(kT2, kA3, 0))
      .i(enc::kSfenceVma | (by_address ? kS2 : 0) << 15)
      .i(enc::addi(kT0, kT0, -1))
      .bne(kT0, 0, "loop")
      .label("done")
      .i(enc::jal_self());
  const std::vector<uint8_t> bytes = a.bytes();
  ASSERT_TRUE(memory_.write(GuestAddr(kCode), bytes).has_value());
  HartShared::invalidate_on_store(*shared_->code_state(kCode));
  jit().set_priv(Priv::kSupervisor);
  jit().pc = kVCode;
  run(100000);
  EXPECT_EQ(jit().pc, a.addr("done"));
  // t0 = 200 calls page 0; then each call goes where the previous iteration
  // (t0 + 1) pointed: page 0 after an even count, page 1 after an odd one.
  EXPECT_EQ(jit().x[kA0], 1 + kIterations / 2);
  EXPECT_EQ(jit().x[kA1], kIterations / 2 - 1);
  EXPECT_EQ(jit().x[kA7], 0u);  // no trap
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
}

INSTANTIATE_TEST_SUITE_P(All, JitRemapTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "SfenceOfThePage" : "SfenceOfEverything";
                         });

// A hot loop running over a page boundary, with a 4-byte instruction
// straddling it: blocks end at the page end, the straddling instruction is
// interpreted, and the loop computes the same as the interpreter.
TEST_F(JitTest, HotLoopAcrossPageBoundaryWithStraddlingInstruction) {
  const uint64_t start = kCode + 0x1000 - 12;
  Asm a(start);
  a.i(enc::addi(kT0, 0, kIterations))
      .label("loop")
      .c(jenc::c_addi(kA0, 1))
      .i(enc::addi(kA1, kA1, 3))
      .i(enc::addi(kA2, kA2, 5));  // at kCode + 0xffe: straddles
  ASSERT_EQ(a.here(), kCode + 0x1002);
  a.i(enc::addi(kT0, kT0, -1)).bne(kT0, 0, "loop").label("done").i(enc::jal_self());
  load(a);
  jit().pc = start;
  run(100000);
  EXPECT_EQ(jit().pc, a.addr("done"));
  EXPECT_EQ(jit().x[kA0], kIterations);
  EXPECT_EQ(jit().x[kA1], 3 * kIterations);
  EXPECT_EQ(jit().x[kA2], 5 * kIterations);
  EXPECT_GT(jit().jit_blocks_translated(), 0u);
}

}  // namespace
}  // namespace vireo::riscv::test
