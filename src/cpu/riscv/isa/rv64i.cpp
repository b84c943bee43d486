// Instruction table for the rv64i extension (filled in by its owner).
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"

namespace vireo::riscv {

std::span<const OpcodeDef> opcodes_rv64i() { return {}; }

}  // namespace vireo::riscv
