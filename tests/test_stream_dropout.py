import torch

from bodyscene.config import ModelConfig, TrainConfig
from bodyscene.train.module import IMAGENET_MEAN, IMAGENET_STD, ActionModule


def _module(p: float) -> ActionModule:
    model = ModelConfig(kind="domainnet", backbone="resnet18").model_dump(mode="json")
    train = TrainConfig(stream_dropout=p, augment=False).model_dump(mode="json")
    return ActionModule(model, train, ["a", "b", "c"])


def _is_black(x: torch.Tensor) -> torch.Tensor:
    black = ((0 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)).view(1, 3, 1, 1)
    return torch.isclose(x, black.expand_as(x), atol=1e-5).flatten(1).all(1)


def _batch(n=64):
    g = torch.Generator().manual_seed(0)
    return {
        "body": torch.randint(1, 255, (n, 3, 8, 8), dtype=torch.uint8, generator=g),
        "background": torch.randint(1, 255, (n, 3, 8, 8), dtype=torch.uint8, generator=g),
        "label": torch.zeros(n, dtype=torch.long),
    }


def test_stream_dropout_blacks_out_exactly_one_stream_per_chosen_sample():
    module = _module(1.0).train()
    out = module.on_after_batch_transfer(_batch(), 0)
    body, background = _is_black(out["body"]), _is_black(out["background"])
    assert (body ^ background).all()  # p=1: every sample loses exactly one stream, never both
    assert 10 < body.sum() < 54  # both streams are chosen (p/2 each)


def test_no_stream_dropout_when_off_or_when_evaluating():
    for module in (_module(0.0).train(), _module(1.0).eval()):
        out = module.on_after_batch_transfer(_batch(), 0)
        assert not _is_black(out["body"]).any() and not _is_black(out["background"]).any()
