// The RISC-V decoder: one lookup structure built from the extension tables,
// operand extraction per Format, and RV64C expansion to 32-bit equivalents.
#include <array>
#include <cstring>
#include <vector>

#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"
#include "cpu/riscv/isa/inline_ops.hpp"

namespace vireo::riscv {

namespace {

// Field helpers for 32-bit encodings.
constexpr uint32_t bits(uint32_t v, unsigned hi, unsigned lo) {
  return (v >> lo) & ((1u << (hi - lo + 1)) - 1);
}
constexpr int64_t sext(uint64_t v, unsigned width) {
  const unsigned shift = 64 - width;
  return static_cast<int64_t>(v << shift) >> shift;
}

void exec_illegal(Hart& h, const DecodedInsn& d) { h.raise_illegal(d); }

// A table row as the lookup scans it: the match data next to the index so a
// bucket scan touches one contiguous array.
struct Candidate {
  uint32_t mask;
  uint32_t match;
  uint16_t op;
  bool rd_is_integer;  // args begin with "rd": x0 destinations go to the sink
};

// Rows bucketed by major opcode (inst[6:2]) and funct3 (inst[14:12]). A row
// that leaves some of those bits free is placed in every bucket it can match,
// so a lookup scans only the few rows that share both fields.
class DecodeTable {
 public:
  DecodeTable() {
    opcodes_.reserve(256);
    for (auto table : {opcodes_rv64i(), opcodes_rv64m(), opcodes_rv64a(), opcodes_rv64f(),
                       opcodes_rv64d(), opcodes_zb(), opcodes_system()}) {
      opcodes_.insert(opcodes_.end(), table.begin(), table.end());
    }
    std::array<std::vector<Candidate>, kBuckets> buckets;
    for (size_t i = 0; i < opcodes_.size(); ++i) {
      const OpcodeDef& row = opcodes_[i];
      inline_ops_.push_back(inline_op_for(row.exec));
      const char* args = row.args ? row.args : "";
      const bool rd_is_integer =
          args[0] == 'r' && args[1] == 'd' && (args[2] == ',' || args[2] == '\0');
      const Candidate c{row.mask, row.match, static_cast<uint16_t>(i), rd_is_integer};
      for (uint32_t key = 0; key < kBuckets; ++key) {
        const uint32_t sample = bucket_sample(key);
        if (((sample ^ row.match) & row.mask & kKeyBits) == 0) buckets[key].push_back(c);
      }
    }
    // Flatten into one array with per-bucket offsets: no pointer chasing.
    for (uint32_t key = 0; key < kBuckets; ++key) {
      begin_[key] = static_cast<uint16_t>(flat_.size());
      flat_.insert(flat_.end(), buckets[key].begin(), buckets[key].end());
    }
    begin_[kBuckets] = static_cast<uint16_t>(flat_.size());
  }

  std::span<const OpcodeDef> opcodes() const { return opcodes_; }
  uint8_t inline_op(uint16_t op) const { return inline_ops_[op]; }

  const Candidate* find(uint32_t raw) const {
    const uint32_t key = bucket_key(raw);
    for (uint32_t i = begin_[key]; i < begin_[key + 1]; ++i) {
      if ((raw & flat_[i].mask) == flat_[i].match) return &flat_[i];
    }
    return nullptr;
  }

 private:
  static constexpr uint32_t kBuckets = 256;
  static constexpr uint32_t kKeyBits = 0x707c;  // inst[14:12] and inst[6:2]
  static uint32_t bucket_key(uint32_t raw) { return bits(raw, 6, 2) | bits(raw, 14, 12) << 5; }
  static uint32_t bucket_sample(uint32_t key) { return (key & 31) << 2 | (key >> 5) << 12; }

