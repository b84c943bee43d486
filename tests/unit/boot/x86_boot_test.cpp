// The x86 boot formats: bzImage setup header and zero page, E820 map, PVH
// note and start_info, Multiboot header and info. Each parser gets a valid
// file first, then files broken in one field.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "boot/bytes.hpp"
#include "boot/elf.hpp"
#include "boot/x86/bzimage.hpp"
#include "boot/x86/e820.hpp"
#include "boot/x86/multiboot.hpp"
#include "boot/x86/pvh.hpp"
#include "elf_writer.hpp"

namespace vireo::boot::x86 {
namespace {

// ---- E820 ----

E820Map pc_map(uint64_t ram) {
  E820Map m;
  EXPECT_TRUE(m.add(0, 0x9fc00, E820Type::kRam));
  EXPECT_TRUE(m.add(0x9fc00, 0x400, E820Type::kReserved));
  EXPECT_TRUE(m.add(0xe0000, 0x20000, E820Type::kAcpi));
  EXPECT_TRUE(m.add(0x100000, ram - 0x100000, E820Type::kRam));
  return m;
}

TEST(E820, KeepsEntriesSortedAndRefusesOverlaps) {
  E820Map m;
  ASSERT_TRUE(m.add(0x100000, 0x100000, E820Type::kRam));
  ASSERT_TRUE(m.add(0, 0x1000, E820Type::kRam));
  EXPECT_EQ(m.entries()[0].addr, 0u);
  EXPECT_FALSE(m.add(0x1ff000, 0x2000, E820Type::kReserved));  // overlaps
  EXPECT_FALSE(m.add(0x5000, 0, E820Type::kRam));              // empty
  EXPECT_FALSE(m.add(~0ull - 10, 100, E820Type::kRam));        // wraps
  EXPECT_TRUE(m.is_ram(0x100000, 0x100000));
  EXPECT_FALSE(m.is_ram(0x100000, 0x100001));
  EXPECT_EQ(m.ram_below(0xa0000), 0x1000u);
}

// ---- bzImage ----

constexpr size_t kSetupSects = 3;
constexpr size_t kKernelBytes = 0x3000;

std::vector<uint8_t> make_bzimage() {
  std::vector<uint8_t> f((kSetupSects + 1) * 512 + kKernelBytes, 0);
  std::span<uint8_t> b(f);
  b[0x1f1] = kSetupSects;
  write_le<uint16_t>(b, 0x1fe, 0xaa55);
  b[0x200] = 0xeb;
  b[0x201] = 0x6a;  // header ends at 0x26c (2.15 headers reach kernel_info_offset)
  write_le<uint32_t>(b, 0x202, 0x53726448);
  write_le<uint16_t>(b, 0x206, 0x020f);
  b[0x211] = 0x01 | 0x80;  // LOADED_HIGH | CAN_USE_HEAP
  write_le<uint32_t>(b, 0x22c, 0x7fffffff);
  write_le<uint32_t>(b, 0x230, 0x200000);
  b[0x234] = 1;
  write_le<uint16_t>(b, 0x236, 0x3);  // KERNEL_64 | CAN_BE_LOADED_ABOVE_4G
  write_le<uint32_t>(b, 0x238, 2047);
  write_le<uint64_t>(b, 0x258, 0x1000000);
  write_le<uint32_t>(b, 0x260, 0x800000);
  for (size_t i = 0; i < kKernelBytes; ++i) f[(kSetupSects + 1) * 512 + i] = uint8_t(i * 13);
  return f;
}

TEST(BzImage, ParsesAValidHeader) {
  const auto f = make_bzimage();
  ASSERT_TRUE(is_bzimage(f));
  auto r = parse_bzimage(f);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->version, 0x020f);
  EXPECT_EQ(r->setup_size, 4 * 512u);
  EXPECT_EQ(r->kernel_offset, 4 * 512u);
  EXPECT_EQ(r->kernel_size, kKernelBytes);
  EXPECT_EQ(r->header_end, 0x26cu);
  EXPECT_EQ(r->pref_address, 0x1000000u);
  EXPECT_EQ(r->init_size, 0x800000u);
  EXPECT_EQ(r->cmdline_size, 2047u);
  EXPECT_TRUE(r->relocatable);
  EXPECT_TRUE(r->can_load_above_4g);
}

TEST(BzImage, ZeroSetupSectsMeansFour) {
  auto f = make_bzimage();
  f[0x1f1] = 0;
  f.resize(5 * 512 + 100);
  auto r = parse_bzimage(f);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->setup_size, 5 * 512u);
}

