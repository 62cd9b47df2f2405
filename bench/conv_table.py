#!/usr/bin/env python3
"""Summarises a bench_kernels JSON run (with --benchmark_repetitions) of the conv kernels
into the markdown tables of bench/README.md: GFLOP/s per kernel class (median over the
shapes of each shape's median), and per shape.

usage: bench/conv_table.py run.json [--peak GFLOPS] [--shapes]
"""
import json
import statistics
import sys


def group_of(name):
    kind = name.split("/")[0]
    layer = name.split("/")[-2]
    if kind == "stem":
        return "stem 3x3/2, 3->16, hswish, from 8-bit RGB"
    if kind == "dwconv":
        return "depthwise " + name.split("/")[1]
    if "expand_conv" in layer:
        return "pointwise: MV3 expand (16-192 -> 16-768)"
    if "linear_conv" in layer:
        return "pointwise: MV3 linear (16-768 -> 16-192)"
    if "proj_encode" in layer:
        return "pointwise: SEA row/column proj (8-16 px, relu6 in)"
    if ".attn." in layer:
        return "pointwise: SEA qkv / pwconv / proj"
    if ".mlp." in layer:
        return "pointwise: SEA MLP fc1 / fc2"
    if "inj_module" in layer:
        return "pointwise: AAM, sigmoid epilogue" if "sigmoid" in name else "pointwise: AAM, linear"
    if "conv_seg" in layer:
        return "pointwise: head conv_seg 256 -> 150"
    return "pointwise: other"


def main():
    args = sys.argv[1:]
    path = args[0]
    peak = float(args[args.index("--peak") + 1]) if "--peak" in args else None
    runs = json.load(open(path))["benchmarks"]
    med, gbs = {}, {}
    for b in runs:
        if b.get("aggregate_name") == "median":
            med[b["run_name"]] = b["FLOP/s"] / 1e9
            gbs[b["run_name"]] = b["bytes/s"] / 1e9
    groups, bw = {}, {}
    for name, g in med.items():
        shape, mode = name.rsplit("/", 1)
        groups.setdefault(group_of(name), {}).setdefault(mode, []).append(g)
        if mode == "hot":
            bw.setdefault(group_of(name), []).append(gbs[name])
    print("| kernel class | shapes | hot GFLOP/s median (min-max) | cold GFLOP/s median (min-max) | hot GB/s median |" +
          (" hot % of peak |" if peak else ""))
    print("| --- | ---: | ---: | ---: | ---: |" + (" ---: |" if peak else ""))
    order = sorted(groups, key=lambda k: (not k.startswith("pointwise"), not k.startswith("depthwise"), k))
    for k in order:
        hot, cold = groups[k].get("hot", []), groups[k].get("cold", [])
        cell = lambda v: f"{statistics.median(v):.0f} ({min(v):.0f}-{max(v):.0f})" if v else "-"
        line = f"| {k} | {len(hot)} | {cell(hot)} | {cell(cold)} | {statistics.median(bw[k]):.0f} |"
        if peak:
            line += f" {100 * statistics.median(hot) / peak:.0f} % |"
        print(line)
    if "--shapes" in args:
        print()
        print("| benchmark | hot GFLOP/s | cold GFLOP/s |")
        print("| --- | ---: | ---: |")
        for name in med:
            if name.endswith("/hot"):
                shape = name[: -len("/hot")]
                cold = med.get(shape + "/cold")
                print(f"| `{shape}` | {med[name]:.0f} | {cold:.0f} |" if cold else f"| `{shape}` | {med[name]:.0f} | - |")


if __name__ == "__main__":
    main()
