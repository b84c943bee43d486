// A 16550A UART as QEMU emulates it: the guest console on RISC-V virt (MMIO,
// reg-shift 0) and, through port I/O, x86's COM1. Offsets 0..7 are the eight
// byte-wide registers. Transmission is instant (THR is empty again as soon as
// the byte is handed to the host), so there is no transmit FIFO to model;
// input from the host waits in a bounded queue in front of the 16-byte
// receive FIFO, so pasted text is not lost while the guest drains it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "core/bus.hpp"
#include "core/irq.hpp"

namespace vireo {

class Uart16550 final : public BusDevice {
 public:
  static constexpr uint64_t kSize = 8;
  static constexpr size_t kFifoSize = 16;
  static constexpr size_t kHostQueueSize = 4096;

  // Register offsets (DLAB selects the divisor latch at 0 and 1).
  static constexpr uint64_t kRbrThrDll = 0, kIerDlm = 1, kIirFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5,
                            kMsr = 6, kScr = 7;

  // Receives each byte the guest transmits (outside loopback mode). Runs on
  // the writing vCPU thread with the device lock held, which keeps output in
  // order; it must not call back into this device.
  using TransmitSink = std::function<void(uint8_t byte)>;

  // `irq` is a level-triggered line (high while an enabled interrupt is pending).
  Uart16550(IrqLine irq, TransmitSink transmit);

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  // Host input (any thread, e.g. the stdin reader). Queues as many bytes as
  // fit and returns that count; the rest is dropped, so callers that must
  // not lose input check can_receive() / the return value and retry later.
  size_t receive(std::span<const uint8_t> bytes);
  // True while the host queue has room.
  bool can_receive() const;

 private:
  // A fixed-capacity byte ring: no allocation on the I/O path.
  template <size_t N>
  struct Ring {
    std::array<uint8_t, N> bytes{};
    size_t head = 0;
    size_t count = 0;
    bool empty() const { return count == 0; }
    bool full() const { return count == N; }
    void push(uint8_t b) {
      bytes[(head + count) % N] = b;
      ++count;
    }
    uint8_t pop() {
      const uint8_t b = bytes[head];
      head = (head + 1) % N;
      --count;
      return b;
    }
    void clear() { head = count = 0; }
  };

  bool fifo_enabled() const { return (fcr_ & kFcrEnable) != 0; }
  bool loopback() const { return (mcr_ & kMcrLoop) != 0; }

  uint8_t read_locked(uint64_t reg);
  void write_locked(uint64_t reg, uint8_t value);
  uint8_t read_rbr_locked();
  void write_thr_locked(uint8_t value);
  void write_fcr_locked(uint8_t value);
  void write_mcr_locked(uint8_t value);
  // Puts one byte into the receiver (FIFO or RBR), flagging an overrun when full.
  void receive_byte_locked(uint8_t byte);
  // Moves host-queued bytes into the receiver while it has room.
  void refill_from_host_locked();
  // The modem input lines (MSR bits 7:4): looped back from MCR, else a
  // permanently connected terminal (DCD, DSR, CTS).
  uint8_t modem_lines_locked() const;
  void update_modem_lines_locked();
  uint8_t compute_iir_locked() const;
  void update_irq_locked();

  static constexpr uint8_t kIerRdi = 0x01, kIerThri = 0x02, kIerRlsi = 0x04, kIerMsi = 0x08;
  static constexpr uint8_t kIirNoInt = 0x01, kIirMsi = 0x00, kIirThri = 0x02, kIirRdi = 0x04,
                           kIirRlsi = 0x06, kIirCti = 0x0c, kIirFifoEnabled = 0xc0;
  static constexpr uint8_t kFcrEnable = 0x01, kFcrClearRx = 0x02, kFcrClearTx = 0x04,
                           kFcrTrigger = 0xc0;
  static constexpr uint8_t kLcrDlab = 0x80;
  static constexpr uint8_t kMcrLoop = 0x10, kMcrMask = 0x1f;
  static constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrBi = 0x10, kLsrThre = 0x20,
                           kLsrTemt = 0x40, kLsrErrors = 0x1e;
  static constexpr uint8_t kMsrDcts = 0x01, kMsrDdsr = 0x02, kMsrTeri = 0x04, kMsrDdcd = 0x08,
                           kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;

  const IrqLine irq_;
  const TransmitSink transmit_;

  mutable std::mutex mutex_;  // guards everything below
  uint8_t rbr_ = 0;           // receive buffer when the FIFO is off
  uint8_t ier_ = 0;
  uint8_t fcr_ = 0;  // the writable bits that persist: enable and trigger level
  uint8_t lcr_ = 0;
  uint8_t mcr_ = 0;
  uint8_t lsr_ = kLsrThre | kLsrTemt;
  uint8_t msr_lines_ = 0;   // bits 7:4 as last seen, to derive the deltas
  uint8_t msr_deltas_ = 0;  // bits 3:0, cleared by reading MSR
  uint8_t scr_ = 0;
  uint8_t dll_ = 0;
  uint8_t dlm_ = 0;
  bool thr_interrupt_pending_ = false;  // THR emptied and IIR not read since
  bool irq_level_ = false;
  Ring<kFifoSize> rx_fifo_;
  Ring<kHostQueueSize> host_queue_;
};

}  // namespace vireo