  std::vector<OpcodeDef> opcodes_;
  std::vector<uint8_t> inline_ops_;  // per row: InlineOp
  std::vector<Candidate> flat_;
  std::array<uint16_t, kBuckets + 1> begin_{};
};

const DecodeTable& decode_table() {
  static const DecodeTable table;
  return table;
}

DecodedInsn illegal_insn(uint32_t raw, uint8_t len) {
  DecodedInsn d{};
  d.exec = exec_illegal;
  d.raw = raw;
  d.op = kInvalidOp;
  d.len = len;
  return d;
}

DecodedInsn decode32(uint32_t raw) {
  const Candidate* c = decode_table().find(raw);
  if (!c) return illegal_insn(raw, 4);
  const OpcodeDef& row = decode_table().opcodes()[c->op];

  DecodedInsn d{};
  d.exec = row.exec;
  d.raw = raw;
  d.op = c->op;
  d.inline_op = decode_table().inline_op(c->op);
  d.len = 4;
  const uint8_t rd = bits(raw, 11, 7);
  const uint8_t rs1 = bits(raw, 19, 15);
  const uint8_t rs2 = bits(raw, 24, 20);
  const uint8_t funct3 = bits(raw, 14, 12);
  switch (row.format) {
    case Format::kNone:
      break;
    case Format::kR:
      d.rd = rd, d.rs1 = rs1, d.rs2 = rs2, d.rm = funct3;
      break;
    case Format::kR4:
      d.rd = rd, d.rs1 = rs1, d.rs2 = rs2, d.rs3 = bits(raw, 31, 27), d.rm = funct3;
      break;
    case Format::kI:
      d.rd = rd, d.rs1 = rs1, d.rm = funct3;
      d.imm = sext(bits(raw, 31, 20), 12);
      break;
    case Format::kS:
      d.rs1 = rs1, d.rs2 = rs2;
      d.imm = sext(bits(raw, 31, 25) << 5 | bits(raw, 11, 7), 12);
      break;
    case Format::kB:
      d.rs1 = rs1, d.rs2 = rs2;
      d.imm = sext(bits(raw, 31, 31) << 12 | bits(raw, 7, 7) << 11 | bits(raw, 30, 25) << 5 |
                       bits(raw, 11, 8) << 1,
                   13);
      break;
    case Format::kU:
      d.rd = rd;
      d.imm = sext(raw & 0xfffff000u, 32);
      break;
    case Format::kJ:
      d.rd = rd;
      d.imm = sext(bits(raw, 31, 31) << 20 | bits(raw, 19, 12) << 12 | bits(raw, 20, 20) << 11 |
                       bits(raw, 30, 21) << 1,
                   21);
      break;
    case Format::kShift:
      d.rd = rd, d.rs1 = rs1;
      d.imm = bits(raw, 25, 20);
      break;
    case Format::kShiftW:
      d.rd = rd, d.rs1 = rs1;
      d.imm = bits(raw, 24, 20);
      break;
    case Format::kCsr:
      d.rd = rd, d.rs1 = rs1, d.rm = funct3;
      d.imm = bits(raw, 31, 20);
      break;
    case Format::kAmo:
      d.rd = rd, d.rs1 = rs1, d.rs2 = rs2;
      d.rm = bits(raw, 26, 25);
      break;
  }
  if (c->rd_is_integer && d.rd == 0) d.rd = 32;
  return d;
}

// ---- RV64C expansion ----

// Encoders for the 32-bit forms compressed instructions expand to. Immediates
// are passed already in range; the encoders only place bits.
constexpr uint32_t enc_r(uint32_t opcode, uint32_t rd, uint32_t f3, uint32_t rs1, uint32_t rs2,
                         uint32_t f7) {
  return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | opcode;
}
constexpr uint32_t enc_i(uint32_t opcode, uint32_t rd, uint32_t f3, uint32_t rs1, int32_t imm) {
  return (static_cast<uint32_t>(imm) & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | opcode;
}
constexpr uint32_t enc_s(uint32_t opcode, uint32_t f3, uint32_t rs1, uint32_t rs2, int32_t imm) {
  const uint32_t u = static_cast<uint32_t>(imm);
  return bits(u, 11, 5) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | bits(u, 4, 0) << 7 | opcode;
}
constexpr uint32_t enc_b(uint32_t f3, uint32_t rs1, uint32_t rs2, int32_t imm) {
  const uint32_t u = static_cast<uint32_t>(imm);
  return bits(u, 12, 12) << 31 | bits(u, 10, 5) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 |
         bits(u, 4, 1) << 8 | bits(u, 11, 11) << 7 | 0x63;
}
constexpr uint32_t enc_j(uint32_t rd, int32_t imm) {
  const uint32_t u = static_cast<uint32_t>(imm);
  return bits(u, 20, 20) << 31 | bits(u, 10, 1) << 21 | bits(u, 11, 11) << 20 |
         bits(u, 19, 12) << 12 | rd << 7 | 0x6f;
}
constexpr uint32_t enc_u(uint32_t opcode, uint32_t rd, int32_t imm) {
  return (static_cast<uint32_t>(imm) & 0xfffff000u) | rd << 7 | opcode;
}

constexpr uint32_t kOpLoad = 0x03, kOpLoadFp = 0x07, kOpImm = 0x13, kOpImm32 = 0x1b,
                   kOpStore = 0x23, kOpStoreFp = 0x27, kOp = 0x33, kOpLui = 0x37, kOp32 = 0x3b,
                   kOpJalr = 0x67;
constexpr uint32_t kEbreak = 0x00100073;
constexpr uint32_t kSp = 2, kRa = 1;

// Compressed field helpers (c is the 16-bit encoding).
constexpr uint32_t cb(uint32_t c, unsigned hi, unsigned lo) { return bits(c, hi, lo); }
constexpr uint32_t creg(uint32_t c, unsigned lo) { return 8 + bits(c, lo + 2, lo); }  // x8..x15
// The 6-bit signed immediate imm[5] = c[12], imm[4:0] = c[6:2] shared by
// c.addi, c.addiw, c.li, c.andi.
constexpr int32_t ci_imm(uint32_t c) {
  return static_cast<int32_t>(sext(cb(c, 12, 12) << 5 | cb(c, 6, 2), 6));
}
constexpr uint32_t ci_shamt(uint32_t c) { return cb(c, 12, 12) << 5 | cb(c, 6, 2); }
// c.lw/c.sw offset: uimm[5:3] = c[12:10], uimm[2] = c[6], uimm[6] = c[5].
constexpr int32_t cl_w_off(uint32_t c) {
  return cb(c, 12, 10) << 3 | cb(c, 6, 6) << 2 | cb(c, 5, 5) << 6;
}
// c.ld/c.sd/c.fld/c.fsd offset: uimm[5:3] = c[12:10], uimm[7:6] = c[6:5].
constexpr int32_t cl_d_off(uint32_t c) { return cb(c, 12, 10) << 3 | cb(c, 6, 5) << 6; }

uint32_t expand_q0(uint32_t c) {
  const uint32_t rd = creg(c, 2), rs1 = creg(c, 7);
  switch (cb(c, 15, 13)) {
    case 0: {  // c.addi4spn: nzuimm[5:4|9:6|2|3] = c[12:11|10:7|6|5]
      const int32_t imm =
          cb(c, 12, 11) << 4 | cb(c, 10, 7) << 6 | cb(c, 6, 6) << 2 | cb(c, 5, 5) << 3;
      if (imm == 0) return 0;  // reserved; also covers the all-zero instruction
      return enc_i(kOpImm, rd, 0, kSp, imm);
    }
    case 1:
      return enc_i(kOpLoadFp, rd, 3, rs1, cl_d_off(c));  // c.fld
    case 2:
      return enc_i(kOpLoad, rd, 2, rs1, cl_w_off(c));  // c.lw
    case 3:
      return enc_i(kOpLoad, rd, 3, rs1, cl_d_off(c));  // c.ld
    case 5:
      return enc_s(kOpStoreFp, 3, rs1, rd, cl_d_off(c));  // c.fsd
    case 6:
      return enc_s(kOpStore, 2, rs1, rd, cl_w_off(c));  // c.sw
    case 7:
      return enc_s(kOpStore, 3, rs1, rd, cl_d_off(c));  // c.sd
    default:
      return 0;  // reserved
  }
}

uint32_t expand_q1(uint32_t c) {
  const uint32_t rd = cb(c, 11, 7);
  switch (cb(c, 15, 13)) {
    case 0:
      return enc_i(kOpImm, rd, 0, rd, ci_imm(c));  // c.addi, c.nop (HINTs included)
    case 1:                                        // c.addiw
      if (rd == 0) return 0;
      return enc_i(kOpImm32, rd, 0, rd, ci_imm(c));
    case 2:
      return enc_i(kOpImm, rd, 0, 0, ci_imm(c));  // c.li
    case 3:
      if (rd == kSp) {  // c.addi16sp: nzimm[9] = c[12], nzimm[4|6|8:7|5] = c[6|5|4:3|2]
        const int32_t imm =
            static_cast<int32_t>(sext(cb(c, 12, 12) << 9 | cb(c, 6, 6) << 4 | cb(c, 5, 5) << 6 |
                                          cb(c, 4, 3) << 7 | cb(c, 2, 2) << 5,
                                      10));
        if (imm == 0) return 0;
        return enc_i(kOpImm, kSp, 0, kSp, imm);
      } else {  // c.lui: nzimm[17] = c[12], nzimm[16:12] = c[6:2]
        const int32_t imm = static_cast<int32_t>(sext(cb(c, 12, 12) << 17 | cb(c, 6, 2) << 12, 18));
        if (imm == 0) return 0;
        return enc_u(kOpLui, rd, imm);
      }
    case 4: {
      const uint32_t rdp = creg(c, 7), rs2p = creg(c, 2);
      switch (cb(c, 11, 10)) {
        case 0:
          return enc_i(kOpImm, rdp, 5, rdp, ci_shamt(c));  // c.srli
        case 1:
          return enc_i(kOpImm, rdp, 5, rdp, ci_shamt(c) | 0x400);  // c.srai
        case 2:
          return enc_i(kOpImm, rdp, 7, rdp, ci_imm(c));  // c.andi
        default:
          break;
      }
      static constexpr struct {
        uint32_t opcode, f3, f7;
      } kAlu[8] = {
          {kOp, 0, 0x20},   {kOp, 4, 0},   {kOp, 6, 0}, {kOp, 7, 0},  // c.sub c.xor c.or c.and
          {kOp32, 0, 0x20}, {kOp32, 0, 0}, {0, 0, 0},   {0, 0, 0},    // c.subw c.addw reserved
      };
      const auto& alu = kAlu[cb(c, 12, 12) << 2 | cb(c, 6, 5)];
      if (alu.opcode == 0) return 0;
      return enc_r(alu.opcode, rdp, alu.f3, rdp, rs2p, alu.f7);
    }
    case 5: {  // c.j: offset[11|4|9:8|10|6|7|3:1|5] = c[12|11|10:9|8|7|6|5:3|2]
      const int32_t off = static_cast<int32_t>(
          sext(cb(c, 12, 12) << 11 | cb(c, 11, 11) << 4 | cb(c, 10, 9) << 8 | cb(c, 8, 8) << 10 |
                   cb(c, 7, 7) << 6 | cb(c, 6, 6) << 7 | cb(c, 5, 3) << 1 | cb(c, 2, 2) << 5,
               12));
      return enc_j(0, off);
    }
    default: {  // c.beqz / c.bnez: offset[8|4:3|7:6|2:1|5] = c[12|11:10|6:5|4:3|2]
      const int32_t off =
          static_cast<int32_t>(sext(cb(c, 12, 12) << 8 | cb(c, 11, 10) << 3 | cb(c, 6, 5) << 6 |
                                        cb(c, 4, 3) << 1 | cb(c, 2, 2) << 5,
                                    9));
      return enc_b(cb(c, 15, 13) == 6 ? 0 : 1, creg(c, 7), 0, off);
    }
  }
}

uint32_t expand_q2(uint32_t c) {
  const uint32_t rd = cb(c, 11, 7), rs2 = cb(c, 6, 2);
  // Stack-relative offsets.
  const int32_t lwsp_off = cb(c, 12, 12) << 5 | cb(c, 6, 4) << 2 | cb(c, 3, 2) << 6;
  const int32_t ldsp_off = cb(c, 12, 12) << 5 | cb(c, 6, 5) << 3 | cb(c, 4, 2) << 6;
  const int32_t swsp_off = cb(c, 12, 9) << 2 | cb(c, 8, 7) << 6;
  const int32_t sdsp_off = cb(c, 12, 10) << 3 | cb(c, 9, 7) << 6;
  switch (cb(c, 15, 13)) {
    case 0:
      return enc_i(kOpImm, rd, 1, rd, ci_shamt(c));  // c.slli (HINTs included)
    case 1:
      return enc_i(kOpLoadFp, rd, 3, kSp, ldsp_off);  // c.fldsp
    case 2:                                           // c.lwsp
      if (rd == 0) return 0;
      return enc_i(kOpLoad, rd, 2, kSp, lwsp_off);
    case 3:  // c.ldsp
      if (rd == 0) return 0;
      return enc_i(kOpLoad, rd, 3, kSp, ldsp_off);
    case 4:
      if (cb(c, 12, 12) == 0) {
        if (rs2 == 0) {  // c.jr
          if (rd == 0) return 0;
          return enc_i(kOpJalr, 0, 0, rd, 0);
        }
        return enc_r(kOp, rd, 0, 0, rs2, 0);  // c.mv
      }
      if (rs2 == 0) {
        if (rd == 0) return kEbreak;           // c.ebreak
        return enc_i(kOpJalr, kRa, 0, rd, 0);  // c.jalr
      }
      return enc_r(kOp, rd, 0, rd, rs2, 0);  // c.add
    case 5:
      return enc_s(kOpStoreFp, 3, kSp, rs2, sdsp_off);  // c.fsdsp
    case 6:
      return enc_s(kOpStore, 2, kSp, rs2, swsp_off);  // c.swsp
    default:
      return enc_s(kOpStore, 3, kSp, rs2, sdsp_off);  // c.sdsp
  }
}

}  // namespace

uint32_t expand_compressed(uint16_t c) {
  switch (c & 3) {
    case 0:
      return expand_q0(c);
    case 1:
      return expand_q1(c);
    case 2:
      return expand_q2(c);
    default:
      return 0;  // not a compressed instruction
  }
}

uint8_t inline_op_for(ExecFn exec) {
  static constexpr ExecFn kHandlers[] = {
#define VIREO_INLINE_HANDLER(name, body, flow) &rv64i::exec_##flow<body>,
      VIREO_RISCV_INLINE_OPS(VIREO_INLINE_HANDLER)
#undef VIREO_INLINE_HANDLER
  };
  for (size_t i = 0; i < std::size(kHandlers); ++i) {
    if (kHandlers[i] == exec) return static_cast<uint8_t>(kInlineCall_c + 1 + 2 * i);
  }
  return kInlineCall;
}

std::span<const OpcodeDef> all_opcodes() { return decode_table().opcodes(); }

DecodedInsn decode(uint32_t raw) {
  if ((raw & 3) == 3) return decode32(raw);
  const uint16_t c = static_cast<uint16_t>(raw);
  const uint32_t expanded = expand_compressed(c);
  if (expanded == 0) return illegal_insn(c, 2);
  DecodedInsn d = decode32(expanded);
  // The expansion may name an extension the tables lack: still illegal, and
  // the trap value is the 16-bit encoding either way.
  d.raw = c;
  d.len = 2;
  d.inline_op = inline_op_for_len(d.inline_op, 2);
  return d;
}

}  // namespace vireo::riscv
