"""Independent PyTorch reference of PP-MobileSeg (Tiny and Base), written from
/work/shared/spec/pp_mobileseg.md. It is the oracle the C++ port is tested against.

* Parameter names equal PaddleSeg's (`state_dict()` keys == spec/params_{tiny,base}.tsv);
  BatchNorm running statistics are buffers `_mean` / `_variance`, eps = 1e-5.
* All resizes use Paddle's bilinear/linear semantics (spec 9.1), implemented here with
  explicit gathers (not F.interpolate), including Paddle's `out == 1 -> index 0` rule,
  ratio = in/out for size targets and 1/scale for scale factors, and copy when in == out.
* Tensors are NCHW, float32, batch 1 (batch > 1 works; VIM takes the union over the batch).

* Two precisions: float32 (the default), and int8 after `quantize(model)`: every 1x1 conv
  with groups 1 then runs as int8 weights x per-pixel int8 activations, exactly as
  weights/FORMAT.md ("int8 files") defines; the float32 path is unchanged by it.

Usage:
    model = load_pdparams(path)            # or load_state(build('tiny', 150), params)
    out = model.predict(x)   # x: [1,3,H,W] normalised float32 -> dict of outputs
    model8 = load_pdparams(path, precision='int8')   # or quantize(load_state(...))
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPS = 1e-5
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# ----------------------------------------------------------------------------------------
# Paddle interpolation (spec 9.1), gather based.
# ----------------------------------------------------------------------------------------


def paddle_axis(in_n: int, out_n: int, scale: float | None = None):
    """Source indices and weights of one axis, exactly as Paddle's CPU kernel computes them.

    Returns None when Paddle copies (in == out), else (i0, i1, w0, w1) with
    out[d] = in[i0[d]] * w0[d] + in[i1[d]] * w1[d]. `ratio` is float32 (in/out for a size
    target, 1/scale for a scale factor, 0 when out == 1); the source coordinate
    ratio*(d+0.5)-0.5 is evaluated in double, truncated to int, clamped at 0; the weight
    lambda = float32(src) - i0 is float32 and 1 - lambda too.
    """
    if out_n <= 0:
        raise ValueError(f"interpolate: output extent {out_n} (input {in_n}) is not positive")
    if in_n == out_n:
        return None
    if out_n > 1:
        ratio = np.float32(1.0 / scale) if scale is not None else np.float32(in_n / out_n)
    else:
        ratio = np.float32(0.0)
    i0 = np.empty(out_n, np.int64)
    i1 = np.empty(out_n, np.int64)
    w1 = np.empty(out_n, np.float32)
    for d in range(out_n):
        src = float(ratio) * (d + 0.5) - 0.5
        n = int(src)  # C++ static_cast<int>: truncation toward zero
        n = n if n > 0 else 0
        i0[d] = n
        i1[d] = n + 1 if n + 1 < in_n - 1 else in_n - 1
        src_f = np.float32(src if src > 0 else 0.0)
        w1[d] = np.float32(src_f - np.float32(n))
    w0 = (np.float32(1.0) - w1).astype(np.float32)
    return i0, i1, w0, w1


def resize_bilinear(x: torch.Tensor, size=None, scale: float | None = None) -> torch.Tensor:
    """Paddle F.interpolate(mode='bilinear', align_corners=False, align_mode=0) on NCHW.

    Give either size=(out_h, out_w) or scale (same factor for both axes, output extent
    floor(in * scale), sampling ratio 1/scale)."""
    h, w = x.shape[-2:]
    if size is None:
        size = (int(h * scale), int(w * scale))
    oh, ow = int(size[0]), int(size[1])
    ay = paddle_axis(h, oh, scale)
    ax = paddle_axis(w, ow, scale)
    if ay is None and ax is None:  # Paddle copies only when both axes match
        return x.clone()
    if ay is None:
        ay = (np.arange(h), np.arange(h), np.ones(h, np.float32), np.zeros(h, np.float32))
    if ax is None:
        ax = (np.arange(w), np.arange(w), np.ones(w, np.float32), np.zeros(w, np.float32))
    yn, ys, ds, dn = (torch.from_numpy(np.ascontiguousarray(a)) for a in ay)  # north/south, weights
    xw, xe, de, dw = (torch.from_numpy(np.ascontiguousarray(a)) for a in ax)  # west/east
    ds = ds.view(-1, 1); dn = dn.view(-1, 1)
    top = x.index_select(-2, yn)
    bot = x.index_select(-2, ys)
    # Same four products and summation order as Paddle's BilinearInterpolation.
    out = top.index_select(-1, xw) * ds * de
    out = out + bot.index_select(-1, xw) * dn * de
    out = out + top.index_select(-1, xe) * ds * dw
    out = out + bot.index_select(-1, xe) * dn * dw
    return out


def resize_linear(x: torch.Tensor, n: int) -> torch.Tensor:
    """Paddle F.interpolate(mode='linear', align_corners=False) of [B, C, L] to length n."""
    a = paddle_axis(x.shape[-1], n)
    if a is None:
        return x.clone()
    i0, i1, w0, w1 = (torch.from_numpy(v) for v in a)
    return x.index_select(-1, i0) * w0 + x.index_select(-1, i1) * w1


# ----------------------------------------------------------------------------------------
# Elementwise functions (spec 2)
# ----------------------------------------------------------------------------------------


def hardswish(x):
    return x * torch.clamp(x + 3.0, 0.0, 6.0) / 6.0


def se_gate(x):  # Paddle hardsigmoid(slope=0.2, offset=0.5); NOT PyTorch's x/6+0.5
    return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


def sea_gate(x):  # HSigmoid of the SEA attention
    return torch.clamp(x + 3.0, 0.0, 6.0) / 6.0


def relu6(x):
    return torch.clamp(x, 0.0, 6.0)


ACTS = {"relu": F.relu, "hardswish": hardswish, "relu6": relu6, "sigmoid": torch.sigmoid, None: lambda x: x}

# ----------------------------------------------------------------------------------------
# Int8 precision (weights/FORMAT.md section "int8 files", which is normative): int8 1x1 convs
# with per-output-channel weight scales and a per-pixel activation scale computed at run time.
# Integer parts exact; every float32 operation in the order FORMAT.md gives, one op at a time.
# ----------------------------------------------------------------------------------------

QMAX = 127
TINY_BITS = 0x1F800000  # bits of 2^-64: |values| below it quantize as a row / pixel of zeros
INF_BITS = 0x7F800000  # bits of +Inf: |x| bits >= this means Inf or NaN
ACC_LIMIT = 1 << 24  # |int32 accumulator| < 2^24, so float(acc) is exact (FORMAT.md)


def quantize_weights(w: np.ndarray):
    """Folded float32 weights [Cout, Cin] -> (q int8 [Cout, Cin], s_w float32 [Cout]).

    m = max_i |w[o][i]|; a row with m < 2^-64 (all zero) gets s_w = 0 and q = 0; otherwise
    s_w = m / 127 (float32 division), q = clamp(round_half_even(w / s_w), -127, 127) with
    w / s_w a float32 division. numpy float32 ufuncs: one correctly rounded op each."""
    w = np.ascontiguousarray(w, dtype=np.float32)
    if w.ndim != 2 or not np.all(np.isfinite(w)):
        raise ValueError("quantize_weights: finite float32 [Cout, Cin] expected")
    m = np.max(np.abs(w), axis=1)
    live = (m.view(np.int32) >= TINY_BITS)
    s = np.where(live, m / np.float32(QMAX), np.float32(0)).astype(np.float32)
    div = np.where(live, s, np.float32(1))[:, None]
    q = np.clip(np.rint(w / div), -QMAX, QMAX)
    q = np.where(live[:, None], q, 0).astype(np.int8)
    return q, s


def quantize_activations(x: torch.Tensor):
    """Per-row (per pixel) quantization of float32 [N, C] -> (q int32 [N, C], s_a float32 [N]).

    amax = the float whose bits are max_c (bits(x[c]) & 0x7fffffff) (= max |x[c]| for finite
    rows; >= +Inf's bits iff some x[c] is Inf or NaN). Non-finite row: q = 0, s_a = NaN. Row
    with amax < 2^-64: q = 0, s_a = 0. Otherwise inv = 127 / amax, q = clamp(round_half_even(
    x * inv), -127, 127), s_a = amax / 127 (all float32, one rounding each)."""
    if x.dtype != torch.float32 or x.dim() != 2:
        raise ValueError("quantize_activations: float32 [N, C] expected")
    x = x.contiguous()
    bits = x.view(torch.int32) & 0x7FFFFFFF
    amax_bits = bits.amax(dim=1) if x.shape[1] else torch.zeros(x.shape[0], dtype=torch.int32)
    finite = amax_bits < INF_BITS
    live = finite & (amax_bits >= TINY_BITS)
    amax = torch.where(live, amax_bits, torch.full_like(amax_bits, 0x3F800000)).view(torch.float32)  # 1.0 if dead
    k = torch.full_like(amax, float(QMAX))
    inv = k / amax
    t = x * inv[:, None]
    t = torch.where(live[:, None], t, torch.zeros_like(t))
    q = torch.round(t).clamp(-QMAX, QMAX).to(torch.int32)  # torch.round: half to even
    s = torch.where(live, amax / k, torch.where(finite, torch.zeros_like(amax), torch.full_like(amax, float("nan"))))
    return q, s


def int_matmul(qa: torch.Tensor, qw: torch.Tensor) -> torch.Tensor:
    """acc[n][o] = sum_i qa[n][i] * qw[o][i], exact, as int64 [N, Cout]. Computed in float64:
    every product and partial sum is an integer of magnitude <= 127^2 * Cin < 2^53, so every
    float64 operation is exact whatever order or fusion the BLAS uses; asserted below."""
    cin = qa.shape[1]
    if cin * QMAX * QMAX >= ACC_LIMIT:
        raise ValueError(f"reduction length {cin}: |acc| could reach 2^24")
    acc = torch.matmul(qa.to(torch.float64), qw.to(torch.float64).t())
    out = acc.to(torch.int64)
    assert torch.equal(out.to(torch.float64), acc)
    return out


class Int8Pointwise:
    """An int8 1x1 conv (FORMAT.md, int8 files): q [Cout, Cin] int8, s_w [Cout] float32, bias
    [Cout] float32 (BN folded). Called on NCHW float32, returns NCHW float32 (before the layer's
    activation / residual, which the caller applies as on the fp32 path)."""

    def __init__(self, q: np.ndarray, s_w: np.ndarray, bias: np.ndarray):
        q = np.asarray(q)
        if q.dtype != np.int8 or q.ndim != 2 or np.any(q == -128):
            raise ValueError("Int8Pointwise: q must be int8 [Cout, Cin] in [-127, 127]")
        s_w, bias = np.asarray(s_w), np.asarray(bias)
        if s_w.dtype != np.float32 or bias.dtype != np.float32 or s_w.shape != (q.shape[0],) or bias.shape != s_w.shape:
            raise ValueError("Int8Pointwise: s_w and bias must be float32 [Cout]")
        self.q_np, self.s_w_np, self.bias_np = q, s_w, bias
        self.q = torch.from_numpy(q.astype(np.int32))
        self.s_w = torch.from_numpy(s_w.copy())
        self.bias = torch.from_numpy(bias.copy())

    def matmul_rows(self, x2: torch.Tensor) -> torch.Tensor:
        """float32 [N, Cin] -> float32 [N, Cout]; the epilogue of FORMAT.md in its order."""
        qa, s_a = quantize_activations(x2)
        acc = int_matmul(qa, self.q).to(torch.float32)  # exact: |acc| < 2^24
        scale = s_a[:, None] * self.s_w[None, :]  # (1) scale = s_a[p] * s_w[o]
        y = acc * scale  # (2) y = float(acc) * scale
        return y + self.bias[None, :]  # (3) y = y + bias[o]; no fused multiply-add anywhere

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        if C != self.q.shape[1]:
            raise ValueError(f"int8 conv: {C} input channels, weights have {self.q.shape[1]}")
        x2 = x.permute(0, 2, 3, 1).reshape(-1, C)
        y = self.matmul_rows(x2)
        return y.reshape(B, H, W, -1).permute(0, 3, 1, 2).contiguous()


def pointwise(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """A plain 1x1 conv with bias (SE convs, classifier): fp32, or int8 once quantize() ran."""
    q = getattr(conv, "int8", None)
    return conv(x) if q is None else q(x)


def fold_bn(w: torch.Tensor, bn: "BN | None", b: torch.Tensor | None = None):
    """(W' [Cout, Cin] float32, b' [Cout] float32) of a 1x1 conv (+ BN): in float64,
    W*g/sqrt(var+eps) and (b-mean)*g/sqrt(var+eps)+beta, then rounded to float32 (FORMAT.md 4)."""
    w64 = w.detach().numpy().astype(np.float64)[:, :, 0, 0]
    b64 = b.detach().numpy().astype(np.float64) if b is not None else np.zeros(w64.shape[0])
    if bn is not None:
        g, beta = bn.weight.detach().numpy().astype(np.float64), bn.bias.detach().numpy().astype(np.float64)
        mu, var = bn._mean.numpy().astype(np.float64), bn._variance.numpy().astype(np.float64)
        s = g / np.sqrt(var + BN_EPS)
        w64, b64 = w64 * s[:, None], (b64 - mu) * s + beta
    return w64.astype(np.float32), b64.astype(np.float32)


def int8_sites(model: nn.Module):
    """(path, module) of every conv the int8 precision quantizes, in execution order: every
    1x1 conv with groups 1 -- ConvBN (MV3 expand/linear, SEA q/k/v, pwconv, proj, row/column
    projections, MLP fc1/fc2, AAM) and the plain convs with bias (SE conv1/conv2, classifier).
    Stem, depthwise convs (linear_fuse included), attention and resizes stay float32."""
    for path, m in model.named_modules():
        if isinstance(m, ConvBN):
            conv = getattr(m, m.conv_name)
        elif isinstance(m, nn.Conv2d) and path.rsplit(".", 1)[-1] in ("conv1", "conv2", "conv_seg"):
            conv = m
        else:
            continue
        if conv.kernel_size == (1, 1) and conv.groups == 1:
            yield path, m


def quantize(model: nn.Module, exclude=()) -> nn.Module:
    """Switch `model` (weights loaded) to the int8 precision: every int8 site gets its folded,
    quantized weights. `exclude`: path substrings left float32 (experiments only; files never
    do that). Returns the model."""
    for path, m in int8_sites(model):
        if any(e in path for e in exclude):
            continue
        if isinstance(m, ConvBN):
            w, b = fold_bn(getattr(m, m.conv_name).weight, m.bn)
        else:
            w, b = fold_bn(m.weight, None, m.bias)
        q, s = quantize_weights(w)
        m.int8 = Int8Pointwise(q, s, b)
    return model


def model_precision(model: nn.Module) -> str:
    return "int8" if any(getattr(m, "int8", None) is not None for m in model.modules()) else "fp32"


# ----------------------------------------------------------------------------------------
# Modules (attribute names = PaddleSeg's; registration order = state_dict order of the tsv)
# ----------------------------------------------------------------------------------------


class BN(nn.Module):
    """Inference BatchNorm with Paddle's tensor names."""

    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.register_buffer("_mean", torch.zeros(c))
        self.register_buffer("_variance", torch.ones(c))

    def forward(self, x):
        scale = self.weight / torch.sqrt(self._variance + BN_EPS)
        return (x - self._mean.view(1, -1, 1, 1)) * scale.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class ConvBN(nn.Module):
    """conv (no bias) + BN (+ act). conv attribute `c` (strideformer ConvBNLayer / Conv2DBN)
    or `conv` (ConvBNAct of the AAM and head)."""

    def __init__(self, cin, cout, k=1, stride=1, groups=1, act=None, conv_name="c"):
        super().__init__()
        self.conv_name = conv_name
        self.stride, self.pad, self.groups = stride, (k - 1) // 2, groups
        setattr(self, conv_name, nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False))
        self.bn = BN(cout)
        self.act = ACTS[act]

    def forward(self, x):
        q = getattr(self, "int8", None)  # set by quantize(): the int8 path (FORMAT.md, int8 files)
        if q is not None:
            return self.act(q(x))
        return self.act(self.bn(getattr(self, self.conv_name)(x)))


