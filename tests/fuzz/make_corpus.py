#!/usr/bin/env python3
"""Regenerates the seed corpora in corpus/<target>/ (small binary files).

Needs riscv64-unknown-elf-gcc and objcopy (Debian: gcc-riscv64-unknown-elf).
The input formats are described at the top of fuzz_riscv_decode.cpp and
riscv_fuzz_support.hpp (fuzz_riscv_exec). make_jit_corpus.py makes
fuzz_riscv_jit's seeds.
"""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RAM_BASE = 0x80000000


def assemble(source):
    """Returns the raw bytes of `source` assembled at address 0."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "s.S")
        obj = os.path.join(tmp, "s.o")
        raw = os.path.join(tmp, "s.bin")
        with open(src, "w") as f:
            f.write(".option norelax\n" + source + "\n")
        subprocess.run(["riscv64-unknown-elf-gcc", "-march=rv64gc_zba_zbb_zbs", "-mabi=lp64d",
                        "-c", src, "-o", obj], check=True)
        subprocess.run(["riscv64-unknown-elf-objcopy", "-O", "binary", "-j", ".text", obj, raw],
                       check=True)
        with open(raw, "rb") as f:
            return f.read()


def control(priv=3, sbi=False, fs=True, pmp_from_input=False, mprv=False, sum_=False, mxr=False,
            satp_mode=0, root_page=0, medeleg=0, mideleg=0, mie=0, entry=0, mtvec=0, stvec=0,
            pmpcfg=0, fcsr=0, counters=0, mstatus_hi=0):
    mode = (priv & 3) | (4 if sbi else 0) | (8 if fs else 0) | (16 if pmp_from_input else 0)
    mode |= (32 if mprv else 0) | (64 if sum_ else 0) | (128 if mxr else 0)
    return struct.pack("<BBHHHIIIIBBB5x", mode, satp_mode | (root_page << 2), medeleg, mideleg,
                       mie, entry, mtvec, stvec, pmpcfg, fcsr, counters, mstatus_hi)


def seeds(values=None):
    values = list(values or [])
    defaults = [0x1000 * (i + 1) for i in range(16)]  # pointers into RAM
    values += defaults[len(values):]
    return struct.pack("<16Q", *values[:16])


def write(target, name, blob):
    assert len(blob) < 1024, f"{target}/{name} is {len(blob)} bytes"
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)


# A trap handler at body offset 0 that skips the faulting instruction (4
# bytes) and returns, so seeds keep running after a trap.
SKIP_HANDLER = """
  csrr t6, mepc
  addi t6, t6, 4
  csrw mepc, t6
  mret
"""

EXEC_SEEDS = {
    "m_integer": (dict(priv=3, entry=16), SKIP_HANDLER + """
  li t0, 100
1:
  add a2, a0, t0
  mul a3, a2, t0
  divu a4, a3, t0
  rem a5, a3, a1
  sd a3, 8(a0)
  lw a6, 12(a0)
  sh1add a7, a6, a1
  clz s2, a7
  rev8 s3, a7
  addi t0, t0, -1
  bnez t0, 1b
  ecall
  .word 0
  wfi
"""),
    "m_fp": (dict(priv=3, entry=16, fcsr=0x20), SKIP_HANDLER + """
  fld fa0, 0(a0)
  fadd.d fa1, fa0, fa2
  fmul.s fa3, fa4, fa5, rtz
  fdiv.d fa6, fa1, fa2
  fsqrt.s fa7, fa3
  fmadd.d ft0, fa0, fa1, fa2
  fcvt.w.d a2, fa6
  fcvt.s.lu ft1, a3
  fclass.d a4, ft0
  fmin.s ft2, fa3, fa7
  fsd ft0, 8(a0)
  frflags a5
  fsrm a5
"""),
    "m_atomics_rvc": (dict(priv=3, entry=16), SKIP_HANDLER + """
  lr.d a2, (a0)
  addi a2, a2, 1
  sc.d a3, a2, (a0)
  amoadd.w a4, a2, (a1)
  amoswap.d a5, a2, (a0)
  amomaxu.d a6, a2, (a1)
  .option push
  .option rvc
  c.addi a0, 8
  c.ld a2, 8(a0)
  c.sd a2, 16(a0)
  c.lwsp a3, 12(sp)
  c.beqz a2, 1f
  c.j 1f
1:
  c.ebreak
  .option pop
"""),
    "m_csr": (dict(priv=3, entry=16, counters=0xff), SKIP_HANDLER + """
  csrrw a2, mscratch, a0
  csrrs a3, mstatus, a1
  csrrc a4, mie, a2
  csrw satp, a0
  csrw pmpaddr1, a1
  csrw pmpcfg0, a2
  csrr a5, time
  csrw 0x14d, a3
  csrw mtvec, a0
  csrw medeleg, a1
  rdcycle a6
  csrr a7, 0x7a0
  mret
