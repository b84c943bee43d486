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
#include <mutex>
#include <string>

#include "core/event_loop.hpp"
#include "cpu/kvm/kvm.hpp"
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

  // Boots `kernel` and waits (generously: PVM emulates guest code) for the end.
  ExitStatus boot(X86MicrovmConfig config) {
    auto loop = EventLoop::create();
    EXPECT_TRUE(loop);
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
      return ExitStatus{-1, board.error().message};
    }
    (*board)->start();
    {
      std::unique_lock lock(m);
      EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return stopped; }))
          << "guest did not finish; serial: " << serial_;
    }
    (*board)->stop_and_join();
    return (*board)->exit_status();
  }

  fs::path dir_;
  std::string serial_;
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
  X86MicrovmConfig c;
  c.memory_bytes = 64 << 20;
  c.kernel_path = assemble(kPvhGuest);
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
  X86MicrovmConfig c;
  c.memory_bytes = 64 << 20;
  c.kernel_path = assemble(src);
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
