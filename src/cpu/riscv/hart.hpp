// One RISC-V hart (RV64IMAFDC_Zicsr_Zifencei_Zicntr_Zba_Zbb_Zbs_Sstc, M/S/U):
// architectural state plus the services instruction semantics use (memory
// through the MMU and software TLB, traps, CSRs). Runs on its own host thread.
//
// Contract for instruction semantics (isa/*.cpp):
//  - x[0] reads as 0; writes to integer rd go to x[d.rd] (the decoder sends
//    rd=x0 to the sink x[32]), so handlers never test for x0.
//  - Memory helpers return false after taking a trap; the handler then
//    returns at once without touching architectural state or pc.
//  - FP handlers first call fp_check(d) (traps if mstatus.FS is Off), and
//    call fp_dirty() after writing an f register or fflags.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/bus.hpp"
#include "core/clock.hpp"
#include "core/guest_memory.hpp"
#include "cpu/riscv/isa.hpp"

namespace vireo::riscv {

enum class Priv : uint8_t { kUser = 0, kSupervisor = 1, kMachine = 3 };

// Synchronous exception causes (mcause/scause with the interrupt bit clear).
namespace exc {
inline constexpr uint64_t kInsnMisaligned = 0;
inline constexpr uint64_t kInsnAccessFault = 1;
inline constexpr uint64_t kIllegalInsn = 2;
inline constexpr uint64_t kBreakpoint = 3;
inline constexpr uint64_t kLoadMisaligned = 4;
inline constexpr uint64_t kLoadAccessFault = 5;
inline constexpr uint64_t kStoreMisaligned = 6;  // also AMO
inline constexpr uint64_t kStoreAccessFault = 7;
inline constexpr uint64_t kEcallFromU = 8;
inline constexpr uint64_t kEcallFromS = 9;
inline constexpr uint64_t kEcallFromM = 11;
inline constexpr uint64_t kInsnPageFault = 12;
inline constexpr uint64_t kLoadPageFault = 13;
inline constexpr uint64_t kStorePageFault = 15;
}  // namespace exc

// Interrupt numbers (bit positions in mip/mie).
namespace irq {
inline constexpr unsigned kSSI = 1, kMSI = 3, kSTI = 5, kMTI = 7, kSEI = 9, kMEI = 11;
}

// fflags bits.
namespace fflag {
inline constexpr uint32_t kNX = 1, kUF = 2, kOF = 4, kDZ = 8, kNV = 16;
}

class Hart {
 public:
  // ---- Architectural state used directly by instruction semantics ----
  uint64_t x[33] = {};  // x[32]: write sink for rd = x0
  uint64_t pc = 0;
  uint64_t f[32] = {};  // NaN-boxed: a single is valid only if bits 63:32 are all ones
  uint32_t fflags = 0;  // accrued exception flags (5 bits)
  uint32_t frm = 0;     // dynamic rounding mode (3 bits)
  Priv priv = Priv::kMachine;

  // ---- Services for instruction semantics (implemented by the hart) ----

  // Loads/stores of 1, 2, 4 or 8 bytes (T = uint8_t .. uint64_t) at a virtual
  // address, through translation, PMP, RAM or the bus. Misaligned accesses are
  // performed (split into bytes when needed), not trapped. Returns false when
  // a trap was taken.
  template <class T>
  bool load(uint64_t vaddr, T& out);
  template <class T>
  bool store(uint64_t vaddr, T value);

  // For AMOs and LR/SC: a host pointer to naturally aligned guest RAM at
  // `vaddr`, translated for a store (or for a load when `for_lr`). Raises the
  // right trap (misaligned, page fault, access fault; MMIO is an access fault)
  // and returns nullptr on failure. The caller performs the access with host
  // atomics so it is atomic across harts.
  uint8_t* atomic_ptr(uint64_t vaddr, unsigned size, bool for_lr);

  // LR/SC reservation (value-based, like QEMU): set by lr, checked by sc.
  uint64_t reservation_addr = 0;
  uint64_t reservation_value = 0;
  bool reservation_valid = false;

  // Takes a synchronous exception now: sets xepc = pc, xcause, xtval, and
  // redirects pc to the trap vector of the handling privilege level.
  void raise_exception(uint64_t cause, uint64_t tval);
  // Illegal instruction with tval = the faulting encoding.
  void raise_illegal(const DecodedInsn& d) { raise_exception(exc::kIllegalInsn, d.raw); }

  // FP: returns false (after raising illegal instruction) when mstatus.FS is
  // Off, or when a rounding-mode field rm (7 = dynamic -> frm) is invalid.
  // On success `rm_out` receives the effective rounding mode (0..4).
  bool fp_check(const DecodedInsn& d);
  bool fp_check_rm(const DecodedInsn& d, unsigned& rm_out);
  // Marks mstatus.FS (and SD) Dirty.
  void fp_dirty();

  // CSR access for Zicsr: return false when the access is illegal at the
  // current privilege (caller raises illegal instruction).
  bool csr_read(uint16_t csr, uint64_t& value);
  bool csr_write(uint16_t csr, uint64_t value);

  // ---- Identity and wiring ----
  uint32_t hart_id() const { return hart_id_; }

 private:
  uint32_t hart_id_ = 0;
  // The privileged-architecture implementer adds CSR state, the MMU/TLB, the
  // decode cache, interrupt state and the run loop below.
};

}  // namespace vireo::riscv
