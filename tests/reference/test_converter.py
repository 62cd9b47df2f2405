"""Tests of weights/convert.py and the .pms v1 format (weights/FORMAT.md).

The layout checks rebuild every conv from the packed tensors with index formulas written
here from FORMAT.md (not with the converter's own unpacking), and compare it against the
reference module (conv + BN, unfolded) on random input.

    cd tests/reference && /usr/bin/python3 -m unittest -v test_converter
"""
import os
import pickle
import subprocess
import sys
import struct
import tempfile
import unittest

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "weights"))
import pp_mobileseg_ref as ref  # noqa: E402
import convert  # noqa: E402
import pms_format as fmt  # noqa: E402

SEED = 11
CAMVID = os.path.normpath(os.path.join(ROOT, "..", "shared", "weights", "camvid"))
print(f"test_converter: seed {SEED}", file=sys.stderr)
torch.set_num_threads(1)

_cache = {}


def converted(variant, k, seed=SEED, **kw):
    key = (variant, k, seed, tuple(sorted(kw.items())))
    if key not in _cache:
        params = ref.random_state(variant, k, seed)
        _cache[key] = params, fmt.PmsFile(convert.convert(params, variant, k, **kw))
    return _cache[key]


def P(n):
    return (n + 15) // 16 * 16


# --- FORMAT.md section 4 layouts, written independently of convert.py ------------------

def pw_conv(f, name, cout, lo=0):
    """pointwise: weight [Cin, P(Cout_total)], element [ci][co]; returns W [cout,Cin,1,1], b."""
    w, b = f.tensors[name + ".weight"], f.tensors[name + ".bias"]
    return torch.from_numpy(w[:, lo:lo + cout].T.copy())[:, :, None, None], torch.from_numpy(b[lo:lo + cout].copy())


def dw_conv(f, name, c, k):
    """depthwise: weight [k*k, P(C)], element [ky*k+kx][c]."""
    w, b = f.tensors[name + ".weight"], f.tensors[name + ".bias"]
    W = np.empty((c, 1, k, k), np.float32)
    for ky in range(k):
        for kx in range(k):
            W[:, 0, ky, kx] = w[ky * k + kx, :c]
    return torch.from_numpy(W), torch.from_numpy(b[:c].copy())


def stem_conv(f):
    w, b = f.tensors["backbone.smb1.conv.weight"], f.tensors["backbone.smb1.conv.bias"]
    W = np.empty((16, 3, 3, 3), np.float32)
    for ky in range(3):
        for kx in range(3):
            for ci in range(3):
                W[:, ci, ky, kx] = w[ky * 3 + kx, ci, :]
    return torch.from_numpy(W), torch.from_numpy(b.copy())


def packed_site(f, variant, path, module):
    """(W, b, used tensor names) of the packed conv standing for reference module `path`."""
    conv = module.c if hasattr(module, "c") else module.conv if hasattr(module, "conv") else module
    if isinstance(module, ref.StrideConv):
        conv = getattr(module, "0")
    cout, k = conv.weight.shape[0], conv.weight.shape[-1]
    depthwise = conv.groups > 1 and conv.groups == conv.weight.shape[0]
    parent, leaf = path.rsplit(".", 1)
    if path == "backbone.smb1.conv":
        name = path
        W, b = stem_conv(f)
    elif leaf in ("to_q", "to_k", "to_v"):
        name = parent + ".qkv"
        nh_kd = f.tensors[parent + ".pos_emb_rowq"].shape[0]
        lo = {"to_q": 0, "to_k": nh_kd, "to_v": 2 * nh_kd}[leaf]
        W, b = pw_conv(f, name, cout, lo)
    elif ".inj_module." in path:
        lst, i = path.split(".")[-2:]
        i = int(i)
        if variant == "tiny":
            name, lo = f"backbone.inj_module.{('x8', 'x16', 'x32')[i]}", 256 if lst == "act_embedding_list" else 0
        else:
            name, lo = {("embedding_list", 0): ("backbone.inj_module.x8", 0),
                        ("act_embedding_list", 0): ("backbone.inj_module.x16", 0),
                        ("embedding_list", 1): ("backbone.inj_module.x32", 0),
                        ("act_embedding_list", 1): ("backbone.inj_module.x32", 256)}[(lst, i)]
        W, b = pw_conv(f, name, cout, lo)
    else:
        name = path
        W, b = dw_conv(f, name, cout, k) if depthwise else pw_conv(f, name, cout)
    lo = locals().get("lo", 0)
    return W, b, conv, name, lo + cout


