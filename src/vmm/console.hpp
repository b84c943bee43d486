// The host side of the guest's serial console: stdin/stdout (terminal in raw
// mode, restored on every exit path including fatal signals), a file, or
// nothing. `Ctrl-A x` quits, `Ctrl-A Ctrl-A` sends a literal Ctrl-A.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/event_loop.hpp"

namespace vireo {

struct SerialConfig {
  enum class Mode { kStdio, kFile, kNull } mode = Mode::kStdio;
  std::string path;  // for kFile
};

// Parses "stdio", "null" or "file=PATH".
Result<SerialConfig> parse_serial(const std::string& text);

class Console {
 public:
  // Delivers guest-bound bytes; returns how many the device accepted.
  using InputFn = std::function<size_t(std::span<const uint8_t>)>;
  using QuitFn = std::function<void()>;

  static Result<std::unique_ptr<Console>> create(const SerialConfig& config, EventLoop& loop,
                                                 InputFn on_input, QuitFn on_quit);
  ~Console();

  // Guest output. Thread-safe; called from vCPU threads.
  void write(std::span<const uint8_t> bytes);

 private:
  Console(const SerialConfig& config, EventLoop& loop, InputFn on_input, QuitFn on_quit);
  Result<void> start();
  void on_stdin_readable();
  void handle_input(std::span<const uint8_t> bytes);
  void flush_pending();
  void watch_stdin(bool on);

  SerialConfig config_;
  EventLoop& loop_;
  InputFn on_input_;
  QuitFn on_quit_;
  int out_fd_ = -1;
  bool owns_out_fd_ = false;
  bool raw_terminal_ = false;
  bool stdin_watched_ = false;
  bool stdin_pollable_ = true;
  bool stdin_eof_ = false;
  bool escape_pending_ = false;
  int retry_timer_fd_ = -1;
  std::vector<uint8_t> pending_;  // accepted from stdin, not yet taken by the device
  std::mutex write_mutex_;
  std::thread reader_;  // only for stdin that epoll cannot watch (regular files)
};

}  // namespace vireo
