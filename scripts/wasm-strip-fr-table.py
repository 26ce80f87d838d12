#!/usr/bin/env python3
"""Moves halo2curves' constant table of small BN254 scalars from a wasm
module's data section into a start function that writes it.

`Fr::from(u64)` in halo2curves reads a table of the 65,536 field elements
0..65535 in Montgomery form (entry i = i*R mod p, R = 2^256 mod p): 2 MiB of
incompressible data, two thirds of the browser verifier's download. This
script

1. finds the table's bytes in the module's data section (every entry is
   checked) and cuts them out of their active data segment, so the memory
   there would start zeroed;
2. adds a function of type `() -> ()` (a loop of a few hundred bytes:
   x_0 = 0, x_{i+1} = x_i + R mod p in 64-bit limbs, each x_i stored at the
   table's address + 32 i) and makes it the module's start function
   (section 8; a module that already has one is refused);
3. checks what it wrote: the sections are parsed again (order, counts, the
   start function's index and type, no data segment over the table), and,
   when `node` is on the PATH, the module is instantiated there and the
   table's bytes in its memory are compared with the expected ones.

Why this is sound: by the WebAssembly specification, instantiating a module
first applies its active data segments to its memory and then runs its
start function, and only after that can any export be called. So the start
function's writes happen before the first instruction of Rust code, as part
of loading the module, exactly like the data section's bytes. The memory the
Rust program starts with is byte for byte the one the original, unstripped
module defines: the table holds what halo2curves' constant says, and no
Rust code writes to an immutable static (the verifier, `zkinf-web`, only
reads the table, and checks all of it through `Fr::from` before verifying
anything, refusing to verify when it is wrong).

    python3 scripts/wasm-strip-fr-table.py MODULE.wasm
"""
import hashlib
import os
import shutil
import subprocess
import sys

P = 0x30644E72E131A029B85045B68181585D2833E84879B9709143E1F593F0000001
R = (1 << 256) % P
ENTRIES = 1 << 16
ENTRY = 32

# section ids in the order the specification requires (13: tags)
ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11]
TYPE, IMPORT, FUNCTION, EXPORT, START, CODE, DATA, DATACOUNT = 1, 2, 3, 7, 8, 10, 11, 12
VOID_TYPE = b"\x60\x00\x00"  # func type () -> ()


class WasmError(Exception):
    pass


def leb(b, at, signed=False):
    """A LEB128 number at b[at]: (value, offset after it)."""
    v = shift = 0
    while True:
        if at >= len(b):
            raise WasmError("truncated LEB128 number")
        x = b[at]
        at += 1
        v |= (x & 0x7F) << shift
        shift += 7
        if x < 0x80:
            if signed and x & 0x40:
                v -= 1 << shift
            return v, at


def enc_u(v):
    assert v >= 0
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


def signed(v, bits):
    """v (unsigned, `bits` wide) as the signed number of the same bits."""
    return v - (1 << bits) if v >= 1 << (bits - 1) else v


def table():
    return b"".join(((i * R) % P).to_bytes(ENTRY, "little") for i in range(ENTRIES))


def limbs(v):
    return [(v >> (64 * j)) & ((1 << 64) - 1) for j in range(4)]


def sections(wasm):
    """[(id, payload)] of a module."""
    if wasm[:8] != b"\0asm\x01\0\0\0":
        raise WasmError("not a version 1 wasm module")
    out = []
    at = 8
    while at < len(wasm):
        sid = wasm[at]
        size, body = leb(wasm, at + 1)
        if body + size > len(wasm):
            raise WasmError(f"section {sid} runs past the end of the module")
        if sid != 0 and sid not in ORDER:
            raise WasmError(f"unknown section id {sid}")
        out.append((sid, wasm[body : body + size]))
        at = body + size
    return out


def assemble(secs):
    return b"\0asm\x01\0\0\0" + b"".join(bytes([s]) + enc_u(len(p)) + p for s, p in secs)


def vec(payload):
    """A section's item count and the offset of its first item."""
    return leb(payload, 0)


def valtype(b, at):
    t = b[at]
    if t in (0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F):
        return at + 1
    if t in (0x63, 0x64):  # (ref null? heaptype)
        return leb(b, at + 1, signed=True)[1]
    raise WasmError(f"unknown value type 0x{t:02x}")


def func_types(payload):
    """Each entry of a type section, as bytes (plain function types only)."""
    n, at = vec(payload)
    out = []
    for _ in range(n):
        start = at
        if payload[at] != 0x60:
            raise WasmError(f"type section entry of form 0x{payload[at]:02x} (only plain function types are supported)")
        at += 1
        for _ in range(2):  # parameters, results
            k, at = leb(payload, at)
            for _ in range(k):
                at = valtype(payload, at)
        out.append(payload[start:at])
    if at != len(payload):
        raise WasmError("type section: trailing bytes")
    return out


