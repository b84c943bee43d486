// The KVM engine on tiny hand-assembled guests: protected and long mode
// entry, port I/O and MMIO exits reaching the buses, CPUID topology, kick().
// Skipped, with the reason, where /dev/kvm is absent or unusable.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/bus.hpp"
#include "core/guest_memory.hpp"
#include "cpu/kvm/kvm.hpp"
#include "cpu/kvm/vcpu.hpp"
#include "cpu/kvm/vm.hpp"

namespace vireo::kvm {
namespace {

constexpr uint64_t kCodeAddr = 0x10000;
constexpr uint64_t kMmioBase = 0xd0000000;

// Records port writes; a write to the exit port kicks the vCPU out of run().
class Ports : public BusDevice {
 public:
  std::string serial;
  int exit_value = -1;
  Vcpu* vcpu = nullptr;
  uint64_t base = 0;
  uint64_t read(uint64_t, unsigned) override { return 0; }
  void write(uint64_t offset, unsigned, uint64_t value) override {
    if (base + offset == 0x3f8) serial.push_back(static_cast<char>(value));
    if (base + offset == 0xf4) {
      exit_value = static_cast<int>(value & 0xff);
      if (vcpu) vcpu->kick();
    }
  }
};

class Register : public BusDevice {
 public:
  uint64_t value = 0x5a;
  unsigned reads = 0;
  uint64_t read(uint64_t, unsigned) override {
    ++reads;
    return value;
  }
  void write(uint64_t, unsigned, uint64_t) override {}
};

class KvmTest : public testing::Test {
 protected:
  void SetUp() override {
    auto kvm = Kvm::open();
    if (!kvm) GTEST_SKIP() << "KVM unusable here: " << kvm.error().message;
    kvm_ = std::make_unique<Kvm>(std::move(*kvm));
    ASSERT_TRUE(memory_.add_ram(GuestAddr(0), 16 << 20));
    auto vm = Vm::create(*kvm_, memory_);
    ASSERT_TRUE(vm) << vm.error().message;
    vm_ = std::move(*vm);
    ASSERT_TRUE(pio_.add(GuestAddr(0x3f8), 8, &com1_, "com1"));
    ASSERT_TRUE(pio_.add(GuestAddr(0xf4), 1, &exit_port_, "debug-exit"));
    com1_.base = 0x3f8;
    exit_port_.base = 0xf4;
    ASSERT_TRUE(mmio_.add(GuestAddr(kMmioBase), 0x1000, &reg_, "register"));
    ASSERT_TRUE(write_boot_tables(memory_));
  }

  std::unique_ptr<Vcpu> make_vcpu(uint32_t index = 0, uint32_t count = 1) {
    auto v = Vcpu::create(*vm_, index, count, mmio_, pio_);
    EXPECT_TRUE(v) << v.error().message;
    return v ? std::move(*v) : nullptr;
  }

  void code(std::vector<uint8_t> bytes) { ASSERT_TRUE(memory_.write(GuestAddr(kCodeAddr), bytes)); }

  // Runs until the guest writes the exit port (a kick) or stops otherwise.
  VcpuExit run(Vcpu& v) {
    com1_.vcpu = exit_port_.vcpu = &v;
    for (int i = 0; i < 1000; ++i) {
      auto e = v.run();
      EXPECT_TRUE(e) << e.error().message;
      if (!e) return VcpuExit::kInternalError;
      if (*e != VcpuExit::kInterrupted || exit_port_.exit_value >= 0) return *e;
    }
    return VcpuExit::kInternalError;
  }

