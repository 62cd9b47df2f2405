#!/usr/bin/env python3
"""Weights files that load() accepts but that drive the logits out of the fast labels kernels'
contract (finite, |v| <= 2^100), for the C++ tests of the labels tail.

    /usr/bin/python3 tests/reference/make_hostile_weights.py OUTDIR

From the shipped weights/pp_mobileseg_{tiny,base}_camvid.pms, with the classifier
(decode_head.conv_seg weight and bias) multiplied by a factor and the checksum recomputed:
  <variant>_logits_overflow.pms  factor 1e38: every weight stays finite, the logits overflow
                                 to +-Inf and NaN (Inf - Inf)
  <variant>_logits_huge.pms      factor 1e30: logits finite but up to ~1e31, beyond 2^100;
                                 argmax is scale-invariant, so the labels are the shipped ones
Every other tensor (the embedded self-test included) is copied unchanged.
"""
from __future__ import annotations

import os
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "weights"))
import pms_format  # noqa: E402

FACTORS = {"overflow": np.float32(1e38), "huge": np.float32(1e30)}
CLASSIFIER = ("decode_head.conv_seg.weight", "decode_head.conv_seg.bias")


def scaled_copy(src: pms_format.PmsFile, factor: np.float32) -> bytes:
    tensors = []
    for name in src.order:
        a = src.tensors[name]
        if name in CLASSIFIER:
            a = (a.astype(np.float32) * factor).astype(np.float32)
            assert np.isfinite(a).all(), f"{name}: scaled weights must stay finite (load() refuses others)"
        tensors.append((name, a))
    return pms_format.pms_bytes(src.variant, src.num_classes, src.mean, src.std, tensors)


def main() -> None:
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for variant in ("tiny", "base"):
        src = pms_format.read_pms(os.path.join(ROOT, "weights", f"pp_mobileseg_{variant}_camvid.pms"))
        for kind, factor in FACTORS.items():
            with open(os.path.join(out_dir, f"{variant}_logits_{kind}.pms"), "wb") as f:
                f.write(scaled_copy(src, factor))


if __name__ == "__main__":
    main()
