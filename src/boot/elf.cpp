#include "boot/elf.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace vireo::boot {
namespace {

// Bounds-checked read of a trivially copyable header at `off`.
template <class T>
bool read_at(std::span<const uint8_t> file, uint64_t off, T& out) {
  if (off > file.size() || sizeof(T) > file.size() - off) return false;
  std::memcpy(&out, file.data() + off, sizeof(T));
  return true;
}

bool range_in_file(std::span<const uint8_t> file, uint64_t off, uint64_t len) {
  return off <= file.size() && len <= file.size() - off;
}

Result<ElfInfo> bad(std::string why) {
  return make_error(ErrorCode::kBadFormat, "invalid ELF file: " + why);
}

// Program headers of either class converted to one form.
template <class Ehdr, class Phdr>
Result<ElfInfo> parse_class(std::span<const uint8_t> file, bool is64) {
  Ehdr eh;
  if (!read_at(file, 0, eh)) return bad("truncated header");
  ElfInfo info;
  info.is64 = is64;
  info.machine = eh.e_machine;
  info.entry = eh.e_entry;
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return bad("not an executable");
  if (eh.e_phnum == 0) return bad("no program headers");
  if (eh.e_phentsize != sizeof(Phdr)) return bad("unexpected program header size");
  if (eh.e_phnum > 256) return bad("too many program headers");
  const uint64_t ph_bytes = uint64_t{eh.e_phnum} * sizeof(Phdr);
  if (!range_in_file(file, eh.e_phoff, ph_bytes)) return bad("program headers past end of file");
  info.lowest = UINT64_MAX;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Phdr ph;
    read_at(file, eh.e_phoff + uint64_t{i} * sizeof(Phdr), ph);
    if (ph.p_type == PT_NOTE) {
      if (!range_in_file(file, ph.p_offset, ph.p_filesz)) return bad("notes past end of file");
      info.notes.push_back({ph.p_offset, ph.p_filesz});
      continue;
    }
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    if (ph.p_filesz > ph.p_memsz) return bad("segment file size exceeds memory size");
    if (!range_in_file(file, ph.p_offset, ph.p_filesz)) return bad("segment past end of file");
    uint64_t end;
    if (__builtin_add_overflow(uint64_t{ph.p_paddr}, uint64_t{ph.p_memsz}, &end)) {
      return bad("segment wraps the address space");
    }
    info.segments.push_back({ph.p_paddr, ph.p_offset, ph.p_filesz, ph.p_memsz});
    info.lowest = std::min<uint64_t>(info.lowest, ph.p_paddr);
    info.highest = std::max(info.highest, end);
  }
  if (info.segments.empty()) return bad("no loadable segments");
  return info;
}

}  // namespace

bool is_elf(std::span<const uint8_t> file) {
  return file.size() >= SELFMAG && std::memcmp(file.data(), ELFMAG, SELFMAG) == 0;
}

Result<ElfInfo> parse_elf(std::span<const uint8_t> file) {
  if (file.size() < EI_NIDENT || !is_elf(file)) return bad("no ELF magic");
  if (file[EI_DATA] != ELFDATA2LSB) return bad("not little-endian");
  if (file[EI_CLASS] == ELFCLASS64) return parse_class<Elf64_Ehdr, Elf64_Phdr>(file, true);
  if (file[EI_CLASS] == ELFCLASS32) return parse_class<Elf32_Ehdr, Elf32_Phdr>(file, false);
  return bad("unknown ELF class");
}

Result<void> load_elf(std::span<const uint8_t> file, const ElfInfo& info, const GuestMemory& mem) {
  for (const auto& seg : info.segments) {
    if (!mem.contains(GuestAddr(seg.paddr), seg.mem_size)) {
      return make_error(ErrorCode::kOutOfRange,
                        fmt::format("ELF segment at {:#x} (+{:#x} bytes) is outside guest RAM; "
                                    "give more --memory or link the program inside RAM",
                                    seg.paddr, seg.mem_size));
    }
    auto w = mem.write(GuestAddr(seg.paddr), file.subspan(seg.file_offset, seg.file_size));
    if (!w) return w;
    auto z = mem.fill(GuestAddr(seg.paddr + seg.file_size), 0, seg.mem_size - seg.file_size);
    if (!z) return z;
  }
  return {};
}

namespace {
template <class Ehdr, class Shdr, class Sym>
std::optional<uint64_t> find_symbol_class(std::span<const uint8_t> file, std::string_view name) {
  Ehdr eh;
  if (!read_at(file, 0, eh) || eh.e_shentsize != sizeof(Shdr)) return std::nullopt;
  for (unsigned i = 0; i < eh.e_shnum; ++i) {
    Shdr sh;
    if (!read_at(file, eh.e_shoff + uint64_t{i} * sizeof(Shdr), sh)) return std::nullopt;
    if (sh.sh_type != SHT_SYMTAB || sh.sh_entsize != sizeof(Sym)) continue;
    Shdr strtab;
    if (sh.sh_link >= eh.e_shnum ||
        !read_at(file, eh.e_shoff + uint64_t{sh.sh_link} * sizeof(Shdr), strtab)) {
      return std::nullopt;
    }
    if (!range_in_file(file, sh.sh_offset, sh.sh_size) ||
        !range_in_file(file, strtab.sh_offset, strtab.sh_size)) {
      return std::nullopt;
    }
    const auto* strs = reinterpret_cast<const char*>(file.data() + strtab.sh_offset);
    for (uint64_t off = 0; off + sizeof(Sym) <= sh.sh_size; off += sizeof(Sym)) {
      Sym sym;
      read_at(file, sh.sh_offset + off, sym);
      if (sym.st_name >= strtab.sh_size) continue;
      const char* s = strs + sym.st_name;
      const size_t max_len = strtab.sh_size - sym.st_name;
      if (strnlen(s, max_len) == name.size() && std::memcmp(s, name.data(), name.size()) == 0) {
        return sym.st_value;
      }
    }
  }
  return std::nullopt;
}
}  // namespace

std::optional<uint64_t> find_elf_symbol(std::span<const uint8_t> file, std::string_view name) {
  if (file.size() < EI_NIDENT || !is_elf(file)) return std::nullopt;
  if (file[EI_CLASS] == ELFCLASS64) {
    return find_symbol_class<Elf64_Ehdr, Elf64_Shdr, Elf64_Sym>(file, name);
  }
  return find_symbol_class<Elf32_Ehdr, Elf32_Shdr, Elf32_Sym>(file, name);
}

Result<std::vector<uint8_t>> read_file(const std::string& path, std::string_view what) {
  // O_NONBLOCK: opening a FIFO must not hang; non-regular files are rejected below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return make_error(ErrorCode::kNotFound,
                        fmt::format("{} '{}' does not exist: check the path", what, path));
    }
    if (err == EACCES) {
      return make_error(ErrorCode::kPermission,
                        fmt::format("{} '{}' is not readable: check its permissions", what, path));
    }
    return make_error(ErrorCode::kIo,
                      fmt::format("cannot open {} '{}': {}", what, path, std::strerror(err)));
  }
  struct stat st;
  if (::fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("{} '{}' is not a regular file", what, path));
  }
  std::vector<uint8_t> data(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n <= 0) {
      ::close(fd);
      return make_error(ErrorCode::kIo, fmt::format("cannot read {} '{}'", what, path));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return data;
}

}  // namespace vireo::boot