class SEModule(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c // 4, 1)
        self.conv2 = nn.Conv2d(c // 4, c, 1)

    def forward(self, x):
        s = x.mean(dim=(2, 3), keepdim=True)
        return x * se_gate(pointwise(self.conv2, F.relu(pointwise(self.conv1, s))))


class ResidualUnit(nn.Module):
    def __init__(self, cin, k, exp, cout, se, act, stride):
        super().__init__()
        self.expand_conv = ConvBN(cin, exp, 1, act=act)
        self.bottleneck_conv = ConvBN(exp, exp, k, stride, groups=exp, act=act)
        if se:
            self.mid_se = SEModule(exp)
        self.linear_conv = ConvBN(exp, cout, 1)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.bottleneck_conv(self.expand_conv(x))
        if hasattr(self, "mid_se"):
            y = self.mid_se(y)
        y = self.linear_conv(y)
        return x + y if self.residual else y


class MV3Stage(nn.Module):
    def __init__(self, cin, cfgs, stem=False):
        super().__init__()
        if stem:
            self.conv = ConvBN(3, cin, 3, 2, act="hardswish")
        blocks = []
        for k, exp, cout, se, act, s in cfgs:
            blocks.append(ResidualUnit(cin, k, exp, cout, se, act, s))
            cin = cout
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x):
        if hasattr(self, "conv"):
            x = self.conv(x)
        return self.blocks(x)


class PosEmb(nn.Module):
    """SqueezeAxialPositionalEmbedding: table [1, dim, 16] linearly resized to N (spec 5.4)."""

    def __init__(self, dim, n=16):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.randn(1, dim, n))

    def forward(self, x):  # x [B, dim, N]
        return x + resize_linear(self.pos_embed, x.shape[-1])


