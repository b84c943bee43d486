#include "core/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <memory>

namespace vireo {

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
  const int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return errno_error(ErrorCode::kIo, "epoll_create1");
  const int wakefd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakefd < 0) {
    ::close(epfd);
    return errno_error(ErrorCode::kIo, "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wakefd;
  if (::epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) < 0) {
    ::close(epfd);
    ::close(wakefd);
    return errno_error(ErrorCode::kIo, "epoll_ctl");
  }
  return std::unique_ptr<EventLoop>(new EventLoop(epfd, wakefd));
}

EventLoop::~EventLoop() {
  ::close(epfd_);
  ::close(wakefd_);
}

Result<void> EventLoop::add_fd(int fd, uint32_t events, Handler handler) {
  {
    std::lock_guard lock(mutex_);
    if (handlers_.contains(fd)) {
      return make_error(ErrorCode::kInvalidArgument, "fd already watched by the event loop");
    }
    handlers_[fd] = std::make_shared<Handler>(std::move(handler));
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
    std::lock_guard lock(mutex_);
    handlers_.erase(fd);
    return errno_error(ErrorCode::kIo, "epoll_ctl add");
  }
  return {};
}

Result<void> EventLoop::remove_fd(int fd) {
  {
    std::lock_guard lock(mutex_);
    handlers_.erase(fd);
  }
  if (::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr) < 0) {
    return errno_error(ErrorCode::kIo, "epoll_ctl del");
  }
  return {};
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    posted_.push_back(std::move(fn));
  }
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wakefd_, &one, sizeof(one));
}

void EventLoop::stop() {
  stop_.store(true);
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wakefd_, &one, sizeof(one));
}

void EventLoop::drain_posted() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(mutex_);
    work.swap(posted_);
  }
  for (auto& fn : work) fn();
}

void EventLoop::run_once(int timeout_ms) {
  epoll_event events[32];
  const int n = ::epoll_wait(epfd_, events, 32, timeout_ms);
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == wakefd_) {
      uint64_t count;
      [[maybe_unused]] ssize_t r = ::read(wakefd_, &count, sizeof(count));
      drain_posted();
      continue;
    }
    std::shared_ptr<Handler> handler;
    {
      std::lock_guard lock(mutex_);
      auto it = handlers_.find(fd);
      if (it != handlers_.end()) handler = it->second;
    }
    // The shared_ptr keeps the handler alive even if it removes itself.
    if (handler) (*handler)(events[i].events);
  }
}

void EventLoop::run() {
  while (!stop_.load()) run_once(-1);
  drain_posted();
}

}  // namespace vireo
