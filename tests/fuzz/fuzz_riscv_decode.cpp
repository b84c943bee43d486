// libFuzzer target: the RISC-V decoder and disassembler on arbitrary
// encodings. The input is a sequence of little-endian 32-bit words (a
// trailing 16-bit parcel is decoded as a compressed encoding). Beyond "no
// crash", it checks the decoder's invariants: lengths, register ranges, a
// matching table row, and that a compressed instruction decodes exactly like
// its 32-bit expansion.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cpu/riscv/isa.hpp"

namespace {

using vireo::riscv::DecodedInsn;

[[noreturn]] void violated(const char* what, uint32_t raw) {
  std::fprintf(stderr, "decoder invariant violated for 0x%08x: %s\n", raw, what);
  std::abort();
}

void check_one(uint32_t raw, uint64_t pc) {
  using namespace vireo::riscv;
  const DecodedInsn d = decode(raw);
  const bool compressed = (raw & 3) != 3;
  if (d.exec == nullptr) violated("no exec function", raw);
  if (d.len != (compressed ? 2 : 4)) violated("wrong length", raw);
  if (d.raw != (compressed ? (raw & 0xffff) : raw)) violated("raw is not the encoding", raw);
  if (d.rd > 32 || d.rs1 > 31 || d.rs2 > 31 || d.rs3 > 31) violated("register out of range", raw);

  const auto table = all_opcodes();
  if (d.op != kInvalidOp) {
    if (d.op >= table.size()) violated("op index out of range", raw);
    const OpcodeDef& row = table[d.op];
    const uint32_t word = compressed ? expand_compressed(static_cast<uint16_t>(raw)) : raw;
    if ((word & row.mask) != row.match) violated("row does not match the encoding", raw);
  }
  if (compressed) {
    const uint32_t expanded = expand_compressed(static_cast<uint16_t>(raw));
    if (expanded != 0) {
      if ((expanded & 3) != 3) violated("expansion is not a 32-bit encoding", raw);
      const DecodedInsn e = decode(expanded);
      if (e.op != d.op || e.rd != d.rd || e.rs1 != d.rs1 || e.rs2 != d.rs2 || e.rs3 != d.rs3 ||
          e.imm != d.imm || e.rm != d.rm || e.exec != d.exec) {
        violated("compressed decode differs from its expansion", raw);
      }
    } else if (d.op != kInvalidOp) {
      violated("illegal compressed encoding decoded to an instruction", raw);
    }
  }

  const std::string text = disassemble(d, pc);
  if (text.empty()) violated("empty disassembly", raw);
  if (text.find('\0') != std::string::npos) violated("NUL in disassembly", raw);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The pc feeds pc-relative disassembly (branch targets): take it from the
  // first word, so edge values (wrap-around) get explored too.
  uint64_t pc = 0x80000000;
  size_t i = 0;
  if (size >= 8) {
    std::memcpy(&pc, data, 8);
    i = 8;
  }
  for (; i + 4 <= size; i += 4) {
    uint32_t raw;
    std::memcpy(&raw, data + i, 4);
    check_one(raw, pc);
    // Each word is also two compressed candidates.
    check_one(raw & 0xffff, pc);
    check_one(raw >> 16, pc);
  }
  if (i + 2 <= size) {
    uint16_t parcel;
    std::memcpy(&parcel, data + i, 2);
    check_one(parcel, pc);
  }
  return 0;
}
