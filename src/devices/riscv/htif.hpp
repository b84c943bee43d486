// Spike's Host-Target Interface as bare-metal test programs use it: the ELF
// exports `tohost`/`fromhost` words in RAM; the board routes those words to
// this device. A write of (code << 1) | 1 ends the run with `code`; device 1
// command 1 prints a character; device 0 with a pointer runs a proxied syscall
// (only SYS_write to stdout/stderr and SYS_exit are served).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "core/bus.hpp"
#include "core/guest_memory.hpp"

namespace vireo {

class Htif final : public BusDevice {
 public:
  using ExitCallback = std::function<void(int code)>;
  using OutputCallback = std::function<void(std::span<const uint8_t>)>;

  // The device covers `tohost` at offset 0 (8 bytes) and `fromhost` at
  // `fromhost_offset`, as the board registers them.
  Htif(const GuestMemory& memory, OutputCallback output, ExitCallback on_exit)
      : memory_(memory), output_(std::move(output)), on_exit_(std::move(on_exit)) {}

  // Two registers; the board maps each at the symbol's address.
  enum class Reg { kToHost, kFromHost };
  class Window final : public BusDevice {
   public:
    Window(Htif& htif, Reg reg) : htif_(htif), reg_(reg) {}
    uint64_t read(uint64_t offset, unsigned size) override {
      return htif_.read_reg(reg_, offset, size);
    }
    void write(uint64_t offset, unsigned size, uint64_t value) override {
      htif_.write_reg(reg_, offset, size, value);
    }

   private:
    Htif& htif_;
    Reg reg_;
  };

  uint64_t read(uint64_t offset, unsigned size) override {
    return read_reg(Reg::kToHost, offset, size);
  }
  void write(uint64_t offset, unsigned size, uint64_t value) override {
    write_reg(Reg::kToHost, offset, size, value);
  }

  uint64_t read_reg(Reg reg, uint64_t offset, unsigned size);
  void write_reg(Reg reg, uint64_t offset, unsigned size, uint64_t value);

 private:
  void handle_tohost(uint64_t value);
  void handle_syscall(uint64_t magic_addr);

  const GuestMemory& memory_;
  OutputCallback output_;
  ExitCallback on_exit_;
  std::mutex mutex_;
  uint64_t tohost_ = 0;
  uint64_t fromhost_ = 0;
};

}  // namespace vireo
