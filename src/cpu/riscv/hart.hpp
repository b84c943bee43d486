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
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "core/bus.hpp"
#include "core/clock.hpp"
#include "core/guest_memory.hpp"
#include "cpu/riscv/csr.hpp"
#include "cpu/riscv/decode_cache.hpp"
#include "cpu/riscv/isa.hpp"
#include "cpu/riscv/jit/jit.hpp"
#include "cpu/riscv/mmu.hpp"

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

enum class StopKind { kPoweroff, kReboot, kFailure };  // kFailure carries an exit code

class Hart;

// What a hart needs from the machine it is part of (implemented by the board).
class HartHost {
 public:
  virtual ~HartHost() = default;
  virtual uint32_t hart_count() const = 0;
  virtual Hart* hart(uint32_t id) = 0;                          // nullptr if out of range
  virtual void request_stop(StopKind kind, int exit_code) = 0;  // SBI SRST / legacy shutdown
  virtual bool stop_requested() const = 0;                      // harts return from run() when true
  virtual void sbi_console_write(std::span<const uint8_t> bytes) = 0;  // DBCN + legacy putchar
  virtual int sbi_console_read() = 0;                                  // legacy getchar: byte or -1
};

struct HartConfig {
  uint32_t hart_id = 0;
  // --firmware none: ECALL from S-mode is served by sbi.cpp (M-mode is "virtual").
  bool builtin_sbi = false;
  // Print every executed instruction (pc, raw, disassemble()) to stderr.
  bool trace = false;
  // Translate hot code to host code (jit/jit.hpp); off: interpret everything.
  bool jit = false;
  size_t jit_code_bytes = Jit::kDefaultCodeBytes;  // its code buffer (tests make it small)
  JitDump* jitdump = nullptr;  // records translated blocks for perf (--jitdump); not owned
  // Guest-physical ranges inside RAM that must be routed to the Bus instead of
  // RAM (HTIF tohost/fromhost of bare-metal ELF tests). Pages holding them
  // never get fast TLB entries. Instruction fetch still reads RAM.
  std::vector<std::pair<uint64_t, uint64_t>> bus_ranges_in_ram;  // {base, size}
};

// SBI HSM hart states (the values are the SBI spec's).
enum class HsmState : uint32_t {
  kStarted = 0,
  kStopped = 1,
  kStartPending = 2,
  kStopPending = 3,
  kSuspended = 4,
  kSuspendPending = 5,
  kResumePending = 6,
};

class Hart {
 public:
  // ---- Architectural state used directly by instruction semantics ----
  uint64_t x[33] = {};  // x[32]: write sink for rd = x0
  uint64_t pc = 0;
  uint64_t f[32] = {};  // NaN-boxed: a single is valid only if bits 63:32 are all ones
  uint32_t fflags = 0;  // accrued exception flags (5 bits)
  uint32_t frm = 0;     // dynamic rounding mode (3 bits)
  // Current privilege. Read freely; change it only through set_priv() (the
  // TLB context follows it).
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
  // Traps and xRET clear reservation_valid.
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
  void fp_dirty() { mstatus_ |= csr::mstatus::kFSDirty; }

  // CSR access for Zicsr: return false when the access is illegal at the
  // current privilege (caller raises illegal instruction). A write to a
  // read-only CSR is illegal. Reads have no side effects.
  bool csr_read(uint16_t csr, uint64_t& value);
  bool csr_write(uint16_t csr, uint64_t value);

  // ---- Identity and wiring ----
  uint32_t hart_id() const { return config_.hart_id; }

  // ---- Machine-facing API (the board, tests, debuggers) ----
  Hart(const HartConfig& config, GuestMemory& memory, const Bus& bus, GuestClock& clock,
       HartHost& host, HartShared& shared);
  ~Hart();
  Hart(const Hart&) = delete;
  Hart& operator=(const Hart&) = delete;

