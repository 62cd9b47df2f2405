#!/usr/bin/env python3
"""Convert a PaddleSeg PP-MobileSeg checkpoint (.pdparams) to a pms weights file (.pms).

    /usr/bin/python3 weights/convert.py CHECKPOINT.pdparams OUT.pms [--variant tiny|base]
        [--classes K] [--mean a b c --std a b c] [--precision fp32|int8]

* --precision fp32 (default) writes a version 2 file; int8 a version 3 file whose 1x1 convs
  hold per-output-channel int8 weights (FORMAT.md, "int8 files"; no calibration data: the
  activation scales are computed per pixel at run time). Its self-test vector is the
  reference's int8 path on the file's own tensors; the converter checks that the quantized
  tensors are bit-identical to the reference's own quantization of the checkpoint.

* Every tensor the network has must be present with its exact shape; missing, extra or
  mis-shaped tensors are errors that name them (exit status 1).
* All BatchNorms are folded (spec section 13) in float64, then stored as float32 in the
  packed layouts the C++ kernels read (FORMAT.md); nothing is repacked at load time.
* A self-test vector (image, the reference's low-res logits, exact-mode labels, top-1/top-2
  margins) is embedded; the packed weights are unpacked again into the PyTorch reference
  and must reproduce the original checkpoint's logits (the folding/packing check).
* Deterministic: same input and options -> identical bytes (torch runs on 1 thread).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
sys.path.insert(0, HERE)
import pp_mobileseg_ref as ref  # noqa: E402
import pms_format as fmt  # noqa: E402

EPS = ref.BN_EPS
LANES = 16
SELFTEST_HW = (56, 72)  # odd strided grids, N == 1 attention rows (see FORMAT.md)
SELFTEST_SEED = 20240607


class ConversionError(Exception):
    pass


def P(n: int) -> int:
    return (n + LANES - 1) // LANES * LANES


# ---------------------------------------------------------------------------------------
# Folding and packing (layouts: FORMAT.md section 4)
# ---------------------------------------------------------------------------------------


def fold(params, conv_w: str, bn: str | None, conv_b: str | None = None):
    """(W' [Cout, Cin/g, kh, kw], b' [Cout]) in float64: W*g/sqrt(v+eps), (b-mu)*g/sqrt(v+eps)+beta."""
    w = params[conv_w].astype(np.float64)
    b = params[conv_b].astype(np.float64) if conv_b else np.zeros(w.shape[0])
    if bn is None:
        return w, b
    g, beta = params[bn + ".weight"].astype(np.float64), params[bn + ".bias"].astype(np.float64)
    mu, var = params[bn + "._mean"].astype(np.float64), params[bn + "._variance"].astype(np.float64)
    s = g / np.sqrt(var + EPS)
    return w * s[:, None, None, None], (b - mu) * s + beta


def pack_pointwise(w, b):
    """W [Cout, Cin, 1, 1] -> weight [Cin, P(Cout)] (element [ci][co]), bias [P(Cout)]."""
    cout, cin = w.shape[:2]
    pw = np.zeros((cin, P(cout)))
    pw[:, :cout] = w[:, :, 0, 0].T
    pb = np.zeros(P(cout))
    pb[:cout] = b
    return pw.astype(np.float32), pb.astype(np.float32)


def pack_depthwise(w, b):
    """W [C, 1, k, k] -> weight [k*k, P(C)] (element [ky*k+kx][c]), bias [P(C)]."""
    c, _, kh, kw = w.shape
    pw = np.zeros((kh * kw, P(c)))
    pw[:, :c] = w[:, 0].reshape(c, kh * kw).T
    pb = np.zeros(P(c))
    pb[:c] = b
    return pw.astype(np.float32), pb.astype(np.float32)


def pack_stem(w, b):
    """W [16, 3, 3, 3] -> weight [9, 3, 16] (element [ky*3+kx][ci][co]), bias [16]."""
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(9, 3, 16)).astype(np.float32), b.astype(np.float32)


def pack_pointwise_int8(w, b):
    """Folded W [Cout, Cin, 1, 1] (float64) -> the int8 tensors of FORMAT.md ("int8 files"):
    weight_q i8 [G, P(Cout), 4] (G = ceil(Cin/4), element [g][co][j] = q[co][4g+j]),
    weight_scale f32 [P(Cout)], weight_sum i32 [P(Cout)] (sum_ci q[co][ci]), bias f32 [P(Cout)].
    W is rounded to float32 first, then quantized per row by the reference's quantize_weights."""
    cout, cin = w.shape[:2]
    q, s = ref.quantize_weights(w[:, :, 0, 0].astype(np.float32))
    g = (cin + 3) // 4
    full = np.zeros((P(cout), 4 * g), np.int8)
    full[:cout, :cin] = q
    wq = np.ascontiguousarray(full.reshape(P(cout), g, 4).transpose(1, 0, 2))
    ws = np.zeros(P(cout), np.float32)
    ws[:cout] = s
    wsum = np.zeros(P(cout), np.int32)
    wsum[:cout] = q.astype(np.int32).sum(1)
    pb = np.zeros(P(cout), np.float32)
    pb[:cout] = b.astype(np.float32)
    return [(".weight_q", wq), (".weight_scale", ws), (".weight_sum", wsum), (".bias", pb)]


