"""CamVid test-split accuracy of a PP-MobileSeg checkpoint with the PyTorch reference.

Protocol (matches /work/shared/weights/camvid/README.md): the 233 test frames at full
480x360, RGB, x = (pixel/255 - mean)/std (ImageNet), single scale, float32; full-resolution
bilinear logits + argmax (K = 11 < 30: no VIM); label 11 = void, ignored; one confusion
matrix accumulated over the whole split; IoU_c = TP / (TP + FP + FN), mIoU = mean over classes.

    /usr/bin/python3 tests/reference/eval_camvid.py CHECKPOINT.pdparams [--data DIR] [--limit N]
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


def evaluate(checkpoint, data_dir, limit=None, log=print):
    torch.set_num_threads(2)
    model = ref.load_pdparams(checkpoint)
    if model.num_classes != NUM_CLASSES:
        raise ValueError(f"checkpoint has {model.num_classes} classes, CamVid needs {NUM_CLASSES}")
    names = sorted(os.listdir(os.path.join(data_dir, "test")))
    if limit:
        names = names[:limit]
    conf = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)  # [truth, prediction]
    t0 = time.time()
    for name in names:
        img = np.asarray(Image.open(os.path.join(data_dir, "test", name)).convert("RGB"))
        lab = np.asarray(Image.open(os.path.join(data_dir, "testannot", os.path.splitext(name)[0] + ".png")))
        pred = model.predict(ref.preprocess(img), full_logits=True)["labels"][0].numpy()
        keep = lab != VOID
        conf += np.bincount(lab[keep].astype(np.int64) * NUM_CLASSES + pred[keep],
                            minlength=NUM_CLASSES * NUM_CLASSES).reshape(NUM_CLASSES, NUM_CLASSES)
    tp = np.diag(conf).astype(np.float64)
    iou = tp / np.maximum(conf.sum(0) + conf.sum(1) - tp, 1)
    acc = tp.sum() / max(conf.sum(), 1)
    log(f"{len(names)} images, {time.time() - t0:.1f} s")
    return iou, acc


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("--data", default=DEFAULT_DATA)
    p.add_argument("--limit", type=int, default=None, help="only the first N images (smoke test)")
    p.add_argument("--expect-miou", type=float, default=None, help="exit 1 unless |mIoU - this| <= 0.1 points")
    a = p.parse_args()
    # classes.txt lines: "index name R G B"; '#' lines are comments
    rows = [l.split() for l in open(os.path.join(a.data, "classes.txt")) if l.strip() and not l.startswith("#")]
    classes = [r[1] for r in rows][:NUM_CLASSES]
    iou, acc = evaluate(a.checkpoint, a.data, a.limit)
    print(f"{'class':<12} {'IoU %':>7}")
    for c, v in zip(classes, iou):
        print(f"{c:<12} {100 * v:7.2f}")
    miou = 100 * iou.mean()
    print(f"{'mIoU':<12} {miou:7.2f}\n{'pixel acc.':<12} {100 * acc:7.2f}")
    if a.expect_miou is not None and abs(miou - a.expect_miou) > 0.1:
        print(f"FAIL: mIoU {miou:.2f} differs from the expected {a.expect_miou:.2f} by more than 0.1")
        sys.exit(1)


if __name__ == "__main__":
    main()
