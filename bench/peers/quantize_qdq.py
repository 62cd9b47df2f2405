"""Static QDQ int8 models for the ONNX Runtime int8 peer (bench/peers), made from the fp32 ONNX
models export_onnx.py writes. Used by export_onnx.py; the same steps ONNX Runtime's own
quantize_static(QuantFormat.QDQ, per_channel=True, MinMax calibration) takes, written with
python3-onnx alone (ONNX Runtime's Python package is not installable here).

What is quantized, by scope: "pointwise", every Conv with a 1x1 kernel and group 1, the layers
pms runs as int8 (weights/FORMAT.md section 7), everything else (stem, depthwise convs,
attention, resizes, sigmoids, the argmax) float32 as in pms; or "all", every Conv (the stem and
the depthwise convs too, as quantize_static would), which keeps more of ORT's graph in int8.
* weights: per output channel, symmetric int8: s_w[o] = max_i |w[o][i]| / 127 (1 for a zero
  row), q = round_half_even(w / s_w) in [-127, 127]; DequantizeLinear(axis 0).
* bias: int32 at scale s_x * s_w[o] (what QLinearConv takes).
* activations, the conv's input and its output: per tensor, asymmetric uint8, the range
  [min(0, lo), max(0, hi)] of that tensor over the calibration frames: s = (max - min) / 255,
  zero point round(-min / s). A tensor read by several quantized convs is quantized once.
With a QuantizeLinear on its input, DequantizeLinear on input, weight and bias, and a
QuantizeLinear on its output, ONNX Runtime fuses each such conv into one QLinearConv (u8 x s8
into int32). The output QDQ pair is what a static QDQ model has; pms has none (its conv outputs
stay float32), so ORT rounds its activations twice per conv where pms rounds them once.

Calibration: the ranges come from the PyTorch module that was exported (forward hooks on its
convs), matched to the ONNX Conv nodes by their weight tensors (bit-identical floats).
"""
from __future__ import annotations

import hashlib

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper


def _is_pointwise(conv: nn.Module) -> bool:
    return isinstance(conv, nn.Conv2d) and conv.groups == 1 and tuple(conv.kernel_size) == (1, 1)


def _is_quantized(conv: nn.Module, scope: str) -> bool:
    return isinstance(conv, nn.Conv2d) and (scope == "all" or _is_pointwise(conv))


def _weight_key(w: np.ndarray) -> str:
    w = np.ascontiguousarray(w, dtype=np.float32)
    return hashlib.sha1(repr(w.shape).encode() + w.tobytes()).hexdigest()


def calibrate(module: nn.Module, inputs, scope: str = "pointwise") -> dict[str, tuple[float, float, float, float]]:
    """{weight key: (input min, input max, output min, output max)} of every conv of `module`
    that `scope` quantizes, over the float inputs [1,3,H,W] in `inputs`."""
    ranges: dict[str, list[float]] = {}
    hooks = []

    def hook(conv, args, out):
        key = conv._pms_key
        lo_i, hi_i = float(args[0].min()), float(args[0].max())
        lo_o, hi_o = float(out.min()), float(out.max())
        r = ranges.setdefault(key, [lo_i, hi_i, lo_o, hi_o])
        r[0], r[1], r[2], r[3] = min(r[0], lo_i), max(r[1], hi_i), min(r[2], lo_o), max(r[3], hi_o)

    for m in module.modules():
        if _is_quantized(m, scope):
            m._pms_key = _weight_key(m.weight.detach().numpy())
            hooks.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            for x in inputs:
                module(x)
    finally:
        for h in hooks:
            h.remove()
    return {k: tuple(v) for k, v in ranges.items()}


def _uint8_params(lo: float, hi: float) -> tuple[np.float32, np.uint8]:
    lo, hi = min(0.0, lo), max(0.0, hi)
    scale = np.float32((hi - lo) / 255.0) if hi > lo else np.float32(1.0)
    zero = np.uint8(np.clip(np.round(-lo / float(scale)), 0, 255))
    return scale, zero