def unpack_pointwise_int8(tensors: dict, name: str, lo: int, hi: int, cin: int):
    """(q int8 [hi-lo, cin], s_w f32, bias f32) of output channels [lo, hi) of int8 conv `name`."""
    wq = tensors[name + ".weight_q"]
    q = wq.transpose(1, 0, 2).reshape(wq.shape[1], -1)[lo:hi, :cin]
    return (np.ascontiguousarray(q), tensors[name + ".weight_scale"][lo:hi].copy(),
            tensors[name + ".bias"][lo:hi].copy())


def cat_convs(*wbs):
    """Concatenate folded 1x1 convs along Cout (merged q/k/v, merged AAM convs)."""
    return np.concatenate([w for w, _ in wbs], 0), np.concatenate([b for _, b in wbs], 0)


def packed_tensors(params: dict, variant: str, num_classes: int, precision: str = "fp32") -> list[tuple[str, np.ndarray]]:
    """All network tensors in FORMAT.md layouts, in execution order. precision int8: every
    pointwise conv (the `pw` packer) is stored as int8 tensors instead."""
    cfg = ref.CONFIGS[variant]
    out = []
    pw = {"fp32": pack_pointwise, "int8": pack_pointwise_int8}[precision]

    def emit(name, wb, packer):
        r = packer(*wb)
        if isinstance(r, list):  # int8: named tensors
            out.extend((name + suffix, a) for suffix, a in r)
            return
        w, b = r
        out.append((name + ".weight", w))
        out.append((name + ".bias", b))

    def cbn(prefix, conv="c"):  # ConvBN module -> folded
        return fold(params, f"{prefix}.{conv}.weight", f"{prefix}.bn")

    emit("backbone.smb1.conv", cbn("backbone.smb1.conv"), pack_stem)
    for si, (_, blocks) in enumerate(cfg.stages, 1):
        for bi, (_k, _exp, _out, se, _act, _s) in enumerate(blocks):
            p = f"backbone.smb{si}.blocks.{bi}"
            emit(p + ".expand_conv", cbn(p + ".expand_conv"), pw)
            emit(p + ".bottleneck_conv", cbn(p + ".bottleneck_conv"), pack_depthwise)
            if se:
                for c in ("conv1", "conv2"):
                    emit(f"{p}.mid_se.{c}", fold(params, f"{p}.mid_se.{c}.weight", None, f"{p}.mid_se.{c}.bias"),
                         pw)
            emit(p + ".linear_conv", cbn(p + ".linear_conv"), pw)
        if si in (3, 4):  # SEA stage after smb3 (trans1) and smb4 (trans2)
            ti = si - 2
            depth = cfg.trans[ti - 1][0]
            for j in range(depth):
                p = f"backbone.trans{ti}.transformer_blocks.{j}"
                a = p + ".attn"
                emit(a + ".stride_conv", fold(params, a + ".stride_conv.0.weight", a + ".stride_conv.1",
                                              a + ".stride_conv.0.bias"), pack_depthwise)
                emit(a + ".qkv", cat_convs(cbn(a + ".to_q"), cbn(a + ".to_k"), cbn(a + ".to_v")), pw)
                emit(a + ".dwconv", cbn(a + ".dwconv"), pack_depthwise)
                emit(a + ".pwconv", cbn(a + ".pwconv"), pw)
                for t in ("rowq", "rowk", "columnq", "columnk"):
                    out.append((f"{a}.pos_emb_{t}", params[f"{a}.pos_emb_{t}.pos_embed"][0].astype(np.float32)))
                emit(a + ".proj_encode_row.1", cbn(a + ".proj_encode_row.1"), pw)
                emit(a + ".proj_encode_column.1", cbn(a + ".proj_encode_column.1"), pw)
                emit(a + ".proj.1", cbn(a + ".proj.1"), pw)
                m = p + ".mlp"
                emit(m + ".fc1", cbn(m + ".fc1"), pw)
                emit(m + ".dwconv", fold(params, m + ".dwconv.weight", None, m + ".dwconv.bias"), pack_depthwise)
                emit(m + ".fc2", cbn(m + ".fc2"), pw)

    inj = "backbone.inj_module"

    def aam(lst, i):
        return cbn(f"{inj}.{lst}.{i}", conv="conv")

    if variant == "tiny":
        for i, src in enumerate(("x8", "x16", "x32")):
            emit(f"{inj}.{src}", cat_convs(aam("embedding_list", i), aam("act_embedding_list", i)), pw)
    else:
        emit(f"{inj}.x8", aam("embedding_list", 0), pw)
        emit(f"{inj}.x16", aam("act_embedding_list", 0), pw)
        emit(f"{inj}.x32", cat_convs(aam("embedding_list", 1), aam("act_embedding_list", 1)), pw)
    emit("decode_head.linear_fuse", cbn("decode_head.linear_fuse", conv="conv"), pack_depthwise)
    emit("decode_head.conv_seg", fold(params, "decode_head.conv_seg.weight", None, "decode_head.conv_seg.bias"),
         pw)
    return out


