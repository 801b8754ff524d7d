"""Backbones built by name from torchvision, with a classifier head for our classes.

Weights are never downloaded: random init by default, or a local torchvision state dict (`pretrained=PATH`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torchvision import models as tvm

from bodyscene.errors import BodySceneError
from bodyscene.models.vit import vit_b_16, vit_tiny

# the torchvision backbones' input normalisation (train/module.py applies it on the device)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# name -> (constructor, attribute path of the classifier head)
BACKBONES: dict[str, tuple[Callable[..., nn.Module], str]] = {
    "resnet18": (tvm.resnet18, "fc"),
    "resnet34": (tvm.resnet34, "fc"),
    "resnet50": (tvm.resnet50, "fc"),
    # Vision transformers (models/vit.py): torchvision's ViT-B/16, and a DeiT-Ti-sized one with 8 px patches at
    # 64 px for CPU runs. Both accept any input size that is a multiple of the patch size.
    "vit_b_16": (vit_b_16, "heads.head"),
    "vit_tiny": (vit_tiny, "heads.head"),
}


def _head_name(name: str) -> str:
    return BACKBONES[name][1]


def _replace_head(model: nn.Module, head: str, num_classes: int) -> None:
    parent_path, _, attr = head.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    old = getattr(parent, attr)
    setattr(parent, attr, nn.Linear(old.in_features, num_classes))


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from .pth/.pt (torch.load with weights_only=True: no pickled code runs) or .safetensors."""
    path = Path(path)
    if not path.is_file():
        raise BodySceneError(
            f"{path}: weights file not found; download the torchvision weights on a machine with internet "
            "(e.g. resnet50-11ad3fa6.pth) and pass its local path to --pretrained"
        )
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure to parse is the same user error
        raise BodySceneError(f"{path}: not a loadable weights file ({type(e).__name__}); pass a state dict") from e
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BodySceneError(f"{path}: not a state dict (name -> tensor); save model.state_dict()")
    return state


def create_backbone(name: str, num_classes: int, pretrained: str | Path | None = None) -> nn.Module:
    """A torchvision classifier by name; `pretrained` loads local weights, then the head is replaced."""
    if name not in BACKBONES:
        raise BodySceneError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    constructor, head = BACKBONES[name]
    model = constructor(weights=None)
    if pretrained is not None:
        state = load_state_dict_file(pretrained)
        head_prefix = head + "."
        body = {k: v for k, v in state.items() if not k.startswith(head_prefix)}
        expected = model.state_dict()
        missing = [k for k in expected if k not in body and not k.startswith(head_prefix)]
        unexpected = [k for k in body if k not in expected or body[k].shape != expected[k].shape]
        if missing or unexpected:
            raise BodySceneError(
                f"{pretrained}: weights do not match {name} ({len(missing)} missing, {len(unexpected)} unexpected keys,"
                f" e.g. {(missing + unexpected)[0]!r}); pass weights for {name}"
            )
        model.load_state_dict(body, strict=False)
    _replace_head(model, head, num_classes)
    return model