class Seq(nn.Module):
    """Paddle nn.Sequential(act, ConvBN): tensors of index 1 only (`proj.1.c.weight`)."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.add_module("1", ConvBN(c_in, c_out, 1))

    def forward(self, x):
        return getattr(self, "1")(relu6(x))


class StrideConv(nn.Module):
    """stride_conv = Sequential(dw conv3x3/2 with bias (`0`), BN (`1`))."""

    def __init__(self, c):
        super().__init__()
        self.add_module("0", nn.Conv2d(c, c, 3, 2, 1, groups=c, bias=True))
        self.add_module("1", BN(c))

    def forward(self, x):
        return getattr(self, "1")(getattr(self, "0")(x))


class SeaAttention(nn.Module):
    def __init__(self, dim, key_dim, num_heads, attn_ratio=2):
        super().__init__()
        self.num_heads, self.key_dim = num_heads, key_dim
        self.nh_kd = nh_kd = key_dim * num_heads
        self.d = int(attn_ratio * key_dim)
        self.dh = dh = self.d * num_heads
        self.scale = key_dim ** -0.5
        self.to_q = ConvBN(dim, nh_kd)
        self.to_k = ConvBN(dim, nh_kd)
        self.to_v = ConvBN(dim, dh)
        self.stride_conv = StrideConv(dim)
        self.proj = Seq(dh, dim)
        self.proj_encode_row = Seq(dh, dh)
        self.pos_emb_rowq = PosEmb(nh_kd)
        self.pos_emb_rowk = PosEmb(nh_kd)
        self.proj_encode_column = Seq(dh, dh)
        self.pos_emb_columnq = PosEmb(nh_kd)
        self.pos_emb_columnk = PosEmb(nh_kd)
        self.dwconv = ConvBN(2 * dh, 2 * dh, 3, 1, groups=2 * dh)
        self.pwconv = ConvBN(2 * dh, dim, 1)

    def _axial(self, q, k, v):
        """q, k [B, nh_kd, N] (pos added), v [B, dh, N] -> [B, dh, N]; heads are channel-major."""
        B, _, N = q.shape
        h = self.num_heads
        qh = q.reshape(B, h, self.key_dim, N).transpose(2, 3)  # [B,h,N,kd]
        kh = k.reshape(B, h, self.key_dim, N)  # [B,h,kd,N]
        vh = v.reshape(B, h, self.d, N).transpose(2, 3)  # [B,h,N,d]
        a = torch.softmax(torch.matmul(qh, kh) * self.scale, dim=-1)
        return torch.matmul(a, vh).transpose(2, 3).reshape(B, self.dh, N)

    def forward(self, x):
        H0, W0 = x.shape[-2:]
        x = self.stride_conv(x)
        B, C, H, W = x.shape
        q, k, v = self.to_q(x), self.to_k(x), self.to_v(x)
        detail = self.pwconv(relu6(self.dwconv(torch.cat([q, k, v], 1))))
        row = self._axial(self.pos_emb_rowq(q.mean(-1)), self.pos_emb_rowk(k.mean(-1)), v.mean(-1))
        row = self.proj_encode_row(row.reshape(B, self.dh, H, 1))
        col = self._axial(self.pos_emb_columnq(q.mean(-2)), self.pos_emb_columnk(k.mean(-2)), v.mean(-2))
        col = self.proj_encode_column(col.reshape(B, self.dh, 1, W))
        p = self.proj(v + (row + col))
        y = sea_gate(p) * detail
        return resize_bilinear(y, size=(H0, W0))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = ConvBN(dim, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden, bias=True)
        self.fc2 = ConvBN(hidden, dim)

    def forward(self, x):
        return self.fc2(relu6(self.dwconv(self.fc1(x))))


class SeaBlock(nn.Module):
    def __init__(self, dim, key_dim, heads, mlp_ratio):
        super().__init__()
        self.attn = SeaAttention(dim, key_dim, heads)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(x)
        return x + self.mlp(x)


class SeaStage(nn.Module):
    def __init__(self, depth, dim, key_dim, heads, mlp_ratio):
        super().__init__()
        self.transformer_blocks = nn.Sequential(*[SeaBlock(dim, key_dim, heads, mlp_ratio) for _ in range(depth)])

    def forward(self, x):
        return self.transformer_blocks(x)


def _aam_conv(cin, act):
    return ConvBN(cin, 256, 1, act=act, conv_name="conv")


class AAMTiny(nn.Module):
    """InjectionMultiSumallmultiallsum: output at 1/16 (spec 7.1)."""

    def __init__(self, chans):
        super().__init__()
        self.embedding_list = nn.ModuleList([_aam_conv(c, None) for c in chans])
        self.act_embedding_list = nn.ModuleList([_aam_conv(c, "sigmoid") for c in chans])

    def forward(self, x8, x16, x32):
        f8 = resize_bilinear(x8, scale=0.5)
        s8, e8 = self.act_embedding_list[0](f8), self.embedding_list[0](f8)
        size = e8.shape[-2:]
        f16 = resize_bilinear(x16, size=size)
        s16, e16 = self.act_embedding_list[1](f16), self.embedding_list[1](f16)
        s32 = resize_bilinear(self.act_embedding_list[2](x32), size=size)
        e32 = resize_bilinear(self.embedding_list[2](x32), size=size)
        return s8 * s16 * s32 * (e8 + e16) + e32


class AAMBase(nn.Module):
    """InjectionMultiSumallmultiallsumSimpx8: output at 1/8 (spec 7.2)."""

    def __init__(self, chans):
        super().__init__()
        c8, c16, c32 = chans
        self.embedding_list = nn.ModuleList([_aam_conv(c8, None), _aam_conv(c32, None)])
        self.act_embedding_list = nn.ModuleList([_aam_conv(c16, "sigmoid"), _aam_conv(c32, "sigmoid")])

    def forward(self, x8, x16, x32):
        e8 = self.embedding_list[0](x8)
        size = e8.shape[-2:]
        s16 = self.act_embedding_list[0](resize_bilinear(x16, size=size))
        s32 = resize_bilinear(self.act_embedding_list[1](x32), size=size)
        e32 = resize_bilinear(self.embedding_list[1](x32), size=size)
        return s16 * s32 * e8 + e32


@dataclass(frozen=True)
class VariantConfig:
    stages: tuple  # per smb: (input channels, block cfgs [k, exp, out, se, act, stride])
    trans: tuple  # per SEA stage: (depth, dim, key_dim, heads, mlp_ratio)
    out_chs: tuple
    aam: type


HS = "hardswish"
CONFIGS = {
    "tiny": VariantConfig(
        stages=((16, [[3, 16, 16, True, "relu", 1], [3, 64, 32, False, "relu", 2], [3, 48, 24, False, "relu", 1]]),
                (24, [[5, 96, 32, True, HS, 2], [5, 96, 32, True, HS, 1]]),
                (32, [[5, 160, 64, True, HS, 2], [5, 160, 64, True, HS, 1]]),
                (64, [[3, 384, 128, True, HS, 2], [3, 384, 128, True, HS, 1]])),
        trans=((2, 64, 16, 4, 2), (2, 128, 24, 4, 4)),
        out_chs=(32, 64, 128), aam=AAMTiny),
    "base": VariantConfig(
        stages=((16, [[3, 16, 16, True, "relu", 1], [3, 64, 32, False, "relu", 2], [3, 96, 32, False, "relu", 1]]),
                (32, [[5, 128, 64, True, HS, 2], [5, 240, 64, True, HS, 1]]),
                (64, [[5, 384, 128, True, HS, 2], [5, 384, 128, True, HS, 1]]),
                (128, [[5, 768, 192, True, HS, 2], [5, 768, 192, True, HS, 1]])),
        trans=((3, 128, 16, 8, 2), (3, 192, 24, 8, 4)),
        out_chs=(64, 128, 192), aam=AAMBase),
}


class StrideFormer(nn.Module):
    def __init__(self, cfg: VariantConfig):
        super().__init__()
        self.smb1 = MV3Stage(cfg.stages[0][0], cfg.stages[0][1], stem=True)
        self.smb2 = MV3Stage(cfg.stages[1][0], cfg.stages[1][1])
        self.smb3 = MV3Stage(cfg.stages[2][0], cfg.stages[2][1])
        self.smb4 = MV3Stage(cfg.stages[3][0], cfg.stages[3][1])
        self.trans1 = SeaStage(*cfg.trans[0])
        self.trans2 = SeaStage(*cfg.trans[1])
        self.inj_module = cfg.aam(cfg.out_chs)

    def forward(self, x):
        x8 = self.smb2(self.smb1(x))
        x16 = self.trans1(self.smb3(x8))
        x32 = self.trans2(self.smb4(x16))
        return self.inj_module(x8, x16, x32)


class Head(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.linear_fuse = ConvBN(256, 256, 1, groups=256, act="relu", conv_name="conv")
        self.conv_seg = nn.Conv2d(256, num_classes, 1)

    def forward(self, x):
        return pointwise(self.conv_seg, self.linear_fuse(x))  # Dropout2D: identity at inference


class PPMobileSeg(nn.Module):
    def __init__(self, variant: str, num_classes: int):
        super().__init__()
        self.variant, self.num_classes = variant, num_classes
        self.backbone = StrideFormer(CONFIGS[variant])
        self.decode_head = Head(num_classes)

    def forward(self, x):
        """Low-resolution logits [B, K, h, w] (1/16 for Tiny, 1/8 for Base)."""
        H, W = x.shape[-2:]
        if self.variant == "tiny" and min(H, W) < 9:
            raise ValueError("Tiny needs an input side >= 9 (spec 7.1)")
        return self.decode_head(self.backbone(x))

    @torch.no_grad()
    def predict(self, x, full_logits=True):
        """All outputs of spec 9: low-res logits, full-res logits + argmax labels (int64,
        first max wins), VIM labels (K >= 30 only, else None)."""
        low = self.forward(x)
        H, W = x.shape[-2:]
        out = {"low_logits": low, "vim_labels": vim(low, (H, W)) if self.num_classes >= 30 else None}
        if full_logits:
            full = resize_bilinear(low, size=(H, W))
            out["logits"] = full
            out["labels"] = argmax_first(full)
        return out


def argmax_first(x: torch.Tensor) -> torch.Tensor:
    """argmax over dim 1 with the first maximum winning on ties (explicit, not relying on
    torch.argmax's tie rule)."""
    best = x[:, 0].clone()
    idx = torch.zeros(best.shape, dtype=torch.int64)
    for c in range(1, x.shape[1]):
        better = x[:, c] > best
        best = torch.where(better, x[:, c], best)
        idx[better] = c
    return idx


def top2_margin(x: torch.Tensor) -> torch.Tensor:
    """top-1 minus top-2 over dim 1 ([B,K,H,W] -> [B,H,W]); +inf for K == 1."""
    if x.shape[1] < 2:
        return torch.full(x[:, 0].shape, float("inf"))
    t = torch.topk(x, 2, dim=1).values
    return t[:, 0] - t[:, 1]


def vim(low: torch.Tensor, size) -> torch.Tensor:
    """Valid Interpolate Module (spec 9.3): classes winning at some low-res pixel of the
    batch, only those upsampled, argmax, mapped back to class ids."""
    present = torch.unique(argmax_first(low))  # sorted ascending, union over the batch
    up = resize_bilinear(low.index_select(1, present), size=size)
    return present[argmax_first(up)]


# ----------------------------------------------------------------------------------------
# Construction, loading, counting
# ----------------------------------------------------------------------------------------


def build(variant: str, num_classes: int) -> PPMobileSeg:
    if variant not in CONFIGS:
        raise ValueError(f"unknown variant {variant!r} (tiny or base)")
    return PPMobileSeg(variant, num_classes).eval()


def read_pdparams(path) -> dict:
    """Paddle 2.x .pdparams: pickle of {name: numpy array}; drops Paddle's bookkeeping entry."""
    with open(path, "rb") as f:
        d = pickle.load(f)
    return {k: np.asarray(v) for k, v in d.items() if k != "StructuredToParameterName@@"}


def infer_variant(params: dict) -> tuple[str, int]:
    """(variant, K) from tensor shapes: Base's x8 AAM input has 64 channels, Tiny's 32."""
    w = params["backbone.inj_module.embedding_list.0.conv.weight"]
    variant = {32: "tiny", 64: "base"}.get(int(w.shape[1]))
    if variant is None:
        raise ValueError(f"cannot infer the variant from embedding_list.0 shape {w.shape}")
    return variant, int(params["decode_head.conv_seg.weight"].shape[0])


def load_state(model: nn.Module, params: dict):
    """Strict load: every model tensor present with its shape, no extra tensors."""
    sd = model.state_dict()
    missing = [k for k in sd if k not in params]
    extra = [k for k in params if k not in sd]
    bad = [f"{k}: {tuple(params[k].shape)} != {tuple(sd[k].shape)}" for k in sd
           if k in params and tuple(params[k].shape) != tuple(sd[k].shape)]
    if missing or extra or bad:
        raise ValueError(f"state mismatch: missing {missing[:5]} extra {extra[:5]} shape {bad[:5]}")
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in params.items()})
    return model