# ---------------------------------------------------------------------------------------
# Unpacking (inverse of packing, BN as identity) -- used for the folding check and tests
# ---------------------------------------------------------------------------------------


def unpack_state(tensors: dict, variant: str, num_classes: int) -> dict:
    """A reference state_dict computing the same function as the packed tensors: folded
    weights in the convs, BatchNorms set to identity (mean 0, var 1 - eps, gamma 1,
    beta = folded bias) -- var + eps rounds to exactly 1 in float32 for eps = 1e-5."""
    model = ref.build(variant, num_classes)
    sd = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    var1 = np.float32(1.0) - np.float32(EPS)
    assert np.float32(var1 + np.float32(EPS)) == np.float32(1.0)

    def set_bn(bn, b):
        sd[bn + ".weight"] = np.ones_like(sd[bn + ".weight"])
        sd[bn + ".bias"] = b.astype(np.float32)
        sd[bn + "._mean"] = np.zeros_like(sd[bn + "._mean"])
        sd[bn + "._variance"] = np.full_like(sd[bn + "._variance"], var1)

    def pw(name):  # -> W [Cout(padded), Cin, 1, 1], b
        w, b = tensors[name + ".weight"], tensors[name + ".bias"]
        return w.T[:, :, None, None], b

    def dw(name, k):
        w, b = tensors[name + ".weight"], tensors[name + ".bias"]
        return w.T.reshape(-1, 1, k, k), b

    def put(conv_w, bn, wb, conv_b=None, lo=0, hi=None):
        w, b = wb
        hi = sd[conv_w].shape[0] + lo if hi is None else hi
        sd[conv_w] = np.ascontiguousarray(w[lo:hi]).astype(np.float32)
        if bn:  # the folded bias goes to the conv bias when the conv has one, else to beta
            set_bn(bn, np.zeros(hi - lo) if conv_b else b[lo:hi])
        if conv_b:
            sd[conv_b] = b[lo:hi].astype(np.float32)

    def cbn(prefix, wb, conv="c", lo=0, hi=None):
        put(f"{prefix}.{conv}.weight", prefix + ".bn", wb, lo=lo, hi=hi)

    w, b = tensors["backbone.smb1.conv.weight"], tensors["backbone.smb1.conv.bias"]
    cbn("backbone.smb1.conv", (w.reshape(3, 3, 3, 16).transpose(3, 2, 0, 1), b))
    cfg = ref.CONFIGS[variant]
    for si, (_, blocks) in enumerate(cfg.stages, 1):
        for bi, (k, _exp, _out, se, _act, _s) in enumerate(blocks):
            p = f"backbone.smb{si}.blocks.{bi}"
            cbn(p + ".expand_conv", pw(p + ".expand_conv"))
            cbn(p + ".bottleneck_conv", dw(p + ".bottleneck_conv", k))
            if se:
                for c in ("conv1", "conv2"):
                    put(f"{p}.mid_se.{c}.weight", None, pw(f"{p}.mid_se.{c}"), f"{p}.mid_se.{c}.bias")
            cbn(p + ".linear_conv", pw(p + ".linear_conv"))
    for ti, (depth, dim, kd, heads, _r) in enumerate(cfg.trans, 1):
        nh_kd, dh = kd * heads, 2 * kd * heads
        for j in range(depth):
            a = f"backbone.trans{ti}.transformer_blocks.{j}.attn"
            put(a + ".stride_conv.0.weight", a + ".stride_conv.1", dw(a + ".stride_conv", 3), a + ".stride_conv.0.bias")
            qkv = pw(a + ".qkv")
            cbn(a + ".to_q", qkv, lo=0, hi=nh_kd)
            cbn(a + ".to_k", qkv, lo=nh_kd, hi=2 * nh_kd)
            cbn(a + ".to_v", qkv, lo=2 * nh_kd, hi=2 * nh_kd + dh)
            cbn(a + ".dwconv", dw(a + ".dwconv", 3))
            cbn(a + ".pwconv", pw(a + ".pwconv"))
            for t in ("rowq", "rowk", "columnq", "columnk"):
                sd[f"{a}.pos_emb_{t}.pos_embed"] = tensors[f"{a}.pos_emb_{t}"][None].astype(np.float32)
            for n in ("proj_encode_row.1", "proj_encode_column.1", "proj.1"):
                cbn(f"{a}.{n}", pw(f"{a}.{n}"))
            m = a[:-len(".attn")] + ".mlp"
            cbn(m + ".fc1", pw(m + ".fc1"))
            put(m + ".dwconv.weight", None, dw(m + ".dwconv", 3), m + ".dwconv.bias")
            cbn(m + ".fc2", pw(m + ".fc2"))
    inj = "backbone.inj_module"
    if variant == "tiny":
        for i, src in enumerate(("x8", "x16", "x32")):
            x = pw(f"{inj}.{src}")
            cbn(f"{inj}.embedding_list.{i}", x, "conv", 0, 256)
            cbn(f"{inj}.act_embedding_list.{i}", x, "conv", 256, 512)
    else:
        cbn(f"{inj}.embedding_list.0", pw(f"{inj}.x8"), "conv")
        cbn(f"{inj}.act_embedding_list.0", pw(f"{inj}.x16"), "conv")
        x = pw(f"{inj}.x32")
        cbn(f"{inj}.embedding_list.1", x, "conv", 0, 256)
        cbn(f"{inj}.act_embedding_list.1", x, "conv", 256, 512)
    cbn("decode_head.linear_fuse", dw("decode_head.linear_fuse", 1), "conv")
    put("decode_head.conv_seg.weight", None, pw("decode_head.conv_seg"), "decode_head.conv_seg.bias")
    return sd


