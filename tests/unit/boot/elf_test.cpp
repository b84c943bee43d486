#include "boot/elf.hpp"

#include "elf_writer.hpp"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace vireo::boot {
namespace {

using namespace test;

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

// Two segments: text (no bss) and data with a bss tail.
Layout good64() {
  return build64({{0x8000'0000, pattern(100, 1), 100}, {0x8000'2000, pattern(16, 9), 0x40}});
}

void expect_bad(const std::vector<uint8_t>& file, const char* why) {
  auto r = parse_elf(file);
  ASSERT_FALSE(r) << "accepted a file with " << why;
  EXPECT_EQ(r.error().code, ErrorCode::kBadFormat) << why;
  EXPECT_NE(r.error().message.find("ELF"), std::string::npos) << r.error().message;
}

// ---- Parsing valid files

TEST(ParseElf, Elf64) {
  Layout l = good64();
  EXPECT_TRUE(is_elf(l.bytes));
  auto r = parse_elf(l.bytes);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->is64);
  EXPECT_EQ(r->machine, static_cast<uint16_t>(ElfMachine::kRiscv));
  EXPECT_EQ(r->entry, 0x8000'0000u);
  ASSERT_EQ(r->segments.size(), 2u);
  EXPECT_EQ(r->segments[0].paddr, 0x8000'0000u);
  EXPECT_EQ(r->segments[0].file_offset, l.seg_offsets[0]);
  EXPECT_EQ(r->segments[0].file_size, 100u);
  EXPECT_EQ(r->segments[0].mem_size, 100u);
  EXPECT_EQ(r->segments[1].paddr, 0x8000'2000u);
  EXPECT_EQ(r->segments[1].file_size, 16u);
  EXPECT_EQ(r->segments[1].mem_size, 0x40u);
  EXPECT_EQ(r->lowest, 0x8000'0000u);
  EXPECT_EQ(r->highest, 0x8000'2040u);
}

TEST(ParseElf, Elf32) {
  Layout l = build32({{0x0010'0000, pattern(64, 3), 0x100}});
  auto r = parse_elf(l.bytes);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->is64);
  EXPECT_EQ(r->machine, static_cast<uint16_t>(ElfMachine::kX86));
  EXPECT_EQ(r->entry, 0x0010'0000u);
  ASSERT_EQ(r->segments.size(), 1u);
  EXPECT_EQ(r->segments[0].file_size, 64u);
  EXPECT_EQ(r->segments[0].mem_size, 0x100u);
  EXPECT_EQ(r->lowest, 0x0010'0000u);
  EXPECT_EQ(r->highest, 0x0010'0100u);
}

TEST(ParseElf, SkipsNonLoadAndEmptySegments) {
  Layout l = build64({{0x1000, pattern(8, 0), 8, PT_NOTE},
                      {0x9000'0000, {}, 0},  // PT_LOAD of size 0: nothing to load
                      {0x8000'0000, pattern(8, 0), 8}});
  auto r = parse_elf(l.bytes);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->segments.size(), 1u);
  EXPECT_EQ(r->lowest, 0x8000'0000u);
  EXPECT_EQ(r->highest, 0x8000'0008u);
}

TEST(ParseElf, AcceptsEtDynRejectsRelocatable) {
  EXPECT_TRUE(parse_elf(build64({{0x8000'0000, pattern(8, 0), 8}}, {}, 0, ET_DYN).bytes));
  expect_bad(build64({{0x8000'0000, pattern(8, 0), 8}}, {}, 0, ET_REL).bytes, "ET_REL");
  expect_bad(build64({{0x8000'0000, pattern(8, 0), 8}}, {}, 0, ET_CORE).bytes, "ET_CORE");
}

// ---- Hostile headers

TEST(ParseElfHostile, NotElfAtAll) {
  expect_bad({}, "an empty file");
  expect_bad({0x7f, 'E', 'L', 'F'}, "only the magic");
  std::vector<uint8_t> junk(128, 0x41);
  EXPECT_FALSE(is_elf(junk));
  expect_bad(junk, "no magic");
}

TEST(ParseElfHostile, BadIdent) {
  Layout l = good64();
  auto be = l.bytes;
  be[EI_DATA] = ELFDATA2MSB;
  expect_bad(be, "big-endian data");
  auto cls = l.bytes;
  cls[EI_CLASS] = ELFCLASSNONE;
  expect_bad(cls, "class NONE");
  cls[EI_CLASS] = 7;
  expect_bad(cls, "class 7");
}

TEST(ParseElfHostile, TruncatedHeader) {
  Layout l = good64();
  for (size_t n : {size_t{EI_NIDENT}, size_t{40}, sizeof(Elf64_Ehdr) - 1}) {
    std::vector<uint8_t> cut(l.bytes.begin(), l.bytes.begin() + static_cast<ptrdiff_t>(n));
    expect_bad(cut, "a truncated header");
  }
  // A 64-byte file that claims ELF32: the header fits, the program headers do not.
  std::vector<uint8_t> cut(l.bytes.begin(), l.bytes.begin() + sizeof(Elf64_Ehdr));
  cut[EI_CLASS] = ELFCLASS32;
  expect_bad(cut, "ELF32 header over an ELF64 file");
}

TEST(ParseElfHostile, ProgramHeaderTable) {
  Layout l = good64();
  auto at = [&](auto f) {
    auto b = l.bytes;
    patch<Elf64_Ehdr>(b, 0, f);
    return b;
  };
  expect_bad(at([&](Elf64_Ehdr& e) { e.e_phoff = l.bytes.size(); }), "phoff at end of file");
  expect_bad(at([&](Elf64_Ehdr& e) { e.e_phoff = l.bytes.size() - sizeof(Elf64_Phdr); }),
             "the second program header past the end");
  expect_bad(at([](Elf64_Ehdr& e) { e.e_phoff = UINT64_MAX - 8; }), "phoff + size wrapping");
  expect_bad(at([](Elf64_Ehdr& e) { e.e_phnum = 0xffff; }), "phnum 0xffff");
  expect_bad(at([](Elf64_Ehdr& e) { e.e_phnum = 257; }), "phnum 257");
  expect_bad(at([](Elf64_Ehdr& e) { e.e_phnum = 0; }), "no program headers");
  expect_bad(at([](Elf64_Ehdr& e) { e.e_phentsize = sizeof(Elf32_Phdr); }), "phentsize 32");
  expect_bad(at([](Elf64_Ehdr& e) { e.e_phentsize = 0; }), "phentsize 0");
}

TEST(ParseElfHostile, SegmentFields) {
  Layout l = good64();
  auto seg = [&](int i, auto f) {
    auto b = l.bytes;
    patch<Elf64_Phdr>(b, l.phoff + i * sizeof(Elf64_Phdr), f);
    return b;
  };
  expect_bad(seg(1, [](Elf64_Phdr& p) { p.p_filesz = p.p_memsz + 1; }), "filesz > memsz");
  expect_bad(seg(0, [&](Elf64_Phdr& p) { p.p_offset = l.bytes.size() - 99; }),
             "segment data running past the end");
  expect_bad(seg(0, [&](Elf64_Phdr& p) { p.p_offset = l.bytes.size() + 1; }),
             "segment offset past the end");
  expect_bad(seg(0, [](Elf64_Phdr& p) { p.p_offset = UINT64_MAX - 10; }),
             "segment offset + size wrapping");
  expect_bad(seg(1, [](Elf64_Phdr& p) { p.p_paddr = UINT64_MAX - 0x1f; }),
             "paddr + memsz wrapping");
  expect_bad(seg(1, [](Elf64_Phdr& p) { p.p_paddr = UINT64_MAX - 0x3f; }),
             "paddr + memsz reaching 2^64");
  expect_bad(seg(1, [](Elf64_Phdr& p) { p.p_memsz = UINT64_MAX; }), "memsz UINT64_MAX");
  // A huge bss is fine for the parser (no file bytes); loading rejects it.
  auto huge_bss = seg(1, [](Elf64_Phdr& p) { p.p_memsz = 1ull << 40; });
  EXPECT_TRUE(parse_elf(huge_bss));
}

TEST(ParseElfHostile, NoLoadableSegment) {
  expect_bad(
      build64({{0x1000, pattern(8, 0), 8, PT_NOTE}, {0x2000, pattern(8, 0), 8, PT_DYNAMIC}}).bytes,
      "no PT_LOAD");
  expect_bad(build64({{0x8000'0000, {}, 0}}).bytes, "only empty PT_LOADs");
}

TEST(ParseElfHostile, Elf32Fields) {
  Layout l = build32({{0x0010'0000, pattern(64, 3), 0x100}});
  auto b = l.bytes;
  patch<Elf32_Phdr>(b, l.phoff, [](Elf32_Phdr& p) { p.p_filesz = 0x101; });
  expect_bad(b, "ELF32 filesz > memsz");
  b = l.bytes;
  patch<Elf32_Phdr>(b, l.phoff, [](Elf32_Phdr& p) { p.p_offset = 0xffffff00; });
  expect_bad(b, "ELF32 offset past the end");
  b = l.bytes;
  patch<Elf32_Ehdr>(b, 0, [](Elf32_Ehdr& e) { e.e_phentsize = sizeof(Elf64_Phdr); });
  expect_bad(b, "ELF32 with 64-bit phentsize");
}

// ---- Loading

class LoadElf : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mem_.add_ram(GuestAddr(0x8000'0000), 0x10000));
    // Poison RAM so zero-filling is observable.
    ASSERT_TRUE(mem_.fill(GuestAddr(0x8000'0000), 0xcc, 0x10000));
  }
  std::vector<uint8_t> guest(uint64_t addr, size_t n) {
    std::vector<uint8_t> out(n);
    EXPECT_TRUE(mem_.read(GuestAddr(addr), out));
    return out;
  }
  GuestMemory mem_;
};

TEST_F(LoadElf, CopiesSegmentsAndZeroesBss) {
  Layout l = good64();
  auto info = parse_elf(l.bytes);
  ASSERT_TRUE(info);
  ASSERT_TRUE(load_elf(l.bytes, *info, mem_));
  EXPECT_EQ(guest(0x8000'0000, 100), pattern(100, 1));
  EXPECT_EQ(guest(0x8000'0064, 1), std::vector<uint8_t>{0xcc});  // after text: untouched
  EXPECT_EQ(guest(0x8000'2000, 16), pattern(16, 9));
  EXPECT_EQ(guest(0x8000'2010, 0x30), std::vector<uint8_t>(0x30, 0));  // bss
  EXPECT_EQ(guest(0x8000'2040, 1), std::vector<uint8_t>{0xcc});
}

TEST_F(LoadElf, Elf32) {
  Layout l = build32({{0x8000'1000, pattern(64, 3), 0x100}});
  auto info = parse_elf(l.bytes);
  ASSERT_TRUE(info);
  ASSERT_TRUE(load_elf(l.bytes, *info, mem_));
  EXPECT_EQ(guest(0x8000'1000, 64), pattern(64, 3));
  EXPECT_EQ(guest(0x8000'1040, 0xc0), std::vector<uint8_t>(0xc0, 0));
}

TEST_F(LoadElf, SegmentOutsideRamIsAnErrorAndWritesNothingForIt) {
  for (uint64_t paddr : {0x1000ull, 0x7fff'fff0ull, 0x8000'fff0ull, 0x8001'0000ull}) {
    Layout l = build64({{paddr, pattern(32, 5), 32}});
    auto info = parse_elf(l.bytes);
    ASSERT_TRUE(info);
    auto r = load_elf(l.bytes, *info, mem_);
    ASSERT_FALSE(r) << std::hex << paddr;
    EXPECT_EQ(r.error().code, ErrorCode::kOutOfRange);
  }
  // A bss tail past the end of RAM fails even though the file bytes fit.
  Layout l = build64({{0x8000'f000, pattern(32, 5), 0x1001}});
  auto info = parse_elf(l.bytes);
  ASSERT_TRUE(info);
  EXPECT_FALSE(load_elf(l.bytes, *info, mem_));
  EXPECT_EQ(guest(0x8000'f000, 1), std::vector<uint8_t>{0xcc});
}

TEST_F(LoadElf, SegmentEndingExactlyAtTheEndOfRam) {
  Layout l = build64({{0x8000'ff00, pattern(0x80, 5), 0x100}});
  auto info = parse_elf(l.bytes);
  ASSERT_TRUE(info);
  ASSERT_TRUE(load_elf(l.bytes, *info, mem_));
  EXPECT_EQ(guest(0x8000'ffff, 1), std::vector<uint8_t>{0});
}

// ---- Symbols

Layout with_syms64() {
  return build64({{0x8000'0000, pattern(16, 0), 16}},
                 {{"fromhost", 0x8000'1040}, {"tohost", 0x8000'1000}, {"_start", 0x8000'0000}});
}

TEST(FindElfSymbol, Elf64) {
  Layout l = with_syms64();
  EXPECT_EQ(find_elf_symbol(l.bytes, "tohost"), 0x8000'1000u);
  EXPECT_EQ(find_elf_symbol(l.bytes, "fromhost"), 0x8000'1040u);
  EXPECT_EQ(find_elf_symbol(l.bytes, "_start"), 0x8000'0000u);
  EXPECT_FALSE(find_elf_symbol(l.bytes, "missing"));
  // Whole-name matches only.
  EXPECT_FALSE(find_elf_symbol(l.bytes, "tohos"));
  EXPECT_FALSE(find_elf_symbol(l.bytes, "tohostx"));
  EXPECT_FALSE(find_elf_symbol(l.bytes, "host"));
}

TEST(FindElfSymbol, Elf32) {
  Layout l = build32({{0x0010'0000, pattern(16, 0), 16}}, {{"tohost", 0x0010'2000}});
  EXPECT_EQ(find_elf_symbol(l.bytes, "tohost"), 0x0010'2000u);
  EXPECT_FALSE(find_elf_symbol(l.bytes, "fromhost"));
}

TEST(FindElfSymbol, NoSectionsOrNotElf) {
  EXPECT_FALSE(find_elf_symbol(good64().bytes, "tohost"));
  EXPECT_FALSE(find_elf_symbol({}, "tohost"));
  EXPECT_FALSE(find_elf_symbol(std::vector<uint8_t>(64, 0), "tohost"));
  Layout l = with_syms64();
  std::vector<uint8_t> cut(l.bytes.begin(), l.bytes.begin() + 20);
  EXPECT_FALSE(find_elf_symbol(cut, "tohost"));
}

TEST(FindElfSymbol, BadStringTableLink) {
  Layout l = with_syms64();
  const uint64_t symtab_hdr = l.shoff + sizeof(Elf64_Shdr);
  for (uint32_t link : {3u, 100u, 0xffffffffu}) {
    auto b = l.bytes;
    patch<Elf64_Shdr>(b, symtab_hdr, [&](Elf64_Shdr& s) { s.sh_link = link; });
    EXPECT_FALSE(find_elf_symbol(b, "tohost")) << link;
  }
  // A link to a header that is itself out of the file.
  auto b = l.bytes;
  patch<Elf64_Ehdr>(b, 0, [](Elf64_Ehdr& e) { e.e_shnum = 200; });
  patch<Elf64_Shdr>(b, symtab_hdr, [](Elf64_Shdr& s) { s.sh_link = 150; });
  EXPECT_FALSE(find_elf_symbol(b, "tohost"));
}

TEST(FindElfSymbol, NameOffsetPastStringTable) {
  Layout l = with_syms64();
  const uint64_t symtab_hdr = l.shoff + sizeof(Elf64_Shdr);
  const auto symtab = get<Elf64_Shdr>(l.bytes, symtab_hdr);
  // Symbol 1 is "fromhost": point its name just past, and far past, the table.
  for (uint32_t name : {static_cast<uint32_t>(l.strtab_size), 0xfffffff0u}) {
    auto b = l.bytes;
    patch<Elf64_Sym>(b, symtab.sh_offset + sizeof(Elf64_Sym),
                     [&](Elf64_Sym& s) { s.st_name = name; });
    EXPECT_FALSE(find_elf_symbol(b, "fromhost"));
    EXPECT_EQ(find_elf_symbol(b, "tohost"), 0x8000'1000u);  // the others still resolve
  }
}

TEST(FindElfSymbol, UnterminatedNameAtTheEndOfTheStringTable) {
  // The last name loses its NUL: the lookup may match it but must not read
  // past the table.
  Layout l = with_syms64();
  const uint64_t strtab_hdr = l.shoff + 2 * sizeof(Elf64_Shdr);
  auto b = l.bytes;
  patch<Elf64_Shdr>(b, strtab_hdr, [](Elf64_Shdr& s) { s.sh_size -= 1; });
  EXPECT_EQ(find_elf_symbol(b, "_start"), 0x8000'0000u);
  EXPECT_FALSE(find_elf_symbol(b, "_star"));
  EXPECT_EQ(find_elf_symbol(b, "tohost"), 0x8000'1000u);
}

TEST(FindElfSymbol, TablesOutsideTheFile) {
  Layout l = with_syms64();
  const uint64_t symtab_hdr = l.shoff + sizeof(Elf64_Shdr);
  const uint64_t strtab_hdr = l.shoff + 2 * sizeof(Elf64_Shdr);
  auto sec = [&](uint64_t hdr, auto f) {
    auto b = l.bytes;
    patch<Elf64_Shdr>(b, hdr, f);
    return b;
  };
  EXPECT_FALSE(
      find_elf_symbol(sec(symtab_hdr, [](Elf64_Shdr& s) { s.sh_size = 1 << 20; }), "tohost"));
  EXPECT_FALSE(find_elf_symbol(sec(symtab_hdr, [](Elf64_Shdr& s) { s.sh_offset = UINT64_MAX - 8; }),
                               "tohost"));
  EXPECT_FALSE(
      find_elf_symbol(sec(strtab_hdr, [](Elf64_Shdr& s) { s.sh_offset = UINT64_MAX; }), "tohost"));
  EXPECT_FALSE(
      find_elf_symbol(sec(strtab_hdr, [](Elf64_Shdr& s) { s.sh_size = UINT64_MAX; }), "tohost"));
  // Section headers past the end of the file, or a wrapping shoff.
  auto b = l.bytes;
  patch<Elf64_Ehdr>(b, 0, [&](Elf64_Ehdr& e) { e.e_shoff = l.bytes.size(); });
  EXPECT_FALSE(find_elf_symbol(b, "tohost"));
  patch<Elf64_Ehdr>(b, 0, [&](Elf64_Ehdr& e) { e.e_shoff = UINT64_MAX - 0x20; });
  EXPECT_FALSE(find_elf_symbol(b, "tohost"));
  // Wrong entry sizes: the table is skipped rather than misread.
  EXPECT_FALSE(
      find_elf_symbol(sec(symtab_hdr, [](Elf64_Shdr& s) { s.sh_entsize = 16; }), "tohost"));
  b = l.bytes;
  patch<Elf64_Ehdr>(b, 0, [](Elf64_Ehdr& e) { e.e_shentsize = 40; });
  EXPECT_FALSE(find_elf_symbol(b, "tohost"));
}

TEST(FindElfSymbol, SymtabSizeNotAMultipleOfTheEntrySize) {
  Layout l = with_syms64();
  const uint64_t symtab_hdr = l.shoff + sizeof(Elf64_Shdr);
  auto b = l.bytes;
  // Cut the last entry ("_start") in half: the whole entries still resolve.
  patch<Elf64_Shdr>(b, symtab_hdr, [](Elf64_Shdr& s) { s.sh_size -= sizeof(Elf64_Sym) / 2; });
  EXPECT_EQ(find_elf_symbol(b, "tohost"), 0x8000'1000u);
  EXPECT_FALSE(find_elf_symbol(b, "_start"));
}

}  // namespace
}  // namespace vireo::boot
