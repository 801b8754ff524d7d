"""Class-balanced sampling: one stream per (seed, epoch), dealt out to DDP ranks by Lightning's wrapper."""

from collections import Counter

import torch
from lightning.fabric.utilities.distributed import DistributedSamplerWrapper

from bodyscene.train.datamodule import BalancedSampler

LABELS = torch.tensor([0] * 2400 + [1] * 500 + [2] * 100)  # 24:5:1


def stream(sampler, epoch):
    sampler.set_epoch(epoch)
    return list(sampler)


def test_the_stream_depends_only_on_seed_and_epoch():
    a, b = BalancedSampler(LABELS, 3, seed=5), BalancedSampler(LABELS, 3, seed=5)
    assert stream(a, 0) == stream(b, 0)  # every rank builds its own sampler: they must agree
    assert stream(a, 1) == stream(b, 1) != stream(a, 0)
    assert stream(a, 1) == stream(a, 1)  # a resumed run redraws the same epoch
    assert stream(BalancedSampler(LABELS, 3, seed=6), 0) != stream(a, 0)


def class_shares(indices):
    counts = torch.bincount(LABELS[torch.tensor(indices)], minlength=3).double()
    return counts / counts.sum()


def test_ranks_draw_disjoint_parts_of_one_balanced_stream():
    """What Lightning does with use_distributed_sampler=True and a custom sampler (DistributedSamplerWrapper)."""
    world = 2
    for epoch in (0, 3):
        ranks = []
        for rank in range(world):
            wrapper = DistributedSamplerWrapper(BalancedSampler(LABELS, 3, seed=0), num_replicas=world, rank=rank)
            wrapper.set_epoch(epoch)  # Lightning's fit loop calls this; it reaches the wrapped sampler
            ranks.append(list(wrapper))
        full = stream(BalancedSampler(LABELS, 3, seed=0), epoch)
        assert len(ranks[0]) == len(ranks[1]) == len(full) // world
        # together the ranks draw exactly the stream's items, each position once: no overlap, nothing lost
        assert Counter(ranks[0]) + Counter(ranks[1]) == Counter(full)
        expected = torch.full((3,), 1 / 3, dtype=torch.double)
        assert torch.allclose(class_shares(ranks[0] + ranks[1]), expected, atol=0.03)
        for r in ranks:  # and each rank on its own is balanced too (a random half of a balanced stream)
            assert torch.allclose(class_shares(r), expected, atol=0.04)