# ---------------------------------------------------------------------------------------
# Validation, self-test, main
# ---------------------------------------------------------------------------------------


def int8_site_map(variant: str, num_classes: int) -> dict:
    """Reference module path of every int8 site (ref.int8_sites) -> (packed name, lo, hi, cin):
    the site's output channels are columns [lo, hi) of the packed conv `name`."""
    model = ref.build(variant, num_classes)
    out = {}
    for path, m in ref.int8_sites(model):
        conv = getattr(m, m.conv_name) if isinstance(m, ref.ConvBN) else m
        cout, cin = conv.weight.shape[:2]
        parent, leaf = path.rsplit(".", 1)
        name, lo = path, 0
        if leaf in ("to_q", "to_k", "to_v"):
            nh_kd = model.get_submodule(parent).nh_kd
            name, lo = parent + ".qkv", {"to_q": 0, "to_k": nh_kd, "to_v": 2 * nh_kd}[leaf]
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
        out[path] = (name, lo, lo + cout, cin)
    return out


def reference_from_file(tensors: dict, variant: str, num_classes: int, precision: str):
    """The reference model computing what a file's tensors describe: fp32 layers folded (BN as
    identity, unpack_state); for int8 files every int8 site runs the stored q / scales / bias."""
    if precision == "fp32":
        return ref.load_state(ref.build(variant, num_classes), unpack_state(tensors, variant, num_classes))
    sites = int8_site_map(variant, num_classes)
    t = dict(tensors)
    for name in {n for n, *_ in sites.values()}:  # dequantized placeholders for unpack_state
        wq, s = tensors[name + ".weight_q"], tensors[name + ".weight_scale"]
        q = wq.transpose(1, 0, 2).reshape(wq.shape[1], -1).astype(np.float32)
        cin = max(c for n, _, _, c in sites.values() if n == name)
        t[name + ".weight"] = (q * s[:, None]).astype(np.float32).T[:cin].copy()
    model = ref.load_state(ref.build(variant, num_classes), unpack_state(t, variant, num_classes))
    for path, (name, lo, hi, cin) in sites.items():
        model.get_submodule(path).int8 = ref.Int8Pointwise(*unpack_pointwise_int8(tensors, name, lo, hi, cin))
    return model


