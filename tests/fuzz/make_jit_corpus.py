#!/usr/bin/env python3
"""Regenerates the seed corpus of fuzz_riscv_jit in corpus/fuzz_riscv_jit/.

Random bytes rarely loop, and the JIT only translates code entered
Jit::kHotThreshold (16) times, so these seeds are small programs with hot
loops: inline ALU ops, loads and stores (misaligned, page-crossing, MMIO),
self-modifying stores, calls to other pages (and across a page end, and into
an instruction straddling one), traps and interrupts inside translated code,
FP, atomics and counters, Sv39 with two virtual mappings of one page, U-mode
and the built-in SBI. A regress_* seed reproduces a mismatch found (see its
comment).

The input format is fuzz_riscv_exec's (riscv_fuzz_support.hpp); the five
spare control bytes choose fuzz_riscv_jit's run slices. Programs are linked at
0x80000000 (where the body lands), so `la` works. Every seed stays below 4096
bytes: ctest runs the fuzzers with -max_len=4096, which would cut longer ones.

Needs riscv64-unknown-elf-gcc and objcopy (Debian: gcc-riscv64-unknown-elf).
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
from make_corpus import control, seeds  # noqa: E402

TARGET = "fuzz_riscv_jit"
RAM_BASE = 0x80000000
MAX_LEN = 4096


def assemble(source):
    """Returns the raw bytes of `source` linked at RAM_BASE."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "s.S")
        elf = os.path.join(tmp, "s.elf")
        raw = os.path.join(tmp, "s.bin")
        with open(src, "w") as f:
            f.write(".option norelax\n.option norvc\n.globl _start\n_start:\n" + source + "\n")
        subprocess.run(["riscv64-unknown-elf-gcc", "-march=rv64gc_zba_zbb_zbs", "-mabi=lp64d",
                        "-nostdlib", "-nostartfiles", f"-Wl,-Ttext={RAM_BASE:#x}",
                        "-Wl,--no-relax", src, "-o", elf], check=True)
        subprocess.run(["riscv64-unknown-elf-objcopy", "-O", "binary", "-j", ".text", elf, raw],
                       check=True)
        with open(raw, "rb") as f:
            return f.read()


def slices(weights=(0, 0, 0, 0), count=4):
    """The five spare control bytes: `count` (1-4) run slices sized in
    proportion to weights[i] + 1."""
    return bytes(weights) + bytes([(4 - count) & 3])


def seed_input(ctl, source, run=None):
    header = control(**ctl)
    header = header[:27] + (run or slices())
    return header + seeds() + assemble(source)


# At 0x40 (mtvec = 0x40): an M-mode trap handler. Exceptions resume after the
# faulting instruction (2 or 4 bytes); interrupts clear SSIP and quiet the
# Sstc timer, then resume where they struck. Uses t5 and t6 only.
M_HANDLER = """
  j main
.org 0x40
mhandler:
  csrr t6, mcause
  bltz t6, 2f
  csrr t6, mepc
  lhu t5, 0(t6)
  andi t5, t5, 3
  addi t6, t6, 2
  addi t5, t5, -3
  bnez t5, 1f
  addi t6, t6, 2
1:
  csrw mepc, t6
  mret
2:
  li t5, 2
  csrc mip, t5
  li t5, -1
  csrw stimecmp, t5
  mret
main:
"""

# The same for S-mode (stvec = 0x40), for the built-in SBI flavour.
S_HANDLER = """
  j main
.org 0x40
shandler:
  csrr t6, scause
  bltz t6, 2f
  csrr t6, sepc
  lhu t5, 0(t6)
  andi t5, t5, 3
  addi t6, t6, 2
  addi t5, t5, -3
  bnez t5, 1f
  addi t6, t6, 2
1:
  csrw sepc, t6
  sret
2:
  li t5, 2
  csrc sip, t5
  li t5, -1
  csrw stimecmp, t5
  sret
main:
"""

M = dict(priv=3, entry=0, mtvec=0x40)


