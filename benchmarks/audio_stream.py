"""Can the audio stream learn a stimulus set's sounds at all, and in how many steps? (not a test)

Trains the audio stream of `domainnet-audio` (models/audio.py) alone, with the recipe's SGD (lr, momentum 0.9) on
random batches of the training split's spectrograms, and prints the test accuracy every 25 steps. It separates
"the sound says nothing" from "the experiment gave the stream too few steps" (docs/audio.md):

    nice -n 19 env PYTHONPATH=src .venv/bin/python benchmarks/audio_stream.py \
        --stimuli runs/audio-reduced/seed0/stimuli-audio --steps 200
"""

from __future__ import annotations

import argparse

import torch

from bodyscene.models.audio import AudioNet
from bodyscene.train.datamodule import StimulusDataModule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stimuli", required=True, help="a stimulus set made with `prepare --audio`")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = StimulusDataModule(args.stimuli, kind="domainnet-audio", image_size=32)

    def split(name: str) -> tuple[torch.Tensor, torch.Tensor]:
        ds = data.dataset(name)
        batch = ds.__getitems__(list(range(len(ds))))
        return batch["audio"], batch["label"]

    (x, y), (x_test, y_test) = split("train"), split("test")
    torch.manual_seed(args.seed)
    net = AudioNet(len(data.classes))
    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)
    draws = torch.Generator().manual_seed(args.seed)
    print(f"train {len(x)}, test {len(x_test)} spectrograms {tuple(x.shape[2:])}; chance {1 / len(data.classes):.3f}")
    for step in range(1, args.steps + 1):
        idx = torch.randint(0, len(x), (args.batch_size,), generator=draws)
        loss = torch.nn.functional.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 25 == 0:
            with torch.no_grad():
                accuracy = (net(x_test).argmax(1) == y_test).float().mean().item()
            print(f"step {step:4d}  loss {loss.item():.3f}  test accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
