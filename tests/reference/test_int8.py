"""Tests of the int8 precision (weights/FORMAT.md section 7): the quantization formulas on
hand-made edge cases, the reference's int8 1x1 conv against a plain-loop integer oracle, the
int8 converter's file (layout, dtypes, round trip, size), and that the fp32 path and fp32
files are unchanged.

The oracles here are written from FORMAT.md with Python integers and float64-then-float32
rounding (exact for one float32 division or product: 53 >= 2*24 + 2 bits), not with the
reference's code.

    cd tests/reference && /usr/bin/python3 -m unittest -v test_int8
"""
import csv
import os
import struct
import subprocess
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

SEED = 13
CAMVID = os.path.normpath(os.path.join(ROOT, "..", "shared", "weights", "camvid"))
print(f"test_int8: seed {SEED}", file=sys.stderr)
torch.set_num_threads(1)

F32 = np.float32
TINY = 2.0 ** -64

_cache = {}


def converted(variant, k, seed, precision):
    key = (variant, k, seed, precision)
    if key not in _cache:
        params = ref.random_state(variant, k, seed)
        _cache[key] = params, convert.convert(params, variant, k, precision=precision, check=precision == "int8")
    return _cache[key]


# --- oracles from FORMAT.md 7.3-7.6 --------------------------------------------------------

def f32(v):
    return float(np.float32(v))


def bits(v):
    return struct.unpack("<I", struct.pack("<f", v))[0]


def oracle_weights(row):
    """(q list, s_w) of one row of float32 weights."""
    m = max(abs(float(v)) for v in row)
    if m < TINY:
        return [0] * len(row), 0.0
    s = f32(m / 127.0)
    return [max(-127, min(127, round(f32(float(v) / s)))) for v in row], s  # round(): half to even


def oracle_pixel(x):
    """(q list, s_a) of one pixel's float32 channels."""
    a = max(bits(float(v)) & 0x7FFFFFFF for v in x)
    if a >= 0x7F800000:
        return [0] * len(x), float("nan")
    if a < 0x1F800000:
        return [0] * len(x), 0.0
    amax = struct.unpack("<f", struct.pack("<I", a))[0]
    inv = f32(127.0 / amax)
    return [max(-127, min(127, round(f32(float(v) * inv)))) for v in x], f32(amax / 127.0)


def oracle_conv(x, q_w, s_w, bias):
    """x [N, Cin] float32, q_w [Cout, Cin] int, s_w / bias [Cout] -> float32 [N, Cout]."""
    n, cout = x.shape[0], q_w.shape[0]
    y = np.empty((n, cout), np.float32)
    for p in range(n):
        qa, sa = oracle_pixel(x[p])
        for o in range(cout):
            acc = 0
            for i in range(x.shape[1]):
                acc += qa[i] * int(q_w[o, i])
            assert abs(acc) < 2 ** 24
            scale = F32(sa) * F32(s_w[o])  # numpy float32 scalars: one float32 rounding per op
            y[p, o] = (F32(acc) * scale) + F32(bias[o])
    return y


def same_bits(a, b):
    a, b = np.ascontiguousarray(a, np.float32), np.ascontiguousarray(b, np.float32)
    return a.shape == b.shape and a.tobytes() == b.tobytes()


# --- 7.3 / 7.4: quantization formulas --------------------------------------------------------

