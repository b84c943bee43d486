// The x86 microVM end to end on tiny guests assembled at test time with the
// host's GNU as: each boots through a real path (PVH note, Multiboot header,
// bzImage setup header), checks its entry state itself, talks on COM1 and
// ends through isa-debug-exit. Skipped, with the reason, where KVM is
// unusable; they run (emulated, slowly) on PVM-backed KVM too.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/event_loop.hpp"
#include "cpu/kvm/irqfd_lines.hpp"
#include "cpu/kvm/kvm.hpp"
#include "devices/virtio/rng.hpp"
#include "devices/virtio/transport_mmio.hpp"
#include "machines/x86_microvm.hpp"

namespace vireo {
namespace {

namespace fs = std::filesystem;

class X86MicrovmTest : public testing::Test {
 protected:
  void SetUp() override {
    auto kvm = kvm::Kvm::open();
    if (!kvm) GTEST_SKIP() << "KVM unusable here: " << kvm.error().message;
    if (std::system("command -v as >/dev/null 2>&1 && command -v ld >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "GNU as/ld not installed";
    }
    dir_ =
        fs::temp_directory_path() / ("vireo-x86-" + std::to_string(::getpid()) + "-" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Assembles `source` (32-bit code unless it says .code64) linked at 1 MiB
  // with its notes after the text; returns the ELF's path.
  std::string assemble(const std::string& source) {
    std::ofstream(dir_ / "guest.S") << source;
    std::ofstream(dir_ / "link.ld")
        << "SECTIONS {\n . = 0x100000;\n .text : { *(.text) }\n .note : { *(.note*) }\n}\n";
    const std::string cmd = "cd '" + dir_.string() +
                            "' && as --32 -o guest.o guest.S && ld -m elf_i386 -T link.ld "
                            "--build-id=none -o guest.elf guest.o";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return (dir_ / "guest.elf").string();
  }

  // Assembles a 64-bit flat image (a bzImage laid out by .org) and returns its path.
  std::string assemble_flat(const std::string& source) {
    std::ofstream(dir_ / "flat.S") << source;
    const std::string cmd = "cd '" + dir_.string() +
                            "' && as --64 -o flat.o flat.S && objcopy -O binary -j .text flat.o "
                            "flat.bin";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return (dir_ / "flat.bin").string();
  }

  // A 64 MiB VM booting `kernel`.
  static X86MicrovmConfig small_vm(std::string kernel) {
    X86MicrovmConfig c;
    c.memory_bytes = 64 << 20;
    c.kernel_path = std::move(kernel);
    return c;
  }

  // Boots `kernel` and waits (generously: PVM emulates guest code) for the end.
  ExitStatus boot(X86MicrovmConfig config, std::function<void(const X86Microvm&)> after = nullptr) {
    auto loop = EventLoop::create();
    EXPECT_TRUE(loop);
    std::thread io([l = loop->get()] { l->run(); });
    std::mutex m;
    std::condition_variable cv;
    bool stopped = false;
    config.debug_exit = true;
    auto board = X86Microvm::create(
        config, **loop,
        [this, &m](std::span<const uint8_t> b) {
          std::lock_guard lock(m);
          serial_.append(b.begin(), b.end());
        },
        [&] {
          std::lock_guard lock(m);
          stopped = true;
          cv.notify_all();
        });
    if (!board) {
      ADD_FAILURE() << board.error().message;
      (*loop)->stop();
      io.join();
      return ExitStatus{-1, board.error().message};
    }
    (*board)->start();
    {
      std::unique_lock lock(m);
      EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(timeout_s_), [&] { return stopped; }))
          << "guest did not finish; serial: " << serial_;
    }
    (*board)->stop_and_join();
    if (after) after(**board);
    ExitStatus status = (*board)->exit_status();
    board->reset();
    (*loop)->stop();
    io.join();
    return status;
  }

  fs::path dir_;
  std::string serial_;
  int timeout_s_ =
      std::getenv("X86_TEST_TIMEOUT") ? std::atoi(std::getenv("X86_TEST_TIMEOUT")) : 60;
};

constexpr const char* kPvhGuest = R"(
        .section .note.pvh, "a", @note
        .balign 4
        .long 4, 4, 18
        .asciz "Xen"
        .long _start
        .text
        .code32
        .globl _start
_start:
        mov $0x3f8, %dx
        mov $'P', %al
        out %al, %dx
        # PVH entry state: EBX -> hvm_start_info (magic, version 1), a
        # memory map with at least three entries, and the command line.
        cmpl $0x336ec578, (%ebx)
        jne fail
        cmpl $1, 4(%ebx)
        jne fail
        cmpl $3, 48(%ebx)
        jb fail
        mov 24(%ebx), %esi          # cmdline_paddr
        cmpb $'h', (%esi)
        jne fail
        cmpl $0, 32(%ebx)           # rsdp_paddr
        je fail
        mov 32(%ebx), %esi
        cmpl $0x20445352, (%esi)    # "RSD "
        jne fail
        mov $'K', %al
        out %al, %dx
        mov $0x10, %al              # exit status (0x10 << 1) | 1 = 33
        out %al, $0xf4
fail:
        mov $0x7f, %al
        out %al, $0xf4
        hlt
)";

TEST_F(X86MicrovmTest, PvhEntryStateAndSerial) {
  X86MicrovmConfig c = small_vm(assemble(kPvhGuest));
  c.cmdline = "hello";
  const ExitStatus s = boot(c);
  EXPECT_EQ(serial_, "PK");
  EXPECT_EQ(s.code, 33) << s.message;
}

TEST_F(X86MicrovmTest, MultibootEntryState) {
  // Multiboot header with address fields; EAX = magic, EBX -> info with the
  // memory and mmap flags set.
  const std::string src = R"(
        .text
        .code32
        .globl _start
header:
        .long 0x1badb002, 0x00010002, -(0x1badb002 + 0x00010002)
        .long header, 0x100000, 0, 0, _start
_start:
        cmp $0x2badb002, %eax
        jne fail
        testl $0x41, (%ebx)          # mem_* and mmap present
        jz fail
        mov 8(%ebx), %ecx            # mem_upper (KiB) >= 60 MiB
        cmp $(60 * 1024), %ecx
        jb fail
        mov $0x3f8, %dx
        mov $'M', %al
        out %al, %dx
        mov $0x11, %al
        out %al, $0xf4
fail:
        mov $0x7f, %al
        out %al, $0xf4
        hlt
)";
  X86MicrovmConfig c = small_vm(assemble(src));
  const ExitStatus s = boot(c);
  EXPECT_EQ(serial_, "M");
  EXPECT_EQ(s.code, 35) << s.message;
}

TEST_F(X86MicrovmTest, TripleFaultStopsWithAMessage) {
  const std::string src = R"(
        .section .note.pvh, "a", @note
        .balign 4
        .long 4, 4, 18
        .asciz "Xen"
        .long _start
        .text
        .code32
        .globl _start
_start:
        ud2
)";
  X86MicrovmConfig c;
  c.memory_bytes = 32 << 20;
  c.kernel_path = assemble(src);
  const ExitStatus s = boot(c);
  EXPECT_NE(s.code, 0);
  EXPECT_NE(s.message.find("triple"), std::string::npos) << s.message;
}

