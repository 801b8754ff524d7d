import numpy as np
import pytest
import torch

from bodyscene.errors import BodySceneError
from bodyscene.stimuli.frontend import model_inputs
from bodyscene.train.datamodule import StimulusDataModule, balanced_sampler


def test_balanced_sampling_draws_classes_evenly_from_an_imbalanced_set():
    labels = torch.tensor([0] * 900 + [1] * 90 + [2] * 10)
    drawn = torch.tensor(list(balanced_sampler(labels, 3, seed=0)))
    counts = torch.bincount(labels[drawn], minlength=3).double() / len(drawn)
    assert torch.allclose(counts, torch.full((3,), 1 / 3, dtype=torch.double), atol=0.04)


def test_domainnet_front_end_blacks_out_the_missing_stream():
    assert model_inputs("domainnet", "original") == {"body": "body", "background": "background"}
    assert model_inputs("domainnet", "body") == {"body": "body", "background": None}
    assert model_inputs("domainnet", "background") == {"body": None, "background": "background"}
    assert model_inputs("baseline", "body") == {"image": "body"}
    with pytest.raises(BodySceneError):
        model_inputs("baseline", "bodies")


def test_datasets_give_each_model_the_images_of_the_condition(tiny_stimuli):
    dm = StimulusDataModule(tiny_stimuli, kind="domainnet", image_size=32)
    item = dm.dataset("test", "body")[0]
    assert item["body"].dtype == torch.uint8 and item["body"].shape == (3, 32, 32)
    assert item["background"].sum() == 0  # black frame
    assert item["body"].sum() > 0
    original = dm.dataset("test", "original")[0]
    assert torch.equal(original["body"], item["body"])
    assert original["background"].sum() > 0
    base = StimulusDataModule(tiny_stimuli, kind="baseline", image_size=32).dataset("test", "background")[0]
    assert torch.equal(base["image"], original["background"])
    labels = np.array([int(r["label"]) for r in dm.stimuli.split("test")])
    assert (dm.dataset("test").labels.numpy() == labels).all()
