# SPDX-License-Identifier: Apache-2.0
# benchmarks/vs_lightning.py — kiln against a hand-written LibTorch loop, plain PyTorch, Lightning and Ignite, in one run.
#
#   python3 benchmarks/vs_lightning.py [--build build-torch2] [--python PY] [--repeats 3] [--threads 1]
#                                      [--models mlp,cnn] [--precisions fp32,bf16-mixed] [--quick]
#
# The driver needs only the standard library; the contestants run with --python (default: the
# venv of scripts/torch2-venv, whose torch wheel is the LibTorch that --build links against, so
# C++ and Python run the same kernels). Build the C++ side first:
#   cmake --build build-torch2 --target cpu_throughput
# Contestants, each measurement its own process:
#   kiln            Trainer, progress bar off (<build>/benchmarks/cpu_throughput --mode kiln)
#   raw_libtorch    hand-written LibTorch loop (cpu_throughput --mode raw)
#   pytorch         plain PyTorch loop in Python
#   lightning       Lightning Trainer with its defaults: progress bar, logger, checkpointing and model
#                   summary on; max_steps fixed, no validation, in a temporary directory
#   lightning_bare  the same without progress bar, logger, checkpointing and model summary
#   ignite          an Ignite Engine running create_supervised_trainer's update step (with the
#                   autocast region added for bf16-mixed)
# All of them: same model, synthetic data (the fixed set of batches of cpu_throughput, cycled),
# batch size, Adam(1e-3), precision, thread count (--threads, default 1) and glibc malloc settings
# (cpu_throughput.py's TUNED for everyone, since kiln applies those itself). bf16-mixed: forward
# and loss under torch.autocast(dtype=bfloat16) (Lightning: precision="bf16-mixed"; kiln:
# Precision<BF16Mixed>). Each contestant does the same warm-up steps first (cpu_throughput.py's
# WARMUP), untimed; the timed part is the next STEPS steps (Lightning and Ignite: from the end
# of the last warm-up batch until fit/run returns, so their end-of-run work counts, as kiln's
# whole second fit does). On CUDA the batches move to cuda:0 each step and clocks are read after
# a device synchronize. Within a repeat the contestants run in a rotated order; figures are
# medians over repeats. Start-to-first-step: the driver's time.time() just before starting the
# process, subtracted from the wall clock at which the process's first training step finished
# (Python contestants pay for starting the interpreter and importing their framework).
# Output: a progress line per measurement, then per model and precision (and device)
#   RESULT vs_lightning model=<m> precision=<p> [device=cuda] kiln=<steps/s> raw_libtorch=... ...
#   RESULT vs_lightning_start model=<m> precision=<p> [device=cuda] kiln_first_step_s=<s> lightning_first_step_s=<s> ...
# `--worker NAME` runs one Python measurement (used by the driver).
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_throughput import TUNED, WARMUP, workload  # noqa: E402  (one definition both drivers use)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTESTANTS = ["kiln", "raw_libtorch", "pytorch", "lightning", "lightning_bare", "ignite"]
STEPS = {"mlp": 2000, "cnn": 40}  # a few seconds per measurement on one core
QUICK_STEPS = {"mlp": 20, "cnn": 2}
LINE = re.compile(r"steps_per_s=([0-9.]+) peak_rss_kb=([0-9]+) threads=([0-9]+) first_step_unix=([0-9.]+)")


# ---------------------------------------------------------------------------------------------
# Worker: one Python contestant, run in its own process by the driver.

