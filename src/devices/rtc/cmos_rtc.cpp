#include "devices/rtc/cmos_rtc.hpp"

namespace vireo {
namespace {

constexpr uint8_t kSeconds = 0x00, kMinutes = 0x02, kHours = 0x04, kWeekday = 0x06, kDay = 0x07,
                  kMonth = 0x08, kYear = 0x09, kRegA = 0x0a, kRegB = 0x0b, kRegC = 0x0c,
                  kRegD = 0x0d, kCentury = 0x32;
constexpr uint8_t kRegBBinary = 1 << 2, kRegB24Hour = 1 << 1;
constexpr uint8_t kRegDValidRam = 1 << 7;

}  // namespace

time_t CmosRtc::guest_time() const { return time(nullptr) + offset_seconds_; }

uint8_t CmosRtc::encode(unsigned v) const {
  if (reg_b_ & kRegBBinary) return static_cast<uint8_t>(v);
  return static_cast<uint8_t>(((v / 10) << 4) | (v % 10));
}

unsigned CmosRtc::decode(uint8_t v) const {
  if (reg_b_ & kRegBBinary) return v;
  return (v >> 4) * 10 + (v & 0xf);
}

uint8_t CmosRtc::read_register(uint8_t index) const {
  const time_t now = guest_time();
  tm t{};
  gmtime_r(&now, &t);
  switch (index) {
    case kSeconds:
      return encode(static_cast<unsigned>(t.tm_sec));
    case kMinutes:
      return encode(static_cast<unsigned>(t.tm_min));
    case kHours: {
      if (reg_b_ & kRegB24Hour) return encode(static_cast<unsigned>(t.tm_hour));
      const unsigned h12 = t.tm_hour % 12 == 0 ? 12 : static_cast<unsigned>(t.tm_hour % 12);
      return static_cast<uint8_t>(encode(h12) | (t.tm_hour >= 12 ? 0x80 : 0));
    }
    case kWeekday:
      return encode(static_cast<unsigned>(t.tm_wday + 1));
    case kDay:
      return encode(static_cast<unsigned>(t.tm_mday));
    case kMonth:
      return encode(static_cast<unsigned>(t.tm_mon + 1));
    case kYear:
      return encode(static_cast<unsigned>((t.tm_year + 1900) % 100));
    case kCentury:
      return encode(static_cast<unsigned>((t.tm_year + 1900) / 100));
    case kRegA:
      return 0x26;  // 32.768 kHz time base, 1024 Hz rate, never "update in progress"
    case kRegB:
      return reg_b_;
    case kRegC:
      return 0;  // no interrupt flags: alarm and periodic interrupts are not offered
    case kRegD:
      return kRegDValidRam;
    default:
      return ram_[index & 0x7f];
  }
}

void CmosRtc::write_register(uint8_t index, uint8_t value) {
  switch (index) {
    case kSeconds:
    case kMinutes:
    case kHours:
    case kDay:
    case kMonth:
    case kYear: {
      // Setting one field: recompute the guest's time with it replaced.
      const time_t now = guest_time();
      tm t{};
      gmtime_r(&now, &t);
      unsigned v = decode(static_cast<uint8_t>(index == kHours ? value & 0x7f : value));
      if (index == kHours && !(reg_b_ & kRegB24Hour)) {
        v = (v % 12) + ((value & 0x80) ? 12 : 0);
      }
      switch (index) {
        case kSeconds:
          t.tm_sec = static_cast<int>(v);
          break;
        case kMinutes:
          t.tm_min = static_cast<int>(v);
          break;
        case kHours:
          t.tm_hour = static_cast<int>(v);
          break;
        case kDay:
          t.tm_mday = static_cast<int>(v);
          break;
        case kMonth:
          t.tm_mon = static_cast<int>(v) - 1;
          break;
        case kYear:
          t.tm_year = static_cast<int>(v) + (t.tm_year + 1900) / 100 * 100 - 1900;
          break;
      }
      const time_t wanted = timegm(&t);
      if (wanted != static_cast<time_t>(-1)) offset_seconds_ = wanted - time(nullptr);
      break;
    }
    case kRegB:
      reg_b_ = static_cast<uint8_t>(value & ~0x80);  // SET (stop updates) is not modelled
      break;
    case kRegA:
    case kRegC:
    case kRegD:
    case kWeekday:
    case kCentury:
      break;  // read-only here
    default:
      ram_[index & 0x7f] = value;
  }
}

uint64_t CmosRtc::read(uint64_t offset, unsigned size) {
  std::lock_guard lock(mutex_);
  if (offset == 0) return index_;
  return read_register(index_);
}

void CmosRtc::write(uint64_t offset, unsigned size, uint64_t value) {
  std::lock_guard lock(mutex_);
  if (offset == 0) {
    index_ = static_cast<uint8_t>(value & 0x7f);  // bit 7 masks NMIs: nothing to mask here
  } else {
    write_register(index_, static_cast<uint8_t>(value));
  }
}

}  // namespace vireo