  std::unique_ptr<Kvm> kvm_;
  GuestMemory memory_;
  std::unique_ptr<Vm> vm_;
  Bus pio_{"pio"}, mmio_{"mmio"};
  Ports com1_, exit_port_;
  Register reg_;
};

TEST_F(KvmTest, ProtectedModeEntryReachesPortsAndMmio) {
  // mov dx,0x3f8; mov al,'P'; out dx,al; mov eax,[0xd0000000]; out 0xf4,al; hlt
  code({0x66, 0xba, 0xf8, 0x03, 0xb0, 'P', 0xee, 0xa1, 0x00, 0x00, 0x00, 0xd0, 0xe6, 0xf4, 0xf4});
  auto v = make_vcpu();
  ASSERT_TRUE(v);
  EntryRegs regs;
  regs.rip = kCodeAddr;
  regs.rbx = 0x1234;
  ASSERT_TRUE(v->enter_protected_mode(regs));
  EXPECT_EQ(run(*v), VcpuExit::kInterrupted);
  EXPECT_EQ(com1_.serial, "P");
  EXPECT_EQ(reg_.reads, 1u);
  EXPECT_EQ(exit_port_.exit_value, 0x5a);
  auto after = v->regs();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->rbx, 0x1234u);  // the boot protocol's EBX survives entry
}

TEST_F(KvmTest, LongModeEntryWithIdentityPaging) {
  // mov dx,0x3f8; mov al,'L'; out dx,al; movabs eax,[0xd0000000]; out 0xf4,al; hlt
  code({0x66, 0xba, 0xf8, 0x03, 0xb0, 'L', 0xee, 0xa1, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x00, 0x00,
        0x00, 0xe6, 0xf4, 0xf4});
  reg_.value = 0x77;
  auto v = make_vcpu();
  ASSERT_TRUE(v);
  EntryRegs regs;
  regs.rip = kCodeAddr;
  regs.rsi = 0x7000;  // the zero page pointer of the 64-bit boot protocol
  ASSERT_TRUE(v->enter_long_mode(regs));
  EXPECT_EQ(run(*v), VcpuExit::kInterrupted);
  EXPECT_EQ(com1_.serial, "L");
  EXPECT_EQ(exit_port_.exit_value, 0x77);
  EXPECT_EQ(v->regs()->rsi, 0x7000u);
}

TEST_F(KvmTest, CpuidCarriesTopologyAndHypervisorBit) {
  // For vCPU 1 of 2: cpuid(1) -> out ebx>>24 (APIC ID), then ecx>>31.
  // mov eax,1; cpuid; mov eax,ebx; shr eax,24; out 0xf4,al... two exits:
  // first the APIC ID to port 0x3f8, then the hypervisor bit to 0xf4.
  code({0xb8, 0x01, 0x00, 0x00, 0x00,  // mov eax,1
        0x0f, 0xa2,                    // cpuid
        0x89, 0xd8,                    // mov eax,ebx
        0xc1, 0xe8, 0x18,              // shr eax,24
        0x66, 0xba, 0xf8, 0x03,        // mov dx,0x3f8
        0xee,                          // out dx,al
        0x89, 0xc8,                    // mov eax,ecx
        0xc1, 0xe8, 0x1f,              // shr eax,31
        0xe6, 0xf4,                    // out 0xf4,al
        0xf4});
  auto v0 = make_vcpu(0, 2);
  auto v1 = make_vcpu(1, 2);
  ASSERT_TRUE(v1);
  EntryRegs regs;
  regs.rip = kCodeAddr;
  ASSERT_TRUE(v1->enter_protected_mode(regs));
  ASSERT_TRUE(v1->make_runnable());  // an AP waits for INIT/SIPI otherwise
  EXPECT_EQ(run(*v1), VcpuExit::kInterrupted);
  ASSERT_EQ(com1_.serial.size(), 1u);
  EXPECT_EQ(com1_.serial[0], 1);        // initial APIC ID = vCPU index
  EXPECT_EQ(exit_port_.exit_value, 1);  // hypervisor present
}

TEST_F(KvmTest, TripleFaultIsShutdown) {
  // Long mode with no IDT: ud2 -> #UD -> #DF -> triple fault.
  code({0x0f, 0x0b});
  auto v = make_vcpu();
  ASSERT_TRUE(v);
  EntryRegs regs;
  regs.rip = kCodeAddr;
  ASSERT_TRUE(v->enter_long_mode(regs));
  EXPECT_EQ(run(*v), VcpuExit::kShutdown);
}

TEST(KvmBacking, DetectsThisHost) {
  const Backing b = detect_backing();
  EXPECT_FALSE(backing_name(b).empty());
  std::printf("KVM backing here: %s\n", std::string(backing_name(b)).c_str());
}

}  // namespace
}  // namespace vireo::kvm
