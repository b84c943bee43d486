#include "machines/riscv_virt.hpp"

#include <elf.h>
#include <gtest/gtest.h>
#include <stdlib.h>

extern "C" {
#include <libfdt.h>
}

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "devices/virtio/rng.hpp"

namespace vireo {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMiB = 1ull << 20, kGiB = 1ull << 30;
constexpr uint64_t kRam = RiscvVirt::kRamBase;

// ---- Boot images written to a temp dir

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 31);
  return v;
}

// A RISC-V Linux Image: header with the RSC\x05 magic, then `payload` bytes.
std::vector<uint8_t> linux_image(uint64_t image_size, size_t payload = 4096,
                                 uint64_t text_offset = 0x20'0000) {
  std::vector<uint8_t> f = pattern(64 + payload, 5);
  std::memset(f.data(), 0, 64);
  std::memcpy(&f[8], &text_offset, 8);
  std::memcpy(&f[16], &image_size, 8);
  std::memcpy(&f[56], "RSC\x05", 4);
  return f;
}

// A one-segment ELF64 at `paddr`, optionally with tohost/fromhost symbols.
std::vector<uint8_t> elf_program(uint64_t paddr, uint16_t machine = EM_RISCV,
                                 std::optional<uint64_t> tohost = std::nullopt,
                                 uint64_t memsz = 0x1000, bool is64 = true) {
  std::vector<uint8_t> f;
  auto put = [&f](uint64_t off, const void* p, size_t n) {
    if (f.size() < off + n) f.resize(off + n);
    std::memcpy(f.data() + off, p, n);
  };
  const std::vector<uint8_t> code = pattern(256, 9);
  if (!is64) {
    Elf32_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS32;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = machine;
    eh.e_entry = static_cast<uint32_t>(paddr);
    eh.e_phoff = sizeof(eh);
    eh.e_phentsize = sizeof(Elf32_Phdr);
    eh.e_phnum = 1;
    Elf32_Phdr ph{};
    ph.p_type = PT_LOAD;
    ph.p_offset = 0x100;
    ph.p_paddr = ph.p_vaddr = static_cast<uint32_t>(paddr);
    ph.p_filesz = static_cast<uint32_t>(code.size());
    ph.p_memsz = static_cast<uint32_t>(memsz);
    put(0, &eh, sizeof(eh));
    put(sizeof(eh), &ph, sizeof(ph));
    put(0x100, code.data(), code.size());
    return f;
  }
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = machine;
  eh.e_entry = paddr;
  eh.e_phoff = sizeof(eh);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 1;
  eh.e_shentsize = sizeof(Elf64_Shdr);
  Elf64_Phdr ph{};
  ph.p_type = PT_LOAD;
  ph.p_offset = 0x100;
  ph.p_paddr = ph.p_vaddr = paddr;
  ph.p_filesz = code.size();
  ph.p_memsz = memsz;
  put(sizeof(eh), &ph, sizeof(ph));
  put(0x100, code.data(), code.size());
  if (tohost) {
    // .strtab at 0x200, .symtab at 0x240, section headers at 0x300.
    const char strtab[] = "\0tohost\0fromhost";
    put(0x200, strtab, sizeof(strtab));
    Elf64_Sym syms[3] = {};
    syms[1].st_name = 1;
    syms[1].st_value = *tohost;
    syms[2].st_name = 8;
    syms[2].st_value = *tohost + 0x40;
    put(0x240, syms, sizeof(syms));
    Elf64_Shdr sh[3] = {};
    sh[1].sh_type = SHT_SYMTAB;
    sh[1].sh_offset = 0x240;
    sh[1].sh_size = sizeof(syms);
    sh[1].sh_link = 2;
    sh[1].sh_entsize = sizeof(Elf64_Sym);
    sh[2].sh_type = SHT_STRTAB;
    sh[2].sh_offset = 0x200;
    sh[2].sh_size = sizeof(strtab);
    put(0x300, sh, sizeof(sh));
    eh.e_shoff = 0x300;
    eh.e_shnum = 3;
  }
  put(0, &eh, sizeof(eh));
  return f;
}

// ---- Device-tree reading helpers