TEST(BzImage, RejectsEachBrokenField) {
  struct Case {
    const char* what;
    void (*breaks)(std::vector<uint8_t>&);
  };
  const Case cases[] = {
      {"no boot flag", [](auto& f) { f[0x1fe] = 0; }},
      {"no HdrS", [](auto& f) { f[0x203] = 'x'; }},
      {"protocol 2.09", [](auto& f) { write_le<uint16_t>(f, 0x206, 0x0209); }},
      {"short header", [](auto& f) { f[0x201] = 0x20; }},
      {"header past the file", [](auto& f) { f.resize(0x250); }},
      {"setup past the file", [](auto& f) { f[0x1f1] = 200; }},
      {"zImage", [](auto& f) { f[0x211] = 0; }},
      {"32-bit only", [](auto& f) { write_le<uint16_t>(f, 0x236, 0); }},
      {"alignment not a power of two", [](auto& f) { write_le<uint32_t>(f, 0x230, 0x300000); }},
      {"init_size below the kernel", [](auto& f) { write_le<uint32_t>(f, 0x260, 0x100); }},
      {"unaligned pref_address", [](auto& f) { write_le<uint64_t>(f, 0x258, 0x1000010); }},
      {"truncated to nothing", [](auto& f) { f.resize(16); }},
      {"truncated inside the version field", [](auto& f) { f.resize(0x207); }},
  };
  for (const Case& c : cases) {
    auto f = make_bzimage();
    c.breaks(f);
    auto r = parse_bzimage(f);
    ASSERT_FALSE(r) << "accepted: " << c.what;
    EXPECT_EQ(r.error().code, ErrorCode::kBadFormat) << c.what;
  }
}

TEST(BzImage, LoadAddressIsPreferredOrRelocated) {
  const auto f = make_bzimage();
  auto info = *parse_bzimage(f);
  EXPECT_EQ(*choose_load_address(info, pc_map(256 << 20)), 0x1000000u);
  // Too little RAM at pref_address + init_size: no place at all.
  EXPECT_FALSE(choose_load_address(info, pc_map(20 << 20)));
  // pref_address in a hole: relocated to the next aligned RAM address.
  E820Map m;
  ASSERT_TRUE(m.add(0, 0x1000000, E820Type::kRam));
  ASSERT_TRUE(m.add(0x1000000, 0x200000, E820Type::kReserved));
  ASSERT_TRUE(m.add(0x1200000, 0x4000000, E820Type::kRam));
  EXPECT_EQ(*choose_load_address(info, m), 0x1200000u);
  info.relocatable = false;
  EXPECT_FALSE(choose_load_address(info, m));
}

TEST(BzImage, ZeroPageCarriesHeaderLoaderFieldsAndE820) {
  const auto f = make_bzimage();
  const auto info = *parse_bzimage(f);
  const E820Map map = pc_map(512 << 20);
  std::vector<uint8_t> page(kZeroPageSize, 0xcc);
  ZeroPageParams p;
  p.cmdline_addr = 0x20000;
  p.cmdline_len = 20;
  p.initrd_addr = 0x1f000000;
  p.initrd_size = 0x123456;
  p.acpi_rsdp_addr = 0xe0000;
  auto r = build_zero_page(std::span<uint8_t, kZeroPageSize>(page.data(), kZeroPageSize), f, info,
                           p, map);
  ASSERT_TRUE(r) << r.error().message;
  std::span<const uint8_t> z(page);
  EXPECT_EQ(read_le<uint32_t>(z, 0x202), 0x53726448u);  // header copied
  EXPECT_EQ(read_le<uint64_t>(z, 0x258), 0x1000000u);
  EXPECT_EQ(z[0x210], 0xff);                         // type_of_loader
  EXPECT_EQ(z[0x211], 0x01);                         // CAN_USE_HEAP cleared
  EXPECT_EQ(read_le<uint32_t>(z, 0x228), 0x20000u);  // cmd_line_ptr
  EXPECT_EQ(read_le<uint32_t>(z, 0x218), 0x1f000000u);
  EXPECT_EQ(read_le<uint32_t>(z, 0x21c), 0x123456u);
  EXPECT_EQ(read_le<uint64_t>(z, 0x070), 0xe0000u);
  EXPECT_EQ(z[0x26c], 0);  // nothing past the header copied, rest zeroed
  ASSERT_EQ(z[0x1e8], map.entries().size());
  for (size_t i = 0; i < map.entries().size(); ++i) {
    EXPECT_EQ(read_le<uint64_t>(z, 0x2d0 + 20 * i), map.entries()[i].addr);
    EXPECT_EQ(read_le<uint64_t>(z, 0x2d0 + 20 * i + 8), map.entries()[i].size);
    EXPECT_EQ(read_le<uint32_t>(z, 0x2d0 + 20 * i + 16),
              static_cast<uint32_t>(map.entries()[i].type));
  }
  // Limits the kernel states are enforced.
  p.cmdline_len = 4096;
  EXPECT_FALSE(build_zero_page(std::span<uint8_t, kZeroPageSize>(page.data(), kZeroPageSize), f,
                               info, p, map));
  p.cmdline_len = 20;
  p.initrd_addr = 0x7ffff000;
  EXPECT_FALSE(build_zero_page(std::span<uint8_t, kZeroPageSize>(page.data(), kZeroPageSize), f,
                               info, p, map));
}