// A PVH guest preamble: the note, then 32-bit code at _start.
constexpr const char* kPvhNote = R"(
        .section .note.pvh, "a", @note
        .balign 4
        .long 4, 4, 18
        .asciz "Xen"
        .long _start
        .text
        .code32
        .globl _start
)";

// For guests taking interrupts: an IDT at 0x6000 with 32-bit interrupt gates
// on the flat code selector, and a stack.
constexpr const char* kIdtMacros = R"(
        .macro set_gate vector, handler
        mov $\handler, %eax
        mov $(0x6000 + \vector * 8), %ecx
        movw %ax, (%ecx)
        movw $0x18, 2(%ecx)              # the 32-bit code selector
        movw $0x8e00, 4(%ecx)            # present 32-bit interrupt gate
        shr $16, %eax
        movw %ax, 6(%ecx)
        .endm
        .macro load_idt last_vector
        mov $0x7000, %esp                # PVH gives no stack; an interrupt needs one
        lidt 1f
        jmp 2f
        .balign 4
1:      .word \last_vector * 8 + 7
        .long 0x6000
2:
        .endm
)";

TEST_F(X86MicrovmTest, BzImage64BitEntryAndZeroPage) {
  // Setup header (2 sectors), then the protected-mode kernel: its 64-bit
  // entry at +0x200 checks RSI -> zero page (HdrS, E820 entries, command
  // line, RSDP) and that it runs in long mode at the preferred address.
  const std::string src = R"(
        .text
        .org 0x1f1
        .byte 1                          # setup_sects
        .org 0x1fe
        .word 0xaa55
        .byte 0xeb, 0x6a                 # header ends at 0x26c
        .ascii "HdrS"
        .word 0x020f
        .org 0x211
        .byte 0x01                       # LOADED_HIGH
        .org 0x22c
        .long 0x7fffffff                 # initrd_addr_max
        .long 0x200000                   # kernel_alignment
        .byte 1, 0                       # relocatable, min_alignment
        .word 0x3                        # XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G
        .long 255                        # cmdline_size
        .org 0x258
        .quad 0x1000000                  # pref_address
        .long 0x100000                   # init_size
        .org 0x400
        .org 0x600
        .code64
        lea 0(%rip), %rax                # we run at 16 MiB + 0x200 + 7
        cmp $0x1000207, %rax
        jne 9f
        cmpl $0x53726448, 0x202(%rsi)
        jne 9f
        cmpb $4, 0x1e8(%rsi)             # E820 entries: RAM, EBDA, BIOS area, RAM
        jne 9f
        mov 0x228(%rsi), %eax            # cmd_line_ptr
        cmpl $0x746f6f62, (%rax)         # "boot"
        jne 9f
        mov 0x70(%rsi), %rax             # acpi_rsdp_addr
        cmpl $0x20445352, (%rax)
        jne 9f
        mov %cr4, %rax                   # PAE on: long mode with paging
        test $0x20, %al
        jz 9f
        mov $0x3f8, %dx
        mov $'B', %al
        out %al, %dx
        mov $0x14, %al
        out %al, $0xf4
9:      mov $0x7f, %al
        out %al, $0xf4
        hlt
        .org 0x1600
)";
  X86MicrovmConfig c = small_vm(assemble_flat(src));
  c.cmdline = "boot=ok";
  const ExitStatus s = boot(c);
  EXPECT_EQ(serial_, "B");
  EXPECT_EQ(s.code, 41) << s.message;
}

