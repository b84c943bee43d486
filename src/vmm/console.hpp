// The host side of the guest's console: stdin/stdout (terminal in raw mode,
// restored on every exit path including fatal signals), a file, or nothing.
// `Ctrl-A x` quits, `Ctrl-A Ctrl-A` sends a literal Ctrl-A. The guest end is
// the UART, or virtio-console port 0 through a ConsoleStreamPort.
#pragma once

#include <atomic>
#include <condition_variable>
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
#include "devices/virtio/console.hpp"

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

  // Guest output. Thread-safe; called from vCPU threads. Blocks while the
  // host output does.
  void write(std::span<const uint8_t> bytes);
  // Guest output that must not block (the I/O loop): takes what fits in a
  // bounded buffer that a writer thread drains, and returns how many bytes.
  // After a short take, output_space_fd() (an eventfd) is signalled once the
  // buffer has room again. Thread-safe.
  size_t write_buffered(std::span<const uint8_t> bytes);
  int output_space_fd() const { return output_space_fd_; }

 private:
  Console(const SerialConfig& config, EventLoop& loop, InputFn on_input, QuitFn on_quit);
  Result<void> start();
  void on_stdin_readable();
  void handle_input(std::span<const uint8_t> bytes);
  void flush_pending();
  void watch_stdin(bool on);
  void run_writer();
  bool write_all(std::span<const uint8_t> bytes);

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

  // write_buffered(): the buffer, and the thread that writes it out.
  int output_space_fd_ = -1;
  std::mutex out_mutex_;
  std::condition_variable out_cv_;
  std::vector<uint8_t> out_buffer_;
  bool out_want_space_ = false;
  std::atomic<bool> out_stop_{false};
  std::thread writer_;
};

// Port 0 of virtio-console on the host console: input typed on the terminal
// (after the Ctrl-A escapes) is staged here for the device, and the device's
// output goes to Console::write_buffered.
class ConsoleStreamPort final : public virtio::ConsolePort {
 public:
  static constexpr size_t kMaxInput = 4096;

  static Result<std::shared_ptr<ConsoleStreamPort>> create();
  ~ConsoleStreamPort() override;
  // Set once the console exists; output before that is dropped.
  void set_console(Console* console) { console_.store(console); }
  // Input for the guest (the Console's InputFn); returns how many bytes were
  // taken, fewer while the guest is not reading.
  size_t push_input(std::span<const uint8_t> bytes);

  size_t read_input(std::span<uint8_t> out) override;
  int input_fd() const override { return input_fd_; }
  size_t write_output(std::span<const uint8_t> bytes) override;
  int output_space_fd() const override;

 private:
  explicit ConsoleStreamPort(int input_fd) : input_fd_(input_fd) {}
  int input_fd_;
  std::atomic<Console*> console_{nullptr};
  std::mutex mutex_;
  std::vector<uint8_t> input_;
};

}  // namespace vireo