// ---- PVH ----

std::vector<uint8_t> note(uint32_t type, const char* name, const std::vector<uint8_t>& desc) {
  const size_t namesz = std::strlen(name) + 1;
  const size_t desc_at = 12 + ((namesz + 3) & ~size_t{3});
  std::vector<uint8_t> n(desc_at + ((desc.size() + 3) & ~size_t{3}), 0);
  write_le<uint32_t>(n, 0, static_cast<uint32_t>(namesz));
  write_le<uint32_t>(n, 4, static_cast<uint32_t>(desc.size()));
  write_le<uint32_t>(n, 8, type);
  std::memcpy(n.data() + 12, name, namesz);
  if (!desc.empty()) std::memcpy(n.data() + desc_at, desc.data(), desc.size());
  return n;
}

std::vector<uint8_t> le32(uint32_t v) {
  std::vector<uint8_t> b(4);
  write_le<uint32_t>(b, 0, v);
  return b;
}

std::vector<uint8_t> pvh_elf(std::vector<uint8_t> notes) {
  using namespace test;
  return build<Elf64_Ehdr, Elf64_Phdr, Elf64_Shdr, Elf64_Sym>(
             EM_X86_64, 0xffffffff81000000ull,
             {{0x1000000, std::vector<uint8_t>(64, 0x90), 64}, {0, notes, notes.size(), PT_NOTE}},
             {}, ET_EXEC)
      .bytes;
}

TEST(Pvh, FindsTheEntryNoteAmongOthers) {
  auto notes = note(1, "GNU", {1, 2, 3, 4, 5, 6, 7, 8});
  auto xen_other = note(6, "Xen", le32(7));
  auto entry = note(18, "Xen", le32(0x1000040));
  notes.insert(notes.end(), xen_other.begin(), xen_other.end());
  notes.insert(notes.end(), entry.begin(), entry.end());
  const auto file = pvh_elf(notes);
  auto elf = parse_elf(file);
  ASSERT_TRUE(elf) << elf.error().message;
  auto r = find_pvh_entry(file, *elf);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, 0x1000040u);
}

TEST(Pvh, NoNoteIsNotAnError) {
  const auto file = pvh_elf(note(1, "GNU", {1, 2, 3, 4}));
  auto r = find_pvh_entry(file, *parse_elf(file));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
}

TEST(Pvh, RejectsMalformedNotes) {
  // descsz running past the segment.
  auto n = note(18, "Xen", le32(0x1000000));
  write_le<uint32_t>(n, 4, 0x1000);
  auto file = pvh_elf(n);
  EXPECT_FALSE(find_pvh_entry(file, *parse_elf(file)));
  // A 64-bit entry above 4 GiB.
  std::vector<uint8_t> big(8);
  write_le<uint64_t>(big, 0, 0x100000000ull);
  file = pvh_elf(note(18, "Xen", big));
  EXPECT_FALSE(find_pvh_entry(file, *parse_elf(file)));
  // A 2-byte value.
  file = pvh_elf(note(18, "Xen", {1, 2}));
  EXPECT_FALSE(find_pvh_entry(file, *parse_elf(file)));
  // namesz so large the descriptor offset leaves the segment.
  n = note(18, "Xen", le32(0x1000000));
  write_le<uint32_t>(n, 0, 0xfffffff0u);
  file = pvh_elf(n);
  EXPECT_FALSE(find_pvh_entry(file, *parse_elf(file)));
}