def quantize(model: onnx.ModelProto, ranges: dict, scope: str = "pointwise") -> tuple[onnx.ModelProto, int]:
    """A copy of `model` with its pointwise convs ("pointwise") or all its convs ("all") in QDQ
    form; returns it and the number of convs quantized. Each must have a calibrated range."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    new_inits: list[TensorProto] = []
    new_nodes: dict[int, list[onnx.NodeProto]] = {}  # node index -> QDQ nodes to insert before it
    quantized_inputs: dict[str, tuple[str, np.float32]] = {}  # float tensor -> (its DQ output, scale)
    count = 0

    def const(name, array):
        new_inits.append(numpy_helper.from_array(array, name))
        return name

    for index, node in enumerate(list(g.node)):
        if node.op_type != "Conv" or len(node.input) < 2 or node.input[1] not in inits:
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        if scope != "all" and (attrs.get("group", 1) != 1 or any(d != 1 for d in w.shape[2:])):
            continue
        key = _weight_key(w)
        if key not in ranges:
            raise SystemExit(f"{node.name}: no calibration range (weights not matched to the module)")
        lo_i, hi_i, lo_o, hi_o = ranges[key]
        base = node.name.strip("/").replace("/", "_")
        pre = new_nodes.setdefault(index, [])
        x = node.input[0]

        # input: Q -> DQ, once per tensor
        if x not in quantized_inputs:
            s_x, z_x = _uint8_params(lo_i, hi_i)
            sx, zx = const(f"{base}_x_scale", np.array(s_x, np.float32)), const(f"{base}_x_zero", np.array(z_x, np.uint8))
            pre.append(helper.make_node("QuantizeLinear", [x, sx, zx], [f"{base}_x_q"], name=f"{base}_x_Q"))
            pre.append(helper.make_node("DequantizeLinear", [f"{base}_x_q", sx, zx], [f"{base}_x_dq"], name=f"{base}_x_DQ"))
            quantized_inputs[x] = (f"{base}_x_dq", s_x)
        x_dq, s_x = quantized_inputs[x]

        # weights: per output channel, symmetric int8
        rows = w.reshape(w.shape[0], -1)
        s_w = (np.abs(rows).max(axis=1) / np.float32(127)).astype(np.float32)
        s_w[s_w == 0] = 1
        q_w = np.clip(np.round(w / s_w.reshape(-1, 1, 1, 1)), -127, 127).astype(np.int8)  # np.round: half to even
        wq = const(f"{base}_w_q", q_w)
        ws = const(f"{base}_w_scale", s_w)
        wz = const(f"{base}_w_zero", np.zeros(w.shape[0], np.int8))
        pre.append(helper.make_node("DequantizeLinear", [wq, ws, wz], [f"{base}_w_dq"], name=f"{base}_w_DQ", axis=0))
        inputs = [x_dq, f"{base}_w_dq"]

        # bias: int32 at s_x * s_w
        if len(node.input) > 2 and node.input[2]:
            b = numpy_helper.to_array(inits[node.input[2]]).astype(np.float64)
            s_b = (np.float64(s_x) * s_w.astype(np.float64)).astype(np.float32)
            q_b = np.clip(np.round(b / s_b), -(2**31) + 1, 2**31 - 1).astype(np.int32)
            bq, bs = const(f"{base}_b_q", q_b), const(f"{base}_b_scale", s_b)
            bz = const(f"{base}_b_zero", np.zeros(w.shape[0], np.int32))
            pre.append(helper.make_node("DequantizeLinear", [bq, bs, bz], [f"{base}_b_dq"], name=f"{base}_b_DQ", axis=0))
            inputs.append(f"{base}_b_dq")

        # output: the conv writes y_f32; Q -> DQ gives back the original name, so the consumers
        # (and a graph output) are unchanged
        y = node.output[0]
        s_y, z_y = _uint8_params(lo_o, hi_o)
        sy, zy = const(f"{base}_y_scale", np.array(s_y, np.float32)), const(f"{base}_y_zero", np.array(z_y, np.uint8))
        del node.input[:]
        node.input.extend(inputs)
        node.output[0] = f"{base}_y_f32"
        after = [helper.make_node("QuantizeLinear", [f"{base}_y_f32", sy, zy], [f"{base}_y_q"], name=f"{base}_y_Q"),
                 helper.make_node("DequantizeLinear", [f"{base}_y_q", sy, zy], [y], name=f"{base}_y_DQ")]
        new_nodes.setdefault(index + 1, [])[:0] = after
        count += 1

    # Rebuild the node list in order; drop the float weights and biases no node reads any more.
    nodes = []
    for index, node in enumerate(list(g.node)):
        nodes.extend(new_nodes.get(index, []))
        nodes.append(node)
    nodes.extend(new_nodes.get(len(g.node), []))
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend(new_inits)
    used = {i for n in g.node for i in n.input}
    kept = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(kept)
    onnx.checker.check_model(model)
    return model, count
