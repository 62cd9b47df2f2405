#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz harnesses (tests/fuzz/corpus/, committed; deterministic).

    /usr/bin/python3 tests/fuzz/make_corpus.py

corpus/weights_raw/       whole .pms files for fuzz_weights_raw: small, valid files made with
                          weights/pms_format.py (a few tensors, few classes), so mutations reach
                          the header, table and finiteness checks; plus the first 64 KiB of the
                          shipped Tiny file (its real header and table, truncated).
corpus/weights_resealed/  patch scripts for fuzz_weights_resealed (format in that harness's
                          header comment), applied to the shipped CamVid files.
corpus/images/            small images in every format and layout the example tools decode.
"""
from __future__ import annotations

import io
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "weights"))
import pms_format as fmt  # noqa: E402

OUT = os.path.join(HERE, "corpus")
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def write(sub: str, name: str, data: bytes):
    d = os.path.join(OUT, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def raw_weights():
    rng = np.random.default_rng(14)
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    u8 = lambda *shape: rng.integers(0, 256, shape, dtype=np.uint8)  # noqa: E731
    write("weights_raw", "tiny_k2_stem.pms", fmt.pms_bytes("tiny", 2, *IMAGENET, [
        ("backbone.smb1.conv.weight", f32(9, 3, 16)), ("backbone.smb1.conv.bias", f32(16))]))
    write("weights_raw", "base_k3_head.pms", fmt.pms_bytes("base", 3, (0.5,) * 3, (0.5,) * 3, [
        ("decode_head.linear_fuse.weight", f32(1, 256)), ("decode_head.linear_fuse.bias", f32(256)),
        ("decode_head.conv_seg.weight", f32(256, 16)), ("decode_head.conv_seg.bias", f32(16))]))
    write("weights_raw", "tiny_k5_selftest.pms", fmt.pms_bytes("tiny", 5, *IMAGENET, [
        ("selftest.image", u8(8, 12, 3)), ("selftest.logits", f32(5, 1, 1)),
        ("selftest.labels", (u8(8, 12) % 5).astype(np.uint8)), ("selftest.label_margin", np.abs(f32(8, 12)))]))
    with open(os.path.join(ROOT, "weights", "pp_mobileseg_tiny_camvid.pms"), "rb") as f:
        write("weights_raw", "tiny_camvid_first_64k.pms", f.read(65536))
    # An int8 (version 3) file: the head's classifier as a quantized conv (codes in [-127, 127],
    # weight_sum their row sums), so mutations reach the precision and quantization checks.
    q = np.random.default_rng(8).integers(-127, 128, (64, 16, 4), dtype=np.int8)
    write("weights_raw", "base_k3_head_int8.pms", fmt.pms_bytes("base", 3, (0.5,) * 3, (0.5,) * 3, [
        ("decode_head.linear_fuse.weight", f32(1, 256)), ("decode_head.linear_fuse.bias", f32(256)),
        ("decode_head.conv_seg.weight_q", q), ("decode_head.conv_seg.weight_scale", np.abs(f32(16)) / 127),
        ("decode_head.conv_seg.weight_sum", q.astype(np.int32).sum(axis=(0, 2)).astype(np.int32)),
        ("decode_head.conv_seg.bias", f32(16))], precision="int8"))


# Patch records of fuzz_weights_resealed: op u8, index u16, offset u32, length u8, payload.
OP_HEADER, OP_TABLE, OP_TENSOR_BYTES, OP_TENSOR_FILL, OP_TENSOR_SCALE = range(5)


def record(op: int, index: int = 0, offset: int = 0, payload: bytes = b"") -> bytes:
    return struct.pack("<BHIB", op, index, offset, len(payload)) + payload


def resealed():
    tiny = fmt.read_pms(os.path.join(ROOT, "weights", "pp_mobileseg_tiny_camvid.pms"))
    base = fmt.read_pms(os.path.join(ROOT, "weights", "pp_mobileseg_base_camvid.pms"))
    f = lambda v: struct.pack("<f", v)  # noqa: E731
    seg = lambda pf: pf.order.index("decode_head.conv_seg.weight")  # noqa: E731
    write("weights_resealed", "tiny_unchanged", b"\0")
    write("weights_resealed", "base_unchanged", b"\1")
    write("weights_resealed", "tiny_k3", b"\0" + record(OP_HEADER, 0, 20, struct.pack("<I", 3)))
    write("weights_resealed", "tiny_std_tiny", b"\0" + record(OP_HEADER, 0, 36, f(1e-30)))
    # Classifier weights scaled to ~1e38: finite weights, non-finite logits.
    write("weights_resealed", "tiny_classifier_1e38", b"\0" + record(OP_TENSOR_SCALE, seg(tiny), 0, f(1e38)))
    write("weights_resealed", "base_classifier_1e38", b"\1" + record(OP_TENSOR_SCALE, seg(base), 0, f(1e38)))
    write("weights_resealed", "tiny_classifier_zero", b"\0" + record(OP_TENSOR_FILL, seg(tiny), 0, f(0.0)))
    write("weights_resealed", "tiny_stem_bytes", b"\0" + record(OP_TENSOR_BYTES, 0, 100, b"\xff\x7f\x00\x80"))
    write("weights_resealed", "tiny_table_dim", b"\0" + record(OP_TABLE, 0, 96, struct.pack("<I", 8)))


def images():
    from PIL import Image
    rng = np.random.default_rng(7)
    rgb = Image.fromarray(rng.integers(0, 256, (9, 13, 3), dtype=np.uint8))
    grey = Image.fromarray((np.arange(6 * 7, dtype=np.uint8) % 11).reshape(6, 7))
    for name, img, fmt_, kw in [("rgb.png", rgb, "PNG", {}), ("rgb.jpg", rgb, "JPEG", {"quality": 80}),
                                ("rgb.ppm", rgb, "PPM", {}), ("labels.png", grey, "PNG", {}),
                                ("labels.pgm", grey, "PPM", {}), ("palette.png", rgb.convert("P"), "PNG", {}),
                                ("palette_trns.png", rgb.convert("P"), "PNG", {"transparency": 3}),
                                ("progressive.jpg", rgb, "JPEG", {"progressive": True}),
                                ("grey.jpg", rgb.convert("L"), "JPEG", {}), ("cmyk.jpg", rgb.convert("CMYK"), "JPEG", {})]:
        buf = io.BytesIO()
        img.save(buf, fmt_, **kw)
        write("images", name, buf.getvalue())
    # 16-bit grey, 3 x 2: 0, 1000, ..., 5000.
    write("images", "rgb16.png", png_bytes(3, 2, 16, 0, [struct.pack(">3H", *(1000 * (3 * y + x) for x in range(3)))
                                                         for y in range(2)]))
    # 4-bit grey labels, 7 x 6, the ids of labels.png (two pixels a byte, the last half byte 0).
    ids = (np.arange(6 * 7) % 11).reshape(6, 7)
    write("images", "labels_4bit.png", png_bytes(7, 6, 4, 0, [bytes((int(r[i]) << 4) | (int(r[i + 1]) if i + 1 < 7 else 0)
                                                                    for i in range(0, 7, 2)) for r in ids]))
    # A PPM of maxval 1000 (two bytes a sample), 2 x 1: (0, 500, 1000), (1, 999, 250).
    write("images", "maxval1000.ppm", b"P6\n2 1\n1000\n" + struct.pack(">6H", 0, 500, 1000, 1, 999, 250))


def png_bytes(width: int, height: int, depth: int, colour: int, rows: list[bytes]) -> bytes:
    """A PNG written chunk by chunk, for the depths and layouts PIL does not write."""
    import zlib
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"".join(b"\0" + r for r in rows))) + chunk(b"IEND", b""))


if __name__ == "__main__":
    raw_weights()
    resealed()
    images()
