#!/usr/bin/env python3
"""Removes halo2curves' constant table of small BN254 scalars from a wasm file.

`Fr::from(u64)` in halo2curves reads a table of the 65,536 field elements
0..65535 (Montgomery form): 2 MiB of incompressible data in the browser
verifier, two thirds of its download. The wasm verifier rebuilds the table
in memory when it starts (`zkinf-web`: `field_table`) and checks it before
verifying anything, so the shipped module does not need to carry it. This
script finds the table's bytes in the module's data section (every entry is
checked), cuts them out of their data segment (memory there stays zero until
the verifier fills it), writes the table's address into the verifier's
marker (`ZKINF_FR_TABLE?\0` becomes `ZKINF_FR_AT:` + u32 LE) and rewrites
the module.

    python3 scripts/wasm-strip-fr-table.py MODULE.wasm
"""
import sys

P = 0x30644E72E131A029B85045B68181585D2833E84879B9709143E1F593F0000001
R = (1 << 256) % P
ENTRIES = 1 << 16


def leb(b, at, signed=False):
    """A LEB128 number at b[at]: (value, offset after it)."""
    v = shift = 0
    while True:
        x = b[at]
        at += 1
        v |= (x & 0x7F) << shift
        shift += 7
        if x < 0x80:
            if signed and x & 0x40:
                v -= 1 << shift
            return v, at


def enc_u(v):
    out = bytearray()
    while True:
        x = v & 0x7F
        v >>= 7
        if v:
            out.append(x | 0x80)
        else:
            out.append(x)
            return bytes(out)


def enc_s(v):
    out = bytearray()
    while True:
        x = v & 0x7F
        v >>= 7
        if (v == 0 and not x & 0x40) or (v == -1 and x & 0x40):
            out.append(x)
            return bytes(out)
        out.append(x | 0x80)


def table():
    return b"".join(((i * R) % P).to_bytes(32, "little") for i in range(ENTRIES))


def main():
    path = sys.argv[1]
    wasm = open(path, "rb").read()
    assert wasm[:4] == b"\0asm", f"{path}: not a wasm module"
    tab = table()
    probe = tab[32:160]
    hits = []
    at = wasm.find(probe)
    while at >= 0:
        hits.append(at - 32)
        at = wasm.find(probe, at + 1)
    if not hits:
        print(f"{path}: no table found (already stripped?)")
        return
    if len(hits) != 1 or wasm[hits[0] : hits[0] + len(tab)] != tab:
        sys.exit(f"{path}: {len(hits)} partial copies of the table; not stripping")
    start = hits[0]
    end = start + len(tab)

    # walk the sections to the data section and the segment holding the table
    at = 8
    out = bytearray(wasm[:8])
    done = False
    extra_segments = 0
    sections = []
    while at < len(wasm):
        sid = wasm[at]
        size, body = leb(wasm, at + 1)
        sections.append((sid, body, body + size))
        at = body + size
    for sid, body, stop in sections:
        if sid != 11 or done:
            continue
        count, at = leb(wasm, body)
        segs = []
        for _ in range(count):
            seg_start = at
            flags, at = leb(wasm, at)
            if flags not in (0, 1, 2):
                sys.exit(f"{path}: unknown data segment kind {flags}")
            off = None
            if flags == 2:
                _, at = leb(wasm, at)
            if flags in (0, 2):
                assert wasm[at] == 0x41, "segment offset is not i32.const"
                off, at = leb(wasm, at + 1, signed=True)
                assert wasm[at] == 0x0B
                at += 1
            n, at = leb(wasm, at)
            segs.append((seg_start, flags, off, at, at + n))
            at += n
        marker = b"ZKINF_FR_TABLE?\0"
        m_at = wasm.find(marker)
        if m_at < 0 or wasm.find(marker, m_at + 1) >= 0:
            sys.exit(f"{path}: the verifier's table marker is missing or not unique")
        home = [s for s in segs if s[0] != None and s[3] <= start and end <= s[4] and s[1] == 0]
        if not home or not any(s[3] <= m_at and m_at + 16 <= s[4] for s in segs):
            sys.exit(f"{path}: the table or the marker is not inside an active data segment")
        addr = home[0][2] + (start - home[0][3])
        wasm = wasm[:m_at] + b"ZKINF_FR_AT:" + addr.to_bytes(4, "little") + wasm[m_at + 16 :]
        new = []
        tail = []
        for seg_start, flags, off, data, data_end in segs:
            if data <= start and end <= data_end and flags == 0:
                a = wasm[data:start]
                b = wasm[end:data_end]
                # the first part keeps the segment's index; the rest goes
                # last, so no other segment's index changes
                new.append(b"\0\x41" + enc_s(off) + b"\x0b" + enc_u(len(a)) + a)
                if b:
                    tail.append(b"\0\x41" + enc_s(off + (end - data)) + b"\x0b" + enc_u(len(b)) + b)
                done = True
            else:
                new.append(wasm[seg_start:data_end])
        if not done:
            sys.exit(f"{path}: the table is not inside an active data segment")
        extra_segments = len(tail)
        payload = enc_u(len(new) + len(tail)) + b"".join(new + tail)
        sections[sections.index((sid, body, stop))] = (sid, None, payload)
    for sid, body, stop in sections:
        if body is None:
            payload = stop
        elif sid == 12:  # data count
            count, _ = leb(wasm, body)
            payload = enc_u(count + extra_segments)
        else:
            payload = wasm[body:stop]
        out += bytes([sid]) + enc_u(len(payload)) + payload
    open(path + ".tmp", "wb").write(out)
    import os

    os.replace(path + ".tmp", path)
    print(f"{path}: removed the {len(tab)}-byte scalar table ({len(wasm)} -> {len(out)} bytes)")


if __name__ == "__main__":
    main()
