#!/usr/bin/python3
"""PyTorch's Python DDP (gloo, CPU) on the same CNN as examples/fashion_cnn.hpp, for benchmarks/ddp_scaling.sh.

Usage: ddp_scaling.py WORLD STEPS BATCH. Each process: one intra-op thread, its own synthetic
batches, Adam(1e-3), the random left-right flip of FashionCNN.training_step. Rank 0 prints
    ddp_scaling torch_python world=<WORLD> samples_per_s=<all ranks, after 5 warm-up steps>
"""
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F


class FashionCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)
        self.dropout = nn.Dropout(0.25)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = self.dropout(F.relu(self.fc1(x.flatten(1))))
        return self.fc2(x)


def run(rank, world, steps, batch, port):
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    if world > 1:
        dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    data = [(torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))) for _ in range(16)]
    model = FashionCNN()
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    t0 = None
    for step in range(steps):
        x, y = data[step % len(data)]
        flip = torch.rand(x.size(0), 1, 1, 1) < 0.5
        x = torch.where(flip, x.flip(3), x)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
        if step == 4:
            t0 = time.perf_counter()
    rate = (steps - 5) * batch * world / (time.perf_counter() - t0)
    if rank == 0:
        print(f"ddp_scaling torch_python world={world} samples_per_s={rate:.1f}", flush=True)
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    world, steps, batch = (int(a) for a in sys.argv[1:4])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if world == 1:
        run(0, 1, steps, batch, port)
    else:
        mp.spawn(run, args=(world, steps, batch, port), nprocs=world)
