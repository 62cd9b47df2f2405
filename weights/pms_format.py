"""Reader and writer of the .pms weights file, versions 2 and 3 (see FORMAT.md, which is normative).

Version 2: float32 files. Version 3: adds the header field `precision` (u32 at offset 104:
0 = fp32, 1 = int8) and the dtypes i8 (3) and i32 (4); the writer uses version 3 only for
int8 files, so an fp32 file stays a version 2 file byte for byte.

Little-endian. [header 128 B][tensor table: count x 128 B][pad to 64][data section].
Every tensor starts at a multiple of 64 from the file start; padding bytes are zero;
table entries are in increasing offset order; checksum = FNV-1a 64 over the whole file
(bytes [0, file_size)) with the 8 bytes of the checksum field taken as zero.
"""
from __future__ import annotations

import struct

import numpy as np

MAGIC = b"\x89PMS\r\n\x1a\n"  # PNG-style: catches text-mode and 7-bit transfers
VERSION = 2  # fp32 files (1: the checksum covered only the data section)
VERSION_PRECISION = 3  # version 2 + the header's precision field + dtypes i8 / i32
VERSIONS = (VERSION, VERSION_PRECISION)
PRECISIONS = {"fp32": 0, "int8": 1}  # header field `precision` (version 3)
PRECISION_OFFSET = 104  # u32, the first 4 of the 24 bytes reserved in version 2
HEADER_SIZE = 128
ENTRY_SIZE = 128
ALIGN = 64
NAME_FIELD = 88  # names up to 87 bytes + NUL (longest real name: 69)
MAX_CLASSES = 256  # labels of the self-test vector are u8
VARIANTS = {"tiny": 0, "base": 1}
DTYPES = {1: np.dtype("<f4"), 2: np.dtype("u1"), 3: np.dtype("i1"), 4: np.dtype("<i4")}  # code -> numpy dtype
DTYPE_CODES = {v: k for k, v in DTYPES.items()}
V2_DTYPES = (1, 2)  # a version 2 file holds only these

# magic, version, header_size, variant, num_classes, mean[3], std[3], tensor_count,
# entry_size, table_offset, table_size, data_offset, data_size, checksum, file_size, reserved
HEADER_FMT = "<8sIIII3f3fIIQQQQQQ24s"
# name[88], dtype, rank, dims[4], offset, bytes
ENTRY_FMT = "<88sII4IQQ"
assert struct.calcsize(HEADER_FMT) == HEADER_SIZE and struct.calcsize(ENTRY_FMT) == ENTRY_SIZE

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def fnv1a64(data: bytes) -> int:
    """Standard FNV-1a 64, one byte at a time (sequential by nature: ~1 s per 5 MB here)."""
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


CHECKSUM_OFFSET = 88  # header offset of the u64 checksum field
CHECKSUM_SIZE = 8


def file_checksum(file: bytes) -> int:
    """The header's checksum of a whole file (bytes [0, file_size)): FNV-1a 64 with the
    checksum field's own 8 bytes read as zero."""
    return fnv1a64(bytes(file[:CHECKSUM_OFFSET]) + b"\0" * CHECKSUM_SIZE + bytes(file[CHECKSUM_OFFSET + CHECKSUM_SIZE:]))


def seal(file: bytes) -> bytes:
    """`file` (exactly file_size bytes) with its checksum field set to file_checksum(file)."""
    b = bytearray(file)
    struct.pack_into("<Q", b, CHECKSUM_OFFSET, file_checksum(b))
    return bytes(b)


