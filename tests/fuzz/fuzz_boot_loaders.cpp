// libFuzzer target for the boot-image parsers: the kernel, initrd and firmware
// files are user input, and a corrupt or hostile one must produce an error
// value, never a crash, an out-of-bounds read or a write outside guest RAM.
//
// Run: fuzz_boot_loaders tests/fuzz/corpus/fuzz_boot_loaders -max_len=4096
#include <cstddef>
#include <cstdint>
#include <span>

#include "boot/elf.hpp"
#include "boot/riscv_image.hpp"
#include "boot/x86/bzimage.hpp"
#include "boot/x86/multiboot.hpp"
#include "boot/x86/pvh.hpp"
#include "core/guest_memory.hpp"

namespace {

using namespace vireo;

// A small RAM at the usual RISC-V base plus one low region, so segments can
// land inside, across the edges of and between regions. Created once: mapping
// per input would dominate the run time.
const GuestMemory& guest_ram() {
  static const GuestMemory* mem = [] {
    auto* m = new GuestMemory();
    if (!m->add_ram(GuestAddr(0x8000'0000), 1 << 20) || !m->add_ram(GuestAddr(0x1000), 0x4000)) {
      __builtin_trap();
    }
    return m;
  }();
  return *mem;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> file(data, size);

  (void)boot::is_elf(file);
  if (auto info = boot::parse_elf(file)) {
    // Invariants the board code relies on after a successful parse.
    if (info->segments.empty() || info->lowest >= info->highest) __builtin_trap();
    for (const auto& seg : info->segments) {
      if (seg.file_size > seg.mem_size || seg.file_offset > size ||
          seg.file_size > size - seg.file_offset || seg.paddr < info->lowest ||
          seg.paddr + seg.mem_size > info->highest) {
        __builtin_trap();
      }
    }
    const GuestMemory& mem = guest_ram();
    if (boot::load_elf(file, *info, mem)) {
      // load_elf may only succeed when every segment lies in RAM.
      for (const auto& seg : info->segments) {
        if (!mem.contains(GuestAddr(seg.paddr), seg.mem_size)) __builtin_trap();
      }
    }
  }
  (void)boot::find_elf_symbol(file, "tohost");
  (void)boot::find_elf_symbol(file, "fromhost");

  (void)boot::is_riscv_image(file);
  if (auto image = boot::parse_riscv_image(file)) {
    if (image->image_size < size || image->text_offset % 4096 != 0) __builtin_trap();
  }

  // x86: bzImage header and zero page, PVH note, Multiboot header and image.
  if (auto bz = boot::x86::parse_bzimage(file)) {
    if (bz->header_end > bz->setup_size || bz->setup_size + bz->kernel_size != size ||
        bz->init_size < bz->kernel_size) {
      __builtin_trap();
    }
    boot::x86::E820Map map;
    (void)map.add(0, 0x9fc00, boot::x86::E820Type::kRam);
    (void)map.add(0x100000, 64 << 20, boot::x86::E820Type::kRam);
    if (auto at = boot::x86::choose_load_address(*bz, map)) {
      if (!map.is_ram(*at, bz->init_size)) __builtin_trap();
    }
    static uint8_t page[boot::x86::kZeroPageSize];
    boot::x86::ZeroPageParams params;
    params.cmdline_len = 10;
    (void)boot::x86::build_zero_page(page, file, *bz, params, map);
  }
  if (auto info = boot::parse_elf(file)) (void)boot::x86::find_pvh_entry(file, *info);
  if (auto mb = boot::x86::find_multiboot_header(file); mb && mb->has_value()) {
    if (auto img = boot::x86::multiboot_image(file, **mb)) {
      if (img->file_offset > size || img->file_bytes > size - img->file_offset ||
          img->mem_bytes < img->file_bytes) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
