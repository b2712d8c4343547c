#!/usr/bin/python3
"""Regenerates the small PyTorch checkpoints under Tests/NeuralTests/Fixtures.

One state dict is saved twice with `torch.save`: in the legacy format
(`_use_new_zipfile_serialization=False`, what PyTorch < 1.6 wrote and RIFE's older weights use)
and in the zip format. It holds a tiny Conv2d → PReLU → ConvTranspose2d → BatchNorm2d network's
state dict (BatchNorm adds an int64 `num_batches_tracked`), plus tensors that exercise the
reader's storage handling: float16, bfloat16 and float64 storages, a transposed (non-contiguous)
view saved as is, a window sharing its storage with another tensor at an offset, a stride-0
expanded tensor and an `nn.Parameter`. The expected names (in file order), shapes and row-major
values, converted to f32 exactly as `tensor.float()` does, go to checkpoint-expected.json.

The malicious pickles the tests also need are built in Swift (CheckpointTests.swift), never here,
so nothing hostile is ever written by or fed to Python.

    /usr/bin/python3 benchmarks/reference/make_checkpoint_fixtures.py   # Debian's python3 has torch 1.13
"""
import collections, json, os

import torch
from torch import nn

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "NeuralTests", "Fixtures")


def state_dict():
    torch.manual_seed(20240611)
    net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.PReLU(3), nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1), nn.BatchNorm2d(2))
    with torch.no_grad():
        # Non-default BatchNorm statistics so the values are not all 0s and 1s.
        net[3].running_mean.uniform_(-1, 1)
        net[3].running_var.uniform_(0.5, 2)
        net[3].num_batches_tracked.fill_(7)
    sd = collections.OrderedDict(net.state_dict())

    sd["half"] = torch.linspace(-3, 3, 10).to(torch.float16).view(2, 5)
    sd["bfloat16"] = torch.tensor([1.0, -2.5, 3.140625, 1e-3]).to(torch.bfloat16)
    sd["double"] = torch.tensor([[0.1, -1e-8], [12345.678901, 2.0 ** -30]], dtype=torch.float64)
    # A transposed view: strides (1, 4), saved as is (torch.save keeps the strides and the storage).
    sd["transposed"] = torch.arange(12, dtype=torch.float32).mul(0.5).view(3, 4).t()
    assert not sd["transposed"].is_contiguous()
    # Two tensors on one storage: the window starts 5 elements in.
    base = torch.arange(20, dtype=torch.float32).sub(9.75)
    sd["shared.base"] = base
    sd["shared.window"] = base[5:11].view(2, 3)
    assert sd["shared.window"].storage_offset() == 5
    # Stride 0 along the second axis.
    sd["expanded"] = torch.tensor([1.5, -2.0, 0.25]).view(3, 1).expand(3, 4)
    assert sd["expanded"].stride() == (1, 0)
    sd["parameter"] = nn.Parameter(torch.tensor([[0.75, -0.125]]))
    return sd


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    sd = state_dict()
    legacy = os.path.join(FIXTURES, "checkpoint-legacy.pt")
    zipped = os.path.join(FIXTURES, "checkpoint-zip.pt")
    torch.save(sd, legacy, _use_new_zipfile_serialization=False)
    torch.save(sd, zipped)

    expected = {
        "names": list(sd.keys()),
        "tensors": {
            name: {"shape": list(t.shape), "values": t.detach().float().contiguous().view(-1).tolist()} for name, t in sd.items()
        },
    }
    # Sanity: PyTorch reads back what it wrote (only these benign files are ever loaded here).
    for path in (legacy, zipped):
        back = torch.load(path)
        assert list(back.keys()) == expected["names"], path
        for name, t in back.items():
            assert t.detach().float().contiguous().view(-1).tolist() == expected["tensors"][name]["values"], (path, name)
    with open(os.path.join(FIXTURES, "checkpoint-expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    for name in ("checkpoint-legacy.pt", "checkpoint-zip.pt", "checkpoint-expected.json"):
        print(name, os.path.getsize(os.path.join(FIXTURES, name)), "bytes")


if __name__ == "__main__":
    main()