def limits(b, at):
    flags = b[at]
    if flags > 7:
        raise WasmError(f"unknown limits flags 0x{flags:02x}")
    _, at = leb(b, at + 1)
    if flags & 1:
        _, at = leb(b, at)
    return at


def imported_functions(payload):
    """How many of the imports are functions (they come first in the
    function index space)."""
    n, at = vec(payload)
    funcs = 0
    for _ in range(n):
        for _ in range(2):  # module name, field name
            k, at = leb(payload, at)
            at += k
        kind = payload[at]
        at += 1
        if kind == 0:  # function: type index
            funcs += 1
            _, at = leb(payload, at)
        elif kind == 1:  # table: reference type, limits
            at = limits(payload, valtype(payload, at))
        elif kind == 2:  # memory
            at = limits(payload, at)
        elif kind == 3:  # global: value type, mutability
            at = valtype(payload, at) + 1
        elif kind == 4:  # tag: attribute, type index
            _, at = leb(payload, at + 1)
        else:
            raise WasmError(f"unknown import kind {kind}")
    if at != len(payload):
        raise WasmError("import section: trailing bytes")
    return funcs


def u32_list(payload):
    n, at = vec(payload)
    out = []
    for _ in range(n):
        v, at = leb(payload, at)
        out.append(v)
    if at != len(payload):
        raise WasmError("trailing bytes")
    return out


def code_entries(payload):
    n, at = vec(payload)
    out = []
    for _ in range(n):
        size, body = leb(payload, at)
        out.append(payload[body : body + size])
        at = body + size
    if at != len(payload):
        raise WasmError("code section: trailing bytes")
    return out


def data_segments(payload):
    """[(raw bytes, flags, offset or None, data start, data end)]; the data
    offsets are within `payload`."""
    n, at = vec(payload)
    out = []
    for _ in range(n):
        seg_start = at
        flags, at = leb(payload, at)
        if flags not in (0, 1, 2):
            raise WasmError(f"unknown data segment kind {flags}")
        off = None
        if flags == 2:
            _, at = leb(payload, at)  # memory index
        if flags in (0, 2):
            if payload[at] != 0x41:
                raise WasmError("a data segment's offset is not an i32.const")
            off, at = leb(payload, at + 1, signed=True)
            if payload[at] != 0x0B:
                raise WasmError("a data segment's offset is not a single i32.const")
            at += 1
            off &= 0xFFFFFFFF
        k, at = leb(payload, at)
        out.append((payload[seg_start : at + k], flags, off, at, at + k))
        at += k
    if at != len(payload):
        raise WasmError("data section: trailing bytes")
    return out


def segment(off, data):
    """An active data segment of memory 0 at `off`."""
    return b"\0\x41" + enc_s(signed(off, 32)) + b"\x0b" + enc_u(len(data)) + data


def fill_body(addr):
    """The start function's code entry: writes entry i = i*R mod p (4 LE
    u64 limbs) at addr + 32 i for i in 0..65535.

    Locals: 0 the address (i32); 1-4 x, the current entry, 5-8 t = x - p,
    9 the carry or borrow (i64 0 or 1)."""
    end = addr + ENTRIES * ENTRY
    if end > 1 << 32:
        raise WasmError("the table does not fit a 32-bit memory")
    ADDR, X, T, C = 0, 1, 5, 9

    def get(i):
        return b"\x20" + enc_u(i)

    def set_(i):
        return b"\x21" + enc_u(i)

    def tee(i):
        return b"\x22" + enc_u(i)

    def i64c(v):
        return b"\x42" + enc_s(signed(v, 64))

    def i32c(v):
        return b"\x41" + enc_s(signed(v, 32))

    I64_ADD, I64_SUB, I64_LT_U = b"\x7c", b"\x7d", b"\x54"
    I32_OR, I64_EXTEND_I32_U, I32_WRAP_I64 = b"\x72", b"\xad", b"\xa7"
    SELECT, I32_ADD, I32_NE = b"\x1b", b"\x6a", b"\x47"
    carry_to_c = I32_OR + I64_EXTEND_I32_U + set_(C)

    code = i32c(addr) + set_(ADDR)
    code += b"\x03\x40"  # loop (no result)
    for j in range(4):  # i64.store align=8 offset=8j
        code += get(ADDR) + get(X + j) + b"\x37\x03" + enc_u(8 * j)
    # x += R (x < p and R < p, so x + R < 2p < 2^256: no carry out)
    code += i64c(0) + set_(C)
    for j, r in enumerate(limbs(R)):
        code += get(X + j) + i64c(r) + I64_ADD + tee(X + j) + i64c(r) + I64_LT_U
        code += get(X + j) + get(C) + I64_ADD + tee(X + j) + get(C) + I64_LT_U
        code += carry_to_c
    # t = x - p, C = the final borrow (1 when x < p)
    code += i64c(0) + set_(C)
    for j, p in enumerate(limbs(P)):
        code += get(X + j) + i64c(p) + I64_LT_U
        code += get(X + j) + i64c(p) + I64_SUB + tee(T + j) + get(C) + I64_LT_U
        code += get(T + j) + get(C) + I64_SUB + set_(T + j)
        code += carry_to_c
    # x = borrow ? x : t
    for j in range(4):
        code += get(X + j) + get(T + j) + get(C) + I32_WRAP_I64 + SELECT + set_(X + j)
    code += get(ADDR) + i32c(ENTRY) + I32_ADD + tee(ADDR) + i32c(end) + I32_NE
    code += b"\x0d\x00"  # br_if 0: next entry
    code += b"\x0b"  # end loop
    code += b"\x0b"  # end function
    body = b"\x02" + b"\x01\x7f" + b"\x09\x7e" + code  # locals: 1 i32, 9 i64
    return enc_u(len(body)) + body