"""),
    # Body page 0 is also the Sv39 root: entry 2 (offset 16) maps the
    # gigapage of RAM at 0x80000000 (identity, RWX, A, D), so S-mode code
    # runs translated. Code starts after the PTE.
    "s_sv39": (dict(priv=1, satp_mode=1, root_page=0, entry=24, medeleg=0xb1ff), """
  .word 0, 0, 0, 0
  .dword 0x200000cf
  ld a2, 0(a0)
  sd a2, 8(a1)
  sfence.vma
  csrr a3, sstatus
  csrw stvec, a0
  lw a4, 0(zero)
  ecall
  sret
"""),
    "u_pmp": (dict(priv=0, pmp_from_input=True, pmpcfg=0x0f0b1f18 & 0xffffffff, entry=0), """
  ld a2, 0(a0)
  sd a2, 0(a1)
  lb a3, 1(a2)
  csrr a4, cycle
  ecall
  jalr zero, 0(a2)
"""),
    # Regression: an 8-byte store at virtual 0xf1 (page 0, offset & 7 == 1)
    # once matched the TLB's invalid tag (1) and wrote to host address 0xf1.
    "regress_tlb_invalid_tag": (dict(priv=3, entry=0), """
  sd zero, 241(zero)
  lw a0, 1(zero)
  sh a0, 1(zero)
"""),
    # S-mode on the built-in SBI: console putchar, debug console write,
    # set_timer, HSM status, base probe, then system reset (shutdown).
    "sbi_calls": (dict(priv=1, sbi=True, entry=0), """
  li a7, 1
  li a0, 'x'
  ecall
  li a7, 0x4442434e
  li a6, 0
  li a0, 4
  li a1, 0x80000100
  li a2, 0
  ecall
  li a7, 0x54494d45
  li a6, 0
  li a0, -1
  ecall
  li a7, 0x48534d
  li a6, 2
  li a0, 0
  ecall
  li a7, 0x10
  li a6, 3
  li a0, 0x735049
  ecall
  li a7, 0x53525354
  li a6, 0
  li a0, 0
  li a1, 0
  ecall
"""),
}

DECODE_SEEDS = {
    # pc, then words: base integer, M, A, system, Zb*.
    "integer": "\n".join([
        ".dword 0x80000000",
        "add a0, a1, a2", "addi a0, a1, -1", "lui a0, 0x80000", "auipc a0, 1", "jal ra, .+2048",
        "jalr ra, 4(a0)", "beq a0, a1, .-4096", "lb a0, -1(a1)", "sd a0, 8(sp)", "slliw a0, a1, 31",
        "sraiw a0, a1, 3", "mulhsu a0, a1, a2", "remuw a0, a1, a2", "lr.w.aq a0, (a1)",
        "sc.d.rl a0, a2, (a1)", "amomaxu.d.aqrl a0, a2, (a1)", "csrrwi a0, mstatus, 5",
        "ecall", "ebreak", "mret", "sret", "wfi", "sfence.vma a0, a1", "fence.i", "fence rw, w",
        "sh3add.uw a0, a1, a2", "rori a0, a1, 63", "roriw a0, a1, 31", "orc.b a0, a1",
        "bexti a0, a1, 63", "zext.h a0, a1", "cpopw a0, a1", ".word 0xffffffff", ".word 0"]),
    "float": "\n".join([
        ".dword 0xfffffffffffffff0",
        "flw fa0, -4(a0)", "fsd fa0, 2040(sp)", "fmadd.s fa0, fa1, fa2, fa3, rmm",
        "fnmsub.d fa0, fa1, fa2, fa3", "fcvt.l.d a0, fa1, rtz", "fcvt.d.wu fa0, a1",
        "fsgnjx.s fa0, fa1, fa2", "fmv.x.d a0, fa1", "fclass.s a0, fa1", "fle.d a0, fa1, fa2",
        "fmax.d fa0, fa1, fa2", "fsqrt.d fa0, fa1, rdn", ".word 0x00c5d553"]),
    "compressed": "\n".join([
        ".dword 0x80000000", ".option rvc",
        "c.addi4spn a0, sp, 1020", "c.fld fa0, 8(a1)", "c.lw a0, 4(a1)", "c.ld a0, 8(a1)",
        "c.sd a0, 248(a1)", "c.addi a0, -32", "c.addiw a0, 31", "c.li a0, -1",
        "c.addi16sp sp, -512", "c.lui a0, 0xfffe0", "c.srai a0, 63", "c.andi a0, -1",
        "c.subw a0, a1", "c.j .+2046", "c.beqz a0, .-256", "c.slli a0, 63", "c.fldsp fa0, 504(sp)",
        "c.ldsp a0, 504(sp)", "c.jr ra", "c.mv a0, a1", "c.ebreak", "c.jalr a0", "c.add a0, a1",
        "c.fsdsp fa0, 504(sp)", "c.sdsp a0, 504(sp)", ".2byte 0", ".2byte 0x6501", ".2byte 0x8002"]),
}


def main():
    for name, (ctl, source) in EXEC_SEEDS.items():
        blob = control(**ctl) + seeds() + assemble(source)
        write("fuzz_riscv_exec", name, blob)
    for name, source in DECODE_SEEDS.items():
        write("fuzz_riscv_decode", name, assemble(source))
    return 0


if __name__ == "__main__":
    sys.exit(main())