class WeightQuantization(unittest.TestCase):
    def test_zero_and_tiny_rows(self):
        w = np.array([[0, 0, 0, 0], [1e-30, -3e-25, 0, 0], [0, 0, 0, -0.0], [0.5, -1, 0.25, 0]], np.float32)
        q, s = ref.quantize_weights(w)
        self.assertEqual(q.dtype, np.int8)
        np.testing.assert_array_equal(q[:3], 0)
        np.testing.assert_array_equal(s[:3], 0)
        np.testing.assert_array_equal(q[3], [64, -127, 32, 0])  # 63.5 -> 64 (even), 31.75 -> 32
        self.assertEqual(s[3], F32(1) / F32(127))

    def test_ties_round_half_even(self):
        # m = 127 -> s_w = 1 exactly, so w / s_w = w: the .5 cases are exact ties
        w = np.array([[127, 2.5, 3.5, -2.5, -3.5, 0.5, -0.5, 1.5, 126.5]], np.float32)
        q, s = ref.quantize_weights(w)
        self.assertEqual(s[0], 1.0)
        np.testing.assert_array_equal(q[0], [127, 2, 4, -2, -4, 0, 0, 2, 126])

    def test_extremes_are_127_and_random_rows_match_oracle(self):
        rng = np.random.default_rng(SEED)
        rows = [rng.normal(0, 10.0 ** e, 37).astype(np.float32) for e in range(-30, 31, 3)]
        rows += [np.array([F32(3.4e38), -1, 1e-30], np.float32), np.array([TINY, -TINY / 2], np.float32)]
        for row in rows:
            q, s = ref.quantize_weights(row[None])
            oq, os_ = oracle_weights(row)
            self.assertEqual(q[0].tolist(), oq)
            self.assertEqual(float(s[0]), os_)
            if os_ > 0:
                self.assertEqual(int(np.abs(q).max()), 127)  # the largest weight maps to +-127 exactly
            self.assertNotIn(-128, q)
        self.assertEqual(ref.quantize_weights(np.array([[TINY, -TINY / 2]], np.float32))[0].tolist(), [[127, -64]])

    def test_rejects_non_finite(self):
        with self.assertRaises(ValueError):
            ref.quantize_weights(np.array([[1, np.inf]], np.float32))


class ActivationQuantization(unittest.TestCase):
    def q(self, rows):
        q, s = ref.quantize_activations(torch.tensor(rows, dtype=torch.float32))
        return q.numpy(), s.numpy()

    def test_zero_and_tiny_pixels(self):
        q, s = self.q([[0, 0, 0], [0, -0.0, 0], [1e-20, -5e-20, 0], [1e-19, 0, -1e-19]])
        np.testing.assert_array_equal(q[:3], 0)
        np.testing.assert_array_equal(s[:3], 0)  # 5e-20 < 2^-64 = 5.42e-20: a zero pixel
        np.testing.assert_array_equal(q[3], [127, 0, -127])  # 1e-19 > 2^-64: quantized
        self.assertEqual(float(s[3]), f32(f32(1e-19) / 127.0))

    def test_ties_round_half_even(self):
        q, s = self.q([[127, 2.5, -2.5, 3.5, 0.5, -1.5, -0.5, 125.5]])  # amax 127 -> inv = 1
        np.testing.assert_array_equal(q[0], [127, 2, -2, 4, 0, -2, 0, 126])
        self.assertEqual(float(s[0]), 1.0)

    def test_non_finite_pixels_only_affect_themselves(self):
        neg_nan = struct.unpack("<f", struct.pack("<I", 0xFFC00000))[0]
        rows = [[1, float("nan"), 2], [float("-inf"), 0, 1], [neg_nan, 0, 0], [float("inf"), float("nan"), 0],
                [3, -6, 1.5]]
        q, s = self.q(rows)
        np.testing.assert_array_equal(q[:4], 0)
        self.assertTrue(np.isnan(s[:4]).all())
        np.testing.assert_array_equal(q[4], [64, -127, 32])  # 63.5 -> 64
        self.assertEqual(float(s[4]), f32(6.0 / 127.0))

    def test_random_pixels_match_oracle(self):
        rng = np.random.default_rng(SEED)
        x = np.concatenate([rng.normal(0, 10.0 ** e, (8, 29)) for e in range(-18, 38, 4)]).astype(np.float32)
        x[3, :] = 0
        x[5, 7] = np.nan
        x[9, 0] = F32(3.4028235e38)  # FLT_MAX: inv = 127 / FLT_MAX is still a normal number
        q, s = self.q(x)
        for p in range(x.shape[0]):
            oq, os_ = oracle_pixel(x[p])
            self.assertEqual(q[p].tolist(), oq, p)
            self.assertTrue(float(s[p]) == os_ or (np.isnan(s[p]) and np.isnan(os_)), p)
            if os_ > 0:
                self.assertEqual(int(np.abs(q[p]).max()), 127, p)  # the clamp bound, reached exactly

    def test_reciprocal_not_division_per_element(self):
        # FORMAT.md fixes q = round(x * (127 / amax)); round((x * 127) / amax) gives 92 and 90
        # here (found by search), so a kernel computing the other formula fails this test.
        x = [3.0, 2.1614172, 2.1141732]
        q, s = self.q([x])
        self.assertEqual(q[0].tolist(), [127, 91, 89])
        self.assertEqual(oracle_pixel(np.array(x, np.float32))[0], [127, 91, 89])
        other = np.rint((np.array(x, np.float32) * F32(127)) / F32(3.0))
        self.assertEqual(other.tolist(), [127, 92, 90])