  // Start state: every register and CSR at its reset value, then pc, priv and
  // a0..a2. With builtin_sbi, M-mode state is set up as OpenSBI would leave it
  // (delegations, Sstc enabled, counters visible, PMP open). HSM: started.
  void reset(uint64_t pc, Priv priv, uint64_t a0, uint64_t a1, uint64_t a2);
  // Secondary harts with built-in SBI start stopped (SBI HSM hart_start wakes them).
  void set_hsm_stopped();
  // The thread body: executes until host.stop_requested(); sleeps in WFI and
  // while HSM-stopped.
  void run();
  // On the caller's thread (tests, fuzzing, differential runs): returns the
  // number of instructions executed. Stops early if stop_requested(), at a
  // WFI with nothing pending, or when the hart is HSM-stopped.
  uint64_t run_for(uint64_t max_insns);
  // Wakes the hart from WFI/sleep. Thread-safe.
  void kick();
  // Level of an interrupt input: irq::kMEI/kSEI (PLIC), irq::kMSI (ACLINT), or
  // irq::kSSI (IPIs). Thread-safe.
  void set_interrupt_pending(unsigned irq_bit, bool level);
  // ACLINT mtimecmp for this hart; MTIP = time >= mtimecmp. Thread-safe.
  void set_mtimecmp(uint64_t value);
  uint64_t mtimecmp() const { return mtimecmp_.load(std::memory_order_relaxed); }
  // Instructions executed so far, as of the last chunk boundary (exact once
  // run_for() has returned). Thread-safe.
  uint64_t instret() const { return retired_published_.load(std::memory_order_relaxed); }
  // Blocks the JIT translated so far (0 without --jit). On the hart's thread.
  uint64_t jit_blocks_translated() const { return jit_ ? jit_->blocks_translated() : 0; }
  uint64_t jit_buffer_flushes() const { return jit_ ? jit_->buffer_flushes() : 0; }

  // Changes the privilege level (tests, debuggers, SBI).
  void set_priv(Priv p);
  const HartConfig& config() const { return config_; }
  HsmState hsm_state() const { return static_cast<HsmState>(hsm_state_.load()); }
  // True while the hart waits in WFI or in an SBI HSM suspend. On the hart's
  // own thread (or while it does not run).
  bool waiting_for_interrupt() const { return wfi_ || hsm_state() == HsmState::kSuspended; }
  // Translates `vaddr` as the current privilege would for `access`, without
  // side effects (no A/D update, no trap): for debuggers and SBI helpers.
  std::optional<uint64_t> translate_debug(uint64_t vaddr, Access access);

  // Remote fences (SBI RFENCE, IPI-driven flushes): asks this hart to flush
  // its TLB and/or decode cache before it executes another instruction.
  // Returns a ticket for flush_completed(). Thread-safe.
  static constexpr uint32_t kFlushTlb = 1, kFlushIcache = 2;
  uint64_t post_flush(uint32_t what);
  // True once the flush of `ticket` is done, or the hart is not executing
  // (stopped, asleep, or not inside run()/run_for()): it then flushes before
  // its next instruction. Thread-safe.
  bool flush_completed(uint64_t ticket) const;

 private:
  friend class Sbi;
  friend struct SystemInsns;    // isa/system.cpp: xRET, WFI, SFENCE.VMA, FENCE.I, ECALL
  friend class HartTestPeer;    // white-box unit tests
  friend class Jit;             // decodes slots as the lazy-decode stub does
  friend struct JitHartLayout;  // blocks address the hot fields below directly

  // ---- Instruction-fetch loop (interp.cpp) ----
  enum class FetchStatus : uint8_t { kOk, kTrapped, kExit };
  uint64_t execute_chunk(uint64_t budget);
  void execute_fast();
  void execute_traced();
  FetchStatus enter_fetch_page();
  bool fetch_parcel(uint64_t vaddr, uint16_t& out);  // raises on fault
  static void exec_decode_lazily(Hart& h, const DecodedInsn& slot);
  // Decodes the instruction at `offset` of a page of code (`page`: its host
  // address) into its slot: what exec_decode_lazily does before it runs it.
  static void decode_slot(DecodedInsn& d, const uint8_t* page, unsigned offset);
  static void exec_page_straddling(Hart& h, const DecodedInsn& slot);
  const void* translate_block(unsigned slot);  // the JIT block at `slot` of the fetch page
  // What the hart can do next, decided between chunks (HSM state, WFI).
  enum class Readiness : uint8_t { kRun, kWaitInterrupt, kStopped };
  Readiness prepare();
  void sleep_until_woken(uint64_t deadline_ticks);
  // Spins until wake_seq_ moves from `seq` (true) or the poll window or the
  // timer deadline ends (false).
  bool halt_poll(uint32_t seq, uint64_t poll_ns, uint64_t deadline_ticks);
  bool wakeup_pending();  // an interrupt that ends WFI/suspend is pending
  void start_from_hsm();

  // ---- Traps and interrupts (hart.cpp) ----
  void take_trap(uint64_t cause, uint64_t tval);
  bool take_pending_interrupt();
  uint64_t effective_mip() const {
    return mip_async_.load(std::memory_order_relaxed) | mip_sw_ | timer_ip_;
  }
  void update_timer_ip();
  uint64_t next_timer_deadline() const;  // in clock ticks, UINT64_MAX if none enabled
  void service_attention();
  void service_flush_requests();
  void invalidate_fetch() { fetch_vpage_ = kInvalidTag; }
  void on_context_change();   // priv/MPRV/MPP/SUM changed: pick TLB sets, re-check fetch
  void flush_tlb();           // every context (PMP changes, reset)
  void flush_translations();  // the S/U contexts: satp, SFENCE.VMA (M-mode is bare)
  void flush_translations(uint64_t vaddr);  // SFENCE.VMA of one address
  void flush_icache();

