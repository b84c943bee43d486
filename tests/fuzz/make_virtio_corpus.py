#!/usr/bin/env python3
"""Regenerates the seed corpora of fuzz_virtqueue, fuzz_virtio_rng, fuzz_virtio_blk and
fuzz_virtio_net.

The input formats are described at the top of fuzz_virtqueue.cpp, fuzz_virtio_rng.cpp,
fuzz_virtio_blk.cpp and fuzz_virtio_net.cpp. Guest RAM region A starts at address 0, so an address in
the image is its offset. Every seed has rings at DESC/AVAIL/USED and buffers
from DATA on.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DESC, AVAIL, USED, DATA, TABLE = 0x100, 0x200, 0x300, 0x800, 0x600
NEXT, WRITE, INDIRECT = 1, 2, 4
IMAGE_SIZE = 0xA00


class Image:
    def __init__(self, qsize):
        self.b = bytearray(IMAGE_SIZE)
        self.qsize = qsize
        self.avail_idx = 0

    def desc(self, i, addr, length, flags=0, nxt=0, table=DESC):
        struct.pack_into("<QIHH", self.b, table + 16 * i, addr, length, flags, nxt)

    def push(self, head):
        struct.pack_into("<H", self.b, AVAIL + 4 + 2 * (self.avail_idx % self.qsize), head)
        self.avail_idx += 1
        struct.pack_into("<H", self.b, AVAIL + 2, self.avail_idx & 0xffff)

    def used_event(self, v):
        struct.pack_into("<H", self.b, AVAIL + 4 + 2 * self.qsize, v)


def log2(n):
    return n.bit_length() - 1


def write(target, name, blob):
    assert len(blob) <= 4096, f"{target}/{name} is {len(blob)} bytes"
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)


def queue_header(qsize, features, ops):
    return struct.pack("<BBHHH8s", log2(qsize), features, DESC, AVAIL, USED, bytes(ops))


def rng_header(qsize, features):
    return struct.pack("<BBHHHHH", log2(qsize), features, DESC, AVAIL, USED, IMAGE_SIZE, 0)


def op(kind, arg=0, value=0):
    return struct.pack("<BII", kind, arg, value)


INDIRECT_F, EVENT_IDX_F, NO_VERSION_1 = 1, 2, 4
POP, POP_RETURN, RETURN_OLDEST, NOTIFY_Q = 0, 1, 2, 3
NOTIFY, PUBLISH, WRITE_REG, READ_REG, ACK, RESET, POKE = range(7)


def seeds():
    """(name, qsize, features, image, virtqueue ops, rng ops)"""
    out = []

    im = Image(8)
    im.desc(0, DATA, 16, NEXT, 1)
    im.desc(1, DATA + 0x100, 32, WRITE)
    im.desc(2, DATA + 0x200, 64, WRITE)
    im.push(0)
    im.push(2)
    out.append(("two_chains", 8, INDIRECT_F | EVENT_IDX_F, im,
                [POP, POP_RETURN | 8, RETURN_OLDEST | 4, NOTIFY_Q, POP, NOTIFY_Q, 0, 0],
                [op(NOTIFY), op(ACK, 0, 1), op(READ_REG, 0x70)]))

    im = Image(4)
    im.desc(0, DATA, 8, WRITE | NEXT, 1, table=TABLE)
    im.desc(1, DATA + 0x40, 8, WRITE | NEXT, 2, table=TABLE)
    im.desc(2, 0x3000, 0x100, WRITE, table=TABLE)  # region B
    im.desc(3, TABLE, 48, INDIRECT)
    im.push(3)
    out.append(("indirect", 4, INDIRECT_F | EVENT_IDX_F, im,
                [POP_RETURN | 4, NOTIFY_Q] + [0] * 6, [op(NOTIFY), op(READ_REG, 0x60)]))

    im = Image(8)
    im.desc(0, DATA, 8, WRITE | NEXT, 1)
    im.desc(1, DATA, 8, WRITE | NEXT, 0)
    im.push(0)
    out.append(("loop", 8, EVENT_IDX_F, im, [POP] * 8,
                [op(NOTIFY), op(READ_REG, 0x70), op(RESET), op(PUBLISH, 0, 1)]))

    im = Image(4)
    im.desc(0, TABLE, 16, INDIRECT)
    im.desc(0, TABLE + 0x40, 16, INDIRECT, table=TABLE)
    im.push(0)
    out.append(("nested_indirect", 4, INDIRECT_F, im, [POP] * 8, [op(NOTIFY)]))

    im = Image(4)
    im.desc(0, 0x3FF0, 0x20, WRITE)  # crosses the end of region B
    im.desc(1, 0xFFFFFFFFFFFFFFF0, 0x20, WRITE)  # wraps the address space
    im.push(0)
    im.push(1)
    out.append(("outside_ram", 4, 0, im, [POP, POP, 0, 0, 0, 0, 0, 0], [op(NOTIFY)]))

    im = Image(8)
    im.desc(0, DATA, 8, WRITE | NEXT, 1)
    im.desc(1, DATA + 8, 8, 0)  # readable after writable
    im.push(0)
    out.append(("readable_after_writable", 8, EVENT_IDX_F, im, [POP] * 8, [op(NOTIFY)]))

    im = Image(8)
    for i in range(8):
        im.desc(i, DATA + 0x20 * i, 0x20, WRITE)
        im.push(i)
    im.used_event(3)
    out.append(("full_ring_event_idx", 8, EVENT_IDX_F | INDIRECT_F, im,
                [POP_RETURN | 4, NOTIFY_Q, POP_RETURN, NOTIFY_Q, POP, POP, RETURN_OLDEST,
                 NOTIFY_Q],
                [op(NOTIFY), op(ACK, 0, 3), op(POKE, AVAIL + 2, 9), op(PUBLISH, 0, 1)]))

    im = Image(2)
    im.desc(0, DATA, 0x10000, WRITE | NEXT, 1)  # 64 KiB past the image: region A is 8 KiB
    im.desc(1, 0, 0x2000, WRITE)
    im.push(1)
    out.append(("big_buffer", 2, 0, im, [POP_RETURN] * 8, [op(NOTIFY), op(NOTIFY)]))

    im = Image(8)
    im.desc(0, DATA, 8, WRITE)
    im.push(0)
    out.append(("no_version_1", 8, NO_VERSION_1, im, [POP] * 8,
                [op(NOTIFY), op(READ_REG, 0x70), op(WRITE_REG, 0x70, 0)]))
    return out


READONLY_F, NO_DISCARD_F = 8, 16
T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WRITE_ZEROES = 0, 1, 4, 8, 11, 13


def blk_request(im, first_desc, rtype, sector, data_len, data_writable, slot=0, table=DESC):
    """Header at DATA + 0x20 * slot, status byte at DATA + 0x100 + slot, data at 0x3000
    (region B). Uses descriptors first_desc.. in `table`; returns the head."""
    hdr = DATA + 0x20 * slot
    struct.pack_into("<IIQ", im.b, hdr, rtype, 0, sector)
    d = first_desc
    im.desc(d, hdr, 16, NEXT, d + 1, table=table)
    if data_len:
        im.desc(d + 1, 0x3000, data_len, NEXT | (WRITE if data_writable else 0), d + 2, table=table)
        d += 1
    im.desc(d + 1, DATA + 0x100 + slot, 1, WRITE, table=table)
    return first_desc


def blk_seeds():
    """(name, qsize, features, image, ops)"""
    out = []
    notify = [op(NOTIFY), op(READ_REG, 0x70), op(ACK, 0, 3)]

    im = Image(16)
    im.push(blk_request(im, 0, T_IN, 2, 1024, True, 0))
    im.push(blk_request(im, 3, T_OUT, 4, 512, False, 1))
    im.push(blk_request(im, 6, T_FLUSH, 0, 0, False, 2))
    im.push(blk_request(im, 8, T_GET_ID, 0, 20, True, 3))
    out.append(("read_write_flush_id", 16, EVENT_IDX_F | INDIRECT_F, im, notify))

    im = Image(8)
    struct.pack_into("<QII", im.b, DATA + 0x180, 4, 8, 0)
    struct.pack_into("<QII", im.b, DATA + 0x190, 16, 8, 1)
    for slot, (t, seg) in enumerate(((T_DISCARD, 0x180), (T_WRITE_ZEROES, 0x190))):
        hdr = DATA + 0x20 * slot
        struct.pack_into("<IIQ", im.b, hdr, t, 0, 0)
        im.desc(3 * slot, hdr, 16, NEXT, 3 * slot + 1)
        im.desc(3 * slot + 1, DATA + seg, 16, NEXT, 3 * slot + 2)
        im.desc(3 * slot + 2, DATA + 0x100 + slot, 1, WRITE)
        im.push(3 * slot)
    out.append(("discard_write_zeroes", 8, EVENT_IDX_F, im, notify))

    im = Image(8)
    im.push(blk_request(im, 0, T_IN, 63, 1024, True, 0))        # crosses the end
    im.push(blk_request(im, 3, T_OUT, 2**60, 512, False, 1))    # far past it
    im.push(blk_request(im, 6, 77, 0, 0, False, 2))             # unknown type
    out.append(("out_of_range", 8, 0, im, notify))

    im = Image(8)
    im.push(blk_request(im, 0, T_OUT, 0, 512, False, 0))
    out.append(("readonly_write", 8, READONLY_F, im, notify))

    im = Image(4)
    blk_request(im, 0, T_IN, 1, 512, True, 0, table=TABLE)
    im.desc(0, TABLE, 48, INDIRECT)
    im.push(0)
    out.append(("indirect_read", 4, INDIRECT_F, im, notify + [op(RESET), op(PUBLISH, 0, 1)]))

    im = Image(4)
    struct.pack_into("<IIQ", im.b, DATA, T_OUT, 0, 0)
    im.desc(0, DATA, 16, NEXT, 1)
    im.desc(1, 0x3000, 512, 0)  # no writable status byte
    im.push(0)
    out.append(("no_status_byte", 4, 0, im, notify + [op(NOTIFY)]))

    im = Image(4)
    im.desc(0, DATA, 8, NEXT, 1)  # an 8-byte header
    im.desc(1, DATA + 0x100, 1, WRITE)
    im.push(0)
    out.append(("short_header", 4, NO_DISCARD_F, im, notify))
    return out


# virtio-net: the receive ring at DESC/AVAIL/USED, the transmit ring at
# TX_DESC/TX_AVAIL/TX_USED; buffers from DATA on (within the 0xA00 image).
TX_DESC, TX_AVAIL, TX_USED = 0x400, 0x500, 0x580
HDR = 12
N_NOTIFY, N_RX_PUBLISH, N_TX_PUBLISH, N_FRAME, N_WRITE_REG, N_READ_REG, N_ACK, N_RESET, N_POKE = \
    range(9)
MRG, VNET = 8, 16


def net_header(rx_qsize, tx_qsize, features):
    return struct.pack("<BBBBHHHHHHH", log2(rx_qsize), log2(tx_qsize), features, 0, DESC, AVAIL,
                       USED, TX_DESC, TX_AVAIL, TX_USED, IMAGE_SIZE)


class NetImage(Image):
    def __init__(self, qsize, tx_qsize):
        super().__init__(qsize)
        self.tx_qsize = tx_qsize
        self.tx_idx = 0

    def tx_desc(self, i, addr, length, flags=0, nxt=0):
        self.desc(i, addr, length, flags, nxt, table=TX_DESC)

    def tx_push(self, head):
        struct.pack_into("<H", self.b, TX_AVAIL + 4 + 2 * (self.tx_idx % self.tx_qsize), head)
        self.tx_idx += 1
        struct.pack_into("<H", self.b, TX_AVAIL + 2, self.tx_idx & 0xffff)


def net_seeds():
    """(name, rx qsize, tx qsize, features, image, ops)"""
    out = []
    # A transmit request split over three descriptors, two rx buffers, one frame in.
    im = NetImage(4, 4)
    im.tx_desc(0, DATA, HDR, NEXT, 1)
    im.tx_desc(1, DATA + HDR, 40, NEXT, 2)
    im.tx_desc(2, 0x3000, 60)
    im.tx_push(0)
    im.desc(0, DATA + 0x100, 0x80, WRITE)
    im.desc(1, DATA + 0x180, 0x80, WRITE)
    im.push(0)
    im.push(1)
    out.append(("tx_rx", 4, 4, MRG | EVENT_IDX_F, im,
                [op(N_NOTIFY, 0, 1), op(N_FRAME, 200, 0xab), op(N_ACK, 0, 3),
                 op(N_READ_REG, 0x70)]))
    # Mergeable rx: a frame larger than any one buffer, buffers in region B.
    im = NetImage(8, 2)
    for i in range(6):
        im.desc(i, 0x3000 + 0x200 * i, 0x200, WRITE)
        im.push(i)
    out.append(("mergeable", 8, 2, MRG | INDIRECT_F, im,
                [op(N_FRAME, 1500, 0x11), op(N_FRAME, 60, 0x22), op(N_RX_PUBLISH, 0, 2)]))
    # Without MRG_RXBUF: a buffer too small for the frame, then one that fits.
    im = NetImage(4, 2)
    im.desc(0, DATA, 0x40, WRITE)
    im.push(0)
    out.append(("small_rx_buffer", 4, 2, 0, im,
                [op(N_FRAME, 1000, 1), op(N_FRAME, 20, 2), op(N_NOTIFY, 0, 0)]))
    # Hostile rx: read-only buffer, and one smaller than the header.
    im = NetImage(4, 2)
    im.desc(0, DATA, 0x100, 0)
    im.desc(1, DATA + 0x100, 8, WRITE)
    im.push(0)
    im.push(1)
    out.append(("hostile_rx", 4, 2, MRG, im,
                [op(N_FRAME, 100, 3), op(N_READ_REG, 0x70), op(N_RESET), op(N_FRAME, 100, 3)]))
    # Hostile tx: header-only, shorter than the header, writable, overlapping giant.
    im = NetImage(2, 8)
    im.tx_desc(0, DATA, HDR)
    im.tx_desc(1, DATA, 0x800, NEXT, 2)
    im.tx_desc(2, DATA, 0xFFFF, NEXT, 3)
    im.tx_desc(3, 0, 0x2000)
    im.tx_desc(4, DATA, 8)
    im.tx_desc(5, DATA, 64, NEXT, 6)
    im.tx_desc(6, DATA + 0x40, 64, WRITE)
    for head in (0, 1, 4, 5):
        im.tx_push(head)
    out.append(("hostile_tx", 2, 8, VNET | EVENT_IDX_F, im,
                [op(N_NOTIFY, 0, 1), op(N_TX_PUBLISH, 0, 1), op(N_RESET), op(N_NOTIFY, 0, 1)]))
    # An offload request (gso_type TCPv4) to a backend without offloads.
    im = NetImage(2, 2)
    struct.pack_into("<BBHHHHH", im.b, DATA, 1, 1, 54, 1448, 34, 16, 0)
    im.tx_desc(0, DATA, 0x200)
    im.tx_push(0)
    out.append(("offload_not_offered", 2, 2, 0, im, [op(N_NOTIFY, 0, 1)]))
    return out


def main():
    for name, qsize, features, im, ops in blk_seeds():
        write("fuzz_virtio_blk", name, rng_header(qsize, features) + bytes(im.b) + b"".join(ops))
    for name, qsize, features, im, qops, rops in seeds():
        image = bytes(im.b)
        write("fuzz_virtqueue", name,
              queue_header(qsize, features & 3, qops) + image.rstrip(b"\0"))
        write("fuzz_virtio_rng", name, rng_header(qsize, features) + image + b"".join(rops))
    for name, rx_q, tx_q, features, im, ops in net_seeds():
        write("fuzz_virtio_net", name, net_header(rx_q, tx_q, features) + bytes(im.b) +
              b"".join(ops))


if __name__ == "__main__":
    main()