def worker(name, model, precision, device, threads, steps):
    import contextlib
    import resource

    import torch
    import torch.nn.functional as F

    warmup = WARMUP[model]
    if threads > 0:
        torch.set_num_threads(threads)
    net, data = workload(model)  # cpu_throughput.cpp's models and batches
    batches = [data[i % len(data)] for i in range(warmup + steps)]
    dev = torch.device("cuda:0" if device == "cuda" else "cpu")

    def wait():  # CUDA runs asynchronously: the clock must see finished work, not queued work
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    def autocast():  # a fresh region per step, as user code writes `with torch.autocast(...)`
        if precision == "bf16-mixed":
            return torch.autocast(dev.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    first_step = start = end = 0.0
    if name == "pytorch":
        net.to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)

        def step(x, y):
            x, y = x.to(dev), y.to(dev)
            opt.zero_grad()
            with autocast():
                loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()

        step(*batches[0])
        wait()
        first_step = time.time()
        for x, y in batches[1:warmup]:
            step(x, y)
        wait()
        start = time.perf_counter()
        for x, y in batches[warmup:]:
            step(x, y)
        wait()
        end = time.perf_counter()
    elif name in ("lightning", "lightning_bare"):
        import lightning as L

        class Module(L.LightningModule):
            def __init__(self):
                super().__init__()
                self.net = net

            def training_step(self, batch, batch_idx):
                x, y = batch
                return F.cross_entropy(self.net(x), y)

            def configure_optimizers(self):
                return torch.optim.Adam(self.parameters(), lr=1e-3)

        class Clock(L.Callback):
            def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
                nonlocal first_step, start
                if batch_idx == 0:
                    wait()
                    first_step = time.time()
                if batch_idx == warmup - 1:
                    wait()
                    start = time.perf_counter()

        bare = {"enable_progress_bar": False, "logger": False, "enable_checkpointing": False,
                "enable_model_summary": False} if name == "lightning_bare" else {}
        trainer = L.Trainer(accelerator="gpu" if dev.type == "cuda" else "cpu", devices=1,
                            precision="bf16-mixed" if precision == "bf16-mixed" else "32-true",
                            max_steps=warmup + steps, default_root_dir=os.getcwd(), callbacks=[Clock()], **bare)
        class Batches:  # an iterable, as kiln's vector: Lightning would take a list as a list of loaders
            def __iter__(self):
                return iter(batches)

            def __len__(self):
                return len(batches)

        trainer.fit(Module(), train_dataloaders=Batches())
        wait()
        end = time.perf_counter()
        if trainer.global_step != warmup + steps:
            sys.exit(f"vs_lightning: Lightning ran {trainer.global_step} steps, not {warmup + steps}")
    elif name == "ignite":
        from ignite.engine import Engine, Events, _prepare_batch

        net.to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)

        # ignite.engine.supervised_training_step (what create_supervised_trainer runs), with the
        # autocast region around forward and loss, which its amp_mode offers for CUDA float16 only.
        def update(engine, batch):
            opt.zero_grad()
            net.train()
            x, y = _prepare_batch(batch, device=dev, non_blocking=False)
            with autocast():
                loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            return loss.item()

        engine = Engine(update)

        @engine.on(Events.ITERATION_COMPLETED(once=1))
        def first(_):
            nonlocal first_step
            wait()
            first_step = time.time()

        @engine.on(Events.ITERATION_COMPLETED(once=warmup))
        def warmed_up(_):
            nonlocal start
            wait()
            start = time.perf_counter()

        engine.run(batches, max_epochs=1)
        wait()
        end = time.perf_counter()
        if engine.state.iteration != warmup + steps:
            sys.exit(f"vs_lightning: Ignite ran {engine.state.iteration} steps, not {warmup + steps}")
    else:
        sys.exit(f"vs_lightning: unknown worker {name}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Leading newline: a progress bar may have left its line open on stdout.
    print(f"\nsteps_per_s={steps / (end - start):.2f} peak_rss_kb={rss} threads={torch.get_num_threads()} "
          f"first_step_unix={first_step:.6f}", flush=True)


# ---------------------------------------------------------------------------------------------
# Driver.

def run_child(cmd, env, what):
    with tempfile.TemporaryDirectory(prefix="kiln-vs-lightning-") as cwd:  # Lightning writes logs and checkpoints there
        started = time.time()
        out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    m = LINE.search(out.stdout)
    if out.returncode != 0 or not m:
        sys.exit(f"vs_lightning: {what}: {' '.join(cmd)} failed ({out.returncode}):\n"
                 f"{out.stdout[-4000:]}{out.stderr[-4000:]}")
    return float(m[1]), int(m[2]), int(m[3]), float(m[4]) - started


def measure(contestant, model, precision, device, steps, a):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MALLOC_") and k not in ("LD_PRELOAD", "KILN_HOST_ALLOCATOR", "KILN_NUM_THREADS",
                                                         "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env.update(TUNED)
    common = ["--model", model, "--threads", str(a.threads), "--steps", str(steps), "--precision", precision,
              "--device", device]
    if contestant in ("kiln", "raw_libtorch"):
        cmd = [a.exe, "--mode", "kiln" if contestant == "kiln" else "raw"] + common
    else:
        cmd = [a.python, os.path.abspath(__file__), "--worker", contestant] + common
    rate, kb, threads, first = run_child(cmd, env, contestant)
    if a.threads > 0 and threads != a.threads:
        sys.exit(f"vs_lightning: {contestant} ran with {threads} threads, not {a.threads}")
    return rate, kb, threads, first


def probe(python):
    """Versions and CUDA availability, as the contestants' interpreter sees them."""
    code = ("import torch, lightning, ignite; "
            "print(torch.__version__, lightning.__version__, ignite.__version__, int(torch.cuda.is_available()), "
            "torch.cuda.get_device_name(0).replace(' ', '_') if torch.cuda.is_available() else '-')")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"vs_lightning: {python} cannot import torch, lightning and ignite:\n{out.stderr[-2000:]}")
    torch_v, lightning_v, ignite_v, cuda, gpu = out.stdout.split()
    return torch_v, lightning_v, ignite_v, cuda == "1", gpu.replace("_", " ")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def default_python():
    out = subprocess.run([os.path.join(ROOT, "scripts", "torch2-venv")], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"vs_lightning: scripts/torch2-venv failed; pass --python\n{out.stderr}")
    return os.path.join(out.stdout.strip(), "bin", "python")


