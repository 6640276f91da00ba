# SPDX-License-Identifier: Apache-2.0
# tests/integration/interop_python.py — the Python half of the weights interop test (interop_probe_main.cpp):
# reads the files kiln wrote with torch.load and safetensors, and writes files for kiln to read.
#
# Usage: python interop_python.py DIR. Exits 0 after "interop python: N checks pass".
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

checks = 0


def check(ok, what):
    global checks
    if not ok:
        sys.exit(f"interop python: FAILED: {what}")
    checks += 1


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(3, 4)
        self.bn = torch.nn.BatchNorm1d(4)
        self.fc2 = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.fc2(torch.relu(self.bn(self.fc1(x))))


def misc():
    """The dict interop_probe_main.cpp's misc() builds."""
    return {
        "f64": torch.arange(6, dtype=torch.float64).reshape(2, 3) / 3,
        "f32": torch.arange(5, dtype=torch.float32) / 7,
        "f16": (torch.arange(4, dtype=torch.float32) / 4).half(),
        "bf16": (torch.arange(4, dtype=torch.float32) / 8).bfloat16(),
        "i64": torch.arange(-3, 3, dtype=torch.int64) * 1000000007,
        "i32": torch.arange(-2, 2, dtype=torch.int32),
        "i16": torch.arange(-2, 2, dtype=torch.int16),
        "i8": torch.arange(-2, 2, dtype=torch.int8),
        "u8": torch.arange(250, 256).to(torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.5, dtype=torch.float64),
        "empty": torch.zeros(0, 3),
        "view": torch.arange(12, dtype=torch.float32).reshape(3, 4).t(),
    }


def same(got, want, file):
    check(type(got) is dict, f"{file}: torch.load gave a {type(got).__name__}, not a dict")
    check(list(got) == list(want), f"{file}: keys {list(got)}")
    for k, w in want.items():
        g = got[k]
        check(isinstance(g, torch.Tensor), f"{file}: {k} is a {type(g).__name__}")
        check(g.dtype == w.dtype and g.shape == w.shape, f"{file}: {k} is {g.dtype} {tuple(g.shape)}")
        check(torch.equal(g, w), f"{file}: {k} = {g} (expected {w})")


def main(d):
    # kiln -> Python: torch.load's default (weights_only) and safetensors both read kiln's files.
    pt = torch.load(d / "cpp.pt", weights_only=True)
    st = load_file(d / "cpp.safetensors")
    check(type(pt) is dict and all(isinstance(v, torch.Tensor) for v in pt.values()), "cpp.pt is a dict of tensors")
    net = Net()
    check(list(pt) == list(net.state_dict()), f"cpp.pt keys {list(pt)} in state_dict order {list(net.state_dict())}")
    check(list(st) == list(pt) or sorted(st) == sorted(pt), f"cpp.safetensors keys {list(st)}")
    for k in pt:
        check(torch.equal(pt[k], st[k]), f"cpp.pt and cpp.safetensors differ at {k}")
    net.load_state_dict(pt)  # strict: every key, every shape
    check(int(net.bn.num_batches_tracked) == 3, f"num_batches_tracked {int(net.bn.num_batches_tracked)}")
    net.eval()
    with torch.no_grad():
        y = net(torch.linspace(-1, 1, 15).reshape(5, 3)).flatten()
    want = torch.tensor([float(v) for v in (d / "cpp_out.txt").read_text().split()])
    check(torch.allclose(y, want, rtol=0, atol=1e-6), f"eval output {y.tolist()} (kiln: {want.tolist()})")
    same(torch.load(d / "cpp_misc.pt"), misc(), "cpp_misc.pt")
    meta = {}
    from safetensors import safe_open
    with safe_open(d / "cpp_misc.safetensors", framework="pt") as f:
        meta = f.metadata()
    check(meta == {"written_by": "kiln"}, f"cpp_misc.safetensors metadata {meta}")
    same(load_file(d / "cpp_misc.safetensors"), {k: v.contiguous() for k, v in misc().items()}, "cpp_misc.safetensors")

    # Python -> kiln: Module.state_dict() is an OrderedDict with _metadata; views share one storage.
    with torch.no_grad():
        for k, v in net.state_dict().items():
            v.copy_(v + 5 if k.endswith("num_batches_tracked") else v * 2 + 1)
    torch.save(net.state_dict(), d / "py.pt")
    save_file(net.state_dict(), d / "py.safetensors")
    m = misc()
    base = torch.arange(12, dtype=torch.float32)
    m["view"] = base.reshape(3, 4).t()  # a view of `base`, saved with the whole storage
    m["f32"] = torch.cat([torch.arange(5, dtype=torch.float32) / 7, torch.ones(3)])[:5]  # a slice of a larger storage
    torch.save(m, d / "py_misc.pt")
    save_file({k: v.contiguous() for k, v in m.items()}, d / "py_misc.safetensors")
    print(f"interop python: {checks} checks pass")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
