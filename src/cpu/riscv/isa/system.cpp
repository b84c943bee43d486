// Instruction table for the system extension (filled in by its owner).
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"

namespace vireo::riscv {

std::span<const OpcodeDef> opcodes_system() { return {}; }

}  // namespace vireo::riscv
