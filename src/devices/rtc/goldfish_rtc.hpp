// QEMU's "google,goldfish-rtc" (0x101000 on virt, IRQ 11): the guest's
// wall clock in nanoseconds since the epoch, plus one alarm. Time is the
// host's CLOCK_REALTIME plus an offset the guest sets by writing the time
// registers (Linux does on `hwclock -w`).
#pragma once

#include <cstdint>
#include <memory>

#include "core/bus.hpp"
#include "core/event_loop.hpp"
#include "core/irq.hpp"

namespace vireo {

class GoldfishRtc final : public BusDevice {
 public:
  static constexpr uint64_t kSize = 0x1000;

  static constexpr uint64_t kTimeLow = 0x00;  // reading latches TIME_HIGH
  static constexpr uint64_t kTimeHigh = 0x04;
  static constexpr uint64_t kAlarmLow = 0x08;  // writing arms the alarm
  static constexpr uint64_t kAlarmHigh = 0x0c;
  static constexpr uint64_t kIrqEnabled = 0x10;
  static constexpr uint64_t kClearAlarm = 0x14;
  static constexpr uint64_t kAlarmStatus = 0x18;  // 1 while an alarm is armed
  static constexpr uint64_t kClearInterrupt = 0x1c;

  // With a loop, an armed alarm fires on time through a timerfd handled on
  // the loop thread. Without one (or if the timerfd cannot be created) alarms
  // are checked lazily, on every register access: the interrupt then comes
  // only when the guest next touches the device, which suits tests and
  // guests that poll, not Linux's alarm wakeups.
  // `loop` must outlive the device. Destroying the device while the loop runs
  // is safe: a handler already running keeps the state it needs alive.
  GoldfishRtc(EventLoop* loop, IrqLine irq);
  ~GoldfishRtc() override;
  GoldfishRtc(const GoldfishRtc&) = delete;
  GoldfishRtc& operator=(const GoldfishRtc&) = delete;

  // 32-bit accesses only; anything else reads as 0 / is ignored.
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  // The current guest time in ns (what TIME_LOW/TIME_HIGH would read).
  uint64_t now_ns() const;

 private:
  struct State;  // shared with the timerfd handler
  EventLoop* const loop_;
  std::shared_ptr<State> state_;
};

}  // namespace vireo
