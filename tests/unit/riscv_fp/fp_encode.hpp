// Encoders for the RISC-V F/D instructions the FP tests run (the interpreter through decode(),
// and the Unicorn oracle), so tests name instructions instead of spelling bit patterns.
#pragma once

#include <cstdint>

namespace vireo::riscv::fp_test {

inline constexpr uint32_t kOpFp = 0x53;

// OP-FP, R format: funct7 | rs2 | rs1 | rm | rd.
inline constexpr uint32_t op_fp(uint32_t funct7, unsigned rd, unsigned rs1, unsigned rs2,
                                unsigned rm) {
  return funct7 << 25 | rs2 << 20 | rs1 << 15 | rm << 12 | rd << 7 | kOpFp;
}

// R4 format (fmadd 0x43, fmsub 0x47, fnmsub 0x4b, fnmadd 0x4f); fmt 0 = S, 1 = D.
inline constexpr uint32_t r4(uint32_t opcode, unsigned fmt, unsigned rd, unsigned rs1, unsigned rs2,
                             unsigned rs3, unsigned rm) {
  return rs3 << 27 | fmt << 25 | rs2 << 20 | rs1 << 15 | rm << 12 | rd << 7 | opcode;
}

// flw/fld (opcode 0x07) and fsw/fsd (0x27); width 2 = W, 3 = D.
inline constexpr uint32_t fp_load(unsigned width, unsigned rd, unsigned rs1, int32_t offset) {
  return uint32_t(offset & 0xfff) << 20 | rs1 << 15 | width << 12 | rd << 7 | 0x07;
}
inline constexpr uint32_t fp_store(unsigned width, unsigned rs2, unsigned rs1, int32_t offset) {
  uint32_t imm = uint32_t(offset) & 0xfff;
  return (imm >> 5) << 25 | rs2 << 20 | rs1 << 15 | width << 12 | (imm & 31) << 7 | 0x27;
}

}  // namespace vireo::riscv::fp_test