def sites(model):
    for path, m in model.named_modules():
        if isinstance(m, (ref.ConvBN, ref.StrideConv)):
            yield path, m
        elif isinstance(m, nn.Conv2d) and not path.endswith((".c", ".conv", "stride_conv.0")):
            yield path, m  # SE conv1/conv2, mlp.dwconv, conv_seg: own bias, no BN


class Layouts(unittest.TestCase):
    def check_variant(self, variant, k):
        params, f = converted(variant, k)
        model = ref.load_state(ref.build(variant, k), params)
        g = torch.Generator().manual_seed(SEED)
        used = set()
        real = {}  # packed name -> real output columns covered by reference convs
        n_sites = 0
        for path, m in sites(model):
            W, b, conv, name, hi = packed_site(f, variant, path, m)
            used |= {name + ".weight", name + ".bias"}
            real[name] = max(real.get(name, 0), hi)
            n_sites += 1
            x = torch.randn(1, conv.in_channels, 9, 11, generator=g)
            with torch.no_grad():
                want = m.bn(conv(x)) if isinstance(m, ref.ConvBN) else m(x)  # conv + BN, no activation
                got = F.conv2d(x, W, b, stride=conv.stride, padding=conv.padding, groups=conv.groups)
            err = float((got - want).abs().max())
            self.assertLess(err, 1e-5 * max(1.0, float(want.abs().max())), f"{path}: folded conv != conv+BN ({err})")
        for name, hi in real.items():  # last dim = P(real columns), pad lanes zero
            w, b = f.tensors[name + ".weight"], f.tensors[name + ".bias"]
            want = 16 if name == "backbone.smb1.conv" else P(hi)
            self.assertEqual((w.shape[-1], b.shape[-1]), (want, want), name)
            self.assertFalse(np.any(w[..., hi:]) or np.any(b[hi:]), f"{name}: non-zero pad lanes")
        for t in ("rowq", "rowk", "columnq", "columnk"):  # positional tables: raw, squeezed
            for key in [k_ for k_ in params if k_.endswith(f"pos_emb_{t}.pos_embed")]:
                name = key[: -len(".pos_embed")]
                np.testing.assert_array_equal(f.tensors[name], params[key][0])
                used.add(name)
        network = {n for n in f.order if not n.startswith("selftest.")}
        self.assertEqual(used, network, "every network tensor is checked, and nothing else exists")
        return n_sites

    def test_tiny_k19(self):
        # 79 conv+BN sites (spec 13) + 14 SE convs + 4 MLP dwconvs + conv_seg
        self.assertEqual(self.check_variant("tiny", 19), 79 + 14 + 4 + 1)

    def test_base_k150(self):
        self.assertEqual(self.check_variant("base", 150), 99 + 14 + 6 + 1)

    def test_pad_lanes_zero_and_dims(self):
        _, f = converted("tiny", 19)
        w = f.tensors["decode_head.conv_seg.weight"]
        self.assertEqual(w.shape, (256, 32))
        self.assertFalse(np.any(w[:, 19:]))
        self.assertFalse(np.any(f.tensors["decode_head.conv_seg.bias"][19:]))
        se = f.tensors["backbone.smb1.blocks.0.mid_se.conv1.weight"]  # 16 -> 4 (P = 16)
        self.assertEqual(se.shape, (16, 16))
        self.assertFalse(np.any(se[:, 4:]))
        self.assertEqual(f.tensors["backbone.smb2.blocks.0.bottleneck_conv.weight"].shape, (25, 96))
        self.assertEqual(f.tensors["backbone.inj_module.x16.weight"].shape, (64, 512))
        self.assertEqual(f.tensors["backbone.trans2.transformer_blocks.1.attn.qkv.weight"].shape, (128, 384))
        self.assertEqual(f.tensors["backbone.trans1.transformer_blocks.0.attn.pos_emb_columnk"].shape, (64, 16))
        self.assertEqual(f.tensors["decode_head.linear_fuse.weight"].shape, (1, 256))
        for n in f.order:
            self.assertEqual(f.offsets[n] % 64, 0, n)  # 64-byte aligned from the file start

    def test_folding_is_nontrivial(self):
        # With random BN statistics the folded weights differ from the raw conv weights.
        params, f = converted("tiny", 19)
        raw = params["backbone.smb1.blocks.0.expand_conv.c.weight"][:, :, 0, 0].T
        packed = f.tensors["backbone.smb1.blocks.0.expand_conv.weight"][:, :16]
        self.assertGreater(float(np.abs(raw - packed).max()), 1e-2)


