#include "devices/rtc/goldfish_rtc.hpp"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "core/log.hpp"

namespace vireo {
namespace {

uint64_t host_realtime_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t deposit32(uint64_t old, unsigned shift, uint64_t value) {
  const uint64_t mask = uint64_t{0xffffffff} << shift;
  return (old & ~mask) | ((value & 0xffffffff) << shift);
}

// Two's-complement ordering: `a` is at or after `b` on the 64-bit ns circle.
bool at_or_after(uint64_t a, uint64_t b) { return static_cast<int64_t>(a - b) >= 0; }

}  // namespace

struct GoldfishRtc::State {
  explicit State(IrqLine line) : irq(line) {}
  ~State() {
    if (timer_fd >= 0) ::close(timer_fd);
  }

  // Guest time; never goes backwards between guest writes, even if the host
  // clock is stepped back (guest time then stands still until it catches up).
  uint64_t now_locked() {
    uint64_t now = host_realtime_ns() + offset_ns;
    if (!at_or_after(now, last_time_ns)) now = last_time_ns;
    last_time_ns = now;
    return now;
  }

  // Replaces the 32-bit half at `shift` of the current time with `half`.
  void set_time_half_locked(unsigned shift, uint64_t half) {
    const uint64_t current = now_locked();
    const uint64_t value = deposit32(current, shift, half);
    offset_ns += value - current;
    last_time_ns = value;  // an explicit set may move time backwards
    // The alarm is in guest time: move its host deadline along.
    check_alarm_locked(/*rearm=*/true);
  }

  void update_irq_locked() {
    const bool level = irq_pending && irq_enabled;
    if (level == irq_level) return;
    irq_level = level;
    irq.set_level(level);
  }

  void fire_locked() {
    alarm_running = false;
    irq_pending = true;
    update_irq_locked();
  }

  void disarm_timer_locked() {
    if (timer_fd < 0) return;
    const itimerspec off{};
    ::timerfd_settime(timer_fd, 0, &off, nullptr);
  }

