#!/usr/bin/env python3
"""Writes a copy of a zkinf bundle with one byte of one shard's proof flipped
(the halo2 proof part, past the proof file's header): a tampered proof that
the verifier must reject, naming that shard.

    python3 scripts/tamper-bundle.py IN.zkinf SHARD OUT.zkinf
"""
import struct
import sys


def main():
    src, shard, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    b = bytearray(open(src, "rb").read())
    assert b[:8] == b"ZKINFBND", "not a zkinf bundle"
    at = 13  # magic, version, kind
    u32 = lambda: struct.unpack_from("<I", b, at)[0]
    n = u32(); at += 4 + n  # plan
    at += 160  # SRS verifier part
    for _ in range(2):  # claimed input, output
        n = u32(); at += 4 + 8 * n
    shards = u32(); at += 4
    assert shard < shards, f"the bundle has {shards} shards"
    for i in range(shards):
        at += 8  # the shard's nodes (start, end)
        n = u32(); at += 4 + n  # verifying key
        n = u32(); at += 4
        if i == shard:
            assert n > 400, "shard has no proof"
            header = 8 + 4 + 1 + 4 + 4 * 32 + 4
            b[at + header + (n - header) // 2] ^= 0x01
            break
        at += n
    open(dst, "wb").write(bytes(b))


if __name__ == "__main__":
    main()
