// Instruction table for the zb extension (filled in by its owner).
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"

namespace vireo::riscv {

std::span<const OpcodeDef> opcodes_zb() { return {}; }

}  // namespace vireo::riscv