def put(secs, sid, payload):
    """Replaces section `sid`, or inserts it where the order requires."""
    for i, (s, _) in enumerate(secs):
        if s == sid:
            secs[i] = (sid, payload)
            return
    rank = ORDER.index(sid)
    for i, (s, _) in enumerate(secs):
        if s != 0 and ORDER.index(s) > rank:
            secs.insert(i, (sid, payload))
            return
    secs.append((sid, payload))


def get_section(secs, sid):
    found = [p for s, p in secs if s == sid]
    if len(found) > 1:
        raise WasmError(f"{len(found)} sections of id {sid}")
    return found[0] if found else None


def strip(wasm):
    """(new module, table address) or None when the module has no table."""
    tab = table()
    probe = tab[ENTRY : 5 * ENTRY]  # entries 1..4 (entry 0 is zeros)
    hits = []
    at = wasm.find(probe)
    while at >= 0:
        hits.append(at - ENTRY)
        at = wasm.find(probe, at + 1)
    if not hits:
        return None
    if len(hits) != 1 or wasm[hits[0] : hits[0] + len(tab)] != tab:
        raise WasmError(f"{len(hits)} partial copies of the table; not stripping")
    secs = sections(wasm)
    if get_section(secs, START) is not None:
        raise WasmError("the module already has a start function (section 8); not adding one")

    # where the data section's payload is in the file
    at = 8
    data_at = None
    for sid, payload in secs:
        size, body = leb(wasm, at + 1)
        if sid == DATA:
            data_at = body
        at = body + size
    if data_at is None:
        raise WasmError("no data section")
    start, end = hits[0] - data_at, hits[0] - data_at + len(tab)
    payload = get_section(secs, DATA)
    segs = data_segments(payload)
    homes = [s for s in segs if s[1] == 0 and s[3] <= start and end <= s[4]]
    if len(homes) != 1:
        raise WasmError("the table is not inside an active data segment of memory 0")
    _, _, off, data, data_end = homes[0]
    addr = off + (start - data)
    if addr % 8:
        raise WasmError(f"the table's address {addr} is not 8-byte aligned")
    new, tail = [], []
    for raw, flags, off_, d, d_end in segs:
        if (d, d_end) == (data, data_end):
            # the first part keeps the segment's index; the rest goes last,
            # so no other segment's index changes
            new.append(segment(off, payload[data:start]))
            if end < data_end:
                tail.append(segment(off + (end - data), payload[end:data_end]))
        else:
            new.append(raw)
    put(secs, DATA, enc_u(len(new) + len(tail)) + b"".join(new + tail))
    dc = get_section(secs, DATACOUNT)
    if dc is not None:
        put(secs, DATACOUNT, enc_u(leb(dc, 0)[0] + len(tail)))

    # the start function: its type, its entry in the function section, its
    # code, the start section
    types = func_types(get_section(secs, TYPE) or b"\0")
    if VOID_TYPE in types:
        ty = types.index(VOID_TYPE)
    else:
        ty = len(types)
        types.append(VOID_TYPE)
        put(secs, TYPE, enc_u(len(types)) + b"".join(types))
    imports = get_section(secs, IMPORT)
    nimported = imported_functions(imports) if imports is not None else 0
    funcs = u32_list(get_section(secs, FUNCTION) or b"\0")
    codes = code_entries(get_section(secs, CODE) or b"\0")
    if len(funcs) != len(codes):
        raise WasmError(f"{len(funcs)} functions but {len(codes)} bodies")
    index = nimported + len(funcs)
    funcs.append(ty)
    put(secs, FUNCTION, enc_u(len(funcs)) + b"".join(enc_u(t) for t in funcs))
    code = get_section(secs, CODE) or b"\0"
    n, first = vec(code)
    put(secs, CODE, enc_u(n + 1) + code[first:] + fill_body(addr))
    put(secs, START, enc_u(index))
    return assemble(secs), addr