def check_int8_sites(tensors: dict, quantized_model, variant: str, num_classes: int):
    """Every int8 site's stored q, s_w, bias equal the reference's own quantization of the
    checkpoint (ref.quantize), bit for bit."""
    for path, (name, lo, hi, cin) in int8_site_map(variant, num_classes).items():
        want = quantized_model.get_submodule(path).int8
        got = unpack_pointwise_int8(tensors, name, lo, hi, cin)
        for a, b, what in zip(got, (want.q_np, want.s_w_np, want.bias_np), ("q", "scale", "bias")):
            if a.shape != b.shape or a.tobytes() != b.tobytes():
                raise ConversionError(f"int8 check failed: {path} {what} differs from the reference's quantization")


def validate(params: dict, variant: str, num_classes: int):
    """Every expected tensor present with its shape, nothing extra, all finite."""
    expected = {k: tuple(v.shape) for k, v in ref.build(variant, num_classes).state_dict().items()}
    errors = []
    for k, shape in expected.items():
        if k not in params:
            errors.append(f"missing tensor {k} {list(shape)}")
        elif tuple(params[k].shape) != shape:
            errors.append(f"tensor {k} has shape {list(params[k].shape)}, expected {list(shape)}")
        elif not np.all(np.isfinite(params[k])):
            errors.append(f"tensor {k} has NaN or Inf")
    errors += [f"unexpected tensor {k} {list(params[k].shape)}" for k in params if k not in expected]
    if errors:
        raise ConversionError(f"{variant} K={num_classes}: " + "; ".join(errors))


