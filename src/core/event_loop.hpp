// The device I/O event loop: one thread waits on epoll for file descriptors
// (eventfds, sockets, io_uring completions, timerfds) and runs their handlers.
// Other threads hand it work with post().
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"

namespace vireo {

class EventLoop {
 public:
  using Handler = std::function<void(uint32_t epoll_events)>;

  static Result<std::unique_ptr<EventLoop>> create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches `fd` for `events` (EPOLLIN, ...). The handler runs on the loop thread.
  Result<void> add_fd(int fd, uint32_t events, Handler handler);
  Result<void> remove_fd(int fd);

  // Runs `fn` on the loop thread soon. Thread-safe.
  void post(std::function<void()> fn);

  // Runs until stop(). Returns immediately if stop() was already called.
  void run();
  // Runs ready handlers once, waiting at most `timeout_ms` (for tests).
  void run_once(int timeout_ms);
  void stop();
  bool stopped() const { return stop_.load(); }

 private:
  EventLoop(int epfd, int wakefd) : epfd_(epfd), wakefd_(wakefd) {}
  void drain_posted();

  int epfd_;
  int wakefd_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;  // guards handlers_ and posted_
  std::unordered_map<int, std::shared_ptr<Handler>> handlers_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace vireo
