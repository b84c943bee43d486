// A small AML (ACPI Machine Language) writer for the DSDT Vireo generates:
// names, integers, strings, packages, buffers, devices, scopes and resource
// templates (ACPI 6.5 §20 and §6.4). Objects are appended as bytes; nested
// objects are built into their own Aml and wrapped with their package length.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace vireo::boot::x86 {

class Aml {
 public:
  const std::vector<uint8_t>& bytes() const { return bytes_; }

  // Name(name, <integer>), Name(name, "string"), Name(name, <object>).
  Aml& name_integer(std::string_view name, uint64_t value);
  Aml& name_string(std::string_view name, std::string_view value);
  Aml& name_object(std::string_view name, const Aml& object);
  // Name(_HID, EisaId("PNP0501")).
  Aml& name_eisa_id(std::string_view name, std::string_view eisa_id);

  // Scope(name) { body }, Device(name) { body }.
  Aml& scope(std::string_view name, const Aml& body);
  Aml& device(std::string_view name, const Aml& body);

  // Objects usable as the value of name_object().
  static Aml integer(uint64_t value);
  static Aml package(std::span<const uint64_t> integers);
  static Aml buffer(std::span<const uint8_t> data);

  // Appends raw AML (e.g. an object built separately).
  Aml& append(const Aml& other);

 private:
  void name_string_encoding(std::string_view name);
  void pkg_length(size_t body_length);
  void integer_encoding(uint64_t value);
  std::vector<uint8_t> bytes_;
};

// Resource descriptors for _CRS, ended by resource_template().
class ResourceTemplate {
 public:
  ResourceTemplate& io(uint16_t base, uint8_t length);
  ResourceTemplate& irq_no_flags(uint8_t irq);
  ResourceTemplate& memory32_fixed(uint32_t base, uint32_t length, bool writable = true);
  // Interrupt(ResourceConsumer, Level|Edge, ActiveHigh, Exclusive) { gsi }
  ResourceTemplate& interrupt(uint32_t gsi, bool edge);
  // The descriptors plus the end tag, as a Buffer object.
  Aml build() const;

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace vireo::boot::x86