TEST_F(X86MicrovmTest, SecondVcpuStartsWithInitSipiSipi) {
  // The BSP copies a real-mode trampoline to 0x8000, sends INIT and two
  // SIPIs (vector 8) to APIC ID 1 through its LAPIC, and waits for the AP
  // to set a flag.
  const std::string src = std::string(kPvhNote) + R"(
_start:
        mov $tramp, %esi
        mov $0x8000, %edi
        mov $(tramp_end - tramp), %ecx
        rep movsb
        movl $0x1ff, 0xfee000f0          # LAPIC software enable, as an OS does first
        movl $0x01000000, 0xfee00310
        movl $0x00004500, 0xfee00300     # INIT
        movl $0x01000000, 0xfee00310
        movl $0x00004608, 0xfee00300     # SIPI, vector 8
        movl $0x01000000, 0xfee00310
        movl $0x00004608, 0xfee00300     # SIPI again, as the MP spec says
1:      cmpl $0x55, 0x7f00
        jne 1b
        mov $0x15, %al
        out %al, $0xf4
        hlt
tramp:
        .code16
        xor %ax, %ax
        mov %ax, %ds
        mov $0x3f8, %dx
        mov $'A', %al
        out %al, %dx
        movl $0x55, 0x7f00
2:      cli
        hlt
        jmp 2b
        .code32
tramp_end:
)";
  X86MicrovmConfig c = small_vm(assemble(src));
  c.cpus = 2;
  const ExitStatus s = boot(c);
  EXPECT_EQ(serial_, "A");
  EXPECT_EQ(s.code, 43) << s.message;
}

TEST_F(X86MicrovmTest, LapicTimerInterruptIsDelivered) {
  // An IDT with a gate for vector 0x40, the LAPIC timer armed one-shot on
  // that vector, then sti; hlt: only the interrupt gets the guest out.
  const std::string src = std::string(kPvhNote) + kIdtMacros + R"(
_start:
        set_gate 0x40, handler
        load_idt 0x40
        movl $0x1ff, 0xfee000f0          # LAPIC software enable
        movl $0xb, 0xfee003e0            # divide by 1
        movl $0x40, 0xfee00320           # LVT timer: one-shot, vector 0x40
        movl $100000, 0xfee00380         # initial count
        sti
1:      hlt
        jmp 1b
handler:
        mov $0x3f8, %dx
        mov $'T', %al
        out %al, %dx
        mov $0x16, %al
        out %al, $0xf4
        hlt
)";
  X86MicrovmConfig c = small_vm(assemble(src));
  const ExitStatus s = boot(c);
  EXPECT_EQ(serial_, "T");
  EXPECT_EQ(s.code, 45) << s.message;
}

