#!/usr/bin/env python3
"""ONNX models of PP-MobileSeg for the ONNX Runtime side-by-side (bench/peers), made with the
PyTorch reference (tests/reference/pp_mobileseg_ref.py) from the SAME weights pms loads.

    /usr/bin/python3 bench/peers/export_onnx.py [--out .deps/peers] [--size 512 512] [--force]

Writes, for each weights set NAME, at a fixed input size (512x512 by default):
  NAME.body.onnx    x: float32 [1,3,H,W] normalised image -> logits: float32 [1,K,h,w] (low-res)
  NAME.labels.onnx  x: float32 [1,3,H,W]                  -> labels: int32 [1,H,W]
                    (all K classes bilinearly upsampled to H x W, argmax over classes: what
                    PaddleSeg's export does, first maximum wins)
  NAME.pms          the pms weights of the same parameters (random sets only; the CamVid
                    sets use the repository's weights/pp_mobileseg_{tiny,base}_camvid.pms,
                    which weights/convert.py made from the same checkpoints)
  NAME_int8.*       the same three at int8: the .pms from convert.py --precision int8, the
                    ONNX models in static QDQ form (quantize_qdq.py) with the layers pms runs
                    as int8 (the pointwise convs), calibrated on CALIBRATION_FRAMES CamVid
                    training frames (needs ../shared and python3-onnx)
  NAME_int8_allconvs.*  the same with every conv in QDQ form (stem and depthwise too, as ONNX
                    Runtime's quantize_static would); its .pms is a link to NAME_int8.pms
and, for the CamVid sets, at the CamVid frame size (--eval-size, 360x480), for ort_evaluate:
  NAME.360x480.labels.onnx, NAME_int8.360x480.labels.onnx, NAME_int8_allconvs.360x480.labels.onnx
Weights sets: tiny_random_k150 / base_random_k150 (tests/reference/make_golden.py's seeded
random weights, K = 150: the same parameters as its --weights-only files) and, when the
checkpoints are in ../shared/weights/camvid, tiny_camvid / base_camvid (K = 11).

Export-only changes to the reference (each checked below against the unchanged reference):
* BatchNorm folded into the preceding convolution (in float64, as weights/convert.py does),
  so the graph has no BN arithmetic left for either runtime to fuse.
* Paddle's gather-based bilinear resize is replaced by F.interpolate(mode='bilinear',
  align_corners=False) (one ONNX Resize instead of Gather chains): with the output size where
  Paddle is given a size (both sample at ratio in / out), with the scale factor where Paddle
  is given a scale (both sample at ratio 1 / scale). They are the same function when every
  output extent is > 1 (asserted).
* Activations as ONNX operators ORT fuses into convolutions: hardswish = x * HardSigmoid(x,
  1/6, 1/2), the SE gate = HardSigmoid(x, 0.2, 0.5), the SEA gate = HardSigmoid(x, 1/6, 1/2),
  ReLU6 = Clip(0, 6).
Opset 13. Skips models that exist unless --force.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
sys.path.insert(0, os.path.join(ROOT, "weights"))
import pp_mobileseg_ref as ref  # noqa: E402
import make_golden  # noqa: E402
import convert  # noqa: E402

OPSET = 13
CALIBRATION_FRAMES = 16
INT8_SCOPES = {"_int8": "pointwise", "_int8_allconvs": "all"}  # set-name suffix: quantize_qdq scope
RANDOM_SETS = ["tiny_random_k150", "base_random_k150"]
CAMVID_SETS = {  # name: (checkpoint in shared/weights/camvid, repo .pms)
    "tiny_camvid": ("pp_mobileseg_tiny_camvid.pdparams", "weights/pp_mobileseg_tiny_camvid.pms"),
    "base_camvid": ("pp_mobileseg_base_camvid.pdparams", "weights/pp_mobileseg_base_camvid.pms"),
}


# ---------------------------------------------------------------------------------------
# Export-only operators
# ---------------------------------------------------------------------------------------


class HardSigmoid(torch.autograd.Function):
    """clamp(alpha * x + beta, 0, 1), exported as one ONNX HardSigmoid."""

    @staticmethod
    def forward(ctx, x, alpha: float, beta: float):
        return torch.clamp(alpha * x + beta, 0.0, 1.0)

    @staticmethod
    def symbolic(g, x, alpha: float, beta: float):
        return g.op("HardSigmoid", x, alpha_f=alpha, beta_f=beta).setType(x.type())


def hardswish_x(x):
    return x * HardSigmoid.apply(x, 1.0 / 6.0, 0.5)


def se_gate_x(x):
    return HardSigmoid.apply(x, 0.2, 0.5)


def sea_gate_x(x):
    return HardSigmoid.apply(x, 1.0 / 6.0, 0.5)


def resize_bilinear_x(x, size=None, scale=None):
    """ref.resize_bilinear through F.interpolate; refuses where the two could differ."""
    h, w = x.shape[-2:]
    oh, ow = (int(h * scale), int(w * scale)) if size is None else (int(size[0]), int(size[1]))
    if (oh == 1 and h != 1) or (ow == 1 and w != 1):
        raise ValueError(f"resize {h}x{w} -> {oh}x{ow}: Paddle's out == 1 rule differs from F.interpolate")
    if (oh, ow) == (h, w):
        return x
    if size is None:  # Paddle samples at ratio 1/scale, as ONNX Resize does with its scales input
        return F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False, recompute_scale_factor=False)
    return F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False)


@contextlib.contextmanager
def export_ops():
    saved = (ref.resize_bilinear, ref.se_gate, ref.sea_gate)
    ref.resize_bilinear, ref.se_gate, ref.sea_gate = resize_bilinear_x, se_gate_x, sea_gate_x
    try:
        yield
    finally:
        ref.resize_bilinear, ref.se_gate, ref.sea_gate = saved


# ---------------------------------------------------------------------------------------
# BN folding on a copy of the reference module
# ---------------------------------------------------------------------------------------


def fold_bn_into(conv: nn.Conv2d, bn: ref.BN) -> nn.Conv2d:
    w = conv.weight.detach().double()
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    s = bn.weight.detach().double() / torch.sqrt(bn._variance.detach().double() + ref.BN_EPS)
    out = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                    groups=conv.groups, bias=True)
    out.weight.data = (w * s.view(-1, 1, 1, 1)).float()
    out.bias.data = ((b - bn._mean.detach().double()) * s + bn.bias.detach().double()).float()
    return out


def export_model(model: ref.PPMobileSeg) -> ref.PPMobileSeg:
    m = copy.deepcopy(model).eval()
    for mod in list(m.modules()):
        if isinstance(mod, ref.ConvBN):
            setattr(mod, mod.conv_name, fold_bn_into(getattr(mod, mod.conv_name), mod.bn))
            mod.bn = nn.Identity()
            if mod.act is ref.hardswish:
                mod.act = hardswish_x
        elif isinstance(mod, ref.StrideConv):
            mod.add_module("0", fold_bn_into(getattr(mod, "0"), getattr(mod, "1")))
            mod.add_module("1", nn.Identity())
    return m


class LabelsModel(nn.Module):
    """Body, then all K classes bilinearly upsampled to the input size, argmax -> int32."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        low = self.body(x)
        full = F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return torch.argmax(full, dim=1).to(torch.int32)


