#include "vmm/console.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace vireo {
namespace {

constexpr uint8_t kEscape = 0x01;  // Ctrl-A
constexpr size_t kMaxPending = 64 * 1024;
// write_buffered(): the buffer's size, the writer's chunk (at most PIPE_BUF,
// so a write after POLLOUT does not block), and how long the writer keeps
// trying to flush at exit when nobody reads the output.
constexpr size_t kMaxBuffered = 64 * 1024;
constexpr size_t kWriteChunk = 4096;
constexpr int kExitFlushMs = 2000;

// The terminal state to restore. Process-wide by nature: there is one
// controlling terminal per process.
struct TerminalGuard {
  bool saved = false;
  termios original{};
};
TerminalGuard g_terminal;

void restore_terminal() {
  if (g_terminal.saved) ::tcsetattr(STDIN_FILENO, TCSANOW, &g_terminal.original);
}

void fatal_signal_handler(int sig) {
  restore_terminal();  // tcsetattr is async-signal-safe
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install_restore_handlers() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  std::atexit(restore_terminal);
  for (int sig : {SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) {
    struct sigaction sa {};
    sa.sa_handler = fatal_signal_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    ::sigaction(sig, &sa, nullptr);
  }
}

}  // namespace

Result<SerialConfig> parse_serial(const std::string& text) {
  SerialConfig c;
  if (text == "stdio") return c;
  if (text == "null") {
    c.mode = SerialConfig::Mode::kNull;
    return c;
  }
  if (text.starts_with("file=") && text.size() > 5) {
    c.mode = SerialConfig::Mode::kFile;
    c.path = text.substr(5);
    return c;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    fmt::format("--serial '{}' is not valid: use stdio, null or file=PATH", text));
}

Console::Console(const SerialConfig& config, EventLoop& loop, InputFn on_input, QuitFn on_quit)
    : config_(config), loop_(loop), on_input_(std::move(on_input)), on_quit_(std::move(on_quit)) {}

Result<std::unique_ptr<Console>> Console::create(const SerialConfig& config, EventLoop& loop,
                                                 InputFn on_input, QuitFn on_quit) {
  std::unique_ptr<Console> c(new Console(config, loop, std::move(on_input), std::move(on_quit)));
  if (auto r = c->start(); !r) return std::unexpected(r.error());
  return c;
}

Result<void> Console::start() {
  output_space_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (output_space_fd_ < 0) return errno_error(ErrorCode::kIo, "eventfd");
  switch (config_.mode) {
    case SerialConfig::Mode::kNull:
      return {};
    case SerialConfig::Mode::kFile:
      out_fd_ = ::open(config_.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (out_fd_ < 0) {
        return make_error(ErrorCode::kIo, fmt::format("cannot open serial output file '{}': {}",
                                                      config_.path, std::strerror(errno)));
      }
      owns_out_fd_ = true;
      return {};
    case SerialConfig::Mode::kStdio:
      break;
  }
  out_fd_ = STDOUT_FILENO;
  if (::isatty(STDIN_FILENO)) {
    termios t;
    if (::tcgetattr(STDIN_FILENO, &t) == 0) {
      g_terminal.original = t;
      g_terminal.saved = true;
      install_restore_handlers();
      // Raw input: every key, Ctrl-C included, goes to the guest.
      t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
      t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
      t.c_cflag &= ~(CSIZE | PARENB);
      t.c_cflag |= CS8;
      t.c_cc[VMIN] = 1;
      t.c_cc[VTIME] = 0;
      ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
      raw_terminal_ = true;
    }
  }
  retry_timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (retry_timer_fd_ < 0) return errno_error(ErrorCode::kIo, "timerfd_create");
  if (auto r = loop_.add_fd(retry_timer_fd_, EPOLLIN,
                            [this](uint32_t) {
                              uint64_t n;
                              [[maybe_unused]] ssize_t r = ::read(retry_timer_fd_, &n, sizeof(n));
                              flush_pending();
                            });
      !r) {
    return r;
  }
  watch_stdin(true);
  if (!stdin_pollable_) {
    // epoll refuses regular files (and some devices): read them on a thread.
    reader_ = std::thread([this] {
      uint8_t buf[4096];
      for (;;) {
        const ssize_t n = ::read(STDIN_FILENO, buf, sizeof(buf));
        if (n <= 0) return;
        std::vector<uint8_t> chunk(buf, buf + n);
        loop_.post([this, chunk = std::move(chunk)] { handle_input(chunk); });
      }
    });
    reader_.detach();  // a blocking read cannot be interrupted; it ends at EOF or exit
  }
  return {};
}

Console::~Console() {
  if (writer_.joinable()) {
    {
      std::lock_guard lock(out_mutex_);
      out_stop_.store(true);
    }
    out_cv_.notify_all();
    writer_.join();  // flushes what is buffered, for at most kExitFlushMs without progress
  }
  if (output_space_fd_ >= 0) ::close(output_space_fd_);
  if (stdin_watched_) (void)loop_.remove_fd(STDIN_FILENO);
  if (retry_timer_fd_ >= 0) {
    (void)loop_.remove_fd(retry_timer_fd_);
    ::close(retry_timer_fd_);
  }
  if (owns_out_fd_) ::close(out_fd_);
  if (raw_terminal_) {
    restore_terminal();
    g_terminal.saved = false;
  }
}

void Console::watch_stdin(bool on) {
  if (on == stdin_watched_ || !stdin_pollable_ || (on && stdin_eof_)) return;
  if (on) {
    auto r = loop_.add_fd(STDIN_FILENO, EPOLLIN, [this](uint32_t) { on_stdin_readable(); });
    if (!r) {
      stdin_pollable_ = false;
      return;
    }
  } else {
    (void)loop_.remove_fd(STDIN_FILENO);
  }
  stdin_watched_ = on;
}

void Console::on_stdin_readable() {
  uint8_t buf[4096];
  const ssize_t n = ::read(STDIN_FILENO, buf, sizeof(buf));
  if (n <= 0) {
    // EOF (or error): stop reading; the guest keeps running.
    watch_stdin(false);
    stdin_eof_ = true;
    return;
  }
  handle_input(std::span(buf, static_cast<size_t>(n)));
}

void Console::handle_input(std::span<const uint8_t> bytes) {
  for (uint8_t b : bytes) {
    if (escape_pending_) {
      escape_pending_ = false;
      if (b == 'x' || b == 'X') {
        static const char kMsg[] = "\r\nvireo: terminated by Ctrl-A x\r\n";
        write(std::span(reinterpret_cast<const uint8_t*>(kMsg), sizeof(kMsg) - 1));
        on_quit_();
        return;
      }
      if (b == 'h' || b == 'H') {
        static const char kHelp[] =
            "\r\nCtrl-A x  quit vireo\r\nCtrl-A Ctrl-A  send Ctrl-A to the guest\r\n";
        write(std::span(reinterpret_cast<const uint8_t*>(kHelp), sizeof(kHelp) - 1));
        continue;
      }
      if (b != kEscape) pending_.push_back(kEscape);
      pending_.push_back(b);
    } else if (b == kEscape) {
      escape_pending_ = true;
    } else {
      pending_.push_back(b);
    }
  }
  flush_pending();
}

void Console::flush_pending() {
  if (!pending_.empty()) {
    const size_t taken = on_input_(pending_);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(taken));
  }
  // Back-pressure: while the device's queue is full, stop reading stdin and
  // retry shortly.
  const bool backlog = !pending_.empty();
  watch_stdin(!backlog && pending_.size() < kMaxPending);
  itimerspec ts{};
  if (backlog) ts.it_value.tv_nsec = 5'000'000;
  ::timerfd_settime(retry_timer_fd_, 0, &ts, nullptr);
}

void Console::write(std::span<const uint8_t> bytes) {
  if (out_fd_ < 0) return;
  std::lock_guard lock(write_mutex_);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(out_fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the reader went away: drop output, keep the guest running
    done += static_cast<size_t>(n);
  }
}

size_t Console::write_buffered(std::span<const uint8_t> bytes) {
  if (out_fd_ < 0) return bytes.size();  // --serial null
  std::lock_guard lock(out_mutex_);
  if (out_stop_.load()) return bytes.size();
  const size_t n = std::min(bytes.size(), kMaxBuffered - out_buffer_.size());
  out_buffer_.insert(out_buffer_.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
  if (n < bytes.size()) out_want_space_ = true;
  if (!writer_.joinable()) writer_ = std::thread([this] { run_writer(); });
  out_cv_.notify_one();
  return n;
}

void Console::run_writer() {
  std::unique_lock lock(out_mutex_);
  uint8_t chunk[kWriteChunk];
  for (;;) {
    out_cv_.wait(lock, [&] { return out_stop_.load() || !out_buffer_.empty(); });
    if (out_buffer_.empty()) return;
    const size_t n = std::min(out_buffer_.size(), kWriteChunk);
    std::copy_n(out_buffer_.begin(), n, chunk);
    lock.unlock();
    const bool ok = write_all(std::span(chunk, n));
    lock.lock();
    if (ok) {
      out_buffer_.erase(out_buffer_.begin(), out_buffer_.begin() + static_cast<ptrdiff_t>(n));
    } else {
      out_buffer_.clear();  // the reader went away (or never drained at exit): drop
    }
    if (out_want_space_ && out_buffer_.size() <= kMaxBuffered / 2) {
      out_want_space_ = false;
      const uint64_t one = 1;
      [[maybe_unused]] ssize_t w = ::write(output_space_fd_, &one, sizeof(one));
    }
  }
}

// Writes all of `bytes`, waiting for the output with poll() so that a stop
// request is seen even while nobody reads it. False: give up, drop the bytes.
bool Console::write_all(std::span<const uint8_t> bytes) {
  size_t done = 0;
  int stalled_ms = 0;
  while (done < bytes.size()) {
    pollfd p{out_fd_, POLLOUT, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) {
      if (out_stop_.load() && (stalled_ms += 100) >= kExitFlushMs) return false;
      continue;
    }
    if (p.revents & (POLLERR | POLLNVAL)) return false;
    std::lock_guard lock(write_mutex_);  // whole chunks, not interleaved with write()
    const ssize_t n = ::write(out_fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
    stalled_ms = 0;
  }
  return true;
}

Result<std::shared_ptr<ConsoleStreamPort>> ConsoleStreamPort::create() {
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return errno_error(ErrorCode::kIo, "eventfd");
  return std::shared_ptr<ConsoleStreamPort>(new ConsoleStreamPort(fd));
}

ConsoleStreamPort::~ConsoleStreamPort() { ::close(input_fd_); }

size_t ConsoleStreamPort::push_input(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  const size_t n = std::min(bytes.size(), kMaxInput - input_.size());
  if (n == 0) return 0;
  const bool was_empty = input_.empty();
  input_.insert(input_.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
  if (was_empty) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(input_fd_, &one, sizeof(one));
  }
  return n;
}

size_t ConsoleStreamPort::read_input(std::span<uint8_t> out) {
  std::lock_guard lock(mutex_);
  const size_t n = std::min(out.size(), input_.size());
  std::copy_n(input_.begin(), n, out.begin());
  input_.erase(input_.begin(), input_.begin() + static_cast<ptrdiff_t>(n));
  if (input_.empty()) {
    uint64_t count;  // no more input: the eventfd stops being readable
    [[maybe_unused]] ssize_t r = ::read(input_fd_, &count, sizeof(count));
  }
  return n;
}

size_t ConsoleStreamPort::write_output(std::span<const uint8_t> bytes) {
  Console* c = console_.load();
  return c != nullptr ? c->write_buffered(bytes) : bytes.size();
}

int ConsoleStreamPort::output_space_fd() const {
  Console* c = console_.load();
  return c != nullptr ? c->output_space_fd() : -1;
}

}  // namespace vireo
