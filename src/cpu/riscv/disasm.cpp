// Disassembler for traces and tests: renders a decoded instruction the way
// GNU objdump does with -M no-aliases (ABI register names, CSR names, absolute
// branch targets), driven by each table row's operand list. Compressed
// instructions are shown as their 32-bit expansion.
#include <fmt/format.h>

#include <string>
#include <string_view>

#include "cpu/riscv/isa.hpp"

namespace vireo::riscv {

namespace {

constexpr const char* kIntRegNames[33] = {
    "zero", "ra", "sp", "gp", "tp",  "t0",  "t1", "t2", "s0", "s1", "a0",
    "a1",   "a2", "a3", "a4", "a5",  "a6",  "a7", "s2", "s3", "s4", "s5",
    "s6",   "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
    "zero",  // x[32], the write sink for rd = x0
};

constexpr const char* kFpRegNames[32] = {
    "ft0", "ft1", "ft2", "ft3", "ft4",  "ft5",  "ft6", "ft7", "fs0",  "fs1",  "fa0",
    "fa1", "fa2", "fa3", "fa4", "fa5",  "fa6",  "fa7", "fs2", "fs3",  "fs4",  "fs5",
    "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
};

constexpr const char* kRoundingModes[8] = {"rne", "rtz",     "rdn",     "rup",
                                           "rmm", "unknown", "unknown", "dyn"};

struct CsrName {
  uint16_t number;
  const char* name;
};

constexpr CsrName kCsrNames[] = {
    {0x001, "fflags"},   {0x002, "frm"},        {0x003, "fcsr"},       {0x100, "sstatus"},
    {0x104, "sie"},      {0x105, "stvec"},      {0x106, "scounteren"}, {0x10a, "senvcfg"},
    {0x140, "sscratch"}, {0x141, "sepc"},       {0x142, "scause"},     {0x143, "stval"},
    {0x144, "sip"},      {0x14d, "stimecmp"},   {0x180, "satp"},       {0x300, "mstatus"},
    {0x301, "misa"},     {0x302, "medeleg"},    {0x303, "mideleg"},    {0x304, "mie"},
    {0x305, "mtvec"},    {0x306, "mcounteren"}, {0x30a, "menvcfg"},    {0x320, "mcountinhibit"},
    {0x340, "mscratch"}, {0x341, "mepc"},       {0x342, "mcause"},     {0x343, "mtval"},
    {0x344, "mip"},      {0x7a0, "tselect"},    {0x7a1, "tdata1"},     {0x7a2, "tdata2"},
    {0x7a3, "tdata3"},   {0xb00, "mcycle"},     {0xb02, "minstret"},   {0xc00, "cycle"},
    {0xc01, "time"},     {0xc02, "instret"},    {0xf11, "mvendorid"},  {0xf12, "marchid"},
    {0xf13, "mimpid"},   {0xf14, "mhartid"},    {0xf15, "mconfigptr"},
};

std::string csr_text(uint64_t number) {
  for (const auto& csr : kCsrNames) {
    if (csr.number == number) return csr.name;
  }
  // Numbered families.
  if (number >= 0xc03 && number <= 0xc1f) return fmt::format("hpmcounter{}", number - 0xc00);
  if (number >= 0xb03 && number <= 0xb1f) return fmt::format("mhpmcounter{}", number - 0xb00);
  if (number >= 0x323 && number <= 0x33f) return fmt::format("mhpmevent{}", number - 0x320);
  if (number >= 0x3a0 && number <= 0x3af) return fmt::format("pmpcfg{}", number - 0x3a0);
  if (number >= 0x3b0 && number <= 0x3ef) return fmt::format("pmpaddr{}", number - 0x3b0);
  return fmt::format("0x{:x}", number);
}

// Fence predecessor/successor sets as objdump prints them ("iorw", "r", "0").
std::string fence_set(unsigned set) {
  std::string text;
  if (set & 8) text += 'i';
  if (set & 4) text += 'o';
  if (set & 2) text += 'r';
  if (set & 1) text += 'w';
  return text.empty() ? "0" : text;
}

std::string immediate_text(const OpcodeDef& row, const DecodedInsn& d, uint64_t pc) {
  switch (row.format) {
    case Format::kB:
    case Format::kJ:
      return fmt::format("0x{:x}", pc + d.imm);
    case Format::kU:
      return fmt::format("0x{:x}", (static_cast<uint64_t>(d.imm) >> 12) & 0xfffff);
    case Format::kShift:
    case Format::kShiftW:
      return fmt::format("0x{:x}", d.imm);
    default:
      return fmt::format("{}", d.imm);
  }
}

// One operand token of a row's args; empty when the operand is omitted (a
// dynamic rounding mode).
std::string operand_text(std::string_view token, const OpcodeDef& row, const DecodedInsn& d,
                         uint64_t pc) {
  if (token == "rd") return kIntRegNames[d.rd];
  if (token == "rs1") return kIntRegNames[d.rs1];
  if (token == "rs2") return kIntRegNames[d.rs2];
  if (token == "rs3") return kIntRegNames[d.rs3];
  if (token == "frd") return kFpRegNames[d.rd & 31];
  if (token == "frs1") return kFpRegNames[d.rs1 & 31];
  if (token == "frs2") return kFpRegNames[d.rs2 & 31];
  if (token == "frs3") return kFpRegNames[d.rs3 & 31];
  if (token == "imm") return immediate_text(row, d, pc);
  if (token == "off(rs1)") return fmt::format("{}({})", d.imm, kIntRegNames[d.rs1]);
  if (token == "(rs1)") return fmt::format("({})", kIntRegNames[d.rs1]);
  if (token == "csr") return csr_text(static_cast<uint64_t>(d.imm) & 0xfff);
  if (token == "uimm") return fmt::format("{}", d.rs1);
  if (token == "rm") {
    if (d.rm == 7) return {};  // dynamic: objdump leaves it out
    return kRoundingModes[d.rm];
  }
  if (token == "pred") return fence_set((d.imm >> 4) & 0xf);
  if (token == "succ") return fence_set(d.imm & 0xf);
  return fmt::format("?{}", token);
}

std::string mnemonic(const OpcodeDef& row, const DecodedInsn& d, bool& omit_operands) {
  std::string name = row.name;
  if (row.format == Format::kAmo) {
    static constexpr const char* kOrdering[4] = {"", ".rl", ".aq", ".aqrl"};
    name += kOrdering[d.rm & 3];
  }
  // Fence variants share one table row (see isa/rv64i.cpp).
  const uint32_t expanded = d.len == 2 ? 0 : d.raw;
  if (name == "fence") {
    if ((expanded & 0xfff0707f) == 0x8330000f) name = "fence.tso", omit_operands = true;
    if (expanded == 0x0100000f) name = "pause", omit_operands = true;
  }
  return name;
}

}  // namespace

std::string disassemble(const DecodedInsn& d, uint64_t pc) {
  const auto opcodes = all_opcodes();
  if (d.op == kInvalidOp || d.op >= opcodes.size()) {
    return d.len == 2 ? fmt::format("unknown 0x{:04x}", d.raw)
                      : fmt::format("unknown 0x{:08x}", d.raw);
  }
  const OpcodeDef& row = opcodes[d.op];
  bool omit_operands = false;
  std::string text = mnemonic(row, d, omit_operands);
  const std::string_view args = row.args ? row.args : "";
  if (omit_operands || args.empty()) return text;

  bool first = true;
  size_t start = 0;
  while (start <= args.size()) {
    size_t end = args.find(',', start);
    if (end == std::string_view::npos) end = args.size();
    std::string_view token = args.substr(start, end - start);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    const std::string operand = operand_text(token, row, d, pc);
    if (!operand.empty()) {
      text += first ? ' ' : ',';
      text += operand;
      first = false;
    }
    start = end + 1;
  }
  return text;
}

}  // namespace vireo::riscv
