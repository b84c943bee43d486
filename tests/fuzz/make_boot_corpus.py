#!/usr/bin/env python3
"""Writes the x86 seeds of corpus/fuzz_boot_loaders/: a minimal bzImage
(boot protocol 2.15, 64-bit entry), a Multiboot v1 image with address
fields, and an ELF64 with a PVH entry note. The RISC-V and ELF seeds next to
them were made with the toolchains and are kept as they are."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "fuzz_boot_loaders")


def bzimage():
    setup_sects = 1
    f = bytearray((setup_sects + 1) * 512 + 64)
    f[0x1F1] = setup_sects
    struct.pack_into("<H", f, 0x1FE, 0xAA55)
    f[0x200], f[0x201] = 0xEB, 0x6A
    struct.pack_into("<IH", f, 0x202, 0x53726448, 0x020F)
    f[0x211] = 0x81  # LOADED_HIGH | CAN_USE_HEAP
    struct.pack_into("<III", f, 0x22C, 0x7FFFFFFF, 0x200000, 0)
    f[0x234] = 1
    struct.pack_into("<HI", f, 0x236, 0x3, 2047)
    struct.pack_into("<QI", f, 0x258, 0x1000000, 0x100000)
    return bytes(f)


def multiboot():
    f = bytearray(256)
    flags = 0x10003
    struct.pack_into("<III", f, 32, 0x1BADB002, flags, (-(0x1BADB002 + flags)) & 0xFFFFFFFF)
    struct.pack_into("<IIIII", f, 44, 0x100020, 0x100000, 0x100100, 0x101000, 0x100080)
    return bytes(f)


def pvh_elf():
    name = b"Xen\0"
    note = struct.pack("<III", len(name), 4, 18) + name + struct.pack("<I", 0x1000000)
    code = b"\x90" * 16
    ehsize, phsize = 64, 56
    note_off = ehsize + 2 * phsize
    code_off = note_off + len(note)
    eh = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    eh += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x1000000, ehsize, 0, 0, ehsize, phsize, 2,
                      64, 0, 0)
    load = struct.pack("<IIQQQQQQ", 1, 5, code_off, 0x1000000, 0x1000000, len(code), len(code), 16)
    pnote = struct.pack("<IIQQQQQQ", 4, 4, note_off, 0, 0, len(note), len(note), 4)
    return eh + load + pnote + note + code


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, blob in (("bzimage_2_15", bzimage()), ("multiboot_addresses", multiboot()),
                       ("elf64_pvh_note", pvh_elf())):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
