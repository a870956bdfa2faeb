"""CBAM: Convolutional Block Attention Module (Woo et al., ECCV 2018)."""

from __future__ import annotations

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpose.registry import MODELS


class ChannelAttention(nn.Module):
    """Average- and max-pooled descriptors through one shared MLP, summed, sigmoid.

    Args:
        channels (int): input channels (and the MLP's output width).
        reduction (int): the MLP's hidden width is ``channels // reduction``
            (at least 1). Defaults to 16.
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Compute the channel attention map.

        Args:
            x (torch.Tensor): features ``(B, C, H, W)``.

        Returns:
            torch.Tensor: weights in (0, 1), ``(B, C, 1, 1)``.
        """
        avg = self.mlp(x.mean(dim=(2, 3), keepdim=True))
        mx = self.mlp(x.amax(dim=(2, 3), keepdim=True))
        return torch.sigmoid(avg + mx)  # (B, C, 1, 1)


class SpatialAttention(nn.Module):
    """A k x k conv over the channel-wise average and max maps, sigmoid.

    Args:
        kernel_size (int): the conv's kernel size (odd; 'same' padding).
            Defaults to 7.
    """

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}')
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Compute the spatial attention map.

        Args:
            x (torch.Tensor): features ``(B, C, H, W)``.

        Returns:
            torch.Tensor: weights in (0, 1), ``(B, 1, H, W)``.
        """
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], 1)
        return torch.sigmoid(self.conv(pooled))  # (B, 1, H, W)


@MODELS.register_module()
class CBAM(BaseModule):
    """Channel attention, then spatial attention, each multiplied onto the features.

    Args:
        channels (int): input (and output) channels.
        reduction (int): hidden width of the channel MLP is
            ``channels // reduction``. Defaults to 16.
        spatial_kernel (int): kernel of the spatial attention conv (odd). Defaults
            to 7, as in the paper.
        init_cfg (dict | list[dict], optional): MMEngine initialisation config.
            Defaults to None.
    """

    def __init__(self, channels: int, reduction: int = 16, spatial_kernel: int = 7, init_cfg=None):
        super().__init__(init_cfg)
        self.channel_attention = ChannelAttention(channels, reduction)
        self.spatial_attention = SpatialAttention(spatial_kernel)

    def forward(self, x: torch.Tensor, return_maps: bool = False):
        """Reweight the features by channel, then by position.

        Args:
            x (torch.Tensor): features ``(B, C, H, W)``.
            return_maps (bool): also return the two attention maps. Defaults to
                False.

        Returns:
            torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]: the
            attended features ``(B, C, H, W)``; with ``return_maps``, also the
            channel map ``(B, C, 1, 1)`` and the spatial map ``(B, 1, H, W)``.
        """
        channel_map = self.channel_attention(x)
        x = x * channel_map
        spatial_map = self.spatial_attention(x)
        x = x * spatial_map
        return (x, channel_map, spatial_map) if return_maps else x
