// A reference RISC-V FPU for differential tests: runs one instruction in Unicorn (QEMU's
// softfloat-based RV64 emulation) with given f/x registers and fcsr, and reads back the result.
#pragma once

#include <unicorn/unicorn.h>

#include <cstdint>

namespace vireo::riscv::fp_test {

class UnicornOracle {
 public:
  // Operands go to f1, f2, f3 (FP) and x11 (integer); results come from f4 and x5.
  static constexpr unsigned kFrs1 = 1, kFrs2 = 2, kFrs3 = 3, kFrd = 4, kXrs1 = 11, kXrd = 5;

  struct Result {
    uint64_t f_rd;
    uint64_t x_rd;
    uint32_t fflags;
  };

  UnicornOracle() {
    if (uc_open(UC_ARCH_RISCV, UC_MODE_RISCV64, &uc_) != UC_ERR_OK) {
      uc_ = nullptr;
      return;
    }
    if (uc_mem_map(uc_, kCodeBase, 0x1000, UC_PROT_ALL) != UC_ERR_OK) close();
  }
  ~UnicornOracle() { close(); }
  UnicornOracle(const UnicornOracle&) = delete;
  UnicornOracle& operator=(const UnicornOracle&) = delete;

  bool ok() const { return uc_ != nullptr; }

  // Runs `insn` once; frm is the dynamic rounding mode. Returns false if Unicorn failed (e.g.
  // the instruction trapped).
  bool run(uint32_t insn, uint64_t f1, uint64_t f2, uint64_t f3, uint64_t x11, unsigned frm,
           Result& out) {
    // A fresh address per distinct encoding would grow the TB cache; instead rewrite one slot
    // and drop its translation.
    uc_mem_write(uc_, kCodeBase, &insn, 4);
    uc_ctl_remove_cache(uc_, kCodeBase, kCodeBase + 4);
    uint64_t mstatus = 0;
    uc_reg_read(uc_, UC_RISCV_REG_MSTATUS, &mstatus);
    mstatus |= 3ull << 13;  // FS = Dirty: the FPU is on
    uc_reg_write(uc_, UC_RISCV_REG_MSTATUS, &mstatus);
    uint64_t fcsr = uint64_t(frm) << 5;
    uc_reg_write(uc_, UC_RISCV_REG_FCSR, &fcsr);
    uint64_t sentinel_f = 0x5a5a5a5a5a5a5a5a, sentinel_x = 0xa5a5a5a5a5a5a5a5;
    uc_reg_write(uc_, UC_RISCV_REG_F0 + kFrs1, &f1);
    uc_reg_write(uc_, UC_RISCV_REG_F0 + kFrs2, &f2);
    uc_reg_write(uc_, UC_RISCV_REG_F0 + kFrs3, &f3);
    uc_reg_write(uc_, UC_RISCV_REG_F0 + kFrd, &sentinel_f);
    uc_reg_write(uc_, UC_RISCV_REG_X0 + kXrs1, &x11);
    uc_reg_write(uc_, UC_RISCV_REG_X0 + kXrd, &sentinel_x);
    if (uc_emu_start(uc_, kCodeBase, kCodeBase + 4, 0, 1) != UC_ERR_OK) return false;
    uint64_t pc = 0;
    uc_reg_read(uc_, UC_RISCV_REG_PC, &pc);
    if (pc != kCodeBase + 4) return false;
    uc_reg_read(uc_, UC_RISCV_REG_F0 + kFrd, &out.f_rd);
    uc_reg_read(uc_, UC_RISCV_REG_X0 + kXrd, &out.x_rd);
    uint64_t flags = 0;
    uc_reg_read(uc_, UC_RISCV_REG_FFLAGS, &flags);
    out.fflags = uint32_t(flags & 31);
    return true;
  }

 private:
  static constexpr uint64_t kCodeBase = 0x10000;
  void close() {
    if (uc_) uc_close(uc_);
    uc_ = nullptr;
  }
  uc_engine* uc_ = nullptr;
};

}  // namespace vireo::riscv::fp_test
