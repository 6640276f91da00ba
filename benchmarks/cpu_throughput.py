#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# benchmarks/cpu_throughput.py — kiln's CPU defaults against plain PyTorch and a hand-written LibTorch loop, in one run.
#
#   /usr/bin/python3 benchmarks/cpu_throughput.py [--build build] [--repeats 3] [--threads 1,2,default] [--models mlp,cnn]
#
# Needs Debian's python3-torch (the same LibTorch 1.13 as kiln's build) and, for the allocator
# rows, libjemalloc2 and libtcmalloc-minimal4. Every measurement is its own process, so each
# runs under its own malloc settings; within a repeat the configurations run in a rotated
# order (interleaved), and figures are medians over repeats. Configurations:
#   pytorch        plain PyTorch as installed (glibc malloc defaults)
#   pytorch_tuned  the same with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=268435456
#   raw            hand-written LibTorch loop (build/benchmarks/cpu_throughput --mode raw), glibc defaults
#   raw_tuned      the same with the tuned variables above
#   raw_jemalloc   the same with LD_PRELOAD=libjemalloc.so.2
#   raw_tcmalloc   the same with LD_PRELOAD=libtcmalloc_minimal.so.4
#   kiln           Trainer with kiln's defaults (it tunes glibc's malloc itself)
#   kiln_system    Trainer with KILN_HOST_ALLOCATOR=system (the opt-out)
# --threads takes counts and "default": no thread setting anywhere, so PyTorch, the raw loop
# and kiln each use their own default (kiln's: the usable cores; LibTorch's here: 1).
# Workloads: "mlp" 784-64-10 batch 32, "cnn" the Fashion-MNIST CNN of examples/fashion_cnn.hpp
# batch 64; Adam(1e-3), synthetic data. `--worker` runs one PyTorch measurement (used by the driver).
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

TUNED = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "68719476736", "MALLOC_TOP_PAD_": "268435456"}
LIBDIR = "/usr/lib/x86_64-linux-gnu"
CONFIGS = [
    ("pytorch", "py", {}),
    ("pytorch_tuned", "py", TUNED),
    ("raw", "raw", {}),
    ("raw_tuned", "raw", TUNED),
    ("raw_jemalloc", "raw", {"LD_PRELOAD": f"{LIBDIR}/libjemalloc.so.2"}),
    ("raw_tcmalloc", "raw", {"LD_PRELOAD": f"{LIBDIR}/libtcmalloc_minimal.so.4"}),
    ("kiln", "kiln", {}),
    ("kiln_system", "kiln", {"KILN_HOST_ALLOCATOR": "system"}),
]
DEFAULT_STEPS = {"mlp": 3000, "cnn": 60}
WARMUP = {"mlp": 100, "cnn": 5}


def workload(model):
    """The model and its fixed batches (seeded), mirroring cpu_throughput.cpp; vs_lightning.py uses it too."""
    import torch

    torch.manual_seed(0)
    if model == "mlp":
        net = torch.nn.Sequential(torch.nn.Linear(784, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
        data = [(torch.randn(32, 784), torch.randint(0, 10, (32,))) for _ in range(256)]
    else:
        net = torch.nn.Sequential(
            torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(64 * 7 * 7, 128), torch.nn.ReLU(), torch.nn.Dropout(0.25),
            torch.nn.Linear(128, 10))
        data = [(torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))) for _ in range(16)]
    return net, data


def worker(model, threads, steps):
    import torch
    import torch.nn.functional as F

    if threads > 0:
        torch.set_num_threads(threads)
    net, data = workload(model)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step(i):
        x, y = data[i % len(data)]
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

    for i in range(WARMUP[model]):
        step(i)
    start = time.perf_counter()
    for i in range(steps):
        step(WARMUP[model] + i)
    rate = steps / (time.perf_counter() - start)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"steps_per_s={rate:.2f} peak_rss_kb={rss} threads={torch.get_num_threads()}")


def measure(kind, env_extra, model, threads, build):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MALLOC_") and k not in ("LD_PRELOAD", "KILN_HOST_ALLOCATOR", "KILN_NUM_THREADS", "OMP_NUM_THREADS")}
    env.update(env_extra)
    steps = str(DEFAULT_STEPS[model])
    if kind == "py":
        cmd = ["/usr/bin/python3", os.path.abspath(__file__), "--worker", "--model", model, "--threads", str(threads), "--steps", steps]
    else:
        cmd = [os.path.join(build, "benchmarks", "cpu_throughput"), "--model", model, "--mode", kind,
               "--threads", str(threads), "--steps", steps]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"cpu_throughput: {' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    fields = dict(f.split("=") for f in out.stdout.split() if "=" in f)
    if threads > 0 and int(fields["threads"]) != threads:
        sys.exit(f"cpu_throughput: {cmd} ran with {fields['threads']} threads, not {threads}")
    return float(fields["steps_per_s"]), int(fields["peak_rss_kb"]), int(fields["threads"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--threads", default="1,2,default")
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--build", default="build")
    a = ap.parse_args()
    if a.worker:
        return worker(a.model, int(a.threads), a.steps or DEFAULT_STEPS[a.model])
    try:
        subprocess.run(["/usr/bin/python3", "-c", "import torch"], check=True, capture_output=True)
    except (subprocess.CalledProcessError, FileNotFoundError):
        sys.exit("cpu_throughput: /usr/bin/python3 cannot import torch; install Debian's python3-torch")
    for lib, package in (("libjemalloc.so.2", "libjemalloc2"), ("libtcmalloc_minimal.so.4", "libtcmalloc-minimal4")):
        if not os.path.exists(os.path.join(LIBDIR, lib)):  # a missing LD_PRELOAD would silently measure glibc
            sys.exit(f"cpu_throughput: {LIBDIR}/{lib} not found; install Debian's {package}")
    exe = os.path.join(a.build, "benchmarks", "cpu_throughput")
    if not os.access(exe, os.X_OK):
        sys.exit(f"cpu_throughput: {exe} not found; build it first (cmake --build {a.build} --target cpu_throughput)")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for model in a.models.split(","):
        for threads in (0 if t == "default" else int(t) for t in a.threads.split(",")):
            rates = {name: [] for name, _, _ in CONFIGS}
            rss = {name: [] for name, _, _ in CONFIGS}
            for r in range(a.repeats):
                for k in range(len(CONFIGS)):
                    name, kind, env = CONFIGS[(k + r) % len(CONFIGS)]
                    rate, kb, used = measure(kind, env, model, threads, a.build)
                    rates[name].append(rate)
                    rss[name].append(kb)
                    print(f"{model} threads={threads or 'default'} repeat={r} {name:14s} {rate:9.1f} steps/s  "
                          f"peak RSS {kb / 1024:7.1f} MiB  ({used} threads)", flush=True)
            med = {n: statistics.median(v) for n, v in rates.items()}
            mem = {n: statistics.median(v) / 1024 for n, v in rss.items()}
            print(f"RESULT cpu_throughput model={model} threads={threads or 'default'} "
                  f"kiln_vs_pytorch={med['kiln'] / med['pytorch']:.2f} "
                  f"kiln_vs_pytorch_tuned={med['kiln'] / med['pytorch_tuned']:.2f} "
                  f"raw_tuned_vs_pytorch_tuned={med['raw_tuned'] / med['pytorch_tuned']:.2f} "
                  f"kiln_vs_raw_tuned={med['kiln'] / med['raw_tuned']:.2f} "
                  + " ".join(f"{n}={med[n]:.1f}" for n in med) + " "
                  + " ".join(f"rss_{n}_mib={mem[n]:.0f}" for n in mem), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
