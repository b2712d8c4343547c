#!/usr/bin/env python3
"""Times PyPI ncnn (CPU) on one model and input, for `reframe bench upscale`.

Reads a raw little-endian float32 C×H×W input written by the caller, runs it `--runs` times
after one warm-up, prints one JSON line: {"median_ms": …, "runs_ms": […], "output_shape": […]}
and, with --output, writes the output as raw float32 so the caller can compare values too.
"""
import argparse, json, statistics, sys, time

import numpy as np
import ncnn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--param", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--shape", required=True, help="C,H,W")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--output")
    args = ap.parse_args()

    c, h, w = (int(v) for v in args.shape.split(","))
    x = np.fromfile(args.input, dtype="<f4").reshape(c, h, w)
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = args.threads
    if net.load_param(args.param) != 0 or net.load_model(args.bin) != 0:
        sys.exit(f"ncnn could not load {args.param}")
    in_name, out_name = net.input_names()[0], net.output_names()[0]

    def once():
        ex = net.create_extractor()
        ex.input(in_name, ncnn.Mat(x).clone())
        start = time.perf_counter()
        rc, out = ex.extract(out_name)
        elapsed = time.perf_counter() - start
        if rc != 0:
            sys.exit(f"ncnn extract failed: {rc}")
        return elapsed, np.array(out)

    once()  # warm-up: first run allocates and packs weights
    times, out = [], None
    for _ in range(args.runs):
        t, out = once()
        times.append(t * 1000)
    if args.output:
        out.astype("<f4").tofile(args.output)
    print(json.dumps({"median_ms": statistics.median(times), "runs_ms": times, "output_shape": list(out.shape)}))


if __name__ == "__main__":
    main()