class SelfTestAndHeader(unittest.TestCase):
    def test_selftest_vector_reproduces(self):
        params, f = converted("base", 150)
        model = ref.load_state(ref.build("base", 150), params)
        img = f.tensors["selftest.image"]
        self.assertEqual(img.shape, (56, 72, 3))
        with torch.no_grad():
            out = model.predict(ref.preprocess(img, f.mean, f.std))
        np.testing.assert_allclose(f.tensors["selftest.logits"], out["low_logits"][0].numpy(), rtol=1e-5, atol=1e-5)
        lab = f.tensors["selftest.labels"]
        margin = f.tensors["selftest.label_margin"]
        ok = (lab == out["labels"][0].numpy()) | (margin < 1e-4)
        self.assertTrue(ok.all())
        self.assertTrue((margin >= 0).all())
        self.assertGreater(len(np.unique(lab)), 1)

    def test_header_fields(self):
        _, f = converted("tiny", 19, mean=(0.5, 0.5, 0.5), std=(0.5, 0.25, 0.5))
        self.assertEqual((f.variant, f.num_classes), ("tiny", 19))
        self.assertEqual(f.mean, (0.5, 0.5, 0.5))
        self.assertEqual(f.std, (0.5, 0.25, 0.5))
        self.assertEqual(f.data_offset % 64, 0)
        self.assertEqual(f.data_size % 64, 0)

    def test_deterministic(self):
        params = ref.random_state("tiny", 19, SEED)
        self.assertEqual(convert.convert(params, "tiny", 19), convert.convert(dict(params), None, None))

    def test_checksum_detects_corruption(self):
        params = ref.random_state("tiny", 19, SEED)
        data = bytearray(convert.convert(params))
        data[-100] ^= 1
        with self.assertRaisesRegex(ValueError, "checksum"):
            fmt.PmsFile(bytes(data))


class FileChecksum(unittest.TestCase):
    """Format v2: the checksum covers the whole file, header and tensor table included."""

    def small_file(self):
        return fmt.pms_bytes("tiny", 3, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25),
                             [("a.weight", np.arange(6, dtype=np.float32).reshape(2, 3)),
                              ("b.image", np.arange(10, dtype=np.uint8))])

    def test_definition(self):
        data = self.small_file()
        stored = struct.unpack_from("<Q", data, 88)[0]
        self.assertEqual(stored, fmt.fnv1a64(data[:88] + bytes(8) + data[96:]))
        self.assertEqual(struct.unpack_from("<I", data, 8)[0], 2)
        fmt.PmsFile(data)  # verifies

    def test_every_bit_of_header_and_table_is_covered(self):
        data = self.small_file()
        f = fmt.PmsFile(data)
        end_of_table = fmt.HEADER_SIZE + len(f.order) * fmt.ENTRY_SIZE
        for byte in list(range(0, 88)) + list(range(96, end_of_table)) + [f.data_offset, len(data) - 1]:
            for bit in range(8):
                flipped = bytearray(data)
                flipped[byte] ^= 1 << bit
                with self.subTest(byte=byte, bit=bit):
                    with self.assertRaises(ValueError):
                        fmt.PmsFile(bytes(flipped))

    def test_version_1_is_refused_with_advice(self):
        v1 = bytearray(self.small_file())
        struct.pack_into("<I", v1, 8, 1)
        with self.assertRaisesRegex(ValueError, "unsupported version 1.*re-convert"):
            fmt.PmsFile(bytes(v1))


