#!/usr/bin/env python3
"""Regenerates the seed corpus of fuzz_virtio_vsock (format: the top of
fuzz_virtio_vsock.cpp). Guest CID 3, host CID 2; the harness serves host
port 5, and the first host client's connection gets host port 1 << 30."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
REQUEST, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST = range(1, 8)
FIX_CIDS, FIX_TYPE = 1, 2
HOST_PORT = 1 << 30


def hdr(op, src_port, dst_port, length=0, flags=0, buf_alloc=65536, fwd_cnt=0, src_cid=3,
        dst_cid=2, typ=1):
    return struct.pack("<QQIIIHHIII", src_cid, dst_cid, src_port, dst_port, length, typ, op,
                       flags, buf_alloc, fwd_cnt)


def packet(h, payload=0, chain_len=0, flags=0):
    return bytes([0, flags]) + h + struct.pack("<HH", payload, chain_len)


def post_rx(count, length):
    return bytes([1, count]) + struct.pack("<H", length)


def host_write(conn, length):
    return bytes([2, conn]) + struct.pack("<H", length)


def host_shutdown(conn):
    return bytes([3, conn])


def host_close(conn):
    return bytes([4, conn])


def client_connect(port):
    return bytes([5]) + struct.pack("<H", port)


def notify(q):
    return bytes([6, q])


RESET = bytes([7])


def seeds():
    yield "guest_connect_rw", b"".join([
        packet(hdr(REQUEST, 1000, 5)),
        packet(hdr(RW, 1000, 5, 100), payload=100),
        host_write(0, 3000),
        packet(hdr(CREDIT_UPDATE, 1000, 5, fwd_cnt=3000)),
        packet(hdr(CREDIT_REQUEST, 1000, 5)),
        host_shutdown(0),
        packet(hdr(SHUTDOWN, 1000, 5, flags=3)),
        notify(0),
    ])
    yield "guest_credit", b"".join([
        packet(hdr(REQUEST, 1001, 5, buf_alloc=10)),
        host_write(0, 1000),
        post_rx(4, 0x1000),
        packet(hdr(CREDIT_UPDATE, 1001, 5, buf_alloc=10, fwd_cnt=10)),
        packet(hdr(CREDIT_UPDATE, 1001, 5, buf_alloc=10, fwd_cnt=0xffffff00)),
        packet(hdr(RW, 1001, 5, 7000), payload=7000),
        host_close(0),
        packet(hdr(RW, 1001, 5, 10), payload=10),
    ])
    yield "host_client", b"".join([
        client_connect(5000),
        packet(hdr(RESPONSE, 5000, HOST_PORT)),
        host_write(0, 500),
        packet(hdr(RW, 5000, HOST_PORT, 64), payload=64),
        packet(hdr(RST, 5000, HOST_PORT)),
        client_connect(5001),
        packet(hdr(RST, 5001, HOST_PORT + 1)),
        RESET,
        client_connect(7),
    ])
    yield "hostile", b"".join([
        packet(hdr(99, 1, 2)),
        packet(hdr(REQUEST, 1, 2, dst_cid=77)),
        packet(hdr(REQUEST, 1, 2, src_cid=4)),
        packet(hdr(REQUEST, 1, 2, typ=2)),
        packet(hdr(RW, 1, 2, 1000), chain_len=44),
        packet(hdr(RW, 1, 2, 4), payload=4),
        packet(hdr(REQUEST, 1, 2), chain_len=20),
        packet(hdr(RESPONSE, 1, 2)),
        packet(hdr(REQUEST, 1002, 5)),
        packet(hdr(REQUEST, 1002, 5)),
        packet(hdr(RW, 1002, 5, 70000 & 0xffff), payload=0xffff),
    ])
    yield "tiny_rx_buffers", b"".join([
        RESET,
        post_rx(3, 8),
        packet(hdr(REQUEST, 1003, 9)),
        notify(0),
    ])


def main():
    d = os.path.join(HERE, "corpus", "fuzz_virtio_vsock")
    os.makedirs(d, exist_ok=True)
    for name, blob in seeds():
        assert len(blob) <= 4096
        with open(os.path.join(d, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
