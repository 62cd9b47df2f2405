"""Tests of the PyTorch reference itself: parameter names/counts (spec 11), Paddle resize
semantics (spec 9.1, 5.4, 7.1), the elementwise traps (spec 2), argmax ties and VIM (9.3).

    cd tests/reference && /usr/bin/python3 -m unittest -v test_reference
"""
import os
import sys
import unittest

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pp_mobileseg_ref as ref  # noqa: E402

SPEC = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "spec"))
SEED = 7
print(f"test_reference: seed {SEED}", file=sys.stderr)


class ParameterCounts(unittest.TestCase):
    # spec 11.2 (measured): trainable, BN running statistics
    EXPECTED = {("tiny", 150): (1_492_298, 23_600), ("base", 150): (5_943_878, 52_544),
                ("tiny", 19): (1_458_631, 23_600), ("base", 19): (5_910_211, 52_544)}

    def test_counts(self):
        for (variant, k), want in self.EXPECTED.items():
            with self.subTest(variant=variant, k=k):
                self.assertEqual(ref.count_params(ref.build(variant, k)), want)

    def test_breakdown(self):
        m = ref.build("tiny", 150)
        n = lambda mod: sum(p.numel() for p in mod.parameters())  # noqa: E731
        self.assertEqual(n(m.decode_head), 39_318)
        self.assertEqual(n(m.backbone.inj_module), 117_760)
        self.assertEqual(n(m.backbone.trans2), 696_064)
        b = ref.build("base", 150)
        self.assertEqual(n(b.backbone.inj_module), 149_504)
        self.assertEqual(n(b.backbone.trans1), 1_145_088)

    @unittest.skipUnless(os.path.isdir(SPEC), "spec directory not beside the repository")
    def test_names_and_shapes_equal_paddleseg(self):
        for variant in ("tiny", "base"):
            rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(SPEC, f"params_{variant}.tsv"))
                    if not l.startswith("#")]
            want = [(r[0], tuple(int(s) for s in r[1].split("x"))) for r in rows]
            got = [(k, tuple(v.shape)) for k, v in ref.build(variant, 150).state_dict().items()]
            self.assertEqual(got, want, variant)

    def test_variant_inference(self):
        for variant in ("tiny", "base"):
            sd = {k: v.numpy() for k, v in ref.build(variant, 23).state_dict().items()}
            self.assertEqual(ref.infer_variant(sd), (variant, 23))


class PaddleResize(unittest.TestCase):
    def setUp(self):
        self.g = torch.Generator().manual_seed(SEED)

    def test_matches_torch_when_out_above_one(self):
        # Paddle == PyTorch align_corners=False whenever every output extent is > 1.
        for (h, w), (oh, ow) in [((7, 9), (14, 18)), ((13, 17), (97, 131)), ((64, 64), (512, 512)),
                                 ((5, 6), (33, 47)), ((23, 30), (45, 60)), ((45, 60), (23, 30)), ((3, 4), (2, 2))]:
            x = torch.randn(1, 5, h, w, generator=self.g)
            got = ref.resize_bilinear(x, size=(oh, ow))
            want = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False)
            self.assertLess(float((got - want).abs().max()), 1e-5, f"{h}x{w}->{oh}x{ow}")

    def test_out_one_takes_index_zero(self):
        x = torch.randn(1, 3, 5, 7, generator=self.g)
        got = ref.resize_bilinear(x, size=(1, 7))  # H: out == 1 -> row 0 (PyTorch: centre row 2)
        self.assertTrue(torch.equal(got, x[:, :, :1, :]))
        got = ref.resize_bilinear(x, size=(1, 1))
        self.assertTrue(torch.equal(got, x[:, :, :1, :1]))
        centre = F.interpolate(x, size=(1, 1), mode="bilinear", align_corners=False)
        self.assertFalse(torch.allclose(got, centre))

    def test_same_size_copies(self):
        x = torch.randn(1, 2, 6, 6, generator=self.g)
        self.assertTrue(torch.equal(ref.resize_bilinear(x, size=(6, 6)), x))

    def test_half_scale_is_2x2_average_pool_floor(self):
        for h, w in [(8, 8), (9, 11), (45, 60), (7, 5)]:
            x = torch.randn(1, 4, h, w, generator=self.g)
            got = ref.resize_bilinear(x, scale=0.5)
            want = F.avg_pool2d(x, 2)  # floor mode
            self.assertEqual(got.shape, want.shape)
            self.assertLess(float((got - want).abs().max()), 1e-6, f"{h}x{w}")

    def test_half_scale_extent_two_or_three_takes_index_zero(self):
        # spec 7.1: x8 extent 2 or 3 -> output extent 1 -> source row 0, not a mean
        for h in (2, 3):
            x = torch.randn(1, 2, h, 8, generator=self.g)
            got = ref.resize_bilinear(x, scale=0.5)
            self.assertEqual(tuple(got.shape[-2:]), (1, 4))
            want = 0.5 * (x[:, :, 0, 0::2][..., :4] + x[:, :, 0, 1::2][..., :4])
            self.assertLess(float((got[:, :, 0] - want).abs().max()), 1e-6)

    def test_half_scale_ratio_two_for_odd_input(self):
        # ratio = 1/scale = 2 (not in/out = 9/4): output 3 samples src 2*3+0.5 = 6.5 -> rows 6, 7
        x = torch.arange(9.0).view(1, 1, 9, 1).expand(1, 1, 9, 4).contiguous()
        got = ref.resize_bilinear(x, scale=0.5)[0, 0, :, 0]
        self.assertEqual(got.tolist(), [0.5, 2.5, 4.5, 6.5])

    def test_linear_positional_table(self):
        t = torch.randn(1, 6, 16, generator=self.g)
        self.assertTrue(torch.equal(ref.resize_linear(t, 16), t))  # identity
        self.assertLess(float((ref.resize_linear(t, 8) - 0.5 * (t[..., 0::2] + t[..., 1::2])).abs().max()), 1e-6)
        self.assertTrue(torch.equal(ref.resize_linear(t, 1), t[..., :1]))  # Paddle N == 1 rule
        for n in (2, 3, 5, 13, 30):
            want = F.interpolate(t, size=n, mode="linear", align_corners=False)
            self.assertLess(float((ref.resize_linear(t, n) - want).abs().max()), 2e-6, n)


