"""CamVid test-split accuracy of a PP-MobileSeg checkpoint with the PyTorch reference.

Protocol (matches /work/shared/weights/camvid/README.md): the 233 test frames at full
480x360, RGB, x = (pixel/255 - mean)/std (ImageNet), single scale, float32; full-resolution
bilinear logits + argmax (K = 11 < 30: no VIM); label 11 = void, ignored; one confusion
matrix accumulated over the whole split; IoU_c = TP / (TP + FP + FN), mIoU = mean over classes.

    /usr/bin/python3 tests/reference/eval_camvid.py CHECKPOINT.pdparams [--data DIR] [--limit N]
        [--every N] [--precision fp32|int8|both] [--threads T]

--precision both runs the float32 and the int8 reference (weights/FORMAT.md, "int8 files") on
every frame and also reports the share of pixels (all of them, void included) whose int8 label
equals the float32 one. --every N takes every N-th test frame (sorted by name).
"""
import argparse
import os
import sys
import time

# Before torch loads libgomp: idle OpenMP threads sleep instead of spinning. On a busy
# 2-core machine spinning made this 4-8x slower (measured).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pp_mobileseg_ref as ref  # noqa: E402

NUM_CLASSES, VOID = 11, 11
DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data", "camvid")


def scores(conf):
    tp = np.diag(conf).astype(np.float64)
    iou = tp / np.maximum(conf.sum(0) + conf.sum(1) - tp, 1)
    return iou, tp.sum() / max(conf.sum(), 1)


def evaluate(checkpoint, data_dir, limit=None, log=print, precisions=("fp32",), every=1, threads=2):
    """{precision: (IoU per class, pixel accuracy)}, and the share of pixels whose labels agree
    between the first two precisions (None with one)."""
    torch.set_num_threads(threads)
    models = {p: ref.load_pdparams(checkpoint, precision=p) for p in precisions}
    if any(m.num_classes != NUM_CLASSES for m in models.values()):
        raise ValueError(f"checkpoint has {models[precisions[0]].num_classes} classes, CamVid needs {NUM_CLASSES}")
    names = sorted(os.listdir(os.path.join(data_dir, "test")))[::every]
    if limit:
        names = names[:limit]
    conf = {p: np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64) for p in precisions}  # [truth, prediction]
    same = total = 0
    t0 = time.time()
    for name in names:
        img = np.asarray(Image.open(os.path.join(data_dir, "test", name)).convert("RGB"))
        lab = np.asarray(Image.open(os.path.join(data_dir, "testannot", os.path.splitext(name)[0] + ".png")))
        keep = lab != VOID
        preds = []
        for p, model in models.items():
            pred = model.predict(ref.preprocess(img), full_logits=True)["labels"][0].numpy()
            conf[p] += np.bincount(lab[keep].astype(np.int64) * NUM_CLASSES + pred[keep],
                                   minlength=NUM_CLASSES * NUM_CLASSES).reshape(NUM_CLASSES, NUM_CLASSES)
            preds.append(pred)
        if len(preds) > 1:
            same += int((preds[0] == preds[1]).sum())
            total += preds[0].size
    log(f"{len(names)} images, {time.time() - t0:.1f} s")
    return {p: scores(c) for p, c in conf.items()}, (same / total if total else None)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("--data", default=DEFAULT_DATA)
    p.add_argument("--limit", type=int, default=None, help="only the first N images (smoke test)")
    p.add_argument("--expect-miou", type=float, default=None,
                   help="exit 1 unless |mIoU - this| <= 0.1 points (of the last precision run)")
    p.add_argument("--every", type=int, default=1, help="every N-th test frame")
    p.add_argument("--precision", choices=("fp32", "int8", "both"), default="fp32")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    # classes.txt lines: "index name R G B"; '#' lines are comments
    rows = [l.split() for l in open(os.path.join(a.data, "classes.txt")) if l.strip() and not l.startswith("#")]
    classes = [r[1] for r in rows][:NUM_CLASSES]
    precisions = ("fp32", "int8") if a.precision == "both" else (a.precision,)
    res, agree = evaluate(a.checkpoint, a.data, a.limit, precisions=precisions, every=a.every, threads=a.threads)
    print(f"{'class':<12}" + "".join(f" {p + ' IoU %':>11}" for p in precisions))
    for i, c in enumerate(classes):
        print(f"{c:<12}" + "".join(f" {100 * res[p][0][i]:11.2f}" for p in precisions))
    miou = {p: 100 * res[p][0].mean() for p in precisions}
    print(f"{'mIoU':<12}" + "".join(f" {miou[p]:11.2f}" for p in precisions))
    print(f"{'pixel acc.':<12}" + "".join(f" {100 * res[p][1]:11.2f}" for p in precisions))
    if agree is not None:
        print(f"labels int8 == fp32: {100 * agree:.2f} % of pixels")
    miou = miou[precisions[-1]]
    if a.expect_miou is not None and abs(miou - a.expect_miou) > 0.1:
        print(f"FAIL: mIoU {miou:.2f} differs from the expected {a.expect_miou:.2f} by more than 0.1")
        sys.exit(1)


if __name__ == "__main__":
    main()
