// Instruction table for the privileged and system instructions: Zicsr,
// ECALL/EBREAK, MRET/SRET, WFI, SFENCE.VMA and Zifencei's FENCE.I.
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa.hpp"
#include "cpu/riscv/sbi.hpp"

namespace vireo::riscv {

using namespace csr;

// Friend of Hart: these instructions change privileged state directly.
struct SystemInsns {
  static uint16_t csr_number(const DecodedInsn& d) { return static_cast<uint16_t>(d.imm & 0xfff); }
  static bool writes_rd(const DecodedInsn& d) { return d.rd != 0 && d.rd != 32; }

  // CSRRW/CSRRWI: always write; read (with its access check) only when rd != x0.
  template <bool kImmediate>
  static void csrrw(Hart& h, const DecodedInsn& d) {
    const uint16_t csr = csr_number(d);
    const uint64_t src = kImmediate ? d.rs1 : h.x[d.rs1];
    uint64_t old = 0;
    if (writes_rd(d) && !h.csr_read(csr, old)) return h.raise_illegal(d);
    if (!h.csr_write(csr, src)) return h.raise_illegal(d);
    h.x[d.rd] = old;
    h.pc += d.len;
  }

  // CSRRS/CSRRC(I): always read; write only when rs1 != x0 (uimm != 0), so a
  // plain read of a read-only CSR is legal.
  template <bool kImmediate, bool kSet>
  static void csrrs_c(Hart& h, const DecodedInsn& d) {
    const uint16_t csr = csr_number(d);
    const uint64_t src = kImmediate ? d.rs1 : h.x[d.rs1];
    uint64_t old;
    if (!h.csr_read(csr, old)) return h.raise_illegal(d);
    if (d.rs1 != 0) {
      const uint64_t base = h.csr_modify_base(csr, old);
      const uint64_t next = kSet ? (base | src) : (base & ~src);
      if (!h.csr_write(csr, next)) return h.raise_illegal(d);
    }
    h.x[d.rd] = old;
    h.pc += d.len;
  }

  static void ecall(Hart& h, const DecodedInsn& d) {
    if (h.priv == Priv::kSupervisor && h.config_.builtin_sbi) {
      h.pc += d.len;  // SBI calls return after the ECALL (unless they redirect)
      Sbi::handle_ecall(h);
      return;
    }
    h.raise_exception(exc::kEcallFromU + static_cast<uint64_t>(h.priv), 0);
  }

  static void ebreak(Hart& h, const DecodedInsn&) { h.raise_exception(exc::kBreakpoint, h.pc); }

  static void mret(Hart& h, const DecodedInsn& d) {
    if (h.priv != Priv::kMachine) return h.raise_illegal(d);
    uint64_t s = h.mstatus_;
    const auto target = static_cast<Priv>((s & mstatus::kMPP) >> mstatus::kMPPShift);
    s = (s & ~mstatus::kMIE) | ((s & mstatus::kMPIE) ? mstatus::kMIE : 0);
    s |= mstatus::kMPIE;
    s &= ~mstatus::kMPP;  // U, the least-privileged mode
    if (target != Priv::kMachine) s &= ~mstatus::kMPRV;
    h.mstatus_ = s;
    h.pc = h.mepc_;
    h.reservation_valid = false;
    h.set_priv(target);
  }

  static void sret(Hart& h, const DecodedInsn& d) {
    if (h.priv == Priv::kUser || (h.priv == Priv::kSupervisor && (h.mstatus_ & mstatus::kTSR))) {
      return h.raise_illegal(d);
    }
    uint64_t s = h.mstatus_;
    const Priv target = (s & mstatus::kSPP) ? Priv::kSupervisor : Priv::kUser;
    s = (s & ~mstatus::kSIE) | ((s & mstatus::kSPIE) ? mstatus::kSIE : 0);
    s |= mstatus::kSPIE;
    s &= ~(mstatus::kSPP | mstatus::kMPRV);  // the target is never M
    h.mstatus_ = s;
    h.pc = h.sepc_;
    h.reservation_valid = false;
    h.set_priv(target);
  }

  static void wfi(Hart& h, const DecodedInsn& d) {
    // Illegal in U-mode (S-mode exists), and below M when TW is set.
    if (h.priv == Priv::kUser || (h.priv == Priv::kSupervisor && (h.mstatus_ & mstatus::kTW))) {
      return h.raise_illegal(d);
    }
    h.pc += d.len;
    // Sleep unless some locally enabled interrupt is already pending; the
    // loop then leaves the chunk and the hart thread waits.
    if ((h.effective_mip() & h.mie_) == 0) {
      h.wfi_ = true;
      h.invalidate_fetch();
    }
  }

  static void sfence_vma(Hart& h, const DecodedInsn& d) {
    if (h.priv == Priv::kUser || (h.priv == Priv::kSupervisor && (h.mstatus_ & mstatus::kTVM))) {
      return h.raise_illegal(d);
    }
    // ASIDs are not implemented (ASIDLEN = 0): rs2 is ignored. With rs1 =
    // x0 every translation goes; otherwise those under the leaf of x[rs1].
    if (d.rs1 == 0) {
      h.flush_translations();
    } else {
      h.flush_translations(h.x[d.rs1]);
    }
    h.pc += d.len;
  }

  static void fence_i(Hart& h, const DecodedInsn& d) {
    h.flush_icache();
    h.pc += d.len;
  }
};

namespace {

constexpr OpcodeDef kSystemOps[] = {
    {"csrrw", 0x0000707f, 0x00001073, Format::kCsr, &SystemInsns::csrrw<false>, "rd, csr, rs1"},
    {"csrrs", 0x0000707f, 0x00002073, Format::kCsr, &SystemInsns::csrrs_c<false, true>,
     "rd, csr, rs1"},
    {"csrrc", 0x0000707f, 0x00003073, Format::kCsr, &SystemInsns::csrrs_c<false, false>,
     "rd, csr, rs1"},
    {"csrrwi", 0x0000707f, 0x00005073, Format::kCsr, &SystemInsns::csrrw<true>, "rd, csr, uimm"},
    {"csrrsi", 0x0000707f, 0x00006073, Format::kCsr, &SystemInsns::csrrs_c<true, true>,
     "rd, csr, uimm"},
    {"csrrci", 0x0000707f, 0x00007073, Format::kCsr, &SystemInsns::csrrs_c<true, false>,
     "rd, csr, uimm"},
    {"ecall", 0xffffffff, 0x00000073, Format::kNone, &SystemInsns::ecall, ""},
    {"ebreak", 0xffffffff, 0x00100073, Format::kNone, &SystemInsns::ebreak, ""},
    {"sret", 0xffffffff, 0x10200073, Format::kNone, &SystemInsns::sret, ""},
    {"mret", 0xffffffff, 0x30200073, Format::kNone, &SystemInsns::mret, ""},
    {"wfi", 0xffffffff, 0x10500073, Format::kNone, &SystemInsns::wfi, ""},
    {"sfence.vma", 0xfe007fff, 0x12000073, Format::kR, &SystemInsns::sfence_vma, "rs1, rs2"},
    // FENCE.I ignores its rd, rs1 and imm fields (reserved for future use).
    {"fence.i", 0x0000707f, 0x0000100f, Format::kNone, &SystemInsns::fence_i, ""},
};

}  // namespace

std::span<const OpcodeDef> opcodes_system() { return kSystemOps; }

}  // namespace vireo::riscv
