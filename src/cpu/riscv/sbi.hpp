// The built-in SBI (--firmware none): serves ECALLs from S-mode when no M-mode
// firmware runs, implementing SBI v2.0 BASE, TIME, IPI, RFENCE, HSM, SRST and
// DBCN plus the legacy extensions 0x00-0x08.
#pragma once

#include <cstdint>

namespace vireo::riscv {

class Hart;

namespace sbi {

// Extension IDs (a7).
namespace ext {
inline constexpr uint64_t kLegacySetTimer = 0x00;
inline constexpr uint64_t kLegacyConsolePutchar = 0x01;
inline constexpr uint64_t kLegacyConsoleGetchar = 0x02;
inline constexpr uint64_t kLegacyClearIpi = 0x03;
inline constexpr uint64_t kLegacySendIpi = 0x04;
inline constexpr uint64_t kLegacyRemoteFenceI = 0x05;
inline constexpr uint64_t kLegacyRemoteSfenceVma = 0x06;
inline constexpr uint64_t kLegacyRemoteSfenceVmaAsid = 0x07;
inline constexpr uint64_t kLegacyShutdown = 0x08;
inline constexpr uint64_t kBase = 0x10;
inline constexpr uint64_t kTime = 0x54494D45;    // "TIME"
inline constexpr uint64_t kIpi = 0x735049;       // "sPI"
inline constexpr uint64_t kRfence = 0x52464E43;  // "RFNC"
inline constexpr uint64_t kHsm = 0x48534D;       // "HSM"
inline constexpr uint64_t kSrst = 0x53525354;    // "SRST"
inline constexpr uint64_t kDbcn = 0x4442434E;    // "DBCN"
}  // namespace ext

// Error codes (returned in a0).
namespace err {
inline constexpr int64_t kSuccess = 0;
inline constexpr int64_t kFailed = -1;
inline constexpr int64_t kNotSupported = -2;
inline constexpr int64_t kInvalidParam = -3;
inline constexpr int64_t kDenied = -4;
inline constexpr int64_t kInvalidAddress = -5;
inline constexpr int64_t kAlreadyAvailable = -6;
inline constexpr int64_t kAlreadyStarted = -7;
inline constexpr int64_t kAlreadyStopped = -8;
}  // namespace err

inline constexpr uint64_t kSpecVersion = 2ull << 24;  // v2.0: major in bits 30:24
// Implementation ID: "vi" in ASCII. Not in the SBI registry (which lists
// e.g. OpenSBI = 1); chosen not to collide with the registered IDs.
inline constexpr uint64_t kImplId = 0x7669;
inline constexpr uint64_t kImplVersion = 0x00000100;  // 0.1.0 as major<<16 | minor<<8 | patch

// HSM suspend types.
inline constexpr uint64_t kSuspendRetentive = 0x00000000;
inline constexpr uint64_t kSuspendNonRetentive = 0x80000000;

// SRST reset types and reasons.
inline constexpr uint64_t kResetShutdown = 0, kResetColdReboot = 1, kResetWarmReboot = 2;
inline constexpr uint64_t kReasonNone = 0, kReasonSystemFailure = 1;

// Largest DBCN transfer served per call (the call returns the count done).
inline constexpr uint64_t kMaxConsoleChunk = 4096;

}  // namespace sbi

// Friend of Hart.
class Sbi {
 public:
  // Serves the SBI call in a7/a6/a0..a5 of `hart` (in S-mode, pc already past
  // the ECALL): writes a0 (error) and a1 (value), or redirects the hart.
  static void handle_ecall(Hart& hart);

 private:
  struct Ret {
    int64_t error;
    uint64_t value;
  };
  static Ret base(Hart& h, uint64_t fid);
  static Ret time(Hart& h, uint64_t fid);
  static Ret ipi(Hart& h, uint64_t fid);
  static Ret rfence(Hart& h, uint64_t fid);
  static Ret hsm(Hart& h, uint64_t fid);
  static Ret srst(Hart& h, uint64_t fid);
  static Ret dbcn(Hart& h, uint64_t fid);
  static bool legacy(Hart& h, uint64_t eid);  // false: not a legacy extension

  static void set_timer(Hart& h, uint64_t stime);
  static bool probe(uint64_t eid);
  // Applies `fn` to each hart selected by (mask, base); base = -1 selects
  // all. Returns kInvalidParam when a selected hart does not exist.
  template <class Fn>
  static int64_t for_each_hart(Hart& h, uint64_t mask, uint64_t base, Fn fn);
  static int64_t send_ipi(Hart& h, uint64_t mask, uint64_t base);
  static int64_t remote_flush(Hart& h, uint64_t mask, uint64_t base, uint32_t what);
  static int64_t system_reset(Hart& h, uint64_t type, uint64_t reason);
  // Legacy calls pass a hart mask by S-mode virtual address (0 = all harts).
  static bool read_legacy_mask(Hart& h, uint64_t vaddr, uint64_t& mask, uint64_t& base);
};

}  // namespace vireo::riscv
