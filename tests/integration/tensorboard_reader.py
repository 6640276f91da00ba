# SPDX-License-Identifier: Apache-2.0
# tests/integration/tensorboard_reader.py — reads kiln's TensorBoard events (tensorboard_probe_main.cpp) with TensorBoard's own reader.
#
# Usage: python tensorboard_reader.py DIR (the Python of the LibTorch 2.x environment, which has tensorboard).
# Checks with tensorboard's EventAccumulator and its hparams plugin's protos: every scalar against
# metrics.csv, the hparams the plugin parses, every histogram (bucket counts against
# numpy.histogram for known values), the images decoded from PNG pixel for pixel, and the text.
# Exits 0 after "tensorboard reader: N checks pass".
import csv
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

work = Path(sys.argv[1])
checks = 0


def check(ok, what):
    global checks
    if not ok:
        sys.exit(f"tensorboard reader: FAILED: {what}")
    checks += 1


def load(folder):
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


run = work / "lightning_logs" / "version_0"
acc = load(run)
tags = acc.Tags()

# Scalars: every value in metrics.csv, at its step, as the float32 TensorBoard stores.
expected = {}
with open(run / "metrics.csv") as f:
    for row in csv.DictReader(f):
        for k, v in row.items():
            if k != "step" and v != "":
                expected.setdefault(k, []).append((int(row["step"]), np.float32(float(v))))
check(set(tags["scalars"]) == set(expected), f"scalar tags {tags['scalars']} are metrics.csv's columns {set(expected)}")
for tag, points in expected.items():
    got = [(e.step, np.float32(e.value)) for e in acc.Scalars(tag)]
    check(got == points, f"scalar {tag}: {got} == {points}")
check(len(expected["train/loss"]) == 8, "train/loss every 2 of 16 steps")

# Hparams: the plugin's session start and end records.
content = acc.PluginTagToContent("hparams")
start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
hp = {k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}
check(hp == {"lr": 0.05, "batch_size": 4.0, "optimizer": "sgd", "nesterov": True}, f"hparams the plugin parses: {hp}")
end = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_end_info"]).session_end_info
check(end.status == 1, f"session end status STATUS_SUCCESS (1): {end.status}")

# Histograms from WeightHistograms: each parameter and gradient at steps 4, 8, 12, 16.
sizes = {"fc.weight": 6, "fc.bias": 2}
names = [f"{kind}/{p}" for kind in ("weights", "gradients") for p in sizes]
check(sorted(tags["histograms"]) == sorted(names), f"histogram tags {tags['histograms']}")
for name in names:
    events = acc.Histograms(name)
    check([e.step for e in events] == [4, 8, 12, 16], f"{name} at steps 4, 8, 12, 16: {[e.step for e in events]}")
    for e in events:
        h = e.histogram_value
        numel = sizes[name.split("/")[1]]
        check(h.num == numel and sum(h.bucket) == numel and h.min <= h.max, f"{name} step {e.step}: {numel} values in its buckets")

# A histogram of known values, bucket for bucket as numpy.histogram counts them.
extra = load(work / "extra" / "lightning_logs" / "version_0")
values = np.fromfile(work / "known.f64", dtype=np.float64)
h = extra.Histograms("known")[0].histogram_value
counts, edges = np.histogram(values, bins=30, range=(values.min(), values.max()))
check(list(h.bucket) == [float(c) for c in counts], f"known: bucket counts {list(h.bucket)} == numpy's {list(counts)}")
check(np.allclose(h.bucket_limit, edges[1:], rtol=0, atol=1e-12), "known: bucket limits are the right edges")
check(h.num == 1000 and h.min == values.min() and h.max == values.max(), "known: num, min, max")
check(np.isclose(h.sum, values.sum()) and np.isclose(h.sum_squares, (values ** 2).sum()), "known: sum and sum of squares")

# Images: PNG decoded by Pillow, pixel for pixel.
rgb = extra.Images("image/rgb")[0]
pixels = np.asarray(Image.open(io.BytesIO(rgb.encoded_image_string)))
want = np.fromfile(work / "rgb.u8", dtype=np.uint8).reshape(5, 7, 3)
check((rgb.width, rgb.height, rgb.step) == (7, 5, 1) and pixels.shape == (5, 7, 3), f"image/rgb is 7x5 RGB: {pixels.shape}")
check(np.array_equal(pixels, want), "image/rgb: every pixel")
grid = extra.Images("image/grid")[0]
pixels = np.asarray(Image.open(io.BytesIO(grid.encoded_image_string)))
height, width = 2 * (4 + 2) + 2, 3 * (6 + 2) + 2  # five images: 3 columns, 2 rows, 2 pixels of padding
want = np.fromfile(work / "grid.u8", dtype=np.uint8).reshape(height, width)
check((grid.width, grid.height) == (width, height) and np.array_equal(pixels, want), f"image/grid: {width}x{height} grey, every pixel")

# Text: the text plugin's scalar string tensor.
check(extra.PluginTagToContent("text").keys() == {"notes"}, "text plugin lists notes")
text = extra.Tensors("notes")[0]
check(text.step == 3 and text.tensor_proto.string_val == [b"hello **kiln**"], f"text: {text}")
print(f"tensorboard reader: {checks} checks pass")
