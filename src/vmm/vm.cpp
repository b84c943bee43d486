#include "vmm/vm.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/log.hpp"

namespace vireo {

Result<ExitStatus> run_vm(const VmConfig& config) {
  auto loop = EventLoop::create();
  if (!loop) return std::unexpected(loop.error());

  std::mutex mutex;
  std::condition_variable cv;
  bool stopping = false;
  bool quit_by_user = false;
  auto signal_stop = [&](bool by_user) {
    std::lock_guard lock(mutex);
    stopping = true;
    quit_by_user = quit_by_user || by_user;
    cv.notify_all();
  };

  // The console and the board refer to each other through these callbacks;
  // `board` is set before any guest code runs.
  Machine* board_ptr = nullptr;
  auto console = Console::create(
      config.serial, **loop,
      [&](std::span<const uint8_t> bytes) -> size_t {
        return board_ptr != nullptr ? board_ptr->console_input(bytes) : bytes.size();
      },
      [&] { signal_stop(true); });
  if (!console) return std::unexpected(console.error());

  auto output = [c = console->get()](std::span<const uint8_t> b) { c->write(b); };
  auto on_stop = [&] { signal_stop(false); };
  Result<std::unique_ptr<Machine>> board = make_error(ErrorCode::kInternal, "no board");
  if (config.arch == Arch::kX86_64) {
    X86MicrovmConfig x86 = config.x86;
    x86.cpus = config.board.cpus;
    x86.memory_bytes = config.board.memory_bytes;
    x86.kernel_path = config.board.kernel_path;
    x86.initrd_path = config.board.initrd_path;
    x86.cmdline = config.board.cmdline;
    x86.virtio_devices = config.board.virtio_devices;
    board = X86Microvm::create(x86, **loop, output, on_stop);
  } else {
    board = RiscvVirt::create(config.board, **loop, output, on_stop);
  }
  if (!board) return std::unexpected(board.error());
  board_ptr = board->get();

  std::thread io_thread([l = loop->get()] { l->run(); });
  const uint64_t start_ns = GuestClock::host_ns();
  (*board)->start();
  {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return stopping; });
  }
  (*board)->stop_and_join();
  (*loop)->stop();
  io_thread.join();
  ExitStatus status = (*board)->exit_status();
  status.instret = (*board)->instret_total();
  status.seconds = static_cast<double>(GuestClock::host_ns() - start_ns) / 1e9;
  board_ptr = nullptr;
  return status;
}

}  // namespace vireo
