// Levelled logging to stderr. Hot paths must not log per event; guest-caused
// errors use VIREO_LOG_RATELIMITED so a hostile guest cannot flood the host.
#pragma once

#include <fmt/format.h>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace vireo::log {

enum class Level : uint8_t { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3, kTrace = 4 };

void set_level(Level level);
Level level();
bool parse_level(std::string_view text, Level& out);

// Writes one line, prefixed with the level. Terminal-safe: ends with "\r\n"
// when stderr is a terminal in raw mode.
void write(Level level, std::string_view message);

inline bool enabled(Level l) { return static_cast<uint8_t>(l) <= static_cast<uint8_t>(level()); }

template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kError)) write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kWarn)) write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kInfo)) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kDebug)) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}

// Allows a burst of `burst` messages, then at most one per second.
class RateLimit {
 public:
  explicit RateLimit(uint32_t burst = 10) : burst_(burst) {}
  bool allow();

 private:
  uint32_t burst_;
  std::atomic<uint32_t> used_{0};
  std::atomic<int64_t> last_second_{0};
};

}  // namespace vireo::log

// Logs a guest-caused problem at most a few times per second per call site.
#define VIREO_LOG_RATELIMITED(level_fn, ...)      \
  do {                                            \
    static ::vireo::log::RateLimit vireo_rl_{};   \
    if (vireo_rl_.allow()) level_fn(__VA_ARGS__); \
  } while (0)