def selftest_image(h=SELFTEST_HW[0], w=SELFTEST_HW[1], seed=SELFTEST_SEED) -> np.ndarray:
    """Deterministic u8 [h, w, 3] RGB: smooth colour gradients and blobs plus seeded noise,
    so that logits vary across the image (not a flat field)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([120 + 100 * np.sin(x / 9.0 + y / 23.0),
                    110 + 90 * np.cos(y / 7.0 - x / 31.0),
                    128 + 110 * np.sin((x + y) / 13.0) * np.cos((x - y) / 17.0)], -1)
    img += rng.normal(0, 12, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def run_reference(state, variant: str, num_classes: int, image: np.ndarray, mean, std):
    """state: a checkpoint/state dict, or a ready reference model."""
    model = state if isinstance(state, torch.nn.Module) else ref.load_state(ref.build(variant, num_classes), state)
    with torch.no_grad():
        out = model.predict(ref.preprocess(image, mean, std))
    return out


def selftest_tensors(params, variant, num_classes, mean, std, image):
    out = run_reference(params, variant, num_classes, image, mean, std)
    logits = out["low_logits"][0].numpy().astype(np.float32)
    labels = out["labels"][0].numpy().astype(np.uint8)
    margin = ref.top2_margin(out["logits"])[0].numpy().astype(np.float32)
    return [("selftest.image", image), ("selftest.logits", logits), ("selftest.labels", labels),
            ("selftest.label_margin", margin)], logits


def convert(params: dict, variant: str | None = None, num_classes: int | None = None,
            mean=ref.IMAGENET_MEAN, std=ref.IMAGENET_STD, check: bool = True, precision: str = "fp32") -> bytes:
    """Checkpoint dict -> .pms bytes. Raises ConversionError naming any bad tensor."""
    torch.set_num_threads(1)  # determinism of the self-test logits
    try:
        inf_variant, inf_k = ref.infer_variant(params)
    except (KeyError, ValueError) as e:
        if variant is None or num_classes is None:
            raise ConversionError(f"cannot infer variant/classes ({e}); pass --variant and --classes")
        inf_variant, inf_k = variant, num_classes
    variant = variant or inf_variant
    num_classes = num_classes or inf_k
    if not 2 <= num_classes <= fmt.MAX_CLASSES:
        raise ConversionError(f"class count {num_classes} outside 2..{fmt.MAX_CLASSES} (the .pms format stores u8 self-test labels)")
    if not all(np.isfinite(mean)) or not all(np.isfinite(std)) or min(std) <= 0:
        raise ConversionError("mean/std must be finite and std > 0")
    validate(params, variant, num_classes)
    if precision not in fmt.PRECISIONS:
        raise ConversionError(f"unknown precision {precision!r} (fp32 or int8)")
    if precision == "int8":
        return convert_int8(params, variant, num_classes, mean, std, check)
    tensors = packed_tensors(params, variant, num_classes)
    st, logits = selftest_tensors(params, variant, num_classes, mean, std, selftest_image())
    if check:  # the packed/folded weights must compute the same function as the checkpoint
        unpacked = unpack_state(dict(tensors), variant, num_classes)
        got = run_reference(unpacked, variant, num_classes, selftest_image(), mean, std)["low_logits"][0].numpy()
        err = float(np.max(np.abs(got - logits)))
        tol = 1e-4 * max(1.0, float(np.max(np.abs(logits))))
        if not err <= tol:
            raise ConversionError(f"folding check failed: max |delta logits| {err:.3g} > {tol:.3g}")
        print(f"folding check: max |delta logits| {err:.3g} (tolerance {tol:.3g})", file=sys.stderr)
    return fmt.pms_bytes(variant, num_classes, mean, std, tensors + st)


# Self-test logits of an int8 file against the same int8 path run on the unfolded checkpoint:
# the fp32 layers (stem, depthwise, attention) then differ by float rounding, which can move an
# activation across a quantization step. Bound: relative to max(1, max|logits|).
INT8_CHECKPOINT_TOLERANCE = 5e-2


def convert_int8(params: dict, variant: str, num_classes: int, mean, std, check: bool) -> bytes:
    """int8 file (FORMAT.md, "int8 files"); the self-test vector is the reference's int8 path
    run on the file's own tensors."""
    tensors = packed_tensors(params, variant, num_classes, "int8")
    image = selftest_image()
    out = run_reference(reference_from_file(dict(tensors), variant, num_classes, "int8"), variant, num_classes,
                        image, mean, std)
    logits = out["low_logits"][0].numpy().astype(np.float32)
    st = [("selftest.image", image), ("selftest.logits", logits),
          ("selftest.labels", out["labels"][0].numpy().astype(np.uint8)),
          ("selftest.label_margin", ref.top2_margin(out["logits"])[0].numpy().astype(np.float32))]
    if check:
        model8 = ref.quantize(ref.load_state(ref.build(variant, num_classes), params))
        check_int8_sites(dict(tensors), model8, variant, num_classes)
        got = run_reference(model8, variant, num_classes, image, mean, std)["low_logits"][0].numpy()
        fp = run_reference(params, variant, num_classes, image, mean, std)["low_logits"][0].numpy()
        scale = max(1.0, float(np.max(np.abs(logits))))
        err, err_fp = float(np.max(np.abs(got - logits))), float(np.max(np.abs(fp - logits)))
        if not err <= INT8_CHECKPOINT_TOLERANCE * scale:
            raise ConversionError(f"int8 check failed: self-test logits from the file and from the checkpoint "
                                  f"differ by {err:.3g} > {INT8_CHECKPOINT_TOLERANCE * scale:.3g}")
        print(f"int8 check: tensors = reference quantization; max |delta logits| file vs checkpoint {err:.3g}, "
              f"int8 vs fp32 {err_fp:.3g} (max |logits| {scale:.3g})", file=sys.stderr)
    return fmt.pms_bytes(variant, num_classes, mean, std, tensors + st, "int8")