def round_up(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


def write_pms(path, variant: str, num_classes: int, mean, std, tensors: list[tuple[str, np.ndarray]],
              precision: str = "fp32"):
    """tensors: ordered (name, array) with dtype f32 or u8 (int8 files also i8, i32), rank
    1..4. Deterministic."""
    data = bytearray(pms_bytes(variant, num_classes, mean, std, tensors, precision))
    with open(path, "wb") as f:
        f.write(data)


def pms_bytes(variant: str, num_classes: int, mean, std, tensors, precision: str = "fp32") -> bytes:
    """The file's bytes: version 2 for precision fp32 (reserved bytes all zero), version 3 with
    the precision field for int8."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} (fp32 or int8)")
    version = VERSION if precision == "fp32" else VERSION_PRECISION
    n = len(tensors)
    table_offset = HEADER_SIZE
    data_offset = round_up(table_offset + n * ENTRY_SIZE)
    entries, blobs, off = [], [], data_offset
    seen = set()
    for name, a in tensors:
        a = np.ascontiguousarray(a)
        if a.dtype not in DTYPE_CODES or (version == VERSION and DTYPE_CODES[a.dtype] not in V2_DTYPES):
            raise ValueError(f"{name}: dtype {a.dtype} not storable in a {precision} file")
        if not 1 <= a.ndim <= 4:
            raise ValueError(f"{name}: rank {a.ndim} not in 1..4")
        nb = name.encode("ascii")
        if not 1 <= len(nb) < NAME_FIELD:
            raise ValueError(f"{name}: name must be 1..87 bytes")
        if name in seen:
            raise ValueError(f"duplicate tensor {name}")
        seen.add(name)
        raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        dims = list(a.shape) + [0] * (4 - a.ndim)
        entries.append(struct.pack(ENTRY_FMT, nb.ljust(NAME_FIELD, b"\0"), DTYPE_CODES[a.dtype], a.ndim, *dims,
                                   off, len(raw)))
        blobs.append((off, raw))
        off = round_up(off + len(raw))
    data_size = off - data_offset
    data = bytearray(data_size)
    for o, raw in blobs:
        data[o - data_offset:o - data_offset + len(raw)] = raw
    reserved = b"\0" * 24 if version == VERSION else struct.pack("<I", PRECISIONS[precision]) + b"\0" * 20
    header = struct.pack(HEADER_FMT, MAGIC, version, HEADER_SIZE, VARIANTS[variant], num_classes,
                         *[float(m) for m in mean], *[float(s) for s in std], n, ENTRY_SIZE,
                         table_offset, n * ENTRY_SIZE, data_offset, data_size, 0,
                         data_offset + data_size, reserved)
    table = b"".join(entries)
    pad = b"\0" * (data_offset - HEADER_SIZE - len(table))
    return seal(header + table + pad + bytes(data))


class PmsFile:
    """Parsed .pms (Python side, for tests and tools): header fields + {name: array}."""

    def __init__(self, buf: bytes, verify_checksum: bool = True):
        if len(buf) < HEADER_SIZE:
            raise ValueError("truncated header")
        (magic, version, hsize, variant, k, m0, m1, m2, s0, s1, s2, count, esize, toff, tsize, doff, dsize,
         checksum, fsize, res) = struct.unpack_from(HEADER_FMT, buf, 0)
        if magic != MAGIC:
            raise ValueError("bad magic")
        if version not in VERSIONS:
            raise ValueError(f"unsupported version {version} (this reader knows {', '.join(map(str, VERSIONS))}; "
                             "re-convert the checkpoint)")
        if fsize > len(buf):
            raise ValueError("truncated file")
        if fsize < HEADER_SIZE:
            raise ValueError("corrupt header (file_size)")
        if verify_checksum and file_checksum(buf[:fsize]) != checksum:
            raise ValueError("bad checksum")
        if variant not in VARIANTS.values():
            raise ValueError(f"corrupt header (variant {variant})")
        prec = struct.unpack_from("<I", res, 0)[0] if version == VERSION_PRECISION else 0
        if prec not in PRECISIONS.values() or any(res[4 if version == VERSION_PRECISION else 0:]):
            raise ValueError(f"corrupt header (precision {prec} or reserved bytes)")
        self.version = version
        self.precision = {v: k_ for k_, v in PRECISIONS.items()}[prec]
        self.variant = {v: k_ for k_, v in VARIANTS.items()}[variant]
        self.num_classes, self.mean, self.std = k, (m0, m1, m2), (s0, s1, s2)
        self.data_offset, self.data_size, self.checksum = doff, dsize, checksum
        self.tensors: dict[str, np.ndarray] = {}
        self.order: list[str] = []
        self.offsets: dict[str, int] = {}  # byte offset of each tensor from the file start
        for i in range(count):
            name, dt, rank, d0, d1, d2, d3, off, nbytes = struct.unpack_from(ENTRY_FMT, buf, toff + i * esize)
            name = name.rstrip(b"\0").decode("ascii")
            shape = (d0, d1, d2, d3)[:rank]
            if dt not in DTYPES or (version == VERSION and dt not in V2_DTYPES):
                raise ValueError(f"corrupt table ({name}: dtype {dt} in a version {version} file)")
            a = np.frombuffer(buf, DTYPES[dt], count=int(np.prod(shape)), offset=off).reshape(shape)
            self.tensors[name] = a
            self.order.append(name)
            self.offsets[name] = off


def read_pms(path, verify_checksum: bool = True) -> PmsFile:
    with open(path, "rb") as f:
        return PmsFile(f.read(), verify_checksum)