def check(wasm, addr):
    """Parses the written module again: the sections' order, the start
    function (index, type, body), no data segment over the table."""
    secs = sections(wasm)
    ranks = [ORDER.index(s) for s, _ in secs if s != 0]
    if ranks != sorted(ranks) or len(set(ranks)) != len(ranks):
        raise WasmError(f"sections out of order: {[s for s, _ in secs]}")
    types = func_types(get_section(secs, TYPE))
    imports = get_section(secs, IMPORT)
    nimported = imported_functions(imports) if imports is not None else 0
    funcs = u32_list(get_section(secs, FUNCTION))
    codes = code_entries(get_section(secs, CODE))
    if len(funcs) != len(codes):
        raise WasmError(f"{len(funcs)} functions but {len(codes)} bodies")
    (start,) = u32_list(b"\x01" + get_section(secs, START))
    if start != nimported + len(funcs) - 1:
        raise WasmError(f"the start function is {start}, not the added one")
    if types[funcs[-1]] != VOID_TYPE:
        raise WasmError("the start function's type is not () -> ()")
    if enc_u(len(codes[-1])) + codes[-1] != fill_body(addr):
        raise WasmError("the start function's body is not the table fill")
    segs = data_segments(get_section(secs, DATA))
    dc = get_section(secs, DATACOUNT)
    if dc is not None and leb(dc, 0)[0] != len(segs):
        raise WasmError("the data count section does not match the data section")
    for _, flags, off, d, d_end in segs:
        if flags != 1 and off < addr + ENTRIES * ENTRY and addr < off + (d_end - d):
            raise WasmError("a data segment still covers the table")


# Instantiates the module with stub imports (the start function calls none)
# and prints the SHA-256 of the table's bytes in its exported memory.
NODE_CHECK = r"""
const fs = require('fs'), crypto = require('crypto');
const [path, at, len] = process.argv.slice(1);
const mod = new WebAssembly.Module(fs.readFileSync(path));
const imports = {};
for (const i of WebAssembly.Module.imports(mod)) {
  if (i.kind !== 'function') { console.log('skip: the module imports a ' + i.kind); process.exit(0); }
  (imports[i.module] ??= {})[i.name] = () => { throw new Error('called at start: ' + i.name); };
}
const mem = WebAssembly.Module.exports(mod).find((e) => e.kind === 'memory');
if (!mem) { console.log('skip: no memory export'); process.exit(0); }
const inst = new WebAssembly.Instance(mod, imports);
const bytes = new Uint8Array(inst.exports[mem.name].buffer, Number(at), Number(len));
console.log(crypto.createHash('sha256').update(bytes).digest('hex'));
"""


def run_check(path, addr):
    node = shutil.which("node")
    if node is None:
        return "node not found: the start function was not run here (web/test/node.mjs runs it)"
    out = subprocess.run(
        [node, "-e", NODE_CHECK, path, str(addr), str(ENTRIES * ENTRY)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if out.returncode != 0:
        raise WasmError(f"node could not instantiate the module: {out.stderr.strip()}")
    got = out.stdout.strip()
    if got.startswith("skip:"):
        return f"not run in node ({got[5:].strip()})"
    if got != hashlib.sha256(table()).hexdigest():
        raise WasmError("in node, the table written by the start function is wrong")
    return "run in node: the table it writes is exact"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    path = sys.argv[1]
    wasm = open(path, "rb").read()
    try:
        stripped = strip(wasm)
        if stripped is None:
            print(f"{path}: no table found (already stripped?)")
            return
        out, addr = stripped
        check(out, addr)
        tmp = path + ".tmp"
        open(tmp, "wb").write(out)
        try:
            ran = run_check(tmp, addr)
        except WasmError:
            os.remove(tmp)
            raise
    except WasmError as e:
        sys.exit(f"{path}: {e}")
    os.replace(tmp, path)
    print(
        f"{path}: the {ENTRIES * ENTRY}-byte scalar table at 0x{addr:x} is now written by a start "
        f"function ({len(wasm)} -> {len(out)} bytes; {ran})"
    )


if __name__ == "__main__":
    main()
