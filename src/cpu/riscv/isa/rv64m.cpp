// Instruction table for the rv64m extension (filled in by its owner).
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"

namespace vireo::riscv {

std::span<const OpcodeDef> opcodes_rv64m() { return {}; }

}  // namespace vireo::riscv
