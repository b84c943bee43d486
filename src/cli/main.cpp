// The `vireo` command line: `vireo run ...` boots a guest. Every user error
// is one line naming the problem and the fix, with exit status 2.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "boot/elf.hpp"
#include "boot/riscv_image.hpp"
#include "core/log.hpp"
#include "core/units.hpp"
#include "devices/virtio/blk.hpp"
#include "devices/virtio/net.hpp"
#include "devices/virtio/rng.hpp"
#include "devices/virtio/vsock.hpp"
#include "vmm/vm.hpp"

namespace {

constexpr int kUsageError = 2;

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "vireo: error: %s\n", message.c_str());
  std::exit(kUsageError);
}

std::string cache_dir() {
  if (const char* c = std::getenv("VIREO_CACHE"); c != nullptr && *c != '\0') return c;
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
    return std::string(h) + "/.cache/vireo";
  }
  return "/root/.cache/vireo";
}

bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// The guest architecture a kernel file is for, from its headers.
std::string detect_arch(const std::string& kernel) {
  auto data = vireo::boot::read_file(kernel, "kernel");
  if (!data) fail(data.error().message);
  if (vireo::boot::is_riscv_image(*data)) return "riscv64";
  if (vireo::boot::is_elf(*data) && data->size() >= 20) {
    const uint16_t machine = static_cast<uint16_t>((*data)[18] | ((*data)[19] << 8));
    if (machine == static_cast<uint16_t>(vireo::boot::ElfMachine::kRiscv)) return "riscv64";
    if (machine == static_cast<uint16_t>(vireo::boot::ElfMachine::kX86_64) ||
        machine == static_cast<uint16_t>(vireo::boot::ElfMachine::kX86)) {
      return "x86_64";
    }
  }
  // bzImage: "HdrS" at 0x202.
  if (data->size() > 0x206 && std::memcmp(data->data() + 0x202, "HdrS", 4) == 0) return "x86_64";
  fail(
      fmt::format("kernel '{}' is not a kernel vireo can boot (no RISC-V Image header, no ELF "
                  "header, no x86 bzImage header): pass a Linux Image/bzImage or an ELF program",
                  kernel));
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // a closed console reader must not kill the VMM

  CLI::App app{"Vireo: a virtual machine monitor (RISC-V emulation, x86-64 on KVM)", "vireo"};
  app.set_version_flag("--version", std::string("vireo ") + VIREO_VERSION);
  app.require_subcommand(0, 1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "error, warn, info, debug or trace")
      ->capture_default_str();

  CLI::App* run = app.add_subcommand("run", "Boot a guest (the default guest when no --kernel)");
  std::string arch, kernel, initrd, cmdline, firmware = "none", serial = "stdio";
  std::string console_device = "uart";
  std::string jit = "on";
  std::string jitdump;
  std::string vsock;
  std::string cpus_text = "1", memory_text = "512M";
  bool trace = false;
  bool stats = false;
  bool cmdline_given = false;
  bool rng = false;
  bool debug_exit = false;
  std::vector<std::string> disks;
  std::vector<std::string> nets;
  run->add_option("--arch", arch, "riscv64 or x86_64 (default: from the kernel file)");
  run->add_option("--kernel", kernel,
                  "Kernel: RISC-V Image or ELF program; x86 bzImage, PVH ELF or Multiboot");
  run->add_option("--initrd", initrd, "Initial ramdisk (cpio archive)");
  run->add_option("--cmdline", cmdline, "Kernel command line")->each([&](const std::string&) {
    cmdline_given = true;
  });
  run->add_option("--cpus", cpus_text, "Number of vCPUs")->capture_default_str();
  run->add_option("--memory", memory_text, "Guest RAM, e.g. 512M or 2G")->capture_default_str();
  run->add_option("--firmware", firmware,
                  "M-mode firmware (e.g. OpenSBI fw_dynamic.bin), or 'none' for the built-in SBI "
                  "(Linux) / bare M-mode (ELF programs)")
      ->capture_default_str();
  run->add_option("--serial", serial, "Console: stdio, null or file=PATH")->capture_default_str();
  run->add_option("--disk", disks,
                  "Attach a virtio-blk disk: path=FILE[,readonly=on][,serial=ID] (a raw image; "
                  "repeat for more disks: /dev/vda, /dev/vdb, ...)")
      ->allow_extra_args(false);
  run->add_flag("--rng", rng,
                "Give the guest a virtio-rng device (/dev/hwrng) fed by the host's getrandom");
  run->add_flag("--debug-exit", debug_exit,
                "x86_64: add isa-debug-exit at port 0xf4 (a write of v exits with (v<<1)|1)");
  run->add_option("--net", nets,
                  "Network interface: user[,hostfwd=tcp:[ADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]"
                  "[,mac=MAC] (no privileges) or tap=NAME[,mac=MAC]; repeat for more");
  run->add_option(
         "--console", console_device,
         "The guest console's device: uart (ttyS0) or virtio (virtio-console port 0: hvc0)")
      ->capture_default_str();
  run->add_option("--vsock", vsock,
                  "cid=N,socket=PATH: a virtio-vsock device with guest CID N (>= 3); host "
                  "clients connect to PATH and send 'CONNECT <port>', guest connections to host "
                  "port P go to PATH_P");
  run->add_option("--jit", jit,
                  "riscv64: translate hot guest code to host code (on), or interpret "
                  "everything (off)")
      ->capture_default_str();
  run->add_option("--jitdump", jitdump,
                  "riscv64: record translated code for perf in DIR/jit-PID.dump (perf record "
                  "-k mono, then perf inject --jit)");
  run->add_flag("--trace", trace, "Print every executed instruction (slow; implies --jit off)");
  run->add_flag("--stats", stats, "At exit, print instructions retired and guest MIPS");
  run->add_option("--log-level", log_level, "error, warn, info, debug or trace");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fail(fmt::format("{} (see 'vireo --help')", e.what()));
  }
  if (!run->parsed()) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }

  vireo::log::Level level;
  if (!vireo::log::parse_level(log_level, level)) {
    fail(fmt::format("--log-level '{}' is not valid: use error, warn, info, debug or trace",
                     log_level));
  }
  vireo::log::set_level(level);

  vireo::VmConfig config;
  auto& board = config.board;
  if (kernel.empty()) {
    // The default guest, built by scripts/build-guest.sh.
    const std::string dir = cache_dir() + "/riscv64";
    kernel = dir + "/Image";
    if (!file_exists(kernel)) {
      fail(
          fmt::format("no --kernel given and the default guest is not built ({} is missing): "
                      "run ./dev guest (or scripts/build-guest.sh) first",
                      kernel));
    }
    if (initrd.empty() && file_exists(dir + "/initramfs.cpio.gz")) {
      initrd = dir + "/initramfs.cpio.gz";
    }
    if (!cmdline_given) cmdline = console_device == "virtio" ? "console=hvc0" : "console=ttyS0";
  }
  const std::string detected = detect_arch(kernel);
  if (arch.empty()) arch = detected;
  if (arch != "riscv64" && arch != "x86_64") {
    fail(fmt::format("--arch '{}' is not supported: use riscv64 or x86_64", arch));
  }
  if (arch != detected) {
    fail(fmt::format("kernel '{}' is a {} kernel, but --arch is {}", kernel, detected, arch));
  }
  const bool x86 = arch == "x86_64";
  const char* machine_name = x86 ? "the x86_64 microVM" : "the riscv64 virt machine";
  const uint32_t max_cpus = x86 ? vireo::X86Microvm::kMaxCpus : vireo::RiscvVirt::kMaxCpus;
  const uint64_t min_memory = x86 ? vireo::X86Microvm::kMinMemory : vireo::RiscvVirt::kMinMemory;
  const uint64_t max_memory = x86 ? vireo::X86Microvm::kMaxMemory : vireo::RiscvVirt::kMaxMemory;
  if (x86 && firmware != "none") {
    fail(
        "--firmware is for riscv64 guests: x86_64 kernels boot directly (bzImage, PVH, "
        "Multiboot)");
  }
  if (x86 && trace) fail("--trace is for the riscv64 interpreter: KVM runs x86_64 guests");
  if (jit != "on" && jit != "off") fail(fmt::format("--jit '{}' is not valid: use on or off", jit));
  if (!jitdump.empty() && (x86 || jit == "off" || trace)) {
    fail(x86 ? "--jitdump is for the riscv64 JIT: KVM runs x86_64 guests natively"
             : "--jitdump records the JIT's code: drop --jit off (and --trace, which implies it)");
  }
  if (!x86 && debug_exit)
    fail(
        "--debug-exit is an x86 port device: riscv64 guests exit through "
        "the SiFive test device or HTIF");

  char* end = nullptr;
  errno = 0;
  const unsigned long cpus = std::strtoul(cpus_text.c_str(), &end, 10);
  if (cpus_text.empty() || *end != '\0' || errno != 0 || cpus_text[0] == '-') {
    fail(fmt::format("--cpus '{}' is not a number: give a count such as 2", cpus_text));
  }
  if (cpus < 1 || cpus > max_cpus) {
    fail(fmt::format("--cpus {} is out of range: {} takes 1 to {}", cpus, machine_name, max_cpus));
  }
  auto memory = vireo::parse_size(memory_text);
  if (!memory) fail("--memory " + memory.error().message);
  if (*memory < min_memory || *memory > max_memory) {
    fail(fmt::format("--memory {} is out of range: {} takes {} MiB to {} GiB", memory_text,
                     machine_name, min_memory >> 20, max_memory >> 30));
  }
  if (console_device != "uart" && console_device != "virtio") {
    fail(fmt::format("--console '{}' is not valid: use uart or virtio", console_device));
  }
  auto serial_config = vireo::parse_serial(serial);
  if (!serial_config) fail(serial_config.error().message);

  board.cpus = static_cast<uint32_t>(cpus);
  board.memory_bytes = *memory;
  board.kernel_path = kernel;
  board.initrd_path = initrd;
  board.cmdline = cmdline;
  board.firmware_path = firmware == "none" ? "" : firmware;
  board.trace = trace;
  board.jit = jit == "on";
  board.jitdump_dir = jitdump;
  config.arch = x86 ? vireo::Arch::kX86_64 : vireo::Arch::kRiscv64;
  config.x86.debug_exit = debug_exit;
  // Another KVM device node (e.g. in a container); tests point it at nothing.
  if (const char* dev = std::getenv("VIREO_KVM_DEVICE"); dev != nullptr && *dev != '\0') {
    config.x86.kvm_path = dev;
  }
  config.serial = *serial_config;
  if (console_device == "virtio") config.console_device = vireo::VmConfig::ConsoleDevice::kVirtio;

  // Virtio devices, one virtio-mmio slot each, in this order: disks first,
  // so the first --disk is /dev/vda.
  for (const std::string& text : disks) {
    auto disk = vireo::virtio::parse_disk_option(text);
    if (!disk) fail(disk.error().message);
    board.virtio_devices.push_back(vireo::virtio::blk_factory(std::move(*disk)));
  }
  if (rng) board.virtio_devices.push_back(vireo::virtio::rng_factory());
  for (size_t i = 0; i < nets.size(); ++i) {
    auto net = vireo::virtio::parse_net_option(nets[i], static_cast<unsigned>(i));
    if (!net) fail(net.error().message);
    board.virtio_devices.push_back(vireo::virtio::net_factory(std::move(*net)));
  }
  if (!vsock.empty()) {
    auto vsock_config = vireo::virtio::parse_vsock(vsock);
    if (!vsock_config) fail(vsock_config.error().message);
    board.virtio_devices.push_back(vireo::virtio::vsock_factory(*vsock_config));
  }

  auto status = vireo::run_vm(config);
  if (!status) fail(status.error().message);
  if (!status->message.empty()) std::fprintf(stderr, "vireo: %s\n", status->message.c_str());
  if (stats) {
    std::fprintf(
        stderr,
        "vireo: stats: instret=%llu seconds=%.3f mips=%.1f jit_blocks=%llu jit_flushes=%llu\n",
        static_cast<unsigned long long>(status->instret), status->seconds,
        status->seconds > 0 ? static_cast<double>(status->instret) / status->seconds / 1e6 : 0.0,
        static_cast<unsigned long long>(status->jit_blocks),
        static_cast<unsigned long long>(status->jit_flushes));
  }
  return status->code;
}
