#include "core/event_loop.hpp"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

namespace vireo {
namespace {

using namespace std::chrono_literals;

// An eventfd closed at the end of the test.
struct EventFd {
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ~EventFd() {
    if (fd >= 0) ::close(fd);
  }
  void signal() const {
    const uint64_t one = 1;
    ASSERT_EQ(::write(fd, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
  }
  uint64_t drain() const {
    uint64_t v = 0;
    return ::read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
  }
};

class EventLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = EventLoop::create();
    ASSERT_TRUE(l) << l.error().message;
    loop_ = std::move(*l);
  }
  // run() in a helper thread would hide hangs; instead a watchdog stops the
  // loop so a broken wake-up fails the test instead of hanging it.
  std::thread watchdog(std::chrono::milliseconds after) {
    return std::thread([this, after] {
      auto deadline = std::chrono::steady_clock::now() + after;
      while (std::chrono::steady_clock::now() < deadline && !done_.load()) {
        std::this_thread::sleep_for(5ms);
      }
      if (!done_.load()) {
        fired_.store(true);
        loop_->stop();
      }
    });
  }
  std::unique_ptr<EventLoop> loop_;
  std::atomic<bool> done_{false};
  std::atomic<bool> fired_{false};
};

TEST_F(EventLoopTest, FdHandlerRunsWithItsEvents) {
  EventFd efd;
  ASSERT_GE(efd.fd, 0);
  int calls = 0;
  uint32_t seen = 0;
  uint64_t value = 0;
  ASSERT_TRUE(loop_->add_fd(efd.fd, EPOLLIN, [&](uint32_t events) {
    ++calls;
    seen = events;
    value = efd.drain();
  }));
  loop_->run_once(0);
  EXPECT_EQ(calls, 0);  // nothing signalled yet

  efd.signal();
  efd.signal();
  loop_->run_once(1000);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(seen & EPOLLIN);
  EXPECT_EQ(value, 2u);

  loop_->run_once(0);
  EXPECT_EQ(calls, 1);  // drained: level-triggered fd no longer ready
}

TEST_F(EventLoopTest, AddFdErrorsLeaveNoHandlerBehind) {
  auto r = loop_->add_fd(-1, EPOLLIN, [](uint32_t) {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_FALSE(loop_->remove_fd(-1));
  EventFd efd;
  EXPECT_FALSE(loop_->remove_fd(efd.fd));  // never added
}

TEST_F(EventLoopTest, AddingAnFdTwiceKeepsTheFirstHandler) {
  EventFd efd;
  int first = 0, second = 0;
  ASSERT_TRUE(loop_->add_fd(efd.fd, EPOLLIN, [&](uint32_t) {
    ++first;
    efd.drain();
  }));
  auto r = loop_->add_fd(efd.fd, EPOLLIN, [&](uint32_t) {
    ++second;
    efd.drain();
  });
  EXPECT_FALSE(r);  // epoll refuses a second registration (EEXIST)
  efd.signal();
  loop_->run_once(1000);
  // The failed call must not have replaced or dropped the working handler.
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 0);
}

TEST_F(EventLoopTest, HandlerCanRemoveItself) {
  EventFd efd;
  int calls = 0;
  ASSERT_TRUE(loop_->add_fd(efd.fd, EPOLLIN, [&](uint32_t) {
    ++calls;
    // Not drained on purpose: only the removal keeps it from firing again.
    EXPECT_TRUE(loop_->remove_fd(efd.fd));
  }));
  efd.signal();
  loop_->run_once(1000);
  loop_->run_once(0);
  loop_->run_once(0);
  EXPECT_EQ(calls, 1);
  // And the fd can be registered again afterwards.
  int again = 0;
  ASSERT_TRUE(loop_->add_fd(efd.fd, EPOLLIN, [&](uint32_t) {
    ++again;
    efd.drain();
  }));
  loop_->run_once(1000);
  EXPECT_EQ(again, 1);
}

TEST_F(EventLoopTest, PostFromAnotherThreadRunsOnTheLoopThread) {
  std::atomic<int> ran{0};
  std::thread::id ran_on;
  auto dog = watchdog(5s);
  std::thread poster([&] {
    for (int i = 0; i < 100; ++i) {
      loop_->post([&] {
        ran_on = std::this_thread::get_id();
        if (++ran == 100) loop_->stop();
      });
    }
  });
  loop_->run();
  done_.store(true);
  poster.join();
  dog.join();
  EXPECT_FALSE(fired_.load()) << "run() did not return after the posted stop";
  EXPECT_EQ(ran.load(), 100);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST_F(EventLoopTest, StopFromAnotherThreadWakesABlockedRun) {
  auto dog = watchdog(5s);
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    loop_->stop();
  });
  loop_->run();
  done_.store(true);
  stopper.join();
  dog.join();
  EXPECT_FALSE(fired_.load());
  EXPECT_TRUE(loop_->stopped());
}

TEST_F(EventLoopTest, StopBeforeRunReturnsAtOnceAndStillRunsPostedWork) {
  bool ran = false;
  loop_->post([&] { ran = true; });
  loop_->stop();
  EXPECT_TRUE(loop_->stopped());
  auto done = std::async(std::launch::async, [&] { loop_->run(); });
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(ran);
}

TEST_F(EventLoopTest, PostedWorkMayPostMore) {
  int order = 0, first = -1, second = -1;
  loop_->post([&] {
    first = order++;
    loop_->post([&] { second = order++; });
  });
  loop_->run_once(1000);
  loop_->run_once(1000);
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
}

TEST_F(EventLoopTest, RunOnceTimesOut) {
  const auto t0 = std::chrono::steady_clock::now();
  loop_->run_once(20);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 15ms);
}

}  // namespace
}  // namespace vireo