def main():
    ap = argparse.ArgumentParser(description="kiln vs Lightning, Ignite, PyTorch and a raw LibTorch loop")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--model", default="mlp", help=argparse.SUPPRESS)
    ap.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    ap.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--build", default=os.path.join(ROOT, "build-torch2"), help="build folder with benchmarks/cpu_throughput")
    ap.add_argument("--python", help="interpreter with torch, lightning and ignite (default: scripts/torch2-venv's)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="threads for every contestant (0: each its own default)")
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--precisions", default="fp32,bf16-mixed")
    ap.add_argument("--quick", action="store_true", help="smoke test: a few steps, one repeat")
    a = ap.parse_args()
    if a.worker:
        return worker(a.worker, a.model, a.precision, a.device, a.threads, a.steps)

    a.python = a.python or default_python()
    a.exe = os.path.abspath(os.path.join(a.build, "benchmarks", "cpu_throughput"))
    if not os.access(a.exe, os.X_OK):
        sys.exit(f"vs_lightning: {a.exe} not found; build it first (cmake --build {a.build} --target cpu_throughput)")
    repeats = 1 if a.quick else a.repeats
    steps = QUICK_STEPS if a.quick else STEPS
    torch_v, lightning_v, ignite_v, cuda, gpu = probe(a.python)
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
    print(f"versions: torch {torch_v}, lightning {lightning_v}, pytorch-ignite {ignite_v}, kiln {commit or '?'} "
          f"({a.python})")
    print(f"cpu: {cpu_model()}, {os.cpu_count()} logical cores; gpu: {gpu if cuda else 'none'}")
    print(f"threads: {a.threads or 'each its own default'}; malloc: "
          + " ".join(f"{k}={v}" for k, v in TUNED.items()))
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; load average before: {os.getloadavg()[0]:.2f}; "
          f"repeats: {repeats}; steps (warm-up + timed): "
          + ", ".join(f"{m} {WARMUP[m]}+{steps[m]}" for m in a.models.split(",")), flush=True)

    for device in ["cpu"] + (["cuda"] if cuda else []):
        where = "" if device == "cpu" else f" device={device}"
        for model in a.models.split(","):
            for precision in a.precisions.split(","):
                rates = {c: [] for c in CONTESTANTS}
                firsts = {c: [] for c in CONTESTANTS}
                for r in range(repeats):
                    for k in range(len(CONTESTANTS)):
                        c = CONTESTANTS[(k + r) % len(CONTESTANTS)]
                        rate, kb, used, first = measure(c, model, precision, device, steps[model], a)
                        rates[c].append(rate)
                        firsts[c].append(first)
                        print(f"{model} {precision} {device} repeat={r} {c:14s} {rate:9.2f} steps/s  "
                              f"first step {first:6.3f} s  peak RSS {kb / 1024:6.0f} MiB  ({used} threads)", flush=True)
                med = {c: statistics.median(v) for c, v in rates.items()}
                start = {c: statistics.median(v) for c, v in firsts.items()}
                print(f"RESULT vs_lightning model={model} precision={precision}{where} "
                      + " ".join(f"{c}={med[c]:.2f}" for c in CONTESTANTS), flush=True)
                print(f"RESULT vs_lightning_start model={model} precision={precision}{where} "
                      f"kiln_first_step_s={start['kiln']:.3f} lightning_first_step_s={start['lightning']:.3f} "
                      + " ".join(f"{c}_first_step_s={start[c]:.3f}" for c in CONTESTANTS if c not in ("kiln", "lightning")),
                      flush=True)
                print("  kiln vs " + ", ".join(f"{c} {med['kiln'] / med[c]:.2f}x" for c in CONTESTANTS[1:]), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