std::vector<uint32_t> cells(const void* fdt, int node, const char* name) {
  int len = 0;
  const auto* p = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, name, &len));
  std::vector<uint32_t> out;
  if (p == nullptr) return out;
  for (int i = 0; i < len / 4; ++i) out.push_back(fdt32_to_cpu(p[i]));
  return out;
}
std::optional<uint64_t> u64_prop(const void* fdt, int node, const char* name) {
  auto c = cells(fdt, node, name);
  if (c.size() != 2) return std::nullopt;
  return (uint64_t{c[0]} << 32) | c[1];
}
std::string str_prop(const void* fdt, int node, const char* name) {
  int len = 0;
  const char* p = static_cast<const char*>(fdt_getprop(fdt, node, name, &len));
  return p == nullptr ? std::string("<missing>") : std::string(p, strnlen(p, len));
}
std::vector<uint32_t> reg64(uint64_t addr, uint64_t size) {
  return {static_cast<uint32_t>(addr >> 32), static_cast<uint32_t>(addr),
          static_cast<uint32_t>(size >> 32), static_cast<uint32_t>(size)};
}

class RiscvVirtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vireo-riscv-virt-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop) << loop.error().message;
    loop_ = std::move(*loop);
  }
  void TearDown() override {
    board_.reset();  // before the loop it uses
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string file(const std::string& name, const std::vector<uint8_t>& bytes) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return p.string();
  }
  RiscvVirtConfig config(uint32_t cpus = 1, uint64_t memory = 512 * kMiB) {
    RiscvVirtConfig c;
    c.cpus = cpus;
    c.memory_bytes = memory;
    c.kernel_path = file("Image", linux_image(2 * kMiB));
    c.cmdline = "console=ttyS0 earlycon root=/dev/vda rw";
    return c;
  }
  Result<std::unique_ptr<RiscvVirt>> create(const RiscvVirtConfig& c) {
    return RiscvVirt::create(
        c, *loop_, [this](std::span<const uint8_t> b) { output_.append(b.begin(), b.end()); },
        [this] { ++stops_; });
  }
  // Builds the board and checks its blob; the tests then read fdt().
  void build(const RiscvVirtConfig& c) {
    auto b = create(c);
    ASSERT_TRUE(b) << b.error().message;
    board_ = std::move(*b);
    ASSERT_FALSE(board_->device_tree().empty());
    ASSERT_EQ(fdt_check_header(fdt()), 0);
  }
  const void* fdt() const { return board_->device_tree().data(); }
  int node(const char* path) const {
    const int off = fdt_path_offset(fdt(), path);
    EXPECT_GE(off, 0) << path << ": " << fdt_strerror(off);
    return off;
  }
  std::vector<uint8_t> guest(uint64_t addr, size_t n) {
    std::vector<uint8_t> out(n);
    auto r = board_->memory().read(GuestAddr(addr), out);
    EXPECT_TRUE(r) << r.error().message;
    return out;
  }
  void expect_error(const RiscvVirtConfig& c, ErrorCode code, const char* what) {
    auto b = create(c);
    ASSERT_FALSE(b) << "accepted " << what;
    EXPECT_EQ(b.error().code, code) << what << ": " << b.error().message;
    EXPECT_FALSE(b.error().message.empty());
  }

  fs::path dir_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<RiscvVirt> board_;
  std::string output_;
  int stops_ = 0;
};

// ---- The device tree