  // ---- CSRs (csr.cpp) ----
  bool counter_accessible(uint16_t csr) const;
  uint64_t read_mstatus() const;
  void write_mstatus(uint64_t value, uint64_t writable);
  void write_pmpcfg(unsigned index, uint8_t cfg);
  void write_pmpaddr(unsigned index, uint64_t value);
  void recompute_pmp_ranges();
  uint64_t read_counter(bool cycle) const;
  void write_counter(bool cycle, uint64_t value);
  uint64_t retired() const { return retired_base_ + (chunk_budget_ - budget_left_); }
  // The value CSRRS/CSRRC modify, given what csr_read returned: for mip,
  // only the software-writable SEIP bit takes part (not the PLIC line).
  uint64_t csr_modify_base(uint16_t csr, uint64_t read_value) const {
    if (csr != csr::kMip) return read_value;
    return (read_value & ~csr::ip::kSEIP) | (mip_sw_ & csr::ip::kSEIP);
  }

  // ---- MMU (mmu.cpp) ----
  bool load_slow(uint64_t vaddr, unsigned size, uint64_t& out);
  bool translate_split(uint64_t vaddr, unsigned size, Access access, SplitTranslation& out);
  bool store_slow(uint64_t vaddr, unsigned size, uint64_t value);
  uint8_t* atomic_ptr_slow(uint64_t vaddr, unsigned size, bool for_lr);
  Priv data_priv() const;
  // Translates one access that lies within a page; checks PMP for its bytes.
  Fault translate(uint64_t vaddr, unsigned size, Access access, bool update_ad, Translation& out);
  Fault walk(uint64_t vaddr, Access access, Priv eff, bool update_ad, Translation& out);
  bool pmp_allows(uint64_t paddr, uint64_t size, Access access, Priv eff) const;
  bool pmp_allows_page(uint64_t ppage, Access access, Priv eff) const;
  bool is_bus_routed(uint64_t paddr, uint64_t size) const;
  uint8_t* ram_range(uint64_t paddr, uint64_t len) const;  // host pointer if all of it is RAM
  uint8_t* ram_for_fast_path(uint64_t ppage) const;        // host page if a TLB entry may map it
  bool physical_read(uint64_t paddr, unsigned size, uint64_t& out);
  bool physical_write(uint64_t paddr, unsigned size, uint64_t value);
  void note_ram_store(uint64_t paddr);
  void raise_fault(Access access, Fault fault, uint64_t tval);
  TlbSet& tlb_set(TlbContext c) { return tlb_[static_cast<unsigned>(c)]; }
  void flush_store_tlbs();

  // ---- Wiring ----
  HartConfig config_;
  GuestMemory& memory_;
  const Bus& bus_;
  GuestClock& clock_;
  HartHost& host_;
  HartShared& shared_;

  // ---- Hot interpreter state ----
  uint64_t fetch_vpage_ = kInvalidTag;  // virtual page the fetch pointers are valid for
  const DecodedInsn* fetch_insns_ = nullptr;
  const uint8_t* fetch_host_ = nullptr;  // host address of that page's RAM
  CodePage* fetch_code_ = nullptr;       // that page's decoded instructions
  JitPage* fetch_jit_ = nullptr;         // its translated blocks (nullptr: no JIT)
  uint64_t budget_left_ = 0;
  uint64_t chunk_budget_ = 0;
  uint64_t retired_base_ = 0;
  std::atomic<uint64_t> retired_published_{0};  // retired_base_, for other threads
  TlbSet* data_tlb_;                            // set used by loads/stores (follows MPRV/MPP/SUM)
  TlbSet* fetch_tlb_;                           // set used by instruction fetch (follows priv)

  // ---- CSR state ----
  uint64_t mstatus_ = 0;  // SD, UXL and SXL are computed on read
  uint64_t medeleg_ = 0, mideleg_ = 0, mie_ = 0;
  uint64_t mtvec_ = 0, stvec_ = 0;
  uint64_t mscratch_ = 0, sscratch_ = 0;
  uint64_t mepc_ = 0, sepc_ = 0, mcause_ = 0, scause_ = 0, mtval_ = 0, stval_ = 0;
  uint64_t satp_ = 0;
  uint64_t menvcfg_ = 0, senvcfg_ = 0;
  uint64_t stimecmp_ = UINT64_MAX;
  uint32_t mcounteren_ = 0, scounteren_ = 0, mcountinhibit_ = 0;
  uint64_t cycle_delta_ = 0, instret_delta_ = 0;    // counter = retired() + delta
  uint64_t cycle_frozen_ = 0, instret_frozen_ = 0;  // value while inhibited
  uint8_t pmpcfg_[csr::pmp::kEntries] = {};
  uint64_t pmpaddr_[csr::pmp::kEntries] = {};
  uint64_t pmp_lo_[csr::pmp::kEntries] = {};  // byte range [lo, hi) of each active entry
  uint64_t pmp_hi_[csr::pmp::kEntries] = {};
  bool pmp_any_active_ = false;

