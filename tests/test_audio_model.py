"""domainnet-audio: a third stream on the clip's spectrogram, its own isolated loss, scored with and without sound."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bodyscene.config import EvaluateConfig, LossWeights, MelConfig, ModelConfig, TrainConfig
from bodyscene.errors import BodySceneError
from bodyscene.evaluate import evaluate_run, load_trained, predict_logits
from bodyscene.files import read_csv
from bodyscene.models import AudioNet, create_model
from bodyscene.models.loss import total_loss
from bodyscene.schema import SILENCE_DB
from bodyscene.stimuli.sound import silence
from bodyscene.train.datamodule import StimulusDataModule
from bodyscene.train.run import train_model

KIND = "domainnet-audio"


def _grads(module: torch.nn.Module) -> float:
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


def _batch():
    return torch.randn(3, 3, 32, 32), torch.randn(3, 3, 32, 32), torch.randn(3, 1, 64, 101) * 20 - 50


@pytest.mark.parametrize("fusion", ["sum", "weighted", "concat"])
def test_the_audio_stream_learns_from_its_own_isolated_loss_alone(fusion):
    torch.manual_seed(0)
    net = create_model(ModelConfig(kind=KIND, backbone="resnet18", fusion=fusion), 3).train()
    out = net(*_batch())
    assert set(out) == {"body", "background", "audio", "combined"}
    only_audio = LossWeights(body=0, background=0, combined=0, audio=1)
    loss, parts = total_loss(out, torch.tensor([0, 1, 2]), only_audio)
    assert set(parts) == set(out) and loss.item() == pytest.approx(parts["audio"].item())
    loss.backward()
    streams = net.streams
    assert _grads(streams["audio"]) > 0 and _grads(streams["body"]) == 0 and _grads(streams["background"]) == 0
    net.zero_grad(set_to_none=True)
    out = net(*_batch())
    no_audio = LossWeights(body=1, background=1, combined=0, audio=0)
    total_loss(out, torch.tensor([0, 1, 2]), no_audio)[0].backward()
    assert _grads(streams["audio"]) == 0 and _grads(streams["body"]) > 0  # nothing else trains the audio stream


def test_summed_fusion_adds_the_audio_logits_to_the_two_streams():
    net = create_model(ModelConfig(kind=KIND, backbone="resnet18"), 3).eval()
    with torch.no_grad():
        out = net(*_batch())
    assert torch.allclose(out["combined"], out["body"] + out["background"] + out["audio"])


def test_the_data_module_gives_spectrograms_and_silence_when_the_sound_is_off(sound_stimuli):
    data = StimulusDataModule(sound_stimuli, kind=KIND, image_size=32, batch_size=4)
    batch = next(iter(data.loader("test", "body")))
    assert batch["audio"].dtype == torch.float32 and batch["audio"].shape == (4, 1, 64, 101)
    assert batch["audio"].max() > -40 and batch["body"].dtype == torch.uint8  # a tone, and the images as ever
    mute = StimulusDataModule(sound_stimuli, kind=KIND, image_size=32, batch_size=4, sound=False)
    quiet = next(iter(mute.loader("test", "body")))
    assert torch.equal(quiet["audio"], torch.full_like(quiet["audio"], SILENCE_DB))
    assert torch.equal(quiet["body"], batch["body"])  # only the sound changed


def test_the_audio_stream_learns_the_class_tones_from_the_data_modules_spectrograms(sound_stimuli):
    data = StimulusDataModule(sound_stimuli, kind=KIND, image_size=32, batch_size=4)
    train = data.dataset("train")
    batch = train.__getitems__(list(range(len(train))))
    x, y = batch["audio"], batch["label"]
    torch.manual_seed(0)
    net = AudioNet(4)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    test = data.dataset("test")
    held_out = test.__getitems__(list(range(len(test))))
    with torch.no_grad():
        assert (net(held_out["audio"]).argmax(1) == held_out["label"]).float().mean() == 1.0  # other clips' tones
        silent = net(torch.full_like(held_out["audio"], SILENCE_DB))
    assert (silent.argmax(1) == silent.argmax(1)[0]).all()  # silence says nothing about the clip


def test_an_audio_model_on_a_set_without_sound_is_one_line(tiny_stimuli):
    data = StimulusDataModule(tiny_stimuli, kind=KIND, image_size=32, batch_size=4)
    with pytest.raises(BodySceneError, match=r"manifest.csv: no 'audio' column; .*prepare --audio"):
        data.dataset("train")


def test_evaluate_without_sound_gives_the_audio_head_its_silent_input_logits(sound_stimuli, tmp_path):
    train = TrainConfig(epochs=1, batch_size=8, image_size=32, lr=0.01, augment=False)
    model = ModelConfig(kind=KIND, backbone="resnet18")
    train_model(sound_stimuli, tmp_path / "run", model, train, progress=False)
    on = evaluate_run(tmp_path / "run", EvaluateConfig(bootstrap=0), out=tmp_path / "on")
    off = evaluate_run(tmp_path / "run", EvaluateConfig(bootstrap=0, sound=False), out=tmp_path / "off")
    assert on["sound"] is True and off["sound"] is False
    streams_on, streams_off = on["models"][KIND]["streams"], off["models"][KIND]["streams"]
    assert streams_on["body"] == streams_off["body"]  # the visual streams do not hear
    with np.load(tmp_path / "on" / "scores.npz") as z_on, np.load(tmp_path / "off" / "scores.npz") as z_off:
        heard, silent = z_on[f"{KIND}/audio/original"], z_off[f"{KIND}/audio/original"]
        assert not np.allclose(heard, silent)  # the sound reached the audio head
        assert np.allclose(silent, silent[0], atol=1e-5)  # one input, silence, for every stimulus
        module = load_trained(tmp_path / "run" / KIND)
        with torch.no_grad():
            quiet = module.net.streams["audio"](torch.from_numpy(silence(MelConfig()))[None, None])
        assert np.allclose(silent[0], quiet[0].numpy(), atol=1e-4)  # exactly the silent-input logits
        # the fused answer without sound is body + background + the silent audio logits
        fused = z_off[f"{KIND}/body/original"] + z_off[f"{KIND}/background/original"] + silent
        assert np.allclose(z_off[f"{KIND}/combined/original"], fused, atol=1e-4)
    assert {r["head"] for r in read_csv(tmp_path / "on" / "predictions.csv")} >= {"audio", "combined"}


def test_predict_logits_of_an_untrained_audio_model_run_on_the_cpu(sound_stimuli):
    from bodyscene.train.module import ActionModule

    module = ActionModule(ModelConfig(kind=KIND, backbone="resnet18").model_dump(mode="json"),
                          TrainConfig(image_size=32).model_dump(mode="json"), ["wave", "jump", "squat", "kick"]).eval()  # fmt: skip
    data = StimulusDataModule(sound_stimuli, kind=KIND, image_size=32, batch_size=4)
    heads = predict_logits(module, data.loader("test", "original"))
    assert set(heads) == {"body", "background", "audio", "combined"} and heads["audio"].shape == (8, 4)
