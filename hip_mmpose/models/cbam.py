"""CBAM: Convolutional Block Attention Module (Woo et al., ECCV 2018)."""
from __future__ import annotations

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpose.registry import MODELS


class ChannelAttention(nn.Module):
    """Average- and max-pooled descriptors through one shared MLP, summed, sigmoid."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(x.mean(dim=(2, 3), keepdim=True))
        mx = self.mlp(x.amax(dim=(2, 3), keepdim=True))
        return torch.sigmoid(avg + mx)  # (B, C, 1, 1)


class SpatialAttention(nn.Module):
    """A k x k conv over the channel-wise average and max maps, sigmoid."""

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}')
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], 1)
        return torch.sigmoid(self.conv(pooled))  # (B, 1, H, W)


@MODELS.register_module()
class CBAM(BaseModule):
    """Channel attention, then spatial attention, each multiplied onto the features.

    Args:
        channels: input (and output) channels.
        reduction: hidden width of the channel MLP is ``channels // reduction``.
        spatial_kernel: kernel of the spatial attention conv (7 in the paper).
    """

    def __init__(self, channels: int, reduction: int = 16, spatial_kernel: int = 7,
                 init_cfg=None):
        super().__init__(init_cfg)
        self.channel_attention = ChannelAttention(channels, reduction)
        self.spatial_attention = SpatialAttention(spatial_kernel)

    def forward(self, x: torch.Tensor, return_maps: bool = False):
        channel_map = self.channel_attention(x)
        x = x * channel_map
        spatial_map = self.spatial_attention(x)
        x = x * spatial_map
        return (x, channel_map, spatial_map) if return_maps else x