  // Arms the timerfd for `delay_ns` from now, on CLOCK_REALTIME as an
  // absolute time so host clock steps move the deadline with guest time.
  void arm_timer_locked(uint64_t delay_ns) {
    if (timer_fd < 0) return;
    uint64_t deadline;
    if (__builtin_add_overflow(host_realtime_ns(), delay_ns, &deadline) ||
        deadline > static_cast<uint64_t>(INT64_MAX)) {
      deadline = static_cast<uint64_t>(INT64_MAX);
    }
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(deadline / 1'000'000'000u);
    spec.it_value.tv_nsec = static_cast<long>(deadline % 1'000'000'000u);
    if (::timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &spec, nullptr) < 0) {
      VIREO_LOG_RATELIMITED(log::warn, "goldfish_rtc: timerfd_settime: {}", std::strerror(errno));
    }
  }

  void set_alarm_locked() {
    const uint64_t now = now_locked();
    if (at_or_after(now, alarm_next)) {
      disarm_timer_locked();
      fire_locked();
      return;
    }
    alarm_running = true;
    arm_timer_locked(alarm_next - now);
  }

  void clear_alarm_locked() {
    disarm_timer_locked();
    alarm_running = false;
  }

  // Fires an armed alarm that is due. With `rearm`, an alarm not yet due
  // (the timer ran early because host time was stepped) is re-armed.
  void check_alarm_locked(bool rearm) {
    if (!alarm_running) return;
    const uint64_t now = now_locked();
    if (at_or_after(now, alarm_next)) {
      fire_locked();
    } else if (rearm) {
      arm_timer_locked(alarm_next - now);
    }
  }

  void on_timer() {
    uint64_t expirations;
    [[maybe_unused]] ssize_t n = ::read(timer_fd, &expirations, sizeof(expirations));
    std::lock_guard lock(mutex);
    check_alarm_locked(/*rearm=*/true);
  }

  const IrqLine irq;
  int timer_fd = -1;

  std::mutex mutex;  // guards everything below
  uint64_t offset_ns = 0;
  uint64_t last_time_ns = 0;
  uint32_t time_high = 0;  // latched by reading TIME_LOW
  uint64_t alarm_next = 0;
  bool alarm_running = false;
  bool irq_pending = false;
  bool irq_enabled = false;
  bool irq_level = false;
};

GoldfishRtc::GoldfishRtc(EventLoop* loop, IrqLine irq)
    : loop_(loop), state_(std::make_shared<State>(irq)) {
  if (loop_ == nullptr) return;
  const int fd = ::timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) {
    log::warn("goldfish_rtc: timerfd_create: {}; alarms are checked on access only",
              std::strerror(errno));
    return;
  }
  state_->timer_fd = fd;
  // The handler holds the state, not the device: a handler already running
  // when the device is destroyed still finds its mutex and fd.
  auto added = loop_->add_fd(fd, EPOLLIN, [state = state_](uint32_t) { state->on_timer(); });
  if (!added) {
    log::warn("goldfish_rtc: {}; alarms are checked on access only", added.error().message);
    ::close(fd);
    state_->timer_fd = -1;
  }
}

GoldfishRtc::~GoldfishRtc() {
  if (loop_ != nullptr && state_->timer_fd >= 0) {
    [[maybe_unused]] auto removed = loop_->remove_fd(state_->timer_fd);
  }
}

uint64_t GoldfishRtc::now_ns() const {
  std::lock_guard lock(state_->mutex);
  return state_->now_locked();
}

uint64_t GoldfishRtc::read(uint64_t offset, unsigned size) {
  if (size != 4 || offset % 4 != 0) {
    VIREO_LOG_RATELIMITED(log::warn, "goldfish_rtc: ignored {}-byte read at {:#x}", size, offset);
    return 0;
  }
  State& s = *state_;
  std::lock_guard lock(s.mutex);
  s.check_alarm_locked(/*rearm=*/false);
  switch (offset) {
    case kTimeLow: {
      const uint64_t now = s.now_locked();
      s.time_high = static_cast<uint32_t>(now >> 32);
      return now & 0xffffffff;
    }
    case kTimeHigh:
      return s.time_high;
    case kAlarmLow:
      return s.alarm_next & 0xffffffff;
    case kAlarmHigh:
      return s.alarm_next >> 32;
    case kIrqEnabled:
      return s.irq_enabled ? 1 : 0;
    case kAlarmStatus:
      return s.alarm_running ? 1 : 0;
    default:
      VIREO_LOG_RATELIMITED(log::warn, "goldfish_rtc: read of unknown register {:#x}", offset);
      return 0;
  }
}

void GoldfishRtc::write(uint64_t offset, unsigned size, uint64_t value) {
  if (size != 4 || offset % 4 != 0) {
    VIREO_LOG_RATELIMITED(log::warn, "goldfish_rtc: ignored {}-byte write at {:#x}", size, offset);
    return;
  }
  State& s = *state_;
  std::lock_guard lock(s.mutex);
  s.check_alarm_locked(/*rearm=*/false);
  switch (offset) {
    // Each half replaces that half of the current time (Linux writes HIGH then LOW).
    case kTimeLow:
      s.set_time_half_locked(0, value);
      return;
    case kTimeHigh:
      s.set_time_half_locked(32, value);
      return;
    case kAlarmLow:
      s.alarm_next = deposit32(s.alarm_next, 0, value);
      s.set_alarm_locked();
      return;
    case kAlarmHigh:
      s.alarm_next = deposit32(s.alarm_next, 32, value);
      return;
    case kIrqEnabled:
      s.irq_enabled = (value & 1) != 0;
      s.update_irq_locked();
      return;
    case kClearAlarm:
      s.clear_alarm_locked();
      return;
    case kClearInterrupt:
      s.irq_pending = false;
      s.update_irq_locked();
      return;
    default:
      VIREO_LOG_RATELIMITED(log::warn, "goldfish_rtc: write of unknown register {:#x}", offset);
      return;
  }
}

}  // namespace vireo
