#!/usr/bin/env python3
"""Hostile inputs for the example tools' tests, made from the shipped Tiny weights:

    make_hostile_files.py WEIGHTS.pms IMAGE.jpg OUTDIR

OUTDIR/header_flip.pms        one header bit flipped (class count 11 -> 10), checksum as shipped
OUTDIR/v1.pms                 version field 1 (the old format), resealed
OUTDIR/k3.pms                 class count 3, resealed: loads, fails the self-test
OUTDIR/classifier_1e38.pms    classifier weights scaled by 1e38, resealed: finite weights,
                              non-finite logits
OUTDIR/zeros_16384.png        16384 x 16384 all-zero greyscale PNG (about 800 KB)
OUTDIR/zeros_4000x3000.png    4000 x 3000 all-zero greyscale PNG
OUTDIR/set/images/a.jpg, OUTDIR/set/labels/a.png   a one-image evaluation set (all labels 0)
"""
import os
import shutil
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "weights"))
import pms_format as fmt  # noqa: E402


def png_zeros(path, width, height):
    """A greyscale 8-bit PNG of zeros, compressed a row at a time (no 800 MB buffer)."""
    z = zlib.compressobj(9)
    row = bytes(1 + width)  # filter byte 0, then the pixels
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
                chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def main(weights, image, out):
    data = open(weights, "rb").read()
    os.makedirs(out, exist_ok=True)
    write = lambda name, b: open(os.path.join(out, name), "wb").write(b)  # noqa: E731

    b = bytearray(data)
    b[20] ^= 1  # num_classes 11 -> 10
    write("header_flip.pms", bytes(b))

    b = bytearray(data)
    struct.pack_into("<I", b, 8, 1)
    write("v1.pms", fmt.seal(bytes(b)))

    b = bytearray(data)
    struct.pack_into("<I", b, 20, 3)
    write("k3.pms", fmt.seal(bytes(b)))

    f = fmt.PmsFile(data)
    name = "decode_head.conv_seg.weight"
    off, w = f.offsets[name], f.tensors[name]
    b = bytearray(data)
    b[off:off + w.nbytes] = (w.astype(np.float64) * 1e38).astype(np.float32).tobytes()
    write("classifier_1e38.pms", fmt.seal(bytes(b)))

    png_zeros(os.path.join(out, "zeros_16384.png"), 16384, 16384)
    png_zeros(os.path.join(out, "zeros_4000x3000.png"), 4000, 3000)

    os.makedirs(os.path.join(out, "set", "images"), exist_ok=True)
    os.makedirs(os.path.join(out, "set", "labels"), exist_ok=True)
    shutil.copy(image, os.path.join(out, "set", "images", "a.jpg"))
    png_zeros(os.path.join(out, "set", "labels", "a.png"), 480, 360)


if __name__ == "__main__":
    main(*sys.argv[1:4])