TEST(Pvh, StartInfoLayout) {
  const E820Map map = pc_map(128 << 20);
  PvhParams p;
  p.cmdline_addr = 0x20000;
  p.rsdp_addr = 0xe0000;
  p.memmap_addr = 0x7000;
  p.modlist_addr = 0x6000;
  p.initrd_addr = 0x4000000;
  p.initrd_size = 0x1000;
  const PvhBlobs b = build_pvh_start_info(p, map);
  std::span<const uint8_t> si(b.start_info);
  ASSERT_EQ(si.size(), kHvmStartInfoSize);
  EXPECT_EQ(read_le<uint32_t>(si, 0), kHvmStartMagic);
  EXPECT_EQ(read_le<uint32_t>(si, 4), 1u);
  EXPECT_EQ(read_le<uint32_t>(si, 12), 1u);
  EXPECT_EQ(read_le<uint64_t>(si, 16), 0x6000u);
  EXPECT_EQ(read_le<uint64_t>(si, 24), 0x20000u);
  EXPECT_EQ(read_le<uint64_t>(si, 32), 0xe0000u);
  EXPECT_EQ(read_le<uint64_t>(si, 40), 0x7000u);
  EXPECT_EQ(read_le<uint32_t>(si, 48), map.entries().size());
  ASSERT_EQ(b.memmap.size(), map.entries().size() * kHvmMemmapEntrySize);
  EXPECT_EQ(read_le<uint64_t>(std::span<const uint8_t>(b.memmap), 3 * 24), 0x100000u);
  EXPECT_EQ(read_le<uint32_t>(std::span<const uint8_t>(b.memmap), 3 * 24 + 16), 1u);
  ASSERT_EQ(b.modlist.size(), kHvmModlistEntrySize);
  EXPECT_EQ(read_le<uint64_t>(std::span<const uint8_t>(b.modlist), 0), 0x4000000u);
  EXPECT_EQ(read_le<uint64_t>(std::span<const uint8_t>(b.modlist), 8), 0x1000u);
  // Without an initrd: no modules.
  p.initrd_size = 0;
  const PvhBlobs none = build_pvh_start_info(p, map);
  EXPECT_EQ(read_le<uint32_t>(std::span<const uint8_t>(none.start_info), 12), 0u);
  EXPECT_TRUE(none.modlist.empty());
}

// ---- Multiboot ----

std::vector<uint8_t> multiboot_file(uint32_t flags, size_t at = 64) {
  std::vector<uint8_t> f(0x3000, 0);
  write_le<uint32_t>(f, at, 0x1badb002);
  write_le<uint32_t>(f, at + 4, flags);
  write_le<uint32_t>(f, at + 8, static_cast<uint32_t>(-(0x1badb002u + flags)));
  // Address fields: the file is loaded at 1 MiB, header at 1 MiB + at.
  write_le<uint32_t>(f, at + 12, 0x100000 + static_cast<uint32_t>(at));
  write_le<uint32_t>(f, at + 16, 0x100000);
  write_le<uint32_t>(f, at + 20, 0x102000);
  write_le<uint32_t>(f, at + 24, 0x105000);
  write_le<uint32_t>(f, at + 28, 0x100100);
  return f;
}

TEST(Multiboot, FindsHeaderAndPlacesImage) {
  const auto f = multiboot_file(0x10003, 128);
  auto h = find_multiboot_header(f);
  ASSERT_TRUE(h) << h.error().message;
  ASSERT_TRUE(h->has_value());
  EXPECT_EQ((*h)->offset, 128u);
  ASSERT_TRUE((*h)->has_addresses);
  auto img = multiboot_image(f, **h);
  ASSERT_TRUE(img) << img.error().message;
  EXPECT_EQ(img->file_offset, 0u);
  EXPECT_EQ(img->load_addr, 0x100000u);
  EXPECT_EQ(img->file_bytes, 0x2000u);
  EXPECT_EQ(img->mem_bytes, 0x5000u);
  EXPECT_EQ(img->entry, 0x100100u);
}

