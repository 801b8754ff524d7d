"""CPU cost of one demo-size training step (ResNet-18, 64 px, batch 32) with 1 and with 2 torch threads.

Why the demo trains its models side by side, one thread each (docs/benchmark.md, "Where the demo's time goes"):
at this size PyTorch's CPU operators gain little from a second thread, and waiting OpenMP threads spin, so two
threads can cost several times the CPU seconds per step. Prints process CPU seconds and wall seconds per step, and
the ratio 2 threads / 1 thread of each.

    nice -n 5 .venv/bin/python benchmarks/cpu_threads.py --steps 6
"""

from __future__ import annotations

import argparse
import os
import time

import torch
import torchvision


def step_cost(threads: int, steps: int, image_size: int, batch: int) -> tuple[float, float]:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).to(memory_format=torch.channels_last)
    x = torch.randn(batch, 3, image_size, image_size).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for i in range(steps + 1):  # step 0 warms up
        if i == 1:
            cpu, wall = time.process_time(), time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return (time.process_time() - cpu) / steps, (time.perf_counter() - wall) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    print(f"cores {len(os.sched_getaffinity(0))}, load average {os.getloadavg()[0]:.1f}")
    cost = {}
    for threads in (1, 2):
        cost[threads] = step_cost(threads, args.steps, args.image_size, args.batch_size)
        print(f"{threads} thread(s): {cost[threads][0]:.3f} CPU-s/step, {cost[threads][1]:.3f} s/step wall")
    print(f"ratio CPU 2/1 threads: {cost[2][0] / cost[1][0]:.2f}")
    print(f"ratio wall 2/1 threads: {cost[2][1] / cost[1][1]:.2f}  (below 1: the second thread helps)")


if __name__ == "__main__":
    main()
