// RV64M: integer multiply and divide encodings (semantics in isa/rv64m.hpp).
#include "cpu/riscv/isa/rv64m.hpp"
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"
#include "cpu/riscv/isa/rv64i.hpp"

namespace vireo::riscv {

namespace {

using rv64i::alu_reg;
using rv64i::exec_seq;
using namespace rv64m;

constexpr uint32_t kFunct7Mask = 0xfe00707f;

constexpr OpcodeDef kOpcodes[] = {
    {"mul", kFunct7Mask, 0x02000033, Format::kR, exec_seq<alu_reg<op_mul>>, "rd,rs1,rs2"},
    {"mulh", kFunct7Mask, 0x02001033, Format::kR, exec_seq<alu_reg<op_mulh>>, "rd,rs1,rs2"},
    {"mulhsu", kFunct7Mask, 0x02002033, Format::kR, exec_seq<alu_reg<op_mulhsu>>, "rd,rs1,rs2"},
    {"mulhu", kFunct7Mask, 0x02003033, Format::kR, exec_seq<alu_reg<op_mulhu>>, "rd,rs1,rs2"},
    {"div", kFunct7Mask, 0x02004033, Format::kR, exec_seq<alu_reg<op_div>>, "rd,rs1,rs2"},
    {"divu", kFunct7Mask, 0x02005033, Format::kR, exec_seq<alu_reg<op_divu>>, "rd,rs1,rs2"},
    {"rem", kFunct7Mask, 0x02006033, Format::kR, exec_seq<alu_reg<op_rem>>, "rd,rs1,rs2"},
    {"remu", kFunct7Mask, 0x02007033, Format::kR, exec_seq<alu_reg<op_remu>>, "rd,rs1,rs2"},
    {"mulw", kFunct7Mask, 0x0200003b, Format::kR, exec_seq<alu_reg<op_mulw>>, "rd,rs1,rs2"},
    {"divw", kFunct7Mask, 0x0200403b, Format::kR, exec_seq<alu_reg<op_divw>>, "rd,rs1,rs2"},
    {"divuw", kFunct7Mask, 0x0200503b, Format::kR, exec_seq<alu_reg<op_divuw>>, "rd,rs1,rs2"},
    {"remw", kFunct7Mask, 0x0200603b, Format::kR, exec_seq<alu_reg<op_remw>>, "rd,rs1,rs2"},
    {"remuw", kFunct7Mask, 0x0200703b, Format::kR, exec_seq<alu_reg<op_remuw>>, "rd,rs1,rs2"},
};

}  // namespace

std::span<const OpcodeDef> opcodes_rv64m() { return kOpcodes; }

}  // namespace vireo::riscv