class Elementwise(unittest.TestCase):
    def test_se_gate_slope_is_paddle_0_2(self):
        x = torch.tensor([-3.0, -2.5, 0.0, 1.0, 2.5, 4.0])
        self.assertTrue(torch.allclose(ref.se_gate(x), torch.tensor([0.0, 0.0, 0.5, 0.7, 1.0, 1.0])))

    def test_sea_gate_and_hardswish(self):
        x = torch.tensor([-4.0, -3.0, 0.0, 1.5, 3.0, 5.0])
        self.assertTrue(torch.allclose(ref.sea_gate(x), torch.tensor([0.0, 0.0, 0.5, 0.75, 1.0, 1.0])))
        self.assertTrue(torch.allclose(ref.hardswish(x), torch.tensor([0.0, 0.0, 0.0, 1.125, 3.0, 5.0])))


class Outputs(unittest.TestCase):
    def test_argmax_first_max_wins(self):
        x = torch.tensor([[1.0, 3.0, 3.0, 2.0]]).view(1, 4, 1, 1).repeat(1, 1, 2, 2)
        self.assertTrue(torch.equal(ref.argmax_first(x), torch.ones(1, 2, 2, dtype=torch.int64)))

    def test_vim_uses_only_low_res_winners(self):
        g = torch.Generator().manual_seed(SEED)
        low = torch.randn(1, 40, 6, 8, generator=g)
        winners = set(ref.argmax_first(low).unique().tolist())
        v = ref.vim(low, (61, 83))
        self.assertTrue(set(v.unique().tolist()) <= winners)
        full = ref.argmax_first(ref.resize_bilinear(low, size=(61, 83)))
        self.assertGreater(float((v == full).float().mean()), 0.8)
        # where the exact argmax is a low-res winner, VIM must agree with it
        mask = torch.tensor([[[c in winners for c in row] for row in img] for img in full.tolist()])
        self.assertTrue(torch.equal(v[mask], full[mask]))

    def test_predict_shapes_and_vim_threshold(self):
        torch.manual_seed(SEED)
        for variant, k, (h, w), low in [("tiny", 30, (40, 56), (2, 3)), ("base", 29, (33, 47), (5, 6)),
                                        ("tiny", 150, (9, 13), (1, 1))]:
            m = ref.load_state(ref.build(variant, k), ref.random_state(variant, k, SEED))
            out = m.predict(torch.randn(1, 3, h, w))
            self.assertEqual(tuple(out["low_logits"].shape), (1, k, *low))
            self.assertEqual(tuple(out["labels"].shape), (1, h, w))
            self.assertEqual(out["vim_labels"] is None, k < 30)

    def test_tiny_minimum_side(self):
        m = ref.build("tiny", 19)
        with self.assertRaises(ValueError):
            m(torch.zeros(1, 3, 8, 20))

    def test_random_state_is_stable(self):
        a = ref.random_state("tiny", 19, 3)
        b = ref.random_state("tiny", 19, 3)
        self.assertTrue(all(np.array_equal(a[k], b[k]) for k in a))
        # BN statistics are non-trivial, so folding matters
        v = a["backbone.smb2.blocks.0.expand_conv.bn._variance"]
        self.assertTrue(0.5 <= v.min() and v.max() <= 2.0 and v.std() > 0.1)
        # pinned values: StableRng must not drift between platforms or NumPy versions
        self.assertEqual(float(ref.StableRng(1).uniform(0.0, 1.0, (1,))[0]), 0.5118216247002567)
        self.assertEqual(float(a["backbone.smb1.conv.c.weight"].ravel()[0]), PINNED_STEM_W0)


PINNED_STEM_W0 = -0.2192709892988205  # random_state("tiny", 19, 3) first stem weight


if __name__ == "__main__":
    unittest.main()