  // Interrupt sources. mip is the OR of the three.
  std::atomic<uint64_t> mip_async_{0};  // MEIP, MSIP, external SEIP, SSIP: any thread
  uint64_t mip_sw_ = 0;                 // M-mode-written STIP (without Sstc) and SEIP
  uint64_t timer_ip_ = 0;               // MTIP/STIP from the time compares
  std::atomic<uint64_t> mtimecmp_{UINT64_MAX};

  // ---- Run state ----
  bool wfi_ = false;
  bool hsm_suspend_nonretentive_ = false;
  uint64_t hsm_resume_addr_ = 0, hsm_resume_opaque_ = 0;
  std::atomic<uint32_t> hsm_state_{static_cast<uint32_t>(HsmState::kStarted)};
  std::atomic<uint64_t> hsm_start_addr_{0}, hsm_start_opaque_{0};
  std::atomic<bool> hsm_start_published_{false};  // start_addr/opaque are ready
  std::atomic<uint32_t> attention_{0};            // something asynchronous needs servicing
  std::atomic<uint32_t> wake_seq_{0};             // futex word for sleeping
  std::atomic<bool> sleeping_{false};
  uint64_t poll_ns_ = 0;          // adaptive halt-poll window (see sleep_until_woken)
  std::atomic<bool> idle_{true};  // not executing instructions (see flush_completed)
  std::atomic<uint32_t> flush_req_{0};
  std::atomic<uint64_t> flush_req_seq_{0};
  std::atomic<uint64_t> flush_done_seq_{0};
  uint64_t code_epoch_seen_ = 0;

  // ---- Translation and decode caches (large: keep last) ----
  TlbSet tlb_[kTlbContexts];
  DecodeCache dcache_;
  std::unique_ptr<Jit> jit_;  // when config_.jit
};

// ---- Inline fast paths ----

template <class T>
inline bool Hart::load(uint64_t vaddr, T& out) {
  static_assert(sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);
  const TlbEntry& e = data_tlb_->entries[static_cast<unsigned>(Access::kLoad)][tlb_index(vaddr)];
  if (e.tag == tlb_match_tag(vaddr, sizeof(T))) [[likely]] {
    std::memcpy(&out, reinterpret_cast<const void*>(e.addend + vaddr), sizeof(T));
    return true;
  }
  uint64_t raw;
  if (!load_slow(vaddr, sizeof(T), raw)) return false;
  std::memcpy(&out, &raw, sizeof(T));  // little-endian host: the low bytes
  return true;
}

template <class T>
inline bool Hart::store(uint64_t vaddr, T value) {
  static_assert(sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);
  const TlbEntry& e = data_tlb_->entries[static_cast<unsigned>(Access::kStore)][tlb_index(vaddr)];
  if (e.tag == tlb_match_tag(vaddr, sizeof(T))) [[likely]] {
    std::memcpy(reinterpret_cast<void*>(e.addend + vaddr), &value, sizeof(T));
    return true;
  }
  uint64_t raw = 0;
  std::memcpy(&raw, &value, sizeof(T));
  return store_slow(vaddr, sizeof(T), raw);
}

inline bool Hart::fp_check(const DecodedInsn& d) {
  if ((mstatus_ & csr::mstatus::kFS) == 0) [[unlikely]] {
    raise_illegal(d);
    return false;
  }
  return true;
}

inline bool Hart::fp_check_rm(const DecodedInsn& d, unsigned& rm_out) {
  if (!fp_check(d)) return false;
  const unsigned rm = d.rm == 7 ? frm : d.rm;
  if (rm > 4) [[unlikely]] {
    raise_illegal(d);
    return false;
  }
  rm_out = rm;
  return true;
}

inline uint8_t* Hart::atomic_ptr(uint64_t vaddr, unsigned size, bool for_lr) {
  const Access access = for_lr ? Access::kLoad : Access::kStore;
  const TlbEntry& e = data_tlb_->entries[static_cast<unsigned>(access)][tlb_index(vaddr)];
  if (e.tag == tlb_match_tag(vaddr, size)) [[likely]] {
    return reinterpret_cast<uint8_t*>(e.addend + vaddr);
  }
  return atomic_ptr_slow(vaddr, size, for_lr);
}

}  // namespace vireo::riscv
