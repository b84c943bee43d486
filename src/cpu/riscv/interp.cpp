// The interpreter loop: instructions are fetched from the decode cache of the
// current physical page and executed through their function pointers. All
// the rare work (page changes, interrupts, asynchronous requests, WFI, HSM)
// happens in enter_fetch_page() and between chunks, never per instruction.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/isa/inline_ops.hpp"

namespace vireo::riscv {

namespace {

// Instructions per chunk: between chunks the hart reads the clock, serves
// remote requests and checks for a stop. ~40 us at 100 MIPS.
constexpr uint64_t kChunkInsns = 4096;

// A sleeping hart re-checks its state at least this often, whatever happens.
constexpr uint64_t kMaxSleepNs = 100'000'000;
// Adaptive halt polling, as KVM does for halted vCPUs: a hart entering WFI
// first spins for up to poll_ns_ waiting for a wakeup, and only then sleeps on
// its futex. A futex sleep and wakeup costs tens of microseconds on each side
// (more in a VM host), which is a large part of an I/O round trip: a 1 MiB
// write to the host page cache completes in about 200 us. The window grows
// (doubling from kHaltPollStartNs) while waits end within kHaltPollMaxNs, and
// halves when a wait outlasts it, so an idle guest, whose waits last
// milliseconds, soon stops polling.
constexpr uint64_t kHaltPollStartNs = 10'000;
constexpr uint64_t kHaltPollMaxNs = 400'000;

uint16_t read_parcel(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool is_compressed(uint16_t parcel) { return (parcel & 3) != 3; }

}  // namespace

// ---- Decode-cache stubs ----

void Hart::decode_slot(DecodedInsn& d, const uint8_t* page, unsigned offset) {
  const uint16_t lo = read_parcel(page + offset);
  if (is_compressed(lo)) {
    d = decode(lo);
  } else if (offset == kPageSize - 2) {
    // The upper half lives on the next virtual page, whose mapping can change
    // independently of this one: never cache the decoded form.
    d.exec = &exec_page_straddling;
    d.inline_op = kInlineNone;
  } else {
    d = decode(lo | static_cast<uint32_t>(read_parcel(page + offset + 2)) << 16);
  }
}

void Hart::exec_decode_lazily(Hart& h, const DecodedInsn& slot) {
  auto& d = const_cast<DecodedInsn&>(slot);  // the slot lives in our own cache
  decode_slot(d, h.fetch_host_, static_cast<unsigned>(h.pc & kPageOffsetMask));
  d.exec(h, d);
}

void Hart::exec_page_straddling(Hart& h, const DecodedInsn&) {
  const uint16_t lo = read_parcel(h.fetch_host_ + kPageSize - 2);
  uint16_t hi;
  if (!h.fetch_parcel(h.pc + 2, hi)) return;
  const DecodedInsn d = decode(lo | static_cast<uint32_t>(hi) << 16);
  d.exec(h, d);
}

bool Hart::fetch_parcel(uint64_t vaddr, uint16_t& out) {
  Translation t;
  const Fault f = translate(vaddr, 2, Access::kFetch, true, t);
  if (f != Fault::kNone) {
    raise_fault(Access::kFetch, f, vaddr);
    return false;
  }
  const uint8_t* host = ram_range(t.paddr, 2);
  if (host == nullptr) {
    raise_fault(Access::kFetch, Fault::kAccess, vaddr);
    return false;
  }
  out = read_parcel(host);
  return true;
}

// ---- The slow path taken when pc leaves the cached page ----

Hart::FetchStatus Hart::enter_fetch_page() {
  if (attention_.load(std::memory_order_acquire) != 0) [[unlikely]] {
    service_attention();
  }
  if (shared_.code_epoch() != code_epoch_seen_) [[unlikely]] {
    // Some page became code: a fast store entry of ours may map it.
    code_epoch_seen_ = shared_.code_epoch();
    flush_store_tlbs();
  }
  if (wfi_ || hsm_state_.load(std::memory_order_relaxed) !=
                  static_cast<uint32_t>(HsmState::kStarted)) [[unlikely]] {
    return FetchStatus::kExit;
  }
  take_pending_interrupt();

  const uint64_t vpage = pc & ~kPageOffsetMask;
  const TlbEntry& e = fetch_tlb_->entries[static_cast<unsigned>(Access::kFetch)][tlb_index(pc)];
  uint64_t ppage;
  const uint8_t* host;
  bool cacheable = true;
  if (e.tag == vpage) {
    ppage = e.ppage;
    host = reinterpret_cast<const uint8_t*>(e.addend + vpage);
  } else {
    Translation t;
    const Fault f = translate(pc, 2, Access::kFetch, true, t);
    if (f != Fault::kNone) {
      raise_fault(Access::kFetch, f, pc);
      return FetchStatus::kTrapped;
    }
    ppage = t.paddr & ~kPageOffsetMask;
    // Code runs from RAM only (instruction fetch from MMIO is an access
    // fault); HTIF ranges route data accesses to the bus, but fetches read RAM.
    host = ram_range(ppage, kPageSize);
    if (host == nullptr) {
      raise_fault(Access::kFetch, Fault::kAccess, pc);
      return FetchStatus::kTrapped;
    }
    cacheable = t.cacheable;
    if (cacheable) {
      fetch_tlb_->fill(Access::kFetch, pc, reinterpret_cast<uintptr_t>(host), ppage, t.leaf_mask);
    } else {
      // A PMP boundary inside this page: check the whole instruction here,
      // and come back through this path for the next one.
      const uint64_t offset = pc & kPageOffsetMask;
      if (!is_compressed(read_parcel(host + offset)) && offset != kPageSize - 2 &&
          !pmp_allows(t.paddr, 4, Access::kFetch, priv)) {
        raise_fault(Access::kFetch, Fault::kAccess, pc);
        return FetchStatus::kTrapped;
      }
    }
  }

  std::atomic<uint32_t>* state = shared_.code_state(ppage);
  if (state == nullptr) [[unlikely]] {
    // RAM that HartShared does not know: it was created before add_ram().
    raise_fault(Access::kFetch, Fault::kAccess, pc);
    return FetchStatus::kTrapped;
  }
  const uint32_t gen = state->load(std::memory_order_acquire) >> 1;
  CodePage* page = dcache_.find(ppage, gen);
  if (page == nullptr) {
    bool newly_marked;
    const uint32_t marked_gen = shared_.mark_code(*state, newly_marked);
    if (newly_marked) {
      // Stores to this page must now take the slow path (to invalidate).
      code_epoch_seen_ = shared_.code_epoch();
      flush_store_tlbs();
    }
    page = &dcache_.fill(ppage, marked_gen, &exec_decode_lazily);
    if (jit_) jit_->reset_page(dcache_.index_of(*page));
  }
  fetch_insns_ = page->insns;
  fetch_host_ = host;
  fetch_code_ = page;
  fetch_vpage_ = cacheable ? vpage : kInvalidTag;
  fetch_jit_ = jit_ && cacheable ? &jit_->page(dcache_.index_of(*page)) : nullptr;
  return FetchStatus::kOk;
}

const void* Hart::translate_block(unsigned slot) {
  return jit_->translate(*fetch_code_, *fetch_jit_, slot, fetch_host_);
}

// ---- Execution loops ----

void Hart::execute_fast() {
  // Threaded dispatch: every instruction jumps straight to the code of the
  // next through a table of labels (GCC's computed goto), so each has its own
  // well-predicted indirect jump. The hot integer instructions (isa/
  // inline_ops.hpp) are inlined here; the rest are called through exec.
  //
  // pc, the budget and dp (the decoded slot of pc on the fetch page) live in
  // locals: a pc kept in the Hart would make every instruction a
  // read-modify-write of memory, one serial chain through the whole run. The
  // Hart's pc and budget_left_ are written back before anything that reads
  // them: calls through exec, memory accesses (a trap records pc) and leaving.
  static void* const kDispatch[kInlineCount] = {&&call_exec, &&page_end, &&call_exec4, &&call_exec2,
#define VIREO_INLINE_LABEL(name, body, flow) &&inline_##name, &&inline_c_##name,
                                                VIREO_RISCV_INLINE_OPS(VIREO_INLINE_LABEL)
#undef VIREO_INLINE_LABEL
  };
  uint64_t budget = budget_left_;
  uint64_t cur_pc;
  const DecodedInsn* dp;

#define VIREO_DISPATCH() goto* kDispatch[dp->inline_op]
#define VIREO_COUNT_INSN()          \
  do {                              \
    if (--budget == 0) [[unlikely]] \
      goto out_of_budget;           \
  } while (0)
  // At a jump target or a page entry: run the slot's translated block if it
  // has one (translating it once it is hot). A block that ran leaves pc
  // anywhere; one that found too little budget did nothing, and the
  // interpreter runs the slot.
#define VIREO_TRY_JIT()                                                         \
  if (fetch_jit_ != nullptr) {                                                  \
    const unsigned slot = static_cast<unsigned>(cur_pc & kPageOffsetMask) >> 1; \
    const void* block = fetch_jit_->entry[slot];                                \
    if (block == nullptr) [[likely]] {                                          \
      uint8_t& heat = fetch_jit_->heat[slot];                                   \
      if (heat < Jit::kHotThreshold) {                                          \
        ++heat;                                                                 \
      } else if (heat == Jit::kHotThreshold) {                                  \
        block = translate_block(slot);                                          \
      }                                                                         \
    }                                                                           \
    if (block != nullptr) {                                                     \
      pc = cur_pc;                                                              \
      jit_->remember_jump(cur_pc, block, fetch_jit_);                           \
      const uint64_t vpage = fetch_vpage_;                                      \
      const uint64_t left = jit_->run(block, budget, *fetch_jit_, vpage);       \
      /* A block that went on into another page's blocks left only */           \
      /* fetch_vpage_ behind: the interpreter looks that page up again. */      \
      if (fetch_vpage_ != vpage) invalidate_fetch();                            \
      if (left != budget) {                                                     \
        budget = left;                                                          \
        if (budget == 0) {                                                      \
          budget_left_ = 0;                                                     \
          return;                                                               \
        }                                                                       \
        goto reload;                                                            \
      }                                                                         \
    }                                                                           \
  }

reload:  // pc (the Hart's) is anywhere: find its page
  if ((pc & ~kPageOffsetMask) != fetch_vpage_) [[unlikely]] {
    budget_left_ = budget;
    const FetchStatus s = enter_fetch_page();
    if (s == FetchStatus::kExit) return;
    if (s == FetchStatus::kTrapped) {
      // A fetch fault counts against the budget, so a trap vector that
      // itself faults cannot spin forever inside one chunk.
      budget_left_ = --budget;
      if (budget == 0) return;
      goto reload;
    }
    if (fetch_vpage_ == kInvalidTag) [[unlikely]] {
      // An uncacheable page (a PMP boundary inside it): every instruction
      // comes back through enter_fetch_page(), which checks it.
      dp = &fetch_insns_[(pc & kPageOffsetMask) >> 1];
      dp->exec(*this, *dp);
      if (--budget == 0) {
        budget_left_ = 0;
        return;
      }
      goto reload;
    }
  }
  cur_pc = pc;
  dp = &fetch_insns_[(cur_pc & kPageOffsetMask) >> 1];
  VIREO_TRY_JIT();
  VIREO_DISPATCH();

call_exec : {
  pc = cur_pc;
  budget_left_ = budget;
  dp->exec(*this, *dp);
  // The slot's len is read after the call: a lazily decoded slot learns it then.
  const uint64_t next = cur_pc + dp->len;
  cur_pc = pc;
  VIREO_COUNT_INSN();
  if (cur_pc != next || (next & ~kPageOffsetMask) != fetch_vpage_) goto reload;
  dp += dp->len >> 1;
  VIREO_DISPATCH();
}

page_end:  // sequential code ran off the end of its page
  pc = cur_pc;
  goto reload;

  // One block per flow (see isa/inline_ops.hpp), instantiated per length.
  // clang-format off
#define VIREO_FLOW_call(len)                                                      \
  pc = cur_pc;                                                                    \
  budget_left_ = budget;                                                          \
  dp->exec(*this, *dp);                                                           \
  cur_pc = pc;                                                                    \
  VIREO_COUNT_INSN();                                                             \
  if (cur_pc != pc_before + len || (cur_pc & ~kPageOffsetMask) != fetch_vpage_)   \
    goto reload;                                                                  \
  dp += len / 2;                                                                  \
  VIREO_DISPATCH();
#define VIREO_FLOW_seq(body, len)                                                 \
  body(*this, *dp);                                                               \
  cur_pc += len;                                                                  \
  VIREO_COUNT_INSN();                                                             \
  dp += len / 2;                                                                  \
  VIREO_DISPATCH();
#define VIREO_FLOW_seq_pc(body, len)                                              \
  body(*this, *dp, cur_pc);                                                       \
  cur_pc += len;                                                                  \
  VIREO_COUNT_INSN();                                                             \
  dp += len / 2;                                                                  \
  VIREO_DISPATCH();
#define VIREO_FLOW_jump(body, len)                                                \
  cur_pc = body(*this, *dp, cur_pc);                                              \
  VIREO_COUNT_INSN();                                                             \
  if ((cur_pc & ~kPageOffsetMask) != fetch_vpage_) [[unlikely]] {                 \
    pc = cur_pc;                                                                  \
    goto reload;                                                                  \
  }                                                                               \
  dp = &fetch_insns_[(cur_pc & kPageOffsetMask) >> 1];                            \
  VIREO_TRY_JIT();                                                                \
  VIREO_DISPATCH();
/* A trap leaves the vector in pc; a store may invalidate the page being run. */
#define VIREO_FLOW_mem(body, len)                                                 \
  pc = cur_pc;                                                                    \
  if (!body(*this, *dp)) [[unlikely]] {                                           \
    cur_pc = pc;                                                                  \
    VIREO_COUNT_INSN();                                                           \
    goto reload;                                                                  \
  }                                                                               \
  cur_pc += len;                                                                  \
  VIREO_COUNT_INSN();                                                             \
  if ((cur_pc & ~kPageOffsetMask) != fetch_vpage_) [[unlikely]] {                 \
    pc = cur_pc;                                                                  \
    goto reload;                                                                  \
  }                                                                               \
  dp += len / 2;                                                                  \
  VIREO_DISPATCH();
#define VIREO_INLINE_CASE(name, body, flow)                                       \
  inline_##name: { VIREO_FLOW_##flow(body, 4) }                                   \
  inline_c_##name: { VIREO_FLOW_##flow(body, 2) }

call_exec4: { const uint64_t pc_before = cur_pc; VIREO_FLOW_call(4) }
call_exec2: { const uint64_t pc_before = cur_pc; VIREO_FLOW_call(2) }
  VIREO_RISCV_INLINE_OPS(VIREO_INLINE_CASE)
  // clang-format on
#undef VIREO_INLINE_CASE
#undef VIREO_FLOW_seq
#undef VIREO_FLOW_seq_pc
#undef VIREO_FLOW_jump
#undef VIREO_FLOW_mem
#undef VIREO_FLOW_call
#undef VIREO_COUNT_INSN
#undef VIREO_TRY_JIT
#undef VIREO_DISPATCH

out_of_budget:
  pc = cur_pc;
  budget_left_ = 0;
}

void Hart::execute_traced() {
  static constexpr char kPrivName[] = {'U', 'S', '?', 'M'};
  for (;;) {
    if ((pc & ~kPageOffsetMask) != fetch_vpage_) {
      const FetchStatus s = enter_fetch_page();
      if (s == FetchStatus::kExit) return;
      if (s == FetchStatus::kTrapped) {
        if (--budget_left_ == 0) return;
        continue;
      }
    }
    // Decode afresh (not from the cache) so the trace shows exactly what runs.
    const uint64_t offset = pc & kPageOffsetMask;
    const uint16_t lo = read_parcel(fetch_host_ + offset);
    uint32_t raw = lo;
    if (!is_compressed(lo)) {
      uint16_t hi;
      if (offset == kPageSize - 2) {
        if (!fetch_parcel(pc + 2, hi)) {
          if (--budget_left_ == 0) return;
          continue;
        }
      } else {
        hi = read_parcel(fetch_host_ + offset + 2);
      }
      raw |= static_cast<uint32_t>(hi) << 16;
    }
    const DecodedInsn d = decode(raw);
    fmt::print(stderr, "hart {} {} {:016x} ({:0{}x}) {}\n", hart_id(),
               kPrivName[static_cast<unsigned>(priv) & 3], pc, d.raw, d.len == 2 ? 4 : 8,
               disassemble(d, pc));
    d.exec(*this, d);
    if (--budget_left_ == 0) return;
  }
}

uint64_t Hart::execute_chunk(uint64_t budget) {
  chunk_budget_ = budget_left_ = budget;
  invalidate_fetch();  // the first instruction goes through enter_fetch_page()
  if (config_.trace) [[unlikely]] {
    execute_traced();
  } else {
    execute_fast();
  }
  const uint64_t done = chunk_budget_ - budget_left_;
  retired_base_ += done;
  retired_published_.store(retired_base_, std::memory_order_relaxed);
  chunk_budget_ = budget_left_ = 0;
  return done;
}

// ---- Between chunks: HSM, WFI, sleeping ----

bool Hart::wakeup_pending() {
  update_timer_ip();
  return (effective_mip() & mie_) != 0;
}

void Hart::start_from_hsm() {
  // SBI HSM hart_start: S-mode at start_addr, a0 = hartid, a1 = opaque,
  // satp = 0, sstatus.SIE = 0.
  pc = hsm_start_addr_.load(std::memory_order_relaxed);
  x[10] = hart_id();
  x[11] = hsm_start_opaque_.load(std::memory_order_relaxed);
  satp_ = 0;
  mstatus_ &= ~csr::mstatus::kSIE;
  wfi_ = false;
  hsm_start_published_.store(false, std::memory_order_relaxed);
  set_priv(Priv::kSupervisor);
  flush_tlb();
  flush_icache();
  hsm_state_.store(static_cast<uint32_t>(HsmState::kStarted));
}

Hart::Readiness Hart::prepare() {
  service_attention();
  switch (static_cast<HsmState>(hsm_state_.load())) {
    case HsmState::kStarted:
      break;
    case HsmState::kStartPending:
      if (!hsm_start_published_.load(std::memory_order_acquire)) return Readiness::kStopped;
      start_from_hsm();
      break;
    case HsmState::kSuspended:
      if (!wakeup_pending()) return Readiness::kWaitInterrupt;
      wfi_ = false;
      if (hsm_suspend_nonretentive_) {
        // Non-retentive resume: like a start, at the resume address.
        hsm_suspend_nonretentive_ = false;
        pc = hsm_resume_addr_;
        x[10] = hart_id();
        x[11] = hsm_resume_opaque_;
        satp_ = 0;
        mstatus_ &= ~csr::mstatus::kSIE;
        set_priv(Priv::kSupervisor);
        flush_tlb();
      }
      hsm_state_.store(static_cast<uint32_t>(HsmState::kStarted));
      break;
    default:
      return Readiness::kStopped;
  }
  if (wfi_) {
    if (!wakeup_pending()) return Readiness::kWaitInterrupt;
    wfi_ = false;
  }
  return Readiness::kRun;
}

bool Hart::halt_poll(uint32_t seq, uint64_t poll_ns, uint64_t deadline_ticks) {
  const uint64_t start = GuestClock::host_ns();
  uint64_t end = start + poll_ns;
  if (deadline_ticks != UINT64_MAX) end = std::min(end, clock_.host_ns_at(deadline_ticks));
  for (uint64_t now = start; now < end; now = GuestClock::host_ns()) {
    for (int i = 0; i < 64; ++i) {
      if (wake_seq_.load(std::memory_order_acquire) != seq) return true;
      __builtin_ia32_pause();
    }
  }
  return false;
}

void Hart::sleep_until_woken(uint64_t deadline_ticks) {
  const uint32_t seq = wake_seq_.load();
  const uint64_t wait_start = GuestClock::host_ns();
  idle_.store(true);
  // While polling, sleeping_ stays false: a kick() only bumps wake_seq_.
  if (wfi_ && poll_ns_ != 0 && halt_poll(seq, poll_ns_, deadline_ticks)) {
    idle_.store(false);
    return;
  }
  sleeping_.store(true);  // seq_cst: paired with kick()
  const bool ready = host_.stop_requested() || attention_.load() != 0 ||
                     (static_cast<HsmState>(hsm_state_.load()) == HsmState::kStartPending) ||
                     ((wfi_ || hsm_state() == HsmState::kSuspended) && wakeup_pending());
  if (!ready) {
    const uint64_t now_ns = GuestClock::host_ns();
    uint64_t until_ns =
        deadline_ticks == UINT64_MAX ? UINT64_MAX : clock_.host_ns_at(deadline_ticks);
    until_ns = std::min(until_ns, now_ns + kMaxSleepNs);
    if (until_ns > now_ns) {
      timespec abs;
      abs.tv_sec = static_cast<time_t>(until_ns / 1'000'000'000u);
      abs.tv_nsec = static_cast<long>(until_ns % 1'000'000'000u);
      // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline.
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&wake_seq_), FUTEX_WAIT_BITSET_PRIVATE, seq,
              &abs, nullptr, FUTEX_BITSET_MATCH_ANY);
    }
  }
  sleeping_.store(false);
  if (wfi_) {
    // The poll window was too short for this wait: grow it if polling would
    // have caught the wakeup, shrink it if the wait was long.
    const uint64_t waited = GuestClock::host_ns() - wait_start;
    if (waited <= kHaltPollMaxNs)
      poll_ns_ = std::min(kHaltPollMaxNs, std::max(kHaltPollStartNs, poll_ns_ * 2));
    else
      poll_ns_ = poll_ns_ / 2 < kHaltPollStartNs ? 0 : poll_ns_ / 2;
  }
  idle_.store(false);  // seq_cst: a remote flush posted from now on is waited for
}

void Hart::run() {
  idle_.store(false);
  while (!host_.stop_requested()) {
    switch (prepare()) {
      case Readiness::kRun:
        execute_chunk(kChunkInsns);
        break;
      case Readiness::kWaitInterrupt:
        sleep_until_woken(next_timer_deadline());
        break;
      case Readiness::kStopped:
        sleep_until_woken(UINT64_MAX);
        break;
    }
  }
  idle_.store(true);
}

uint64_t Hart::run_for(uint64_t max_insns) {
  idle_.store(false);
  uint64_t total = 0;
  while (total < max_insns && !host_.stop_requested()) {
    if (prepare() != Readiness::kRun) break;
    total += execute_chunk(std::min(kChunkInsns, max_insns - total));
  }
  idle_.store(true);
  return total;
}

}  // namespace vireo::riscv
