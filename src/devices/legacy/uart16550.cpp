#include "devices/legacy/uart16550.hpp"

#include "core/log.hpp"

namespace vireo {

Uart16550::Uart16550(IrqLine irq, TransmitSink transmit)
    : irq_(irq), transmit_(std::move(transmit)) {
  msr_lines_ = modem_lines_locked();
}

// Like QEMU, any access width is accepted and acts on the byte register at
// `offset` (a wide read returns it zero-extended, a wide write uses the low byte).
uint64_t Uart16550::read(uint64_t offset, unsigned size) {
  if (offset >= kSize) {
    VIREO_LOG_RATELIMITED(log::warn, "uart16550: ignored read at {:#x}", offset);
    return 0;
  }
  std::lock_guard lock(mutex_);
  return read_locked(offset);
}

void Uart16550::write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset >= kSize) {
    VIREO_LOG_RATELIMITED(log::warn, "uart16550: ignored write at {:#x}", offset);
    return;
  }
  std::lock_guard lock(mutex_);
  write_locked(offset, static_cast<uint8_t>(value));
}

size_t Uart16550::receive(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  size_t accepted = 0;
  for (const uint8_t b : bytes) {
    if (host_queue_.full()) {
      refill_from_host_locked();
      if (host_queue_.full()) break;
    }
    host_queue_.push(b);
    ++accepted;
  }
  refill_from_host_locked();
  update_irq_locked();
  return accepted;
}

bool Uart16550::can_receive() const {
  std::lock_guard lock(mutex_);
  return !host_queue_.full();
}

uint8_t Uart16550::read_locked(uint64_t reg) {
  switch (reg) {
    case kRbrThrDll:
      return (lcr_ & kLcrDlab) != 0 ? dll_ : read_rbr_locked();
    case kIerDlm:
      return (lcr_ & kLcrDlab) != 0 ? dlm_ : ier_;
    case kIirFcr: {
      const uint8_t iir = compute_iir_locked();
      // Reading IIR is how the guest acknowledges a THR-empty interrupt.
      if ((iir & 0x0f) == kIirThri) {
        thr_interrupt_pending_ = false;
        update_irq_locked();
      }
      return iir;
    }
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr: {
      const uint8_t lsr = lsr_;
      // Break and overrun are reported once.
      if ((lsr_ & (kLsrBi | kLsrOe)) != 0) {
        lsr_ &= static_cast<uint8_t>(~(kLsrBi | kLsrOe));
        update_irq_locked();
      }
      return lsr;
    }
    case kMsr: {
      const uint8_t msr = msr_lines_ | msr_deltas_;
      if (msr_deltas_ != 0) {
        msr_deltas_ = 0;
        update_irq_locked();
      }
      return msr;
    }
    case kScr:
      return scr_;
    default:
      return 0;
  }
}

void Uart16550::write_locked(uint64_t reg, uint8_t value) {
  switch (reg) {
    case kRbrThrDll:
      if ((lcr_ & kLcrDlab) != 0) {
        dll_ = value;
      } else {
        write_thr_locked(value);
      }
      return;
    case kIerDlm:
      if ((lcr_ & kLcrDlab) != 0) {
        dlm_ = value;
      } else {
        const uint8_t changed = (ier_ ^ value) & 0x0f;
        ier_ = value & 0x0f;
        // Enabling the THR-empty interrupt while THR is empty raises it even
        // if IIR was read since: Linux's 8250 driver (and Windows) rely on it.
        if ((changed & kIerThri) != 0) {
          thr_interrupt_pending_ = (ier_ & kIerThri) != 0 && (lsr_ & kLsrThre) != 0;
        }
        update_irq_locked();
      }
      return;
    case kIirFcr:
      write_fcr_locked(value);
      return;
    case kLcr:
      lcr_ = value;
      return;
    case kMcr:
      write_mcr_locked(value);
      return;
    case kScr:
      scr_ = value;
      return;
    default:  // LSR and MSR are read-only
      return;
  }
}

uint8_t Uart16550::read_rbr_locked() {
  uint8_t value = 0;
  if (fifo_enabled()) {
    if (!rx_fifo_.empty()) value = rx_fifo_.pop();
    if (rx_fifo_.empty()) lsr_ &= static_cast<uint8_t>(~(kLsrDr | kLsrBi));
  } else {
    value = rbr_;
    lsr_ &= static_cast<uint8_t>(~(kLsrDr | kLsrBi));
  }
  refill_from_host_locked();
  update_irq_locked();
  return value;
}

void Uart16550::write_thr_locked(uint8_t value) {
  if (loopback()) {
    receive_byte_locked(value);
  } else if (transmit_) {
    transmit_(value);
  }
  // Transmission is instant: THR and the shift register are empty again, which
  // is a fresh THR-empty event.
  lsr_ |= kLsrThre | kLsrTemt;
  thr_interrupt_pending_ = true;
  update_irq_locked();
}