# ---------------------------------------------------------------------------------------


def calibration_frames(shared: str) -> list[torch.Tensor] | None:
    """CALIBRATION_FRAMES CamVid training frames, evenly spaced in name order, normalised as
    pms normalises them (ImageNet mean/std); None without ../shared."""
    folder = os.path.join(shared, "data", "camvid", "train")
    if not os.path.isdir(folder):
        return None
    from PIL import Image
    names = sorted(f for f in os.listdir(folder) if f.endswith((".png", ".jpg")))
    step = max(1, len(names) // CALIBRATION_FRAMES)
    return [ref.preprocess(np.asarray(Image.open(os.path.join(folder, f)).convert("RGB")))
            for f in names[::step][:CALIBRATION_FRAMES]]


def model_paths(out_dir: str, name: str, size_tag: str, labels_only: bool, int8: bool) -> dict[tuple[str, str], str]:
    """{(suffix, part): path} of the ONNX models export() writes: NAME{suffix}{size_tag}.{part}.onnx
    for the fp32 suffix "" and, with int8, each suffix of INT8_SCOPES."""
    parts = ("labels",) if labels_only else ("body", "labels")
    return {(suffix, part): os.path.join(out_dir, f"{name}{suffix}{size_tag}.{part}.onnx")
            for suffix in ("", *INT8_SCOPES) if suffix == "" or int8 for part in parts}


def all_exist(paths: dict) -> bool:
    return all(os.path.exists(f) for f in paths.values())


def export(model: ref.PPMobileSeg, name: str, out_dir: str, h: int, w: int, force: bool, calib, size_tag="",
           labels_only=False):
    """Writes the models of model_paths() at h x w: NAME{size_tag}.{body,labels}.onnx and, with
    calibration frames, the int8 QDQ models NAME_int8{size_tag}.* and NAME_int8_allconvs{size_tag}.*."""
    paths = model_paths(out_dir, name, size_tag, labels_only, calib is not None)
    if not force and all_exist(paths):
        return
    img = convert.selftest_image(h, w, seed=7)
    x = ref.preprocess(img)
    with torch.no_grad():
        want = model.predict(x)
        exp = export_model(model)
        with export_ops():
            low = exp(x)
            labels = LabelsModel(exp)(x)
    # The export path must compute the reference's function (rounding aside).
    err = float((low - want["low_logits"]).abs().max() / max(1.0, float(want["low_logits"].abs().max())))
    agree = float((labels.long() == want["labels"]).float().mean())
    print(f"{name}: K={model.num_classes} {h}x{w} -> low {tuple(low.shape[-2:])}, export path vs reference: "
          f"max |dlogit| / max|logit| = {err:.2e}, labels agree at {100 * agree:.4f} %", flush=True)
    if err > 1e-3 or agree < 0.999:
        raise SystemExit(f"{name}: the export path does not match the reference")
    nets = {"body": (exp, "logits"), "labels": (LabelsModel(exp), "labels")}
    with export_ops():
        for (suffix, part), path in paths.items():
            if suffix != "":
                continue
            net, out_name = nets[part]
            tmp = path + ".tmp"
            torch.onnx.export(net, (x,), tmp, opset_version=OPSET, input_names=["x"], output_names=[out_name],
                              do_constant_folding=True)
            os.replace(tmp, path)
            print(f"  wrote {path} ({os.path.getsize(path)} bytes)", flush=True)
    if calib is None:
        return
    import onnx
    import quantize_qdq
    ranges = quantize_qdq.calibrate(exp, calib, scope="all")  # a superset of the pointwise ranges
    for (suffix, part), path in paths.items():
        if suffix == "":
            continue
        qdq, count = quantize_qdq.quantize(onnx.load(paths[("", part)]), ranges, INT8_SCOPES[suffix])
        onnx.save(qdq, path + ".tmp")
        os.replace(path + ".tmp", path)
        print(f"  wrote {path} ({os.path.getsize(path)} bytes, {count} convs in QDQ form)", flush=True)


def link(src: str, dst: str):
    if not os.path.exists(dst):
        os.symlink(src, dst)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(ROOT, ".deps", "peers"))
    p.add_argument("--size", type=int, nargs=2, default=(512, 512), metavar=("H", "W"))
    p.add_argument("--eval-size", type=int, nargs=2, default=(360, 480), metavar=("H", "W"),
                   help="the CamVid sets' labels models for ort_evaluate (the CamVid frame size)")
    p.add_argument("--shared", default=os.path.normpath(os.path.join(ROOT, "..", "shared")))
    p.add_argument("--force", action="store_true", help="re-export models that exist")
    p.add_argument("--no-camvid", action="store_true")
    p.add_argument("--no-int8", action="store_true")
    a = p.parse_args()
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    os.makedirs(a.out, exist_ok=True)
    h, w = a.size
    calib = None
    if not a.no_int8:
        calib = calibration_frames(a.shared)
        if calib is None:
            print(f"no CamVid training frames under {a.shared}: the int8 (QDQ) models are skipped")
    for name in RANDOM_SETS:
        for suffix in ("", "_int8") if calib else ("",):  # _int8_allconvs links to _int8
            pms_path = os.path.join(a.out, f"{name}{suffix}.pms")
            if a.force or not os.path.exists(pms_path):
                _, data = make_golden.random_weights(name + suffix)
                with open(pms_path + ".tmp", "wb") as f:
                    f.write(data)
                os.replace(pms_path + ".tmp", pms_path)
                print(f"  wrote {pms_path} (network sha256 {make_golden.network_sha256(data)})", flush=True)
        if calib:
            link(f"{name}_int8.pms", os.path.join(a.out, f"{name}_int8_allconvs.pms"))
        variant, k = make_golden.RANDOM_WEIGHTS[name][:2]
        if a.force or not all_exist(model_paths(a.out, name, "", False, calib is not None)):
            params, _ = make_golden.random_weights(name)
            export(ref.load_state(ref.build(variant, k), params), name, a.out, h, w, a.force, calib)
    if not a.no_camvid:
        for name, (ckpt, rel) in CAMVID_SETS.items():
            path = os.path.join(a.shared, "weights", "camvid", ckpt)
            if not os.path.exists(path):
                print(f"{name}: {path} not found, skipped")
                continue
            model = None
            eh, ew = a.eval_size
            for size, tag, labels_only in (((h, w), "", False), ((eh, ew), f".{eh}x{ew}", True)):
                if a.force or not all_exist(model_paths(a.out, name, tag, labels_only, calib is not None)):
                    model = model or ref.load_pdparams(path)
                    export(model, name, a.out, *size, a.force, calib, tag, labels_only)
            link(os.path.join(ROOT, rel), os.path.join(a.out, f"{name}.pms"))
            if calib:
                link(os.path.join(ROOT, rel.replace(".pms", "_int8.pms")), os.path.join(a.out, f"{name}_int8.pms"))
                link(f"{name}_int8.pms", os.path.join(a.out, f"{name}_int8_allconvs.pms"))


if __name__ == "__main__":
    main()