TEST_F(RiscvVirtTest, BlobIsWellFormedAndInGuestMemory) {
  build(config());
  const auto& dtb = board_->device_tree();
  EXPECT_EQ(fdt_totalsize(fdt()), dtb.size());
  EXPECT_EQ(fdt_check_full(fdt(), dtb.size()), 0);
  EXPECT_EQ(str_prop(fdt(), 0, "compatible"), "riscv-virtio");
  EXPECT_EQ(cells(fdt(), 0, "#address-cells"), (std::vector<uint32_t>{2}));
  EXPECT_EQ(cells(fdt(), 0, "#size-cells"), (std::vector<uint32_t>{2}));

  // Where the kernel finds it (a1): inside RAM, 8-byte aligned (the boot
  // protocol's minimum; QEMU uses a 2 MiB block), past the kernel.
  const uint64_t addr = board_->device_tree_addr();
  EXPECT_EQ(addr % (2 * kMiB), 0u);
  EXPECT_GE(addr, kRam + 0x20'0000 + 2 * kMiB);
  EXPECT_LE(addr + dtb.size(), kRam + 512 * kMiB);
  EXPECT_EQ(guest(addr, dtb.size()), dtb);
  // And the kernel itself sits at RAM base + text_offset.
  const auto image = linux_image(2 * kMiB);
  EXPECT_EQ(guest(kRam + 0x20'0000, image.size()), image);
  EXPECT_EQ(stops_, 0);
  EXPECT_TRUE(output_.empty());
}

class RiscvVirtCpus : public RiscvVirtTest, public ::testing::WithParamInterface<uint32_t> {};

TEST_P(RiscvVirtCpus, CpuNodes) {
  const uint32_t n = GetParam();
  build(config(n));
  const int cpus = node("/cpus");
  EXPECT_EQ(cells(fdt(), cpus, "timebase-frequency"), (std::vector<uint32_t>{10'000'000}));
  EXPECT_EQ(cells(fdt(), cpus, "#address-cells"), (std::vector<uint32_t>{1}));
  EXPECT_EQ(cells(fdt(), cpus, "#size-cells"), (std::vector<uint32_t>{0}));

  uint32_t count = 0;
  std::set<uint32_t> phandles;
  int child;
  fdt_for_each_subnode(child, fdt(), cpus) {
    const std::string name = fdt_get_name(fdt(), child, nullptr);
    if (name.rfind("cpu@", 0) != 0) continue;
    EXPECT_EQ(name, "cpu@" + std::to_string(count));
    EXPECT_EQ(cells(fdt(), child, "reg"), (std::vector<uint32_t>{count}));
    EXPECT_EQ(str_prop(fdt(), child, "device_type"), "cpu");
    EXPECT_EQ(str_prop(fdt(), child, "riscv,isa").rfind("rv64imafdc", 0), 0u)
        << str_prop(fdt(), child, "riscv,isa");
    EXPECT_EQ(str_prop(fdt(), child, "mmu-type").rfind("riscv,sv", 0), 0u);
    EXPECT_EQ(fdt_node_check_compatible(fdt(), child, "riscv"), 0);
    const int intc = fdt_subnode_offset(fdt(), child, "interrupt-controller");
    ASSERT_GE(intc, 0);
    EXPECT_EQ(fdt_node_check_compatible(fdt(), intc, "riscv,cpu-intc"), 0);
    EXPECT_NE(fdt_getprop(fdt(), intc, "interrupt-controller", nullptr), nullptr);
    EXPECT_EQ(cells(fdt(), intc, "#interrupt-cells"), (std::vector<uint32_t>{1}));
    const uint32_t ph = fdt_get_phandle(fdt(), intc);
    EXPECT_NE(ph, 0u);
    EXPECT_TRUE(phandles.insert(ph).second) << "duplicate phandle " << ph;
    ++count;
  }
  EXPECT_EQ(count, n);
  EXPECT_EQ(board_->hart_count(), n);
}

TEST_P(RiscvVirtCpus, InterruptControllersReachEveryHart) {
  const uint32_t n = GetParam();
  build(config(n));
  auto intc_phandle = [&](uint32_t h) {
    const std::string path = "/cpus/cpu@" + std::to_string(h) + "/interrupt-controller";
    return fdt_get_phandle(fdt(), node(path.c_str()));
  };

  const int plic = node("/soc/plic@c000000");
  EXPECT_EQ(cells(fdt(), plic, "reg"), reg64(0x0c00'0000, 0x0400'0000));
  EXPECT_NE(fdt_getprop(fdt(), plic, "interrupt-controller", nullptr), nullptr);
  EXPECT_EQ(cells(fdt(), plic, "#interrupt-cells"), (std::vector<uint32_t>{1}));
  EXPECT_EQ(cells(fdt(), plic, "riscv,ndev"), (std::vector<uint32_t>{95}));
  EXPECT_EQ(fdt_node_check_compatible(fdt(), plic, "riscv,plic0"), 0);
  // Two contexts per hart, in PLIC context order: M-mode (11) then S-mode (9).
  const auto plic_irqs = cells(fdt(), plic, "interrupts-extended");
  ASSERT_EQ(plic_irqs.size(), 4u * n);
  const auto clint_irqs = cells(fdt(), node("/soc/clint@2000000"), "interrupts-extended");
  ASSERT_EQ(clint_irqs.size(), 4u * n);
  for (uint32_t h = 0; h < n; ++h) {
    const uint32_t ph = intc_phandle(h);
    EXPECT_EQ(std::vector<uint32_t>(plic_irqs.begin() + 4 * h, plic_irqs.begin() + 4 * h + 4),
              (std::vector<uint32_t>{ph, 11, ph, 9}))
        << "hart " << h;
    EXPECT_EQ(std::vector<uint32_t>(clint_irqs.begin() + 4 * h, clint_irqs.begin() + 4 * h + 4),
              (std::vector<uint32_t>{ph, 3, ph, 7}))
        << "hart " << h;
  }
}

INSTANTIATE_TEST_SUITE_P(Counts, RiscvVirtCpus, ::testing::Values(1u, 2u, 4u, 64u));

TEST_F(RiscvVirtTest, MemoryNodeMatchesTheConfig) {
  for (uint64_t mem : {16 * kMiB, 512 * kMiB, 5 * kGiB, 16 * kMiB + 4096}) {
    SCOPED_TRACE(mem);
    build(config(1, mem));
    const int m = node("/memory@80000000");
    EXPECT_EQ(str_prop(fdt(), m, "device_type"), "memory");
    EXPECT_EQ(cells(fdt(), m, "reg"), reg64(kRam, mem));
    EXPECT_EQ(board_->memory().ram_size(), mem);
    // The blob stays in RAM (and below 3 GiB for 32-bit-limited DMA) whatever the size.
    const uint64_t addr = board_->device_tree_addr();
    EXPECT_LE(addr + board_->device_tree().size(), std::min<uint64_t>(kRam + mem, 0xC000'0000));
    EXPECT_EQ(guest(addr, board_->device_tree().size()), board_->device_tree());
    board_.reset();
  }
}

TEST_F(RiscvVirtTest, ChosenWithoutInitrd) {
  build(config());
  const int chosen = node("/chosen");
  EXPECT_EQ(str_prop(fdt(), chosen, "bootargs"), "console=ttyS0 earlycon root=/dev/vda rw");
  const std::string stdout_path = str_prop(fdt(), chosen, "stdout-path");
  EXPECT_EQ(stdout_path, "/soc/serial@10000000");
  EXPECT_GE(fdt_path_offset(fdt(), stdout_path.c_str()), 0);  // names a real node
  EXPECT_EQ(fdt_getprop(fdt(), chosen, "linux,initrd-start", nullptr), nullptr);
  EXPECT_EQ(fdt_getprop(fdt(), chosen, "linux,initrd-end", nullptr), nullptr);
}

TEST_F(RiscvVirtTest, ChosenWithInitrd) {
  RiscvVirtConfig c = config();
  const auto initrd = pattern(100'000, 77);
  c.initrd_path = file("initrd", initrd);
  build(c);
  const int chosen = node("/chosen");
  const auto start = u64_prop(fdt(), chosen, "linux,initrd-start");
  const auto end = u64_prop(fdt(), chosen, "linux,initrd-end");
  ASSERT_TRUE(start && end);
  EXPECT_EQ(*end - *start, initrd.size());
  EXPECT_EQ(*start % 4096, 0u);
  EXPECT_GE(*start, kRam + 0x20'0000 + 2 * kMiB);  // above the kernel's image_size
  EXPECT_LE(*end, board_->device_tree_addr());     // below the DTB
  EXPECT_EQ(guest(*start, initrd.size()), initrd);
}

TEST_F(RiscvVirtTest, EmptyCmdline) {
  RiscvVirtConfig c = config();
  c.cmdline.clear();
  build(c);
  int len = -1;
  EXPECT_NE(fdt_getprop(fdt(), node("/chosen"), "bootargs", &len), nullptr);
  EXPECT_EQ(len, 1);
}

TEST_F(RiscvVirtTest, PlatformDevices) {
  build(config());
  const uint32_t plic_ph = fdt_get_phandle(fdt(), node("/soc/plic@c000000"));
  ASSERT_NE(plic_ph, 0u);
  EXPECT_EQ(fdt_node_check_compatible(fdt(), node("/soc"), "simple-bus"), 0);

  const int uart = node("/soc/serial@10000000");
  EXPECT_EQ(fdt_node_check_compatible(fdt(), uart, "ns16550a"), 0);
  EXPECT_EQ(cells(fdt(), uart, "reg"), reg64(0x1000'0000, 0x100));
  EXPECT_EQ(cells(fdt(), uart, "interrupts"), (std::vector<uint32_t>{10}));
  EXPECT_EQ(cells(fdt(), uart, "interrupt-parent"), (std::vector<uint32_t>{plic_ph}));
  EXPECT_FALSE(cells(fdt(), uart, "clock-frequency").empty());

  const int clint = node("/soc/clint@2000000");
  EXPECT_EQ(cells(fdt(), clint, "reg"), reg64(0x0200'0000, 0x1'0000));
  EXPECT_EQ(fdt_node_check_compatible(fdt(), clint, "riscv,clint0"), 0);

  const int test = node("/soc/test@100000");
  EXPECT_EQ(cells(fdt(), test, "reg"), reg64(0x10'0000, 0x1000));
  EXPECT_EQ(fdt_node_check_compatible(fdt(), test, "sifive,test0"), 0);
  EXPECT_EQ(fdt_node_check_compatible(fdt(), test, "syscon"), 0);
  const uint32_t test_ph = fdt_get_phandle(fdt(), test);
  ASSERT_NE(test_ph, 0u);
  const int poweroff = node("/soc/poweroff");
  EXPECT_EQ(cells(fdt(), poweroff, "regmap"), (std::vector<uint32_t>{test_ph}));
  EXPECT_EQ(cells(fdt(), poweroff, "value"), (std::vector<uint32_t>{0x5555}));
  const int reboot = node("/soc/reboot");
  EXPECT_EQ(cells(fdt(), reboot, "regmap"), (std::vector<uint32_t>{test_ph}));
  EXPECT_EQ(cells(fdt(), reboot, "value"), (std::vector<uint32_t>{0x7777}));

  const int rtc = node("/soc/rtc@101000");
  EXPECT_EQ(fdt_node_check_compatible(fdt(), rtc, "google,goldfish-rtc"), 0);
  EXPECT_EQ(cells(fdt(), rtc, "reg"), reg64(0x10'1000, 0x1000));
  EXPECT_EQ(cells(fdt(), rtc, "interrupts"), (std::vector<uint32_t>{11}));
  EXPECT_EQ(cells(fdt(), rtc, "interrupt-parent"), (std::vector<uint32_t>{plic_ph}));
}

TEST_F(RiscvVirtTest, NoVirtioNodesWithoutVirtioDevices) {
  build(config());
  EXPECT_LT(fdt_path_offset(fdt(), "/soc/virtio_mmio@10001000"), 0);
  uint64_t value = 0;
  EXPECT_FALSE(board_->bus().read(RiscvVirt::kVirtioBase, 4, value));
}

TEST_F(RiscvVirtTest, VirtioDevicesGetSlotsInOrder) {
  RiscvVirtConfig c = config();
  for (int i = 0; i < 3; ++i) c.virtio_devices.push_back(virtio::rng_factory());
  build(c);
  const uint32_t plic_ph = fdt_get_phandle(fdt(), node("/soc/plic@c000000"));
  for (uint32_t i = 0; i < 3; ++i) {
    const uint64_t base = 0x1000'1000 + 0x1000 * i;
    const int n = node(fmt::format("/soc/virtio_mmio@{:x}", base).c_str());
    EXPECT_EQ(fdt_node_check_compatible(fdt(), n, "virtio,mmio"), 0);
    EXPECT_EQ(cells(fdt(), n, "reg"), reg64(base, 0x1000));
    EXPECT_EQ(cells(fdt(), n, "interrupts"), (std::vector<uint32_t>{1 + i}));
    EXPECT_EQ(cells(fdt(), n, "interrupt-parent"), (std::vector<uint32_t>{plic_ph}));
    // The transport answers on the bus: magic, version 2, entropy device.
    uint64_t magic = 0, version = 0, id = 0;
    ASSERT_TRUE(board_->bus().read(base, 4, magic));
    ASSERT_TRUE(board_->bus().read(base + 4, 4, version));
    ASSERT_TRUE(board_->bus().read(base + 8, 4, id));
    EXPECT_EQ(magic, 0x74726976u);
    EXPECT_EQ(version, 2u);
    EXPECT_EQ(id, 4u);
  }
  EXPECT_LT(fdt_path_offset(fdt(), "/soc/virtio_mmio@10004000"), 0);
}

TEST_F(RiscvVirtTest, VirtioSlotsAreLimited) {
  RiscvVirtConfig c = config();
  for (uint32_t i = 0; i < RiscvVirt::kVirtioSlots; ++i) {
    c.virtio_devices.push_back(virtio::rng_factory());
  }
  build(c);
  board_.reset();
  c.virtio_devices.push_back(virtio::rng_factory());
  expect_error(c, ErrorCode::kInvalidArgument, "a ninth virtio device");
}

TEST_F(RiscvVirtTest, VirtioFactoryErrorsStopTheBuild) {
  RiscvVirtConfig c = config();
  c.virtio_devices.push_back([](EventLoop&) -> Result<std::unique_ptr<virtio::VirtioDevice>> {
    return make_error(ErrorCode::kNotFound, "disk image 'x.img' does not exist");
  });
  expect_error(c, ErrorCode::kNotFound, "a device that cannot be built");
}

// ---- Other boot paths

TEST_F(RiscvVirtTest, BareMetalElf) {
  RiscvVirtConfig c = config();
  const auto elf = elf_program(kRam, EM_RISCV, kRam + 0x1000, 0x2000);
  c.kernel_path = file("prog.elf", elf);
  build(c);
  EXPECT_EQ(guest(kRam, 256), pattern(256, 9));
  EXPECT_EQ(guest(kRam + 256, 16), std::vector<uint8_t>(16, 0));  // bss
  EXPECT_GE(board_->device_tree_addr(), kRam + 0x2000);
}

TEST_F(RiscvVirtTest, FirmwareGetsFwDynamicInfo) {
  RiscvVirtConfig c = config();
  c.firmware_path = file("fw.bin", pattern(8192, 1));
  build(c);
  EXPECT_EQ(guest(kRam, 8192), pattern(8192, 1));
  // The kernel goes at the first 2 MiB boundary above the firmware (where
  // fw_jump jumps), not text_offset above that.
  const uint64_t kernel = kRam + 2 * kMiB;
  const auto image = linux_image(2 * kMiB);
  EXPECT_EQ(guest(kernel, image.size()), image);
  // struct fw_dynamic_info {magic, version, next_addr, next_mode, options, boot_hart}
  // in the block after the DTB's megabyte.
  auto info = guest(board_->device_tree_addr() + kMiB, 48);
  uint64_t f[6];
  std::memcpy(f, info.data(), sizeof(f));
  EXPECT_EQ(f[0], 0x4942534fu);  // "OSBI"
  EXPECT_EQ(f[1], 2u);
  EXPECT_EQ(f[2], kernel);
  EXPECT_EQ(f[3], 1u);  // S-mode
}

// ---- Errors are values, not crashes

TEST_F(RiscvVirtTest, BadCpuCounts) {
  expect_error(config(0), ErrorCode::kInvalidArgument, "0 cpus");
  expect_error(config(65), ErrorCode::kInvalidArgument, "65 cpus");
  expect_error(config(UINT32_MAX), ErrorCode::kInvalidArgument, "2^32-1 cpus");
}

TEST_F(RiscvVirtTest, BadMemorySizes) {
  expect_error(config(1, 0), ErrorCode::kInvalidArgument, "no memory");
  expect_error(config(1, 16 * kMiB - 1), ErrorCode::kInvalidArgument, "memory below 16 MiB");
  expect_error(config(1, 256 * kGiB + 1), ErrorCode::kInvalidArgument, "memory above 256 GiB");
  expect_error(config(1, UINT64_MAX), ErrorCode::kInvalidArgument, "memory 2^64-1");
}

TEST_F(RiscvVirtTest, KernelFileProblems) {
  RiscvVirtConfig c = config();
  c.kernel_path = (dir_ / "missing").string();
  expect_error(c, ErrorCode::kNotFound, "a missing kernel");
  c.kernel_path = dir_.string();
  expect_error(c, ErrorCode::kInvalidArgument, "a directory as kernel");
  c.kernel_path = file("junk", pattern(4096, 0));
  expect_error(c, ErrorCode::kBadFormat, "a kernel that is neither ELF nor Image");
  c.kernel_path = file("empty", {});
  expect_error(c, ErrorCode::kBadFormat, "an empty kernel");
  c.kernel_path = file("badoff", linux_image(2 * kMiB, 4096, 0x123));
  expect_error(c, ErrorCode::kBadFormat, "an Image with a bad text_offset");
}

TEST_F(RiscvVirtTest, ElfKernelsThatAreNotForThisBoard) {
  RiscvVirtConfig c = config();
  c.kernel_path = file("x86.elf", elf_program(kRam, EM_X86_64));
  expect_error(c, ErrorCode::kBadFormat, "an x86-64 ELF");
  c.kernel_path = file("rv32.elf", elf_program(kRam, EM_RISCV, std::nullopt, 0x1000, false));
  expect_error(c, ErrorCode::kBadFormat, "a 32-bit RISC-V ELF");
  c.kernel_path = file("low.elf", elf_program(0x1000));
  expect_error(c, ErrorCode::kOutOfRange, "an ELF linked below RAM");
  c.kernel_path = file("high.elf", elf_program(kRam + 511 * kMiB));
  expect_error(c, ErrorCode::kOutOfRange, "an ELF over the DTB");
  c.kernel_path = file("past.elf", elf_program(kRam + 600 * kMiB));
  expect_error(c, ErrorCode::kOutOfRange, "an ELF past the end of RAM");
}

TEST_F(RiscvVirtTest, HtifSymbolOnTopOfADeviceIsAnError) {
  RiscvVirtConfig c = config();
  c.kernel_path = file("htif.elf", elf_program(kRam, EM_RISCV, RiscvVirt::kUartBase));
  auto b = create(c);
  EXPECT_FALSE(b);
}

TEST_F(RiscvVirtTest, KernelThatDoesNotFit) {
  // 16 MiB of RAM: the DTB block starts at RAM + 14 MiB, the kernel at RAM + 2 MiB.
  RiscvVirtConfig c = config(1, 16 * kMiB);
  c.kernel_path = file("fits", linux_image(12 * kMiB));
  {
    auto ok = create(c);
    EXPECT_TRUE(ok) << ok.error().message;
  }
  c.kernel_path = file("big", linux_image(12 * kMiB + 1));
  expect_error(c, ErrorCode::kInvalidArgument, "a kernel one byte too big");
  c.kernel_path = file("huge", linux_image((1ull << 34) - 1));
  expect_error(c, ErrorCode::kInvalidArgument, "a 16 GiB kernel");
}

TEST_F(RiscvVirtTest, InitrdThatDoesNotFit) {
  // Kernel ends at RAM + 10 MiB, the DTB block starts at RAM + 14 MiB: 4 MiB left.
  RiscvVirtConfig c = config(1, 16 * kMiB);
  c.kernel_path = file("Image8", linux_image(8 * kMiB));
  c.initrd_path = file("fits", std::vector<uint8_t>(4 * kMiB, 1));
  {
    auto ok = create(c);
    EXPECT_TRUE(ok) << ok.error().message;
  }
  c.initrd_path = file("big", std::vector<uint8_t>(4 * kMiB + 1, 1));
  expect_error(c, ErrorCode::kInvalidArgument, "an initrd one byte too big");
  c.initrd_path = file("huge", std::vector<uint8_t>(20 * kMiB, 1));
  expect_error(c, ErrorCode::kInvalidArgument, "an initrd bigger than RAM");
  c.initrd_path = file("empty", {});
  expect_error(c, ErrorCode::kInvalidArgument, "an empty initrd");
  c.initrd_path = (dir_ / "missing").string();
  expect_error(c, ErrorCode::kNotFound, "a missing initrd");
}

TEST_F(RiscvVirtTest, FirmwareProblems) {
  RiscvVirtConfig c = config(1, 16 * kMiB);
  c.firmware_path = (dir_ / "missing").string();
  expect_error(c, ErrorCode::kNotFound, "a missing firmware");
  c.firmware_path = file("fat.bin", std::vector<uint8_t>(8 * kMiB + 1, 0x13));
  expect_error(c, ErrorCode::kInvalidArgument, "a firmware larger than half of RAM");
  c.firmware_path = file("x86fw.elf", elf_program(kRam, EM_X86_64));
  expect_error(c, ErrorCode::kBadFormat, "an x86 firmware ELF");
}

}  // namespace
}  // namespace vireo