void Uart16550::write_fcr_locked(uint8_t value) {
  // Switching the FIFOs on or off flushes them (datasheet).
  if (((value ^ fcr_) & kFcrEnable) != 0) value |= kFcrClearRx | kFcrClearTx;
  if ((value & kFcrClearRx) != 0) {
    rx_fifo_.clear();
    lsr_ &= static_cast<uint8_t>(~(kLsrDr | kLsrBi));
  }
  if ((value & kFcrClearTx) != 0) {
    lsr_ |= kLsrThre | kLsrTemt;
    thr_interrupt_pending_ = true;
  }
  fcr_ = value & (kFcrEnable | kFcrTrigger);
  refill_from_host_locked();
  update_irq_locked();
}

void Uart16550::write_mcr_locked(uint8_t value) {
  mcr_ = value & kMcrMask;
  update_modem_lines_locked();
  // Leaving loopback lets queued host input in again.
  refill_from_host_locked();
  update_irq_locked();
}

void Uart16550::receive_byte_locked(uint8_t byte) {
  if (fifo_enabled()) {
    if (rx_fifo_.full()) {
      lsr_ |= kLsrOe;  // the byte is lost; the FIFO keeps its contents
    } else {
      rx_fifo_.push(byte);
    }
  } else {
    if ((lsr_ & kLsrDr) != 0) lsr_ |= kLsrOe;
    rbr_ = byte;
  }
  lsr_ |= kLsrDr;
}

void Uart16550::refill_from_host_locked() {
  // In loopback the receiver is wired to the transmitter, not the host.
  if (loopback() || host_queue_.empty()) return;
  if (fifo_enabled()) {
    while (!host_queue_.empty() && !rx_fifo_.full()) rx_fifo_.push(host_queue_.pop());
    lsr_ |= kLsrDr;
  } else if ((lsr_ & kLsrDr) == 0) {
    rbr_ = host_queue_.pop();
    lsr_ |= kLsrDr;
  }
}

uint8_t Uart16550::modem_lines_locked() const {
  if (!loopback()) return kMsrDcd | kMsrDsr | kMsrCts;
  // Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
  uint8_t lines = 0;
  if ((mcr_ & 0x01) != 0) lines |= kMsrDsr;
  if ((mcr_ & 0x02) != 0) lines |= kMsrCts;
  if ((mcr_ & 0x04) != 0) lines |= kMsrRi;
  if ((mcr_ & 0x08) != 0) lines |= kMsrDcd;
  return lines;
}

void Uart16550::update_modem_lines_locked() {
  const uint8_t lines = modem_lines_locked();
  const uint8_t changed = lines ^ msr_lines_;
  if ((changed & kMsrCts) != 0) msr_deltas_ |= kMsrDcts;
  if ((changed & kMsrDsr) != 0) msr_deltas_ |= kMsrDdsr;
  if ((changed & kMsrDcd) != 0) msr_deltas_ |= kMsrDdcd;
  // Ring indicator reports its trailing edge only.
  if ((msr_lines_ & kMsrRi) != 0 && (lines & kMsrRi) == 0) msr_deltas_ |= kMsrTeri;
  msr_lines_ = lines;
}

uint8_t Uart16550::compute_iir_locked() const {
  uint8_t id = kIirNoInt;
  if ((ier_ & kIerRlsi) != 0 && (lsr_ & kLsrErrors) != 0) {
    id = kIirRlsi;
  } else if ((ier_ & kIerRdi) != 0 && (lsr_ & kLsrDr) != 0) {
    // Below the trigger level the real chip raises a character timeout after
    // four idle character times; we report it at once, since nothing more is
    // coming until the guest drains what it has.
    static constexpr size_t kTriggerLevels[] = {1, 4, 8, 14};
    const bool at_trigger =
        !fifo_enabled() || rx_fifo_.count >= kTriggerLevels[(fcr_ & kFcrTrigger) >> 6];
    id = at_trigger ? kIirRdi : kIirCti;
  } else if ((ier_ & kIerThri) != 0 && thr_interrupt_pending_) {
    id = kIirThri;
  } else if ((ier_ & kIerMsi) != 0 && msr_deltas_ != 0) {
    id = kIirMsi;
  }
  return id | (fifo_enabled() ? kIirFifoEnabled : 0);
}

void Uart16550::update_irq_locked() {
  const bool level = (compute_iir_locked() & kIirNoInt) == 0;
  if (level == irq_level_) return;
  irq_level_ = level;
  irq_.set_level(level);
}

}  // namespace vireo
