"""Tests of the golden data in tests/data/golden (make_golden.py): checksums, manifest,
.npy formats, that the weights files the C++ tests load are the ones the goldens were made
from, and that small cases recomputed from those .pms files reproduce the goldens.

    cd tests/reference && PMS_GOLDEN_WEIGHTS_DIR=<build>/tests/reference /usr/bin/python3 -m unittest -v test_golden
(without PMS_GOLDEN_WEIGHTS_DIR the random-weight files are regenerated in a temp dir).
"""
import csv
import hashlib
import os
import sys
import tempfile
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "weights"))
import pp_mobileseg_ref as ref  # noqa: E402
import convert  # noqa: E402
import make_golden  # noqa: E402
import pms_format as fmt  # noqa: E402

GOLDEN = os.path.join(ROOT, "tests", "data", "golden")
torch.set_num_threads(1)


def table(name):
    with open(os.path.join(GOLDEN, name)) as f:
        return list(csv.DictReader((l for l in f if not l.startswith("#")), delimiter="\t"))


_weights_dir = None


def weights_dir():
    """The build's golden_weights dir, or the 4 random .pms regenerated once in a temp dir."""
    global _weights_dir
    if _weights_dir is None:
        env = os.environ.get("PMS_GOLDEN_WEIGHTS_DIR")
        if env and all(os.path.exists(os.path.join(env, n + ".pms")) for n in make_golden.RANDOM_WEIGHTS):
            _weights_dir = env
        else:
            _weights_dir = tempfile.mkdtemp(prefix="pms_golden_weights_")
            make_golden.write_weights_only(_weights_dir)
    return _weights_dir


def weights_path(row):
    loc = row["location"]
    kind, rel = loc.split(":", 1)
    return os.path.join(ROOT, rel) if kind == "repo" else os.path.join(weights_dir(), rel)


class Files(unittest.TestCase):
    def test_sha256sums(self):
        with open(os.path.join(GOLDEN, "SHA256SUMS")) as f:
            rows = [l.split() for l in f if l.strip()]
        listed = {name for _, name in rows}
        self.assertEqual(listed, set(os.listdir(GOLDEN)) - {"SHA256SUMS"}, "every file listed, no strays")
        for digest, name in rows:
            with open(os.path.join(GOLDEN, name), "rb") as g:
                self.assertEqual(hashlib.sha256(g.read()).hexdigest(), digest, name)

    def test_manifest_and_npy_formats(self):
        cases = table("manifest.tsv")
        self.assertGreaterEqual(len(cases), 20)
        weights = {r["weights"] for r in table("weights.tsv")}
        for c in cases:
            H, W, K = int(c["H"]), int(c["W"]), int(c["K"])
            self.assertIn(c["weights"], weights)

            def load(col, dtype, shape):
                path = os.path.join(GOLDEN, c[col])
                with open(path, "rb") as f:
                    self.assertEqual(np.lib.format.read_magic(f), (1, 0), path)
                a = np.load(path)
                self.assertEqual((a.dtype.str, a.shape), (dtype, shape), path)
                return a

            load("input", "|u1", (H, W, 3))
            lo, hi, step = map(int, c["logits_channels"].split(":"))
            self.assertEqual(hi, K)
            load("low_logits", "<f4", (len(range(lo, hi, step)), int(c["low_h"]), int(c["low_w"])))
            self.assertLess(int(load("labels", "|u1", (H, W)).max()), K)
            self.assertEqual(c["vim_labels"] == "-", K < 30, c["case"])
            if c["vim_labels"] != "-":
                self.assertLess(int(load("vim_labels", "|u1", (H, W)).max()), K)
            if c["margin"] != "-":
                self.assertTrue((load("margin", "<f4", (H, W)) >= 0).all())


class Weights(unittest.TestCase):
    def test_weights_files_are_the_ones_the_goldens_used(self):
        for row in table("weights.tsv"):
            with self.subTest(weights=row["weights"]):
                with open(weights_path(row), "rb") as f:
                    data = f.read()
                pf = fmt.PmsFile(data)
                self.assertEqual((pf.variant, pf.num_classes), (row["variant"], int(row["K"])))
                self.assertEqual(make_golden.network_sha256(data), row["network_sha256"])

    def test_recomputed_small_cases_match(self):
        # Recompute from the .pms (unpacked into the reference: what the C++ sees) rather than
        # from the unfolded weights the goldens came from: agreement bounds the folding error.
        # (Checksums are verified by the test above.)
        wrows = {r["weights"]: r for r in table("weights.tsv")}
        files = {}
        for c in table("manifest.tsv"):
            if int(c["H"]) * int(c["W"]) > 20000:
                continue
            with self.subTest(case=c["case"]):
                if c["weights"] not in files:
                    files[c["weights"]] = fmt.read_pms(weights_path(wrows[c["weights"]]), verify_checksum=False)
                pf = files[c["weights"]]
                model = convert.reference_from_file(pf.tensors, pf.variant, pf.num_classes, pf.precision)
                img = np.load(os.path.join(GOLDEN, c["input"]))
                with torch.no_grad():
                    out = model.predict(ref.preprocess(img, pf.mean, pf.std))
                lo, hi, step = map(int, c["logits_channels"].split(":"))
                want = np.load(os.path.join(GOLDEN, c["low_logits"]))
                got = out["low_logits"][0].numpy()[lo:hi:step]
                scale = max(1.0, float(np.abs(want).max()))
                self.assertLess(float(np.abs(got - want).max()), 1e-4 * scale)
                labels = np.load(os.path.join(GOLDEN, c["labels"]))
                margin = np.load(os.path.join(GOLDEN, c["margin"]))
                agree = (out["labels"][0].numpy() == labels) | (margin < 1e-3 * scale)
                self.assertTrue(agree.all())


if __name__ == "__main__":
    unittest.main()