TEST(Multiboot, BadChecksumOrUnalignedIsNoHeader) {
  auto f = multiboot_file(0x10000);
  f[64 + 8] ^= 1;
  auto h = find_multiboot_header(f);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->has_value());
  h = find_multiboot_header(multiboot_file(0x10000, 66));  // not 4-byte aligned
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->has_value());
  h = find_multiboot_header(multiboot_file(0x10000, 8192));  // past the search window
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->has_value());
}

TEST(Multiboot, RejectsUnknownRequiredFeaturesAndBadAddresses) {
  auto h = find_multiboot_header(multiboot_file(0x10008));  // bit 3
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, ErrorCode::kUnsupported);

  auto check_bad = [](std::vector<uint8_t> f, const char* what) {
    auto hdr = find_multiboot_header(f);
    ASSERT_TRUE(hdr && hdr->has_value()) << what;
    EXPECT_FALSE(multiboot_image(f, **hdr)) << "accepted " << what;
  };
  auto f = multiboot_file(0x10000);
  write_le<uint32_t>(f, 64 + 12, 0x200000);  // header_addr far past the file start
  check_bad(f, "header_addr beyond the image");
  f = multiboot_file(0x10000);
  write_le<uint32_t>(f, 64 + 20, 0x200000);  // load_end beyond the file
  check_bad(f, "load_end_addr past the file");
  f = multiboot_file(0x10000);
  write_le<uint32_t>(f, 64 + 24, 0x101000);  // bss_end inside the loaded bytes
  check_bad(f, "bss_end_addr inside the image");
  f = multiboot_file(0x10000);
  write_le<uint32_t>(f, 64 + 28, 0x90000);  // entry below the image
  check_bad(f, "entry outside the image");
  // Truncated address fields.
  f = multiboot_file(0x10000, 64);
  f.resize(64 + 20);
  EXPECT_FALSE(find_multiboot_header(f));
}

TEST(Multiboot, InfoLayout) {
  const E820Map map = pc_map(64 << 20);
  MultibootParams p;
  p.info_addr = 0x9000;
  p.cmdline_addr = 0x9100;
  p.loader_name_addr = 0x9200;
  p.mmap_addr = 0x9300;
  p.mods_addr = 0x9400;
  p.initrd_addr = 0x800000;
  p.initrd_size = 0x2000;
  p.initrd_cmdline_addr = 0x9500;
  const MultibootBlobs b = build_multiboot_info(p, map);
  std::span<const uint8_t> info(b.info);
  EXPECT_EQ(read_le<uint32_t>(info, 0), (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
  EXPECT_EQ(read_le<uint32_t>(info, 4), 0x9fc00u >> 10);     // mem_lower KiB
  EXPECT_EQ(read_le<uint32_t>(info, 8), (63u << 20) >> 10);  // mem_upper KiB
  EXPECT_EQ(read_le<uint32_t>(info, 16), 0x9100u);
  EXPECT_EQ(read_le<uint32_t>(info, 20), 1u);
  EXPECT_EQ(read_le<uint32_t>(info, 24), 0x9400u);
  EXPECT_EQ(read_le<uint32_t>(info, 44), map.entries().size() * 24);
  EXPECT_EQ(read_le<uint32_t>(info, 48), 0x9300u);
  EXPECT_EQ(read_le<uint32_t>(info, 64), 0x9200u);
  std::span<const uint8_t> mmap(b.mmap);
  EXPECT_EQ(read_le<uint32_t>(mmap, 0), 20u);
  EXPECT_EQ(read_le<uint64_t>(mmap, 24 * 3 + 4), 0x100000u);
  EXPECT_EQ(read_le<uint32_t>(mmap, 24 * 3 + 20), 1u);
  std::span<const uint8_t> mods(b.mods);
  EXPECT_EQ(read_le<uint32_t>(mods, 0), 0x800000u);
  EXPECT_EQ(read_le<uint32_t>(mods, 4), 0x802000u);
  EXPECT_EQ(read_le<uint32_t>(mods, 8), 0x9500u);
}

}  // namespace
}  // namespace vireo::boot::x86
