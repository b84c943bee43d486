// RISC-V control and status register numbers and field layouts (privileged
// spec 1.12) used by the hart, the MMU, the SBI and their tests.
#pragma once

#include <cstdint>

namespace vireo::riscv::csr {

// ---- CSR numbers ----
inline constexpr uint16_t kFflags = 0x001, kFrm = 0x002, kFcsr = 0x003;
inline constexpr uint16_t kCycle = 0xC00, kTime = 0xC01, kInstret = 0xC02;
inline constexpr uint16_t kHpmcounter3 = 0xC03, kHpmcounter31 = 0xC1F;

inline constexpr uint16_t kSstatus = 0x100, kSie = 0x104, kStvec = 0x105, kScounteren = 0x106;
inline constexpr uint16_t kSenvcfg = 0x10A;
inline constexpr uint16_t kSscratch = 0x140, kSepc = 0x141, kScause = 0x142, kStval = 0x143;
inline constexpr uint16_t kSip = 0x144, kStimecmp = 0x14D, kSatp = 0x180;

inline constexpr uint16_t kMvendorid = 0xF11, kMarchid = 0xF12, kMimpid = 0xF13;
inline constexpr uint16_t kMhartid = 0xF14, kMconfigptr = 0xF15;
inline constexpr uint16_t kMstatus = 0x300, kMisa = 0x301, kMedeleg = 0x302, kMideleg = 0x303;
inline constexpr uint16_t kMie = 0x304, kMtvec = 0x305, kMcounteren = 0x306, kMenvcfg = 0x30A;
inline constexpr uint16_t kMcountinhibit = 0x320;
inline constexpr uint16_t kMhpmevent3 = 0x323, kMhpmevent31 = 0x33F;
inline constexpr uint16_t kMscratch = 0x340, kMepc = 0x341, kMcause = 0x342, kMtval = 0x343;
inline constexpr uint16_t kMip = 0x344;
inline constexpr uint16_t kPmpcfg0 = 0x3A0, kPmpcfg15 = 0x3AF;
inline constexpr uint16_t kPmpaddr0 = 0x3B0, kPmpaddr63 = 0x3EF;
inline constexpr uint16_t kTselect = 0x7A0, kTdata1 = 0x7A1, kTdata2 = 0x7A2, kTdata3 = 0x7A3;
inline constexpr uint16_t kTinfo = 0x7A4;
inline constexpr uint16_t kMcycle = 0xB00, kMinstret = 0xB02;
inline constexpr uint16_t kMhpmcounter3 = 0xB03, kMhpmcounter31 = 0xB1F;

// ---- mstatus / sstatus fields ----
namespace mstatus {
inline constexpr uint64_t kSIE = 1ull << 1;
inline constexpr uint64_t kMIE = 1ull << 3;
inline constexpr uint64_t kSPIE = 1ull << 5;
inline constexpr uint64_t kMPIE = 1ull << 7;
inline constexpr uint64_t kSPP = 1ull << 8;
inline constexpr unsigned kMPPShift = 11;
inline constexpr uint64_t kMPP = 3ull << kMPPShift;
inline constexpr unsigned kFSShift = 13;
inline constexpr uint64_t kFS = 3ull << kFSShift;
inline constexpr uint64_t kFSInitial = 1ull << kFSShift;
inline constexpr uint64_t kFSClean = 2ull << kFSShift;
inline constexpr uint64_t kFSDirty = 3ull << kFSShift;
inline constexpr uint64_t kMPRV = 1ull << 17;
inline constexpr uint64_t kSUM = 1ull << 18;
inline constexpr uint64_t kMXR = 1ull << 19;
inline constexpr uint64_t kTVM = 1ull << 20;
inline constexpr uint64_t kTW = 1ull << 21;
inline constexpr uint64_t kTSR = 1ull << 22;
inline constexpr uint64_t kUXL = 3ull << 32;  // read-only 2 (64-bit)
inline constexpr uint64_t kSXL = 3ull << 34;  // read-only 2 (64-bit)
inline constexpr uint64_t kXLen64 = (2ull << 32) | (2ull << 34);
inline constexpr uint64_t kSD = 1ull << 63;

// Bits software may change in mstatus (UBE/SBE/MBE hardwired little-endian,
// VS and XS hardwired off, UXL/SXL fixed).
inline constexpr uint64_t kWritable =
    kSIE | kMIE | kSPIE | kMPIE | kSPP | kMPP | kFS | kMPRV | kSUM | kMXR | kTVM | kTW | kTSR;
// The sstatus view of mstatus.
inline constexpr uint64_t kSstatusView = kSIE | kSPIE | kSPP | kFS | kSUM | kMXR | kUXL | kSD;
inline constexpr uint64_t kSstatusWritable = kSIE | kSPIE | kSPP | kFS | kSUM | kMXR;
}  // namespace mstatus

// Interrupt bits in mip/mie.
namespace ip {
inline constexpr uint64_t kSSIP = 1ull << 1;
inline constexpr uint64_t kMSIP = 1ull << 3;
inline constexpr uint64_t kSTIP = 1ull << 5;
inline constexpr uint64_t kMTIP = 1ull << 7;
inline constexpr uint64_t kSEIP = 1ull << 9;
inline constexpr uint64_t kMEIP = 1ull << 11;
inline constexpr uint64_t kSupervisor = kSSIP | kSTIP | kSEIP;
inline constexpr uint64_t kAll = kSupervisor | kMSIP | kMTIP | kMEIP;
}  // namespace ip

inline constexpr uint64_t kInterruptBit = 1ull << 63;

// satp fields (RV64).
namespace satp {
inline constexpr unsigned kModeShift = 60;
inline constexpr uint64_t kModeBare = 0, kModeSv39 = 8, kModeSv48 = 9, kModeSv57 = 10;
inline constexpr uint64_t kPpnMask = (1ull << 44) - 1;
}  // namespace satp

// menvcfg: only STCE (Sstc) is implemented.
namespace envcfg {
inline constexpr uint64_t kSTCE = 1ull << 63;
}

// medeleg bits that can be set: every exception except ECALL from M (11) and
// the reserved causes 10 and 14.
inline constexpr uint64_t kMedelegWritable = 0xb3ff;

// misa: RV64 with A C D F I M S U.
inline constexpr uint64_t kMisaValue = (2ull << 62) | (1u << ('A' - 'A')) | (1u << ('C' - 'A')) |
                                       (1u << ('D' - 'A')) | (1u << ('F' - 'A')) |
                                       (1u << ('I' - 'A')) | (1u << ('M' - 'A')) |
                                       (1u << ('S' - 'A')) | (1u << ('U' - 'A'));

// PMP configuration byte.
namespace pmp {
inline constexpr uint8_t kR = 1, kW = 2, kX = 4;
inline constexpr uint8_t kAShift = 3;
inline constexpr uint8_t kA = 3 << kAShift;
inline constexpr uint8_t kOff = 0, kTor = 1, kNa4 = 2, kNapot = 3;
inline constexpr uint8_t kL = 0x80;
inline constexpr unsigned kEntries = 16;
inline constexpr uint64_t kAddrMask = (1ull << 54) - 1;  // pmpaddr holds PA[55:2]
}  // namespace pmp

}  // namespace vireo::riscv::csr