// A minimal virtio driver for the entropy device in slot 0 (EBX = its base):
// check magic/version/ID, negotiate VERSION_1, set up queue 0 with one 16-byte
// writable buffer at 0x210000 and notify. Jumps to `fail` on a mismatch.
constexpr const char* kRngDriverMacro = R"(
        .macro rng_request fail
        mov $0xd0000000, %ebx
        cmpl $0x74726976, (%ebx)         # "virt"
        jne \fail
        cmpl $2, 4(%ebx)                 # version 2
        jne \fail
        cmpl $4, 8(%ebx)                 # device ID: entropy
        jne \fail
        movl $0, 0x70(%ebx)              # reset
        movl $1, 0x70(%ebx)              # ACKNOWLEDGE
        movl $3, 0x70(%ebx)              # DRIVER
        movl $1, 0x24(%ebx)              # DriverFeaturesSel 1
        movl $1, 0x20(%ebx)              # VIRTIO_F_VERSION_1 (bit 32)
        movl $0xb, 0x70(%ebx)            # FEATURES_OK
        testl $8, 0x70(%ebx)
        jz \fail
        movl $0, 0x30(%ebx)              # QueueSel 0
        movl $8, 0x38(%ebx)              # QueueNum 8
        movl $0x200000, 0x80(%ebx)       # descriptor table
        movl $0, 0x84(%ebx)
        movl $0x201000, 0x90(%ebx)       # available ring
        movl $0, 0x94(%ebx)
        movl $0x202000, 0xa0(%ebx)       # used ring
        movl $0, 0xa4(%ebx)
        movl $1, 0x44(%ebx)              # QueueReady
        movl $0xf, 0x70(%ebx)            # DRIVER_OK
        movl $0x210000, 0x200000         # desc 0: 16 writable bytes at 0x210000
        movl $0, 0x200004
        movl $16, 0x200008
        movw $2, 0x20000c
        movw $0, 0x201004                # avail ring[0] = desc 0
        movw $1, 0x201002                # avail idx = 1
        movl $0, 0x50(%ebx)              # QueueNotify 0
        .endm
)";

TEST_F(X86MicrovmTest, VirtioRngRequestThroughTheIoeventfdPath) {
  // One entropy request; the notify becomes the transport's eventfd in KVM
  // (no vCPU exit); poll the used ring until the I/O thread has filled it.
  const std::string src = std::string(kPvhNote) + kRngDriverMacro + R"(
_start:
        rng_request 9f
1:      cmpw $1, 0x202002                # used idx
        jne 1b
        cmpl $16, 0x202008               # used ring[0].len
        jne 9f
        mov $0x17, %al
        out %al, $0xf4
9:      mov $0x7f, %al
        out %al, $0xf4
        hlt
)";
  X86MicrovmConfig c = small_vm(assemble(src));
  c.virtio_devices.push_back(virtio::rng_factory());
  uint64_t errors = ~0ull;
  const ExitStatus s =
      boot(c, [&](const X86Microvm& vm) { errors = vm.virtio_transport(0).error_count(); });
  EXPECT_EQ(s.code, 47) << s.message;
  EXPECT_EQ(errors, 0u);
}

TEST_F(X86MicrovmTest, VirtioInterruptIsALevelThroughTheResamplingIrqfd) {
  // The virtio-rng request of the test above, but completion comes as an
  // interrupt: IOAPIC pin 16 (the first virtio slot's GSI) routed level-
  // triggered to vector 0x41. The first time the handler sends EOI without
  // acknowledging InterruptStatus: the device's line is still high, so after
  // the EOI KVM's resampler must re-assert it and the handler must run a
  // second time; then it acknowledges and exits. An edge-only irqfd would
  // never interrupt again (the test would time out).
  const std::string src = std::string(kPvhNote) + kIdtMacros + kRngDriverMacro + R"(
_start:
        set_gate 0x41, handler
        load_idt 0x41
        movl $0, 0x5000                  # handler runs
        movl $0x1ff, 0xfee000f0          # LAPIC software enable
        movl $0x30, 0xfec00000           # IOAPIC redirection entry 16, low
        movl $0x8041, 0xfec00010         # vector 0x41, level, unmasked, fixed
        movl $0x31, 0xfec00000           # high: destination APIC ID 0
        movl $0, 0xfec00010
        rng_request 9f
        sti
1:      hlt
        jmp 1b
handler:
        incl 0x5000
        cmpl $1, 0x5000
        jne 2f
        movl $0, 0xfee000b0              # first run: EOI only, line left high
        sti                              # and wait here, nested (PVM's emulator has no iret)
3:      hlt
        jmp 3b
2:      mov 0x60(%ebx), %eax             # InterruptStatus: used buffer
        cmp $1, %eax
        jne 9f
        mov %eax, 0x64(%ebx)             # InterruptACK
        movl $0, 0xfee000b0
        cmpw $1, 0x202002                # used idx
        jne 9f
        mov $0x18, %al
        out %al, $0xf4
9:      mov $0x7f, %al
        out %al, $0xf4
        hlt
)";
  X86MicrovmConfig c = small_vm(assemble(src));
  c.virtio_devices.push_back(virtio::rng_factory());
  bool irqfds = false;
  uint64_t reasserts = 0;
  const ExitStatus s = boot(c, [&](const X86Microvm& vm) {
    irqfds = vm.virtio_irqfds() != nullptr;
    if (irqfds) reasserts = vm.virtio_irqfds()->reasserts();
  });
  EXPECT_EQ(s.code, 49) << s.message;
  ASSERT_TRUE(irqfds) << "this KVM has no KVM_CAP_IRQFD_RESAMPLE";
  EXPECT_GE(reasserts, 1u);
}

