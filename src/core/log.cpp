#include "core/log.hpp"

#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <string>

namespace vireo::log {
namespace {
std::atomic<Level> g_level{Level::kWarn};
std::mutex g_write_mutex;
}  // namespace

void set_level(Level l) { g_level.store(l, std::memory_order_relaxed); }
Level level() { return g_level.load(std::memory_order_relaxed); }

bool parse_level(std::string_view text, Level& out) {
  static constexpr std::pair<std::string_view, Level> kNames[] = {
      {"error", Level::kError}, {"warn", Level::kWarn},   {"info", Level::kInfo},
      {"debug", Level::kDebug}, {"trace", Level::kTrace},
  };
  for (const auto& [name, l] : kNames) {
    if (text == name) {
      out = l;
      return true;
    }
  }
  return false;
}

void write(Level l, std::string_view message) {
  static constexpr const char* kPrefix[] = {"error", "warn", "info", "debug", "trace"};
  std::string line = fmt::format("vireo: {}: {}", kPrefix[static_cast<int>(l)], message);
  // The console may have put the terminal in raw mode: emit CR explicitly.
  line += isatty(STDERR_FILENO) ? "\r\n" : "\n";
  std::lock_guard lock(g_write_mutex);
  ::fwrite(line.data(), 1, line.size(), stderr);
  ::fflush(stderr);
}

bool RateLimit::allow() {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t last = last_second_.load(std::memory_order_relaxed);
  if (now != last && last_second_.compare_exchange_strong(last, now)) {
    // A new second: allow one more message beyond the burst.
    if (used_.load(std::memory_order_relaxed) >= burst_) used_.store(burst_ - 1);
  }
  return used_.fetch_add(1, std::memory_order_relaxed) < burst_;
}

}  // namespace vireo::log