def long_block(n):
    ops = ["add a2, a2, a3", "xor a3, a3, a2", "addi a4, a4, 7", "slli a5, a4, 3",
           "sub a6, a6, a5", "mul a7, a6, a2", "srai s2, a7, 5", "or s3, s3, s2",
           "addw s4, s4, s3", "sltu s5, s4, a2", "lw s6, 4(a0)", "sd s4, 16(a0)"]
    return "\n".join("  " + ops[i % len(ops)] for i in range(n))


SEEDS = {
    # Every inlined ALU op, 4-byte and compressed, rd = x0 sinks, lui/auipc.
    "m_loop_alu": (M, M_HANDLER + """
  li t0, 300
1:
  add a2, a2, t0
  sub a3, a3, a2
  xor a4, a4, a3
  or a5, a5, a4
  and a6, a6, a5
  sll a7, a2, t0
  srl s2, a3, t0
  sra s3, a4, t0
  slt s4, a2, a3
  sltu s5, a3, a4
  addw s6, a2, a3
  subw s7, a3, a4
  sllw s8, a4, t0
  srlw s9, a5, t0
  sraw s10, a6, t0
  mul s11, a2, a3
  mulh t1, a2, a3
  mulhu t2, a3, a4
  mulw t3, a4, a5
  mulhsu t4, a2, a5
  div a7, a2, t0
  remu s2, a3, a4
  addi a2, a2, -7
  xori a3, a3, -1
  ori a4, a4, 0x555
  andi a5, a5, -16
  slli a6, a6, 63
  srli a7, a7, 1
  srai s2, s2, 13
  slti s3, s3, -1
  sltiu s4, s4, -1
  addiw s5, s5, 2047
  slliw s6, s6, 31
  srliw s7, s7, 31
  sraiw s8, s8, 7
  lui s9, 0xfffff
  auipc s10, 0x7ffff
  add zero, a2, a3
  lui zero, 1
  mul zero, a2, a3
  sh1add s11, a2, a3
  clz t1, a4
  .option rvc
  c.add a2, a3
  c.addi a3, -1
  c.addiw a4, 5
  c.li a5, -3
  c.lui a6, 0x1f
  c.slli a7, 7
  c.srli s0, 3
  c.srai s1, 60
  c.andi a2, 9
  c.sub a3, a4
  c.xor a4, a5
  c.or a5, s0
  c.and s1, a2
  c.addw a2, a3
  c.subw a3, a4
  c.mv a6, a7
  .option norvc
  addi t0, t0, -1
  bnez t0, 1b
  ecall
  j .
"""),

    # Loads and stores of every size: aligned, misaligned, crossing a page,
    # MMIO, faulting, rd = x0.
    "m_loop_mem": (M, M_HANDLER + """
  li t0, 250
  li s1, 0x10000000
  li s0, 0x80009ffc
1:
  sd t0, 0(a0)
  ld a2, 0(a0)
  lw a3, 4(a0)
  lwu a4, 0(a0)
  lh a5, 2(a0)
  lhu a6, 6(a0)
  lb a7, 7(a0)
  lbu s2, 1(a0)
  sw a3, 8(a0)
  sh a4, 12(a0)
  sb a5, 14(a0)
  ld s3, 3(a0)
  sd s3, 9(a0)
  lw s4, 1(a0)
  sw s4, 2047(a0)
  ld s5, -2048(a1)
  ld s6, 0(s0)
  sd t0, 2(s0)
  ld s7, 0(s1)
  sw t0, 8(s1)
  lbu s8, 3(s1)
  ld s9, 0(zero)
  sd s9, 8(zero)
  ld zero, 0(a0)
  lw zero, 8(s1)
  .option rvc
  c.ld s0, 8(a0)
  c.sd s0, 24(a0)
  c.lw a2, 4(a0)
  c.sw a2, 28(a0)
  c.ldsp a3, 8(sp)
  c.sdsp a3, 16(sp)
  .option norvc
  li s0, 0x80009ffc
  addi a0, a0, 8
  addi t0, t0, -1
  bnez t0, 1b
  j .
"""),

    # Self-modifying code: every iteration toggles the immediate of an addi
    # of the loop; at t0 == 100 a store in the (by then translated) block
    # patches the instruction right after it; later FENCE.I in the loop.
    "m_smc_loop": (M, M_HANDLER + """
  li t0, 300
  la s2, toggle
  la s3, ahead
  li s4, 0x00578793
1:
  lw t1, 0(s2)
  li t2, 0x00200000
  xor t1, t1, t2
  sw t1, 0(s2)
toggle:
  addi a2, a2, 1
  addi t3, t0, -100
  seqz t3, t3
  neg t3, t3
  sub t4, s3, a0
  and t4, t4, t3
  add t4, t4, a0
  sw s4, 0(t4)
ahead:
  addi a5, a5, 1
  andi t1, t0, 63
  bnez t1, 2f
  fence.i
2:
  addi t0, t0, -1
  bnez t0, 1b
  j .
"""),

    # Calls to copies of a function on other pages: page 1, across the end of
    # page 2 (into page 3), and with an instruction straddling the end of
    # page 3; same-page indirect calls, and jalr with rd = rs1.
    "m_call_pages": (M, M_HANDLER + """
  la s2, func
  la s3, func_end
  li s4, 0x80001000
  call copy_words
  li s4, 0x80002ff0
  call copy_words
  li s4, 0x80003ff2
  call copy_halves
  fence.i
  li s5, 0x80001000
  li s6, 0x80002ff0
  li s7, 0x80003ff2
  li t0, 250
1:
  jalr ra, 0(s5)
  jalr ra, 0(s6)
  jalr ra, 0(s7)
  la t1, local
  jalr ra, 0(t1)
  la t1, local2
  jalr t1, 0(t1)
  .option rvc
  c.jalr s5
  .option norvc
  addi t0, t0, -1
  bnez t0, 1b
  j .
local:
  addi a7, a7, 1
  ret
local2:
  addi s8, s8, 1
  jr t1
copy_words:
  mv t1, s2
  mv t2, s4
2:
  lw t3, 0(t1)
  sw t3, 0(t2)
  addi t1, t1, 4
  addi t2, t2, 4
  bltu t1, s3, 2b
  ret
copy_halves:
  mv t1, s2
  mv t2, s4
3:
  lhu t3, 0(t1)
  sh t3, 0(t2)
  addi t1, t1, 2
  addi t2, t2, 2
  bltu t1, s3, 3b
  ret
func:
  addi a2, a2, 3
  mul a3, a2, a2
  ld a4, 0(a0)
  add a4, a4, a3
  sd a4, 0(a0)
  xor a5, a5, a4
  addi a6, a6, 1
  ret
func_end:
"""),

    # Traps from inside translated blocks: ECALL, EBREAK, illegal encodings,
    # access faults from the inlined load/store slow paths, misaligned AMO,
    # an unknown CSR, MRET-less trap returns through the handler.
    "m_traps_loop": (M, M_HANDLER + """
  li t0, 200
  addi s1, a0, 1
1:
  addi a2, a2, 1
  ecall
  addi a3, a3, 1
  .word 0
  ebreak
  ld a4, 0(zero)
  sw a4, 0(zero)
  amoadd.w a5, t0, (s1)
  csrr a6, 0x7ff
  .option rvc
  c.ebreak
  .2byte 0
  .option norvc
  csrr a7, mcause
  csrr s2, mtval
  addi t0, t0, -1
  bnez t0, 1b
  j .
"""),

    "m_fp_loop": (dict(M, fcsr=0x20), M_HANDLER + """
  li t0, 300
1:
  fld fa0, 0(a0)
  fadd.d fa1, fa1, fa0
  fmul.s fa3, fa4, fa5, rtz
  fdiv.d fa6, fa1, fa2
  fsqrt.s fa7, fa3
  fmadd.d ft0, fa0, fa1, fa2
  fcvt.w.d a2, fa6
  fcvt.s.lu ft1, a3
  fclass.d a4, ft0
  fmin.s ft2, fa3, fa7
  fsd ft0, 8(a0)
  fsw ft2, 20(a0)
  frflags a5
  andi a6, t0, 7
  fsrm a6
  fadd.s ft3, ft1, ft2
  fmv.x.d a7, fa1
  fmv.d.x ft4, a2
  andi a6, t0, 31
  bnez a6, 2f
  fsflags zero
2:
  addi t0, t0, -1
  bnez t0, 1b
  j .
"""),

    # LR/SC and AMOs, counters (instret, cycle, inhibit, writes), scratch CSRs.
    "m_amo_csr_loop": (dict(M, counters=0xff), M_HANDLER + """
  li t0, 300
  addi s1, a0, 1
1:
  lr.d a2, (a0)
  addi a2, a2, 1
  sc.d a3, a2, (a0)
  amoadd.w a4, t0, (a1)
  amoswap.d a5, a2, (a0)
  amomaxu.d a6, a2, (a1)
  lr.w s2, (a1)
  sc.w s3, s2, (a0)
  amoadd.w s4, t0, (s1)
  rdcycle s5
  rdinstret s6
  rdtime s7
  csrw mscratch, t0
  csrr s8, mscratch
  srli t1, t0, 4
  andi t1, t1, 5
  csrw mcountinhibit, t1
  andi t1, t0, 63
  bnez t1, 2f
  csrw minstret, t0
  csrw mcycle, zero
2:
  addi t0, t0, -1
  bnez t0, 1b
  j .
"""),

    # Interrupts between translated blocks: SSIP set by software, the Sstc
    # timer (the fuzzer's clock is frozen at 0: stimecmp = 0 fires), and a
    # pending interrupt unmasked by MSTATUS.MIE.
    "m_irq_loop": (dict(M, mie=0x22, mstatus_hi=8, counters=1), M_HANDLER + """
  li t0, 400
  li s1, 2
1:
  addi a2, a2, 1
  andi t1, t0, 15
  bnez t1, 2f
  csrs mip, s1
2:
  andi t1, t0, 31
  bnez t1, 3f
  csrw stimecmp, zero
3:
  jal ra, f
  addi t0, t0, -1
  bnez t0, 1b
  csrci mstatus, 8
  csrs mip, s1
  li t0, 100
4:
  addi a3, a3, 1
  addi t0, t0, -1
  bnez t0, 4b
  csrsi mstatus, 8
  j .
f:
  addi a4, a4, 1
  ret
"""),

    # S-mode under Sv39. The root table is page 0 of the body: entry 2 maps
    # the gigapage at 0x80000000 onto itself, entry 3 maps 0xc0000000 onto
    # it too, so one physical page runs at two virtual pages (shared blocks,
    # auipc must see the alias). SFENCE.VMA and satp writes in the loop.
    "s_sv39_loop": (dict(priv=1, satp_mode=1, root_page=0, entry=0, mtvec=0x40), """
  j main
.org 16
  .dword 0x200000cf
  .dword 0x200000cf
""" + M_HANDLER.replace("  j main\n", "", 1) + """
  li s5, 0x40000000
  la s6, sfunc
  add s6, s6, s5
  add s7, a0, s5
  li t0, 300
1:
  jalr ra, 0(s6)
  jal ra, sfunc
  ld a2, 0(a0)
  addi a2, a2, 1
  sd a2, 0(s7)
  ecall
  andi t1, t0, 63
  bnez t1, 2f
  sfence.vma
  csrr t2, satp
  csrw satp, zero
  csrw satp, t2
2:
  addi t0, t0, -1
  bnez t0, 1b
  j .
sfunc:
  addi a3, a3, 1
  auipc a4, 0
  add a5, a5, a4
  ret
"""),

    # A loop body longer than Jit::kMaxBlockInsns, run in uneven slices, so
    # blocks end at the length limit and budgets run out mid-block.
    "m_long_block": (M, M_HANDLER + """
  li t0, 1000
1:
""" + long_block(150) + """
  addi t0, t0, -1
  bnez t0, 1b
  j .
""", slices((10, 200, 3, 77), 4)),

    # The same in one slice, and a self-loop at the end.
    "m_long_block_1": (M, M_HANDLER + """
  li t0, 60
1:
""" + long_block(70) + """
  addi t0, t0, -1
  bnez t0, 1b
  j .
""", slices((0, 0, 0, 0), 1)),

    # U-mode (bare, open PMP): ECALL from U and back through MRET, counters
    # U may not read.
    "u_loop": (dict(priv=0, entry=0, mtvec=0x40, counters=0xff), M_HANDLER + """
  li t0, 300
1:
  addi a2, a2, 1
  ecall
  rdcycle a3
  ld a4, 0(a0)
  add a4, a4, a2
  sd a4, 0(a0)
  addi t0, t0, -1
  bnez t0, 1b
  j .
"""),

    # S-mode on the built-in SBI: SBI calls and delegated illegal
    # instructions in a hot loop, then a system reset (shutdown).
    "sbi_loop": (dict(priv=1, sbi=True, entry=0, stvec=0x40), S_HANDLER + """
  li t0, 200
1:
  li a7, 0x10
  li a6, 0
  ecall
  .word 0
  li a7, 0x54494d45
  li a6, 0
  li a0, -1
  ecall
  addi t0, t0, -1
  bnez t0, 1b
  li a7, 0x53525354
  li a6, 0
  li a0, 0
  li a1, 0
  ecall
  j .
"""),

    # Known mismatch (JIT vs interpreter), kept until fixed in src/: a page
    # walk's A/D update writes guest RAM without invalidating the decoded
    # code of its page (Hart::walk in mmu.cpp does not call
    # note_ram_store()), and the translator decodes a block ahead while the
    # interpreter decodes each instruction when it first runs it.
    # M-mode code whose page also holds the Sv39 root table (MPRV makes data
    # accesses translated; fetches stay bare). The word at 16 is the root
    # PTE of the gigapage at 0x80000000, without A and D, and lies in the
    # straight-line code after `hot`. FS is off, so the FADD at `hot`
    # traps 19 times: `hot` gets hot and translated (the translator decodes
    # the PTE word as an instruction, ahead). The 20th trap turns FS on and
    # stores through MPRV: the page walk sets A and D in the PTE, which
    # changes the instruction word (a FENCE becomes FNMADD.S f1). Then `hot`
    # runs past the FADD into it: stale on the JIT side only.
    "regress_pte_ad_update_in_code": (dict(priv=3, entry=0xc0, mtvec=0x40, satp_mode=1,
                                           root_page=0, mstatus_hi=0x60, fs=False), """
hot:
  fadd.d f2, f2, f3
  addi a5, a5, 1
  addi a6, a6, 1
  addi a7, a7, 1
  .dword 0x2000000f
.org 0x40
  addi s0, s0, 1
  li t1, 20
  blt s0, t1, 1f
  bne s0, t1, 2f
  li t2, 0x2000
  csrs mstatus, t2
  li t2, 0x1800
  csrc mstatus, t2
  li t2, 0x20800
  csrs mstatus, t2
  sd zero, 0(a0)
  li t2, 0x20000
  csrc mstatus, t2
  li t2, 0x1800
  csrs mstatus, t2
1:
  mret
2:
  j 2b
.org 0xc0
  li s0, 0
  j hot
"""),
}


def main():
    d = os.path.join(HERE, "corpus", TARGET)
    os.makedirs(d, exist_ok=True)
    for name, spec in SEEDS.items():
        ctl, source = spec[0], spec[1]
        run = spec[2] if len(spec) > 2 else None
        blob = seed_input(ctl, source, run)
        assert len(blob) <= MAX_LEN, f"{name} is {len(blob)} bytes"
        with open(os.path.join(d, name), "wb") as f:
            f.write(blob)
    return 0


if __name__ == "__main__":
    sys.exit(main())