class Rejects(unittest.TestCase):
    def setUp(self):
        self.params = ref.random_state("tiny", 19, SEED)

    def expect_error(self, params, *needles, **kw):
        with self.assertRaises(convert.ConversionError) as cm:
            convert.convert(params, **kw)
        for n in needles:
            self.assertIn(n, str(cm.exception))

    def test_missing(self):
        p = dict(self.params)
        del p["backbone.trans2.transformer_blocks.1.attn.to_k.bn._variance"]
        del p["backbone.smb3.blocks.0.mid_se.conv2.bias"]
        self.expect_error(p, "missing tensor backbone.trans2.transformer_blocks.1.attn.to_k.bn._variance",
                          "missing tensor backbone.smb3.blocks.0.mid_se.conv2.bias")

    def test_extra(self):
        p = dict(self.params)
        p["backbone.smb5.blocks.0.expand_conv.c.weight"] = np.zeros((4, 4, 1, 1), np.float32)
        self.expect_error(p, "unexpected tensor backbone.smb5.blocks.0.expand_conv.c.weight")

    def test_misshaped(self):
        p = dict(self.params)
        p["backbone.inj_module.act_embedding_list.1.conv.weight"] = np.zeros((256, 65, 1, 1), np.float32)
        self.expect_error(p, "backbone.inj_module.act_embedding_list.1.conv.weight has shape [256, 65, 1, 1]",
                          "expected [256, 64, 1, 1]")

    def test_wrong_variant_requested(self):
        self.expect_error(dict(self.params), "backbone.smb1.blocks.2", variant="base", num_classes=19)

    def test_non_finite(self):
        p = dict(self.params)
        w = p["decode_head.conv_seg.bias"].copy()
        w[3] = np.nan
        p["decode_head.conv_seg.bias"] = w
        self.expect_error(p, "decode_head.conv_seg.bias has NaN or Inf")

    def test_class_count_and_normalisation(self):
        self.expect_error(ref.random_state("tiny", 300, SEED), "class count 300")
        self.expect_error(dict(self.params), "std", std=(0.5, 0.0, 0.5))

    def test_cli_exit_status_names_tensor(self):
        p = dict(self.params)
        del p["decode_head.linear_fuse.bn._mean"]
        p["StructuredToParameterName@@"] = {"a": "b"}  # Paddle bookkeeping entry: skipped
        with tempfile.TemporaryDirectory() as d:
            src, dst = os.path.join(d, "m.pdparams"), os.path.join(d, "m.pms")
            with open(src, "wb") as fh:
                pickle.dump(p, fh, protocol=4)
            r = subprocess.run([sys.executable, os.path.join(ROOT, "weights", "convert.py"), src, dst],
                               capture_output=True, text=True)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("missing tensor decode_head.linear_fuse.bn._mean", r.stderr)
            self.assertFalse(os.path.exists(dst))
            p["decode_head.linear_fuse.bn._mean"] = self.params["decode_head.linear_fuse.bn._mean"]
            with open(src, "wb") as fh:
                pickle.dump(p, fh, protocol=4)
            r = subprocess.run([sys.executable, os.path.join(ROOT, "weights", "convert.py"), src, dst],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(fmt.read_pms(dst).num_classes, 19)


@unittest.skipUnless(os.path.isdir(CAMVID), "CamVid checkpoints not beside the repository")
class ShippedWeights(unittest.TestCase):
    def test_shipped_files_are_the_conversion_of_the_checkpoints(self):
        for variant in ("tiny", "base"):
            with self.subTest(variant=variant):
                params = ref.read_pdparams(os.path.join(CAMVID, f"pp_mobileseg_{variant}_camvid.pdparams"))
                new = fmt.PmsFile(convert.convert(params))
                old = fmt.read_pms(os.path.join(ROOT, "weights", f"pp_mobileseg_{variant}_camvid.pms"))
                self.assertEqual(new.order, old.order)
                self.assertEqual((new.variant, new.num_classes, new.mean, new.std),
                                 (old.variant, old.num_classes, old.mean, old.std))
                for n in new.order:
                    if n == "selftest.logits" or n == "selftest.label_margin":  # torch rounding may vary by CPU
                        np.testing.assert_allclose(new.tensors[n], old.tensors[n], rtol=1e-5, atol=1e-5)
                    else:
                        np.testing.assert_array_equal(new.tensors[n], old.tensors[n], n)


if __name__ == "__main__":
    unittest.main()
