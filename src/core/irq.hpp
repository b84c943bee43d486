// Interrupt wiring: a device holds an IrqLine (a wire); the board connects
// the wire to an input of an interrupt controller (an IrqSink): the PLIC on
// RISC-V, an irqfd-backed sink on KVM. Devices never know which.
#pragma once

#include <cstdint>

namespace vireo {

class IrqSink {
 public:
  virtual ~IrqSink() = default;
  // Sets the level of input `line`. May be called from any thread.
  virtual void set_irq_level(uint32_t line, bool level) = 0;
};

class IrqLine {
 public:
  IrqLine() = default;
  IrqLine(IrqSink* sink, uint32_t line) : sink_(sink), line_(line) {}

  void set_level(bool level) const {
    if (sink_ != nullptr) sink_->set_irq_level(line_, level);
  }
  void raise() const { set_level(true); }
  void lower() const { set_level(false); }
  // An edge: for edge-triggered inputs.
  void pulse() const {
    set_level(true);
    set_level(false);
  }
  bool connected() const { return sink_ != nullptr; }
  uint32_t line() const { return line_; }

 private:
  IrqSink* sink_ = nullptr;
  uint32_t line_ = 0;
};

}  // namespace vireo