def layout_tsv(variant: str, num_classes: int = 150, precision: str = "fp32") -> str:
    """Name, dtype and dims of every tensor of a converted file, in file order."""
    params = {k: v.numpy() for k, v in ref.build(variant, num_classes).state_dict().items()}
    dt = {np.dtype("float32"): "f32", np.dtype("int8"): "i8", np.dtype("int32"): "i32"}
    rows = [(n, dt[a.dtype], "x".join(map(str, a.shape))) for n, a in packed_tensors(params, variant, num_classes, precision)]
    rows += [("selftest.image", "u8", "56x72x3"), ("selftest.logits", "f32", "Kx(h/16 or h/8)x(w/16 or w/8)"),
             ("selftest.labels", "u8", "56x72"), ("selftest.label_margin", "f32", "56x72")]
    if precision == "fp32":  # the header of the shipped layout_{tiny,base}.tsv, unchanged
        head = (f"# pms v1 tensor layout, PP-MobileSeg {variant}, K = {num_classes} (written by convert.py --layout)\n"
                "# name\tdtype\tdims\n")
    else:
        head = (f"# pms v3 tensor layout, PP-MobileSeg {variant}, {precision}, K = {num_classes} "
                f"(written by convert.py --layout {variant} --precision {precision})\n# name\tdtype\tdims\n")
    return head + "".join(f"{n}\t{d}\t{s}\n" for n, d, s in rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", nargs="?")
    p.add_argument("output", nargs="?")
    p.add_argument("--layout", choices=("tiny", "base"), help="print the tensor layout table of a variant and exit")
    p.add_argument("--variant", choices=("tiny", "base"))
    p.add_argument("--classes", type=int)
    p.add_argument("--mean", type=float, nargs=3, default=list(ref.IMAGENET_MEAN))
    p.add_argument("--std", type=float, nargs=3, default=list(ref.IMAGENET_STD))
    p.add_argument("--precision", choices=tuple(fmt.PRECISIONS), default="fp32",
                   help="fp32 (version 2 file) or int8 (version 3, FORMAT.md 'int8 files')")
    a = p.parse_args(argv)
    if a.layout:
        sys.stdout.write(layout_tsv(a.layout, a.classes or 150, a.precision))
        return 0
    if not a.checkpoint or not a.output:
        p.error("CHECKPOINT and OUTPUT are required")
    try:
        params = ref.read_pdparams(a.checkpoint)
        data = convert(params, a.variant, a.classes, tuple(a.mean), tuple(a.std), precision=a.precision)
    except ConversionError as e:
        print(f"convert.py: error: {e}", file=sys.stderr)
        return 1
    tmp = a.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, a.output)
    pf = fmt.PmsFile(data, verify_checksum=False)
    print(f"wrote {a.output}: {pf.variant} {pf.precision} K={pf.num_classes}, {len(pf.order)} tensors, {len(data)} bytes, "
          f"checksum {pf.checksum:016x}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
