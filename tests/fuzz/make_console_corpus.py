#!/usr/bin/env python3
"""Regenerates the seed corpus of fuzz_virtio_console (format: the top of
fuzz_virtio_console.cpp)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def tx(n):
    return bytes([0]) + struct.pack("<H", n)


def rx(n):
    return bytes([1]) + struct.pack("<H", n)


def typed(n):
    return bytes([2]) + struct.pack("<H", n)


def room(n):
    return bytes([3]) + struct.pack("<H", n)


def notify(q):
    return bytes([4, q])


def raw(q, index, addr, length, flags):
    return bytes([5, q, index]) + struct.pack("<IIB", addr, length, flags)


RESET = bytes([6])


def seeds():
    yield "echo", room(1000) + tx(12) + rx(64) + typed(5) + tx(3) + notify(1)
    yield "stalled_output", (tx(4000) + tx(4000) + room(100) + room(3000) + tx(10) * 4 +
                             room(0xffff) + notify(1))
    yield "input_without_buffers", typed(300) + rx(10) + rx(0) + rx(100) + typed(4000) + rx(4096)
    yield "hostile", (room(100) + raw(1, 3, 0x3fff0, 0x100, 0) + raw(0, 1, 0x10000, 8, 0) +
                      RESET + raw(0, 2, 0x10000, 0x100, 1) + typed(10))
    yield "many", b"".join(tx(1 + i * 37) + rx(i * 11) + typed(i * 3) + room(i * 50)
                           for i in range(20))


def main():
    d = os.path.join(HERE, "corpus", "fuzz_virtio_console")
    os.makedirs(d, exist_ok=True)
    for name, blob in seeds():
        assert len(blob) <= 4096
        with open(os.path.join(d, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
