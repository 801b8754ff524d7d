"""Two-process DDP on CPU (gloo), launched the documented way: `torchrun --nproc_per_node 2 -m bodyscene train`."""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch

from bodyscene.files import read_csv
from bodyscene.stimuli.manifest import read_stimulus_set
from bodyscene.train.datamodule import BalancedSampler
from bodyscene.train.distributed import parameter_digest
from bodyscene.train.module import ActionModule

pytestmark = pytest.mark.slow
SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(scope="module")
def ddp_run(tiny_stimuli, tmp_path_factory):
    run = tmp_path_factory.mktemp("ddp")
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "bodyscene", "train", "--stimuli", str(tiny_stimuli), "--model", "domainnet", "--run-dir", str(run),
        "--backbone", "resnet18", "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--seed", "4",
        "--set", "train.accelerator=cpu", "--set", "train.log_draws=true", "--set", f"train.cache_dir={run / 'cache'}",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return run / "domainnet"


def test_both_ranks_trained_in_one_ddp_group(ddp_run):
    info = json.loads((ddp_run / "model.json").read_text())["training"]
    assert info["world_size"] == 2 and info["num_nodes"] == 1 and info["strategy"] == "DDPStrategy"
    metrics = [r for r in read_csv(ddp_run / "metrics.csv") if r["train/loss"]]
    assert len(metrics) == 1 and float(metrics[0]["train/loss"]) > 0


def test_one_checkpoint_holding_the_weights_every_rank_ended_with(ddp_run):
    assert sorted(p.name for p in (ddp_run / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    digests = json.loads((ddp_run / "model.json").read_text())["training"]["parameter_digests"]
    assert len(digests) == 2 and digests[0] == digests[1]  # DDP kept the ranks' parameters identical
    state = torch.load(ddp_run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    hp = state["hyper_parameters"]
    module = ActionModule({**hp["model"], "pretrained": None}, hp["train"], hp["classes"])
    module.load_state_dict(state["state_dict"])
    assert parameter_digest(module.named_parameters()) == digests[0]  # ... and the checkpoint holds them
    fresh = ActionModule({**hp["model"], "pretrained": None}, hp["train"], hp["classes"])
    assert parameter_digest(fresh.named_parameters()) != digests[0]  # (it did train)


def test_the_ranks_deal_out_one_class_balanced_stream_without_overlap(ddp_run, tiny_stimuli):
    draws = [read_csv(ddp_run / "draws" / f"rank{r}.csv") for r in (0, 1)]
    labels = torch.tensor([int(r["label"]) for r in read_stimulus_set(tiny_stimuli).split("train")])
    sampler = BalancedSampler(labels, 4, seed=4)
    sampler.set_epoch(0)
    stream = list(sampler)
    assert len(draws[0]) == len(draws[1]) == len(stream) // 2
    union = Counter(int(r["index"]) for d in draws for r in d)
    assert union == Counter(stream)  # each position of the epoch's stream drawn by exactly one rank
    assert all(int(r["label"]) == labels[int(r["index"])] for d in draws for r in d)