# --- 7.5 / 7.6: the int8 conv against the loop oracle ----------------------------------------

class Int8Conv(unittest.TestCase):
    def make(self, cin, cout, n, seed):
        rng = np.random.default_rng(seed)
        w = rng.normal(0, 1, (cout, cin)).astype(np.float32)
        w[cout // 2] = 0  # a zero row: y = bias
        q, s = ref.quantize_weights(w)
        bias = rng.normal(0, 1, cout).astype(np.float32)
        x = (rng.normal(0, 1, (n, cin)) * rng.uniform(0.01, 100, (n, 1))).astype(np.float32)
        x[1] = 0  # a zero pixel: y = bias
        x[2, cin - 1] = np.nan  # a non-finite pixel: y = NaN
        return x, ref.Int8Pointwise(q, s, bias)

    def test_odd_sizes_bit_exact(self):
        for cin, cout, n, seed in ((13, 7, 15, 1), (3, 5, 4, 2), (37, 19, 9, 3), (1, 1, 3, 4)):
            with self.subTest(cin=cin, cout=cout):
                x, conv = self.make(cin, cout, n, seed)
                got = conv.matmul_rows(torch.from_numpy(x)).numpy()
                want = oracle_conv(x, conv.q_np, conv.s_w_np, conv.bias_np)
                self.assertTrue(same_bits(got, want), f"max diff {np.nanmax(np.abs(got - want))}")
                np.testing.assert_array_equal(got[1], conv.bias_np)
                self.assertTrue(np.isnan(got[2]).all())

    def test_nchw_call_is_per_pixel(self):
        x, conv = self.make(13, 7, 15, 5)
        img = torch.from_numpy(x.reshape(3, 5, 13).transpose(2, 0, 1).copy())[None]  # [1, 13, 3, 5]
        got = conv(img)[0].numpy().transpose(1, 2, 0).reshape(15, 7)
        self.assertTrue(same_bits(got, oracle_conv(x, conv.q_np, conv.s_w_np, conv.bias_np)))

    def test_epilogue_order_matters(self):
        # The bit-exact test above can fail on a reordered epilogue: (acc * s_a) * s_w, or a
        # fused multiply-add (emulated in float64), gives other floats on this data.
        x, conv = self.make(37, 19, 200, 6)
        qa, sa = ref.quantize_activations(torch.from_numpy(x))
        acc = ref.int_matmul(qa, conv.q).numpy().astype(np.float32)
        sa = sa.numpy()[:, None]
        want = conv.matmul_rows(torch.from_numpy(x)).numpy()
        reassoc = (acc * sa) * conv.s_w_np[None] + conv.bias_np[None]
        fused = (acc.astype(np.float64) * (sa * conv.s_w_np[None]).astype(np.float64)
                 + conv.bias_np[None].astype(np.float64)).astype(np.float32)
        ok = ~np.isnan(want)
        self.assertTrue((reassoc[ok] != want[ok]).any())
        self.assertTrue((fused[ok] != want[ok]).any())

    def test_longest_reduction_is_exact(self):
        # Base's Cin = 768: all +-127 gives |acc| = 127^2 * 768 = 12,387,072 < 2^24
        qa = torch.full((2, 768), 127, dtype=torch.int32)
        qa[1] = -127
        qw = torch.full((3, 768), 127, dtype=torch.int32)
        qw[2, ::2] = -127
        acc = ref.int_matmul(qa, qw)
        self.assertEqual(acc.tolist(), [[12387072, 12387072, 0], [-12387072, -12387072, 0]])
        self.assertEqual(float(acc.to(torch.float32)[0, 0]), 12387072.0)
        with self.assertRaises(ValueError):  # 127^2 * 1041 >= 2^24
            ref.int_matmul(torch.zeros(1, 1041, dtype=torch.int32), torch.zeros(1, 1041, dtype=torch.int32))


# --- the model: which convs, where the SE gate goes, fp32 unchanged -------------------------

class Model(unittest.TestCase):
    def test_sites(self):
        # reference modules (q, k, v and the AAM's convs separate) and packed convs of a file
        for variant, n, packed in (("tiny", 75, 64), ("base", 91, 78)):
            with self.subTest(variant=variant):
                sites = dict(ref.int8_sites(ref.build(variant, 19)))
                self.assertEqual(len(sites), n)
                self.assertEqual(len({v[0] for v in convert.int8_site_map(variant, 19).values()}), packed)
                for path, m in sites.items():
                    conv = getattr(m, m.conv_name) if isinstance(m, ref.ConvBN) else m
                    self.assertEqual((conv.kernel_size, conv.groups), ((1, 1), 1), path)
                for must in ("decode_head.conv_seg", "backbone.smb3.blocks.0.mid_se.conv1",
                             "backbone.trans1.transformer_blocks.0.attn.proj_encode_row.1",
                             "backbone.trans2.transformer_blocks.1.attn.to_v", "backbone.inj_module.embedding_list.0"):
                    self.assertIn(must, sites)
                for never in ("backbone.smb1.conv", "decode_head.linear_fuse", "backbone.smb2.blocks.0.bottleneck_conv",
                              "backbone.trans1.transformer_blocks.0.attn.dwconv"):
                    self.assertNotIn(never, sites)

    def test_se_gate_scales_the_input_before_quantization(self):
        model = ref.quantize(ref.load_state(ref.build("tiny", 19), ref.random_state("tiny", 19, SEED)))
        block = model.backbone.smb3.blocks[0]
        seen = {}
        conv = block.linear_conv.int8
        orig = conv.__call__
        block.linear_conv.int8 = lambda x: (seen.setdefault("x", x.clone()), orig(x))[1]
        x = torch.randn(1, 32, 9, 11, generator=torch.Generator().manual_seed(SEED))
        with torch.no_grad():
            y = block.bottleneck_conv(block.expand_conv(x))
            gated = block.mid_se(y)
            out = block(x)
        self.assertTrue(torch.equal(seen["x"], gated))
        self.assertFalse(torch.equal(gated, y))
        self.assertTrue(torch.equal(out, orig(gated)))  # stride 2: no residual

    def test_fp32_path_unchanged(self):
        params = ref.random_state("tiny", 19, SEED)
        x = torch.randn(1, 3, 40, 56, generator=torch.Generator().manual_seed(SEED))
        plain = ref.load_state(ref.build("tiny", 19), params)
        with torch.no_grad():
            before = plain(x)
        sd = {k: v.clone() for k, v in plain.state_dict().items()}
        q = ref.quantize(ref.load_state(ref.build("tiny", 19), params))
        self.assertEqual((ref.model_precision(plain), ref.model_precision(q)), ("fp32", "int8"))
        with torch.no_grad():
            after, int8 = plain(x), q(x)
        self.assertTrue(torch.equal(before, after))
        self.assertFalse(torch.equal(before, int8))
        self.assertTrue(all(torch.equal(sd[k], v) for k, v in q.state_dict().items()))  # state untouched
        rel = float((int8 - before).abs().max()) / float(before.abs().max())
        self.assertLess(rel, 0.2)  # random weights; CamVid: weights/README.md

    def test_fp32_file_is_version_2_and_unchanged(self):
        # Golden weights.tsv records the network tensors' sha256 of the fp32 conversion (made
        # before int8 existed): the converter must still produce exactly those bytes.
        name = "tiny_random_k19"
        variant, k, seed, _ = make_golden.RANDOM_WEIGHTS[name]
        data = convert.convert(ref.random_state(variant, k, seed), variant, k)
        rows = [r for r in csv.DictReader((l for l in open(os.path.join(ROOT, "tests", "data", "golden", "weights.tsv"))
                                           if not l.startswith("#")), delimiter="\t") if r["weights"] == name]
        self.assertEqual(make_golden.network_sha256(data), rows[0]["network_sha256"])
        self.assertEqual(struct.unpack_from("<I", data, 8)[0], 2)
        self.assertEqual(data[104:128], bytes(24))
        f = fmt.PmsFile(data)
        self.assertEqual((f.version, f.precision), (2, "fp32"))
        self.assertTrue(all(a.dtype in (np.float32, np.uint8) for a in f.tensors.values()))


# --- the converter: int8 files ----------------------------------------------------------------

def layout_rows(path):
    return [l.rstrip("\n").split("\t") for l in open(path) if not l.startswith("#")]


class Int8Files(unittest.TestCase):
    def test_layout_matches_tsv(self):
        for variant in ("tiny", "base"):
            with self.subTest(variant=variant):
                _, data = converted(variant, 150, SEED, "int8")
                f = fmt.PmsFile(data)
                self.assertEqual((f.version, f.precision), (3, "int8"))
                self.assertEqual(struct.unpack_from("<I", data, 104)[0], 1)
                self.assertEqual(data[108:128], bytes(20))
                want = layout_rows(os.path.join(ROOT, "weights", f"layout_{variant}_int8.tsv"))
                dt = {np.dtype("float32"): "f32", np.dtype("uint8"): "u8", np.dtype("int8"): "i8",
                      np.dtype("int32"): "i32"}
                got = [[n, dt[f.tensors[n].dtype], "x".join(map(str, f.tensors[n].shape))] for n in f.order]
                self.assertEqual([r[:2] for r in got], [r[:2] for r in want])
                self.assertEqual([r[2] for r in got if not r[0].startswith("selftest.")],
                                 [r[2] for r in want if not r[0].startswith("selftest.")])
                self.assertEqual(sum(n.endswith(".weight_q") for n in f.order), {"tiny": 64, "base": 78}[variant])

    def test_size_ratio(self):
        for variant in ("tiny", "base"):
            with self.subTest(variant=variant):
                n8 = len(converted(variant, 150, SEED, "int8")[1])
                n32 = len(converted(variant, 150, SEED, "fp32")[1])
                self.assertLess(n8 / n32, 0.33)

    def test_tensors_decode_to_reference_quantization(self):
        # weight_q decoded with FORMAT.md 7.2's index formula (a loop, not the converter's
        # unpacking) equals ref.quantize of the checkpoint; sums, pads and ranges as specified.
        params, data = converted("tiny", 150, SEED, "int8")
        f = fmt.PmsFile(data)
        model = ref.quantize(ref.load_state(ref.build("tiny", 150), params))
        sites = convert.int8_site_map("tiny", 150)
        covered = {}
        for path, (name, lo, hi, cin) in sites.items():
            wq = f.tensors[name + ".weight_q"]
            G, PC, four = wq.shape
            self.assertEqual((G, PC % 16, four), ((cin + 3) // 4, 0, 4), name)
            q = np.zeros((hi - lo, cin), np.int8)
            for co in range(lo, hi):
                for ci in range(cin):
                    q[co - lo, ci] = wq[ci // 4, co, ci % 4]
            m = model.get_submodule(path).int8
            np.testing.assert_array_equal(q, m.q_np, path)
            np.testing.assert_array_equal(f.tensors[name + ".weight_scale"][lo:hi], m.s_w_np, path)
            np.testing.assert_array_equal(f.tensors[name + ".bias"][lo:hi], m.bias_np, path)
            covered[name] = max(covered.get(name, 0), hi)
        for name, hi in covered.items():
            wq = f.tensors[name + ".weight_q"]
            full = wq.transpose(1, 0, 2).reshape(wq.shape[1], -1).astype(np.int64)
            np.testing.assert_array_equal(f.tensors[name + ".weight_sum"], full.sum(1), name)
            self.assertFalse(np.any(full[hi:]) or np.any(f.tensors[name + ".weight_scale"][hi:])
                             or np.any(f.tensors[name + ".bias"][hi:]), name)
            self.assertNotIn(-128, wq)
            self.assertTrue((f.tensors[name + ".weight_scale"] >= 0).all())
        self.assertEqual({n[:-len(".weight_q")] for n in f.order if n.endswith(".weight_q")}, set(covered))

    def test_selftest_is_the_files_int8_function(self):
        params, data = converted("tiny", 150, SEED, "int8")
        f = fmt.PmsFile(data)
        model = convert.reference_from_file(f.tensors, "tiny", 150, "int8")
        self.assertEqual(ref.model_precision(model), "int8")
        with torch.no_grad():
            out = model.predict(ref.preprocess(f.tensors["selftest.image"], f.mean, f.std))
        self.assertTrue(same_bits(out["low_logits"][0].numpy(), f.tensors["selftest.logits"]))
        np.testing.assert_array_equal(out["labels"][0].numpy(), f.tensors["selftest.labels"])
        fp32 = fmt.PmsFile(converted("tiny", 150, SEED, "fp32")[1])
        self.assertFalse(same_bits(fp32.tensors["selftest.logits"], f.tensors["selftest.logits"]))

    def test_reader_rules(self):
        small = [("a.weight_q", np.arange(-8, 8, dtype=np.int8).reshape(1, 4, 4)),
                 ("a.weight_sum", np.arange(4, dtype=np.int32))]
        data = fmt.pms_bytes("tiny", 3, (0.5,) * 3, (0.25,) * 3, small, "int8")
        f = fmt.PmsFile(data)
        np.testing.assert_array_equal(f.tensors["a.weight_q"], small[0][1])
        self.assertEqual(f.tensors["a.weight_sum"].dtype, np.dtype("<i4"))
        with self.assertRaisesRegex(ValueError, "not storable in a fp32 file"):
            fmt.pms_bytes("tiny", 3, (0.5,) * 3, (0.25,) * 3, small, "fp32")
        bad = bytearray(data)  # precision 2
        struct.pack_into("<I", bad, 104, 2)
        with self.assertRaisesRegex(ValueError, "precision"):
            fmt.PmsFile(fmt.seal(bytes(bad)))
        v2 = bytearray(data)  # i8 tensors in a version 2 file
        struct.pack_into("<I", v2, 8, 2)
        struct.pack_into("<I", v2, 104, 0)
        with self.assertRaisesRegex(ValueError, "dtype 3 in a version 2 file"):
            fmt.PmsFile(fmt.seal(bytes(v2)))
        flipped = bytearray(data)  # the precision field is checksummed
        flipped[104] ^= 1
        with self.assertRaisesRegex(ValueError, "checksum"):
            fmt.PmsFile(bytes(flipped))

    def test_cli(self):
        params = ref.random_state("tiny", 5, SEED)
        import pickle
        with tempfile.TemporaryDirectory() as d:
            src, dst = os.path.join(d, "m.pdparams"), os.path.join(d, "m.pms")
            with open(src, "wb") as fh:
                pickle.dump(params, fh, protocol=4)
            r = subprocess.run([sys.executable, os.path.join(ROOT, "weights", "convert.py"), src, dst,
                                "--precision", "int8"], capture_output=True, text=True,
                               env=dict(os.environ, OMP_NUM_THREADS="1"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("int8 check", r.stderr)
            f = fmt.read_pms(dst)
            self.assertEqual((f.variant, f.num_classes, f.precision), ("tiny", 5, "int8"))


@unittest.skipUnless(os.path.isdir(CAMVID), "CamVid checkpoints not beside the repository")
class CamVid(unittest.TestCase):
    def test_int8_files_of_the_checkpoints(self):
        for variant in ("tiny", "base"):
            with self.subTest(variant=variant):
                params = ref.read_pdparams(os.path.join(CAMVID, f"pp_mobileseg_{variant}_camvid.pdparams"))
                data = convert.convert(params, precision="int8")
                shipped = os.path.getsize(os.path.join(ROOT, "weights", f"pp_mobileseg_{variant}_camvid.pms"))
                self.assertLess(len(data) / shipped, 0.33)
                self.assertEqual(fmt.PmsFile(data).precision, "int8")


if __name__ == "__main__":
    unittest.main()
