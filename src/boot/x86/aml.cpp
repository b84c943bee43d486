#include "boot/x86/aml.hpp"

#include <cstdlib>

namespace vireo::boot::x86 {
namespace {

constexpr uint8_t kZeroOp = 0x00, kOneOp = 0x01, kOnesOp = 0xff;
constexpr uint8_t kBytePrefix = 0x0a, kWordPrefix = 0x0b, kDWordPrefix = 0x0c;
constexpr uint8_t kStringPrefix = 0x0d, kQWordPrefix = 0x0e;
constexpr uint8_t kNameOp = 0x08, kScopeOp = 0x10, kBufferOp = 0x11, kPackageOp = 0x12;
constexpr uint8_t kExtOpPrefix = 0x5b, kDeviceOp = 0x82;
constexpr uint8_t kRootChar = '\\', kDualNamePrefix = 0x2e, kMultiNamePrefix = 0x2f;

bool is_lead_char(char c) { return (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_lead_char(c) || (c >= '0' && c <= '9'); }

}  // namespace

// NameSegs are 4 characters, padded with '_'; a path is "\\_SB.COM1" or
// "COM1". A malformed name is a bug in Vireo's own table code: abort.
void Aml::name_string_encoding(std::string_view name) {
  if (!name.empty() && name[0] == '\\') {
    bytes_.push_back(kRootChar);
    name.remove_prefix(1);
  }
  std::vector<std::string_view> segs;
  while (!name.empty()) {
    const size_t dot = name.find('.');
    segs.push_back(name.substr(0, dot));
    name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
  }
  if (segs.size() == 2) bytes_.push_back(kDualNamePrefix);
  if (segs.size() > 2) {
    bytes_.push_back(kMultiNamePrefix);
    bytes_.push_back(static_cast<uint8_t>(segs.size()));
  }
  if (segs.empty()) {
    bytes_.push_back(0);  // NullName
    return;
  }
  for (std::string_view seg : segs) {
    if (seg.empty() || seg.size() > 4 || !is_lead_char(seg[0])) std::abort();
    for (size_t i = 0; i < 4; ++i) {
      const char c = i < seg.size() ? seg[i] : '_';
      if (!is_name_char(c)) std::abort();
      bytes_.push_back(static_cast<uint8_t>(c));
    }
  }
}

// PkgLength counts itself: 1 byte up to 63, else 2..4 bytes with the count
// of following bytes in bits 7:6 of the first.
void Aml::pkg_length(size_t body_length) {
  for (unsigned extra = 0; extra <= 3; ++extra) {
    const size_t total = body_length + 1 + extra;
    if (extra == 0 && total <= 0x3f) {
      bytes_.push_back(static_cast<uint8_t>(total));
      return;
    }
    if (extra > 0 && total < (size_t{1} << (4 + 8 * extra))) {
      bytes_.push_back(static_cast<uint8_t>((extra << 6) | (total & 0xf)));
      for (unsigned i = 0; i < extra; ++i) {
        bytes_.push_back(static_cast<uint8_t>(total >> (4 + 8 * i)));
      }
      return;
    }
  }
  std::abort();  // over 256 MiB of AML
}

void Aml::integer_encoding(uint64_t value) {
  auto le = [this](uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  if (value == 0) {
    bytes_.push_back(kZeroOp);
  } else if (value == 1) {
    bytes_.push_back(kOneOp);
  } else if (value == ~uint64_t{0}) {
    bytes_.push_back(kOnesOp);
  } else if (value <= 0xff) {
    bytes_.push_back(kBytePrefix);
    le(value, 1);
  } else if (value <= 0xffff) {
    bytes_.push_back(kWordPrefix);
    le(value, 2);
  } else if (value <= 0xffffffff) {
    bytes_.push_back(kDWordPrefix);
    le(value, 4);
  } else {
    bytes_.push_back(kQWordPrefix);
    le(value, 8);
  }
}

Aml& Aml::append(const Aml& other) {
  bytes_.insert(bytes_.end(), other.bytes_.begin(), other.bytes_.end());
  return *this;
}

Aml Aml::integer(uint64_t value) {
  Aml a;
  a.integer_encoding(value);
  return a;
}

Aml& Aml::name_integer(std::string_view name, uint64_t value) {
  return name_object(name, integer(value));
}

Aml& Aml::name_string(std::string_view name, std::string_view value) {
  Aml s;
  s.bytes_.push_back(kStringPrefix);
  for (char c : value) {
    if (c == 0 || static_cast<unsigned char>(c) > 0x7f) std::abort();
    s.bytes_.push_back(static_cast<uint8_t>(c));
  }
  s.bytes_.push_back(0);
  return name_object(name, s);
}

Aml& Aml::name_object(std::string_view name, const Aml& object) {
  bytes_.push_back(kNameOp);
  name_string_encoding(name);
  return append(object);
}

// EisaId("PNP0501"): three letters (5 bits each, 'A' = 1) and four hex
// digits, stored big-endian in a DWord.
Aml& Aml::name_eisa_id(std::string_view name, std::string_view id) {
  if (id.size() != 7) std::abort();
  auto hex = [](char c) -> uint32_t {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    std::abort();
  };
  const uint32_t letters =
      (uint32_t(id[0] - 0x40) << 10) | (uint32_t(id[1] - 0x40) << 5) | uint32_t(id[2] - 0x40);
  const uint32_t digits = (hex(id[3]) << 12) | (hex(id[4]) << 8) | (hex(id[5]) << 4) | hex(id[6]);
  const uint32_t big = (letters << 16) | digits;
  const uint32_t value = __builtin_bswap32(big);
  return name_integer(name, value);
}

Aml& Aml::scope(std::string_view name, const Aml& body) {
  Aml inner;
  inner.name_string_encoding(name);
  inner.append(body);
  bytes_.push_back(kScopeOp);
  pkg_length(inner.bytes_.size());
  return append(inner);
}

Aml& Aml::device(std::string_view name, const Aml& body) {
  Aml inner;
  inner.name_string_encoding(name);
  inner.append(body);
  bytes_.push_back(kExtOpPrefix);
  bytes_.push_back(kDeviceOp);
  pkg_length(inner.bytes_.size());
  return append(inner);
}

Aml Aml::package(std::span<const uint64_t> integers) {
  if (integers.size() > 255) std::abort();
  Aml inner;
  inner.bytes_.push_back(static_cast<uint8_t>(integers.size()));
  for (uint64_t v : integers) inner.integer_encoding(v);
  Aml a;
  a.bytes_.push_back(kPackageOp);
  a.pkg_length(inner.bytes_.size());
  return a.append(inner);
}

Aml Aml::buffer(std::span<const uint8_t> data) {
  Aml inner;
  inner.integer_encoding(data.size());
  inner.bytes_.insert(inner.bytes_.end(), data.begin(), data.end());
  Aml a;
  a.bytes_.push_back(kBufferOp);
  a.pkg_length(inner.bytes_.size());
  return a.append(inner);
}

// ---- Resource descriptors (ACPI 6.5 §6.4) ----

ResourceTemplate& ResourceTemplate::io(uint16_t base, uint8_t length) {
  const uint8_t d[] = {0x47,  // small item: I/O port, 7 bytes
                       0x01,  // 16-bit decode
                       static_cast<uint8_t>(base),
                       static_cast<uint8_t>(base >> 8),
                       static_cast<uint8_t>(base),
                       static_cast<uint8_t>(base >> 8),
                       0x01,  // alignment
                       length};
  bytes_.insert(bytes_.end(), std::begin(d), std::end(d));
  return *this;
}

ResourceTemplate& ResourceTemplate::irq_no_flags(uint8_t irq) {
  if (irq > 15) std::abort();
  const uint16_t mask = static_cast<uint16_t>(1u << irq);
  const uint8_t d[] = {0x22, static_cast<uint8_t>(mask), static_cast<uint8_t>(mask >> 8)};
  bytes_.insert(bytes_.end(), std::begin(d), std::end(d));
  return *this;
}

ResourceTemplate& ResourceTemplate::memory32_fixed(uint32_t base, uint32_t length, bool writable) {
  uint8_t d[12] = {0x86, 9, 0, static_cast<uint8_t>(writable ? 1 : 0)};
  for (int i = 0; i < 4; ++i) {
    d[4 + i] = static_cast<uint8_t>(base >> (8 * i));
    d[8 + i] = static_cast<uint8_t>(length >> (8 * i));
  }
  bytes_.insert(bytes_.end(), std::begin(d), std::end(d));
  return *this;
}

ResourceTemplate& ResourceTemplate::interrupt(uint32_t gsi, bool edge) {
  uint8_t d[9] = {0x89, 6, 0,
                  static_cast<uint8_t>(0x01 | (edge ? 0x02 : 0)),  // consumer, high, exclusive
                  1};
  for (int i = 0; i < 4; ++i) d[5 + i] = static_cast<uint8_t>(gsi >> (8 * i));
  bytes_.insert(bytes_.end(), std::begin(d), std::end(d));
  return *this;
}

Aml ResourceTemplate::build() const {
  std::vector<uint8_t> all = bytes_;
  all.push_back(0x79);  // end tag
  all.push_back(0x00);  // checksum 0: "the checksum is correct" by convention
  return Aml::buffer(all);
}

}  // namespace vireo::boot::x86
