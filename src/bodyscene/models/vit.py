"""Vision transformers for the backbone experiment: torchvision's ViT, taking any input size.

torchvision's `VisionTransformer` only accepts the image size it was built for. Ours resamples the learned position
embeddings to the input's patch grid (bicubic, as Dosovitskiy et al. 2021, sec. 3.2, do when fine-tuning at another
resolution), so one model runs at the 32 px of the tests, the 64 px of the demo and the 224 px of the paper, and its
state dict stays torchvision's (local `vit_b_16` weights load unchanged).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.models.vision_transformer import VisionTransformer


class AnySizeViT(VisionTransformer):
    def position_embedding(self, n_h: int, n_w: int) -> torch.Tensor:
        pos = self.encoder.pos_embedding  # 1 x (1 + g*g) x D, g = image_size // patch_size
        g = self.image_size // self.patch_size
        if (n_h, n_w) == (g, g):
            return pos
        grid = pos[:, 1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(n_h, n_w), mode="bicubic", align_corners=False)
        return torch.cat([pos[:, :1], grid.flatten(2).transpose(1, 2)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        p = self.patch_size
        if h % p or w % p:
            raise ValueError(f"input size {h}x{w} is not a multiple of the patch size {p}")
        x = self.conv_proj(x).flatten(2).transpose(1, 2)  # N x (h/p * w/p) x D
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = x + self.position_embedding(h // p, w // p)
        x = self.encoder.ln(self.encoder.layers(self.encoder.dropout(x)))
        return self.heads(x[:, 0])  # the class token


def vit_b_16(weights: None = None, **kwargs) -> AnySizeViT:
    """ViT-B/16 (Dosovitskiy et al. 2021): 12 layers, 12 heads, width 768; torchvision's layout at 224 px."""
    return AnySizeViT(
        image_size=224, patch_size=16, num_layers=12, num_heads=12, hidden_dim=768, mlp_dim=3072, **kwargs
    )


def vit_tiny(weights: None = None, **kwargs) -> AnySizeViT:
    """DeiT-Ti's shape (Touvron et al. 2021: 12 layers, 3 heads, width 192) with 8 px patches at 64 px, for CPUs."""
    return AnySizeViT(image_size=64, patch_size=8, num_layers=12, num_heads=3, hidden_dim=192, mlp_dim=768, **kwargs)
