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
  RiscvVirtConfig board_config = config.board;
  std::shared_ptr<ConsoleStreamPort> virtio_port;
  if (config.console_device == VmConfig::ConsoleDevice::kVirtio) {
    auto port = ConsoleStreamPort::create();
    if (!port) return std::unexpected(port.error());
    virtio_port = *port;
    // The console device takes the first virtio-mmio slot.
    board_config.virtio_devices.insert(board_config.virtio_devices.begin(),
                                       virtio::console_factory(virtio_port));
  }
  auto console = Console::create(
      config.serial, **loop,
      [&](std::span<const uint8_t> bytes) -> size_t {
        if (virtio_port) return virtio_port->push_input(bytes);
        return board_ptr != nullptr ? board_ptr->console_input(bytes) : bytes.size();
      },
      [&] { signal_stop(true); });
  if (!console) return std::unexpected(console.error());
  if (virtio_port) virtio_port->set_console(console->get());

  auto output = [c = console->get()](std::span<const uint8_t> b) { c->write(b); };
  auto on_stop = [&] { signal_stop(false); };
  Result<std::unique_ptr<Machine>> board = make_error(ErrorCode::kInternal, "no board");
  if (config.arch == Arch::kX86_64) {
    X86MicrovmConfig x86 = config.x86;
    x86.cpus = board_config.cpus;
    x86.memory_bytes = board_config.memory_bytes;
    x86.kernel_path = board_config.kernel_path;
    x86.initrd_path = board_config.initrd_path;
    x86.cmdline = board_config.cmdline;
    x86.virtio_devices = board_config.virtio_devices;
    board = X86Microvm::create(x86, **loop, output, on_stop);
  } else {
    board = RiscvVirt::create(board_config, **loop, output, on_stop);
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
  status.jit_blocks = (*board)->jit_blocks_total();
  status.jit_flushes = (*board)->jit_flushes_total();
  status.seconds = static_cast<double>(GuestClock::host_ns() - start_ns) / 1e9;
  board_ptr = nullptr;
  return status;
}

}  // namespace vireo