TEST_F(X86MicrovmTest, PauseParksEveryVcpuAndResumeLetsThemGoOn) {
  // Both vCPUs count in memory forever (the AP is started with INIT-SIPI-SIPI
  // by the BSP through a real-mode trampoline at 0x8000): while paused,
  // neither count moves; after resume, both move again.
  const std::string src = std::string(kPvhNote) + R"(
_start:
        mov $0x8000, %edi                # copy the AP trampoline
        mov $tramp, %esi
        mov $(tramp_end - tramp), %ecx
        rep movsb
        movl $0x000c4500, 0xfee00300     # INIT, assert, all excluding self
        movl $0x000c4608, 0xfee00300     # SIPI, vector 0x08 -> 0x8000
        movl $0x000c4608, 0xfee00300
1:      incl 0x5000
        jmp 1b
        .code16
tramp:  incl 0x5004                      # real mode, flat segment 0
        jmp tramp
tramp_end:
        .code32
)";
  X86MicrovmConfig c = small_vm(assemble(src));
  c.cpus = 2;
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  std::thread io([l = loop->get()] { l->run(); });
  auto board = X86Microvm::create(
      c, **loop, [](std::span<const uint8_t>) {}, [] {});
  ASSERT_TRUE(board) << board.error().message;
  X86Microvm& vm = **board;
  EXPECT_EQ(vm.run_state(), X86Microvm::RunState::kCreated);
  auto counts = [&] {
    return std::pair(*vm.memory().read_obj<uint32_t>(GuestAddr(0x5000)),
                     *vm.memory().read_obj<uint32_t>(GuestAddr(0x5004)));
  };
  auto wait_until = [&](auto pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s_);
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
  };
  vm.start();
  EXPECT_TRUE(wait_until([&] { return counts().first > 0 && counts().second > 0; }))
      << "BSP " << counts().first << ", AP " << counts().second;
  for (int round = 0; round < 2; ++round) {
    vm.pause();
    EXPECT_EQ(vm.run_state(), X86Microvm::RunState::kPaused);
    const auto paused = counts();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(counts(), paused) << "a vCPU ran while paused";
    vm.resume();
    EXPECT_EQ(vm.run_state(), X86Microvm::RunState::kRunning);
    EXPECT_TRUE(wait_until([&] {
      const auto now = counts();
      return now.first > paused.first && now.second > paused.second;
    })) << "a vCPU did not resume";
  }
  vm.pause();  // stopping a paused VM ends its threads too
  vm.stop_and_join();
  EXPECT_EQ(vm.run_state(), X86Microvm::RunState::kStopped);
  board->reset();
  (*loop)->stop();
  io.join();
}

TEST_F(X86MicrovmTest, RejectsAFileThatIsNoX86Kernel) {
  std::ofstream(dir_ / "text") << "not a kernel at all\n";
  X86MicrovmConfig c;
  c.kernel_path = (dir_ / "text").string();
  auto loop = EventLoop::create();
  auto board = X86Microvm::create(
      c, **loop, [](std::span<const uint8_t>) {}, [] {});
  ASSERT_FALSE(board);
  EXPECT_EQ(board.error().code, ErrorCode::kBadFormat);
  EXPECT_NE(board.error().message.find("bzImage"), std::string::npos) << board.error().message;
}

}  // namespace
}  // namespace vireo
