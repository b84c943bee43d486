// A tiny in-memory ELF writer for tests: every test starts from a valid file
// and breaks exactly one field, so a rejection can only come from that field.
#pragma once

#include <elf.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace vireo::boot::test {

struct Seg {
  uint64_t paddr;
  std::vector<uint8_t> data;
  uint64_t memsz;
  uint32_t type = PT_LOAD;
};
struct Sym {
  std::string name;
  uint64_t value;
};

struct Layout {
  std::vector<uint8_t> bytes;
  uint64_t phoff = 0;
  std::vector<uint64_t> seg_offsets;
  uint64_t shoff = 0;  // 0: no section headers
  uint64_t strtab_size = 0;
};

template <class T>
void put(std::vector<uint8_t>& b, uint64_t off, const T& v) {
  if (b.size() < off + sizeof(T)) b.resize(off + sizeof(T));
  std::memcpy(b.data() + off, &v, sizeof(T));
}
template <class T>
T get(const std::vector<uint8_t>& b, uint64_t off) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}
// Read-modify-write of a header inside the file.
template <class T, class F>
void patch(std::vector<uint8_t>& b, uint64_t off, F f) {
  T v = get<T>(b, off);
  f(v);
  put(b, off, v);
}

inline uint64_t align8(uint64_t v) { return (v + 7) & ~uint64_t{7}; }

template <class Ehdr, class Phdr, class Shdr, class SymT>
Layout build(uint16_t machine, uint64_t entry, const std::vector<Seg>& segs,
             const std::vector<Sym>& syms, uint16_t type) {
  constexpr bool k64 = sizeof(Ehdr) == sizeof(Elf64_Ehdr);
  Layout l;
  Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = k64 ? ELFCLASS64 : ELFCLASS32;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = type;
  eh.e_machine = machine;
  eh.e_version = EV_CURRENT;
  eh.e_entry = static_cast<decltype(eh.e_entry)>(entry);
  eh.e_ehsize = sizeof(Ehdr);
  eh.e_phentsize = sizeof(Phdr);
  eh.e_phnum = static_cast<uint16_t>(segs.size());
  eh.e_phoff = sizeof(Ehdr);
  eh.e_shentsize = sizeof(Shdr);
  l.phoff = eh.e_phoff;

  uint64_t off = align8(sizeof(Ehdr) + segs.size() * sizeof(Phdr));
  for (size_t i = 0; i < segs.size(); ++i) {
    const Seg& s = segs[i];
    Phdr ph{};
    ph.p_type = s.type;
    ph.p_flags = PF_R | PF_X;
    ph.p_offset = static_cast<decltype(ph.p_offset)>(off);
    ph.p_vaddr = ph.p_paddr = static_cast<decltype(ph.p_paddr)>(s.paddr);
    ph.p_filesz = static_cast<decltype(ph.p_filesz)>(s.data.size());
    ph.p_memsz = static_cast<decltype(ph.p_memsz)>(s.memsz);
    ph.p_align = 8;
    put(l.bytes, l.phoff + i * sizeof(Phdr), ph);
    l.seg_offsets.push_back(off);
    l.bytes.resize(off);
    l.bytes.insert(l.bytes.end(), s.data.begin(), s.data.end());
    off = align8(l.bytes.size());
  }
  l.bytes.resize(std::max<uint64_t>(off, l.bytes.size()));

  if (!syms.empty()) {
    // .strtab, then .symtab (a null symbol first), then headers: null, symtab, strtab.
    std::string strtab(1, '\0');
    std::vector<SymT> table(1);
    for (const auto& s : syms) {
      SymT st{};
      st.st_name = static_cast<uint32_t>(strtab.size());
      st.st_value = static_cast<decltype(st.st_value)>(s.value);
      st.st_info =
          k64 ? ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT) : ELF32_ST_INFO(STB_GLOBAL, STT_OBJECT);
      st.st_shndx = SHN_ABS;
      table.push_back(st);
      strtab += s.name;
      strtab.push_back('\0');
    }
    const uint64_t str_off = l.bytes.size();
    l.bytes.insert(l.bytes.end(), strtab.begin(), strtab.end());
    const uint64_t sym_off = align8(l.bytes.size());
    l.bytes.resize(sym_off);
    for (size_t i = 0; i < table.size(); ++i) put(l.bytes, sym_off + i * sizeof(SymT), table[i]);
    l.shoff = align8(l.bytes.size());
    Shdr null{}, symtab{}, strsec{};
    symtab.sh_type = SHT_SYMTAB;
    symtab.sh_offset = static_cast<decltype(symtab.sh_offset)>(sym_off);
    symtab.sh_size = static_cast<decltype(symtab.sh_size)>(table.size() * sizeof(SymT));
    symtab.sh_link = 2;
    symtab.sh_entsize = sizeof(SymT);
    strsec.sh_type = SHT_STRTAB;
    strsec.sh_offset = static_cast<decltype(strsec.sh_offset)>(str_off);
    strsec.sh_size = static_cast<decltype(strsec.sh_size)>(strtab.size());
    l.strtab_size = strtab.size();
    put(l.bytes, l.shoff, null);
    put(l.bytes, l.shoff + sizeof(Shdr), symtab);
    put(l.bytes, l.shoff + 2 * sizeof(Shdr), strsec);
    eh.e_shoff = static_cast<decltype(eh.e_shoff)>(l.shoff);
    eh.e_shnum = 3;
  }
  put(l.bytes, 0, eh);
  return l;
}

inline Layout build64(const std::vector<Seg>& segs, const std::vector<Sym>& syms = {},
                      uint64_t entry = 0x8000'0000, uint16_t type = ET_EXEC) {
  return build<Elf64_Ehdr, Elf64_Phdr, Elf64_Shdr, Elf64_Sym>(EM_RISCV, entry, segs, syms, type);
}
inline Layout build32(const std::vector<Seg>& segs, const std::vector<Sym>& syms = {},
                      uint64_t entry = 0x0010'0000) {
  return build<Elf32_Ehdr, Elf32_Phdr, Elf32_Shdr, Elf32_Sym>(EM_386, entry, segs, syms, ET_EXEC);
}

}  // namespace vireo::boot::test