def load_pdparams(path, precision: str = "fp32") -> PPMobileSeg:
    params = read_pdparams(path)
    variant, k = infer_variant(params)
    model = load_state(build(variant, k), params)
    if precision not in ("fp32", "int8"):
        raise ValueError(f"unknown precision {precision!r} (fp32 or int8)")
    return quantize(model) if precision == "int8" else model


def count_params(model: nn.Module) -> tuple[int, int]:
    """(trainable, BN running statistics)."""
    trainable = sum(p.numel() for p in model.parameters())
    stats = sum(b.numel() for n, b in model.named_buffers())
    return trainable, stats


class StableRng:
    """Platform-stable random numbers: NumPy's PCG64 bit stream (stable across NumPy
    versions, unlike Generator's distributions) mapped with exact float64 arithmetic only
    (no log/cos, whose SIMD implementations differ between CPUs)."""

    SQRT3 = float(np.sqrt(3.0))

    def __init__(self, seed: int):
        self.bits = np.random.PCG64(seed)

    def uniform(self, lo, hi, shape):
        u = (self.bits.random_raw(int(np.prod(shape))) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
        return (lo + (hi - lo) * u).reshape(shape)

    def normal(self, mean, std, shape):
        """Irwin-Hall approximation (sum of 4 uniforms, standardised): mean, std exact."""
        s = sum(self.uniform(0.0, 1.0, shape) for _ in range(4))
        return mean + std * (s - 2.0) * self.SQRT3


def random_state(variant: str, num_classes: int, seed: int) -> dict:
    """Seeded random weights with non-trivial BN statistics (random mean, variance in
    [0.5, 2], gamma around 1) so BN folding matters. Scales keep activations O(1).
    Bit-identical on every platform (StableRng)."""
    model = build(variant, num_classes)
    rng = StableRng(seed)
    out = {}
    for name, t in model.state_dict().items():
        shape = tuple(t.shape)
        if name.endswith("_variance"):
            a = rng.uniform(0.5, 2.0, shape)
        elif name.endswith("_mean"):
            a = rng.normal(0.0, 0.2, shape)
        elif name.endswith("pos_embed"):
            a = rng.normal(0.0, 0.5, shape)
        elif len(shape) == 4:  # conv weight: fan-in scaling; gain 1.5 on dense convs keeps
            # spatial detail alive through the depth (1.0 lets biases dominate: ~5 classes
            # win anywhere; 1.5 gives logits ~20, 10-25 winning classes, some VIM != exact)
            fan_in = shape[1] * shape[2] * shape[3]
            gain = 1.5 if shape[1] > 1 and "conv_seg" not in name else 1.0
            a = rng.normal(0.0, gain / np.sqrt(fan_in), shape)
        elif ".bn." in name or ".stride_conv.1." in name:  # BN gamma / beta
            a = rng.normal(1.0, 0.1, shape) if name.endswith("weight") else rng.normal(0.0, 0.1, shape)
        else:  # conv biases (SE, MLP dwconv, stride_conv.0, conv_seg)
            a = rng.normal(0.0, 0.1, shape)
        out[name] = a.astype(np.float32)
    return out


def preprocess(image_u8: np.ndarray, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """u8 HWC RGB -> [1,3,H,W] float32, x = (pixel/255 - mean)/std, all in float32."""
    x = image_u8.astype(np.float32) / np.float32(255.0)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]


if __name__ == "__main__":
    for v in ("tiny", "base"):
        for k in (150, 19):
            print(v, k, count_params(build(v, k)))
