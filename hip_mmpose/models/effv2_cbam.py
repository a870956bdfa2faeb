"""EfficientNetV2 (mmpretrain) with CBAM on three scales, fused top-down for heatmaps."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpretrain.models import EfficientNetV2

from .cbam import CBAM


@MODELS.register_module()
class EfficientNetV2CBAM(BaseModule):
    """EfficientNetV2 + multi-scale CBAM, one fused feature map for ``HeatmapHead``.

    mmpretrain's EfficientNetV2 layers (``layers[i]``; out channels, stride)::

        arch  0      1      2      3       4        5        6        7         8
        b0    32/2   16/2   32/4   48/8    96/16    112/16   192/32   1280/32
        s     24/2   24/2   48/4   64/8    128/16   160/16   256/32   1280/32
        m     24/2   24/2   48/4   80/8    160/16   176/16   304/32   512/32   1280/32
        l     32/2   32/2   64/4   96/8    192/16   224/16   384/32   640/32   1280/32

    Why three strides: the plain-PyTorch template put CBAM on its last three
    stages, which are all stride 32 - one feature cell spans 32 input pixels. A
    heatmap that must place the acetabular roof to about a pixel (one degree of
    acetabular index is one to two pixels there) needs finer features. By default
    CBAM runs on the deepest layer of each of strides 8, 16 and 32 (b0/s: 3, 5, 6;
    m/l: 3, 5, 7; the final 1x1 expansion conv is skipped), and the three maps are
    fused top-down (FPN-style: 1x1 lateral conv, upsample, add, 3x3 smooth) down to
    ``out_stride`` (4 by default, adding the stride-4 layer as an un-attended
    lateral). The template's choice is ``cbam_layers=(-3, -2, -1)``.

    Args:
        arch (str): mmpretrain EfficientNetV2 arch ('b0'-'b3', 's', 'm', 'l',
            'xl'). Defaults to 'b0'.
        cbam_layers (Sequence[int], optional): indices into ``layers`` to attend
            and fuse (negative allowed). Defaults to None (strides 8/16/32 as
            above).
        out_stride (int): stride of the fused output map (4, 8, ... up to the
            finest stride of ``cbam_layers``). Defaults to 4.
        fuse_channels (int): channels of the fused map. Defaults to 128.
        reduction (int): CBAM channel-MLP reduction ratio. Defaults to 16.
        attention (bool): False replaces CBAM by the identity (same fusion, for
            ablations). Defaults to True.
        drop_path_rate (float): stochastic depth of the EfficientNetV2 blocks.
            Defaults to 0.
        frozen_stages (int): EfficientNetV2 stages kept frozen. Defaults to 0.
        norm_cfg (dict): normalisation of the fusion convs. Defaults to
            ``dict(type='BN')``.
        init_cfg (dict, optional): the wrapped EfficientNetV2's initialisation,
            as for any mmpretrain backbone: ``dict(type='Pretrained',
            checkpoint=URL_or_path, prefix='backbone.')`` loads an mmpretrain
            ImageNet classifier (``prefix`` left out: a bare backbone whose keys
            start with ``layers.``). CBAM and fusion layers always start fresh.
            Defaults to None (mmpretrain's Kaiming initialisation, from scratch).

    Returns:
        tuple[torch.Tensor]: from ``forward``, one ``(N, fuse_channels, H /
        out_stride, W / out_stride)`` map.
    """

    def __init__(
        self,
        arch: str = 'b0',
        cbam_layers: Sequence[int] | None = None,
        out_stride: int = 4,
        fuse_channels: int = 128,
        reduction: int = 16,
        attention: bool = True,
        drop_path_rate: float = 0.0,
        frozen_stages: int = 0,
        norm_cfg=dict(type='BN'),  # noqa: B006 (mmpretrain's own default style)
        init_cfg=None,
    ):
        super().__init__(init_cfg=None)
        # MMEngine's initialisers run on the wrapped network (its keys are
        # mmpretrain's); without init_cfg it keeps mmpretrain's own default
        effnet_init = {} if init_cfg is None else dict(init_cfg=init_cfg)
        self.effnet = EfficientNetV2(
            arch=arch, drop_path_rate=drop_path_rate, frozen_stages=frozen_stages, **effnet_init
        )
        channels, strides = self._probe_layers()
        n = len(channels)
        if cbam_layers is None:
            body = range(n - 1)  # skip the final 1x1 expansion conv
            cbam_layers = [max(i for i in body if strides[i] == s) for s in (8, 16, 32)]
        self.cbam_layers = sorted({i % n for i in cbam_layers})
        finest = min(strides[i] for i in self.cbam_layers)
        if out_stride > finest or out_stride not in strides:
            raise ValueError(
                f'out_stride {out_stride} must be a layer stride <= {finest} '
                f'(strides of {arch}: {sorted(set(strides))})'
            )
        # un-attended laterals that bring the fused map down to out_stride
        self.skip_layers = [
            max(i for i in range(n) if strides[i] == s)
            for s in sorted({s for s in strides if out_stride <= s < finest}, reverse=True)
        ]
        self.effnet.out_indices = sorted(set(self.cbam_layers + self.skip_layers))
        # layers past the deepest one used would run for nothing: drop them
        del self.effnet.layers[max(self.effnet.out_indices) + 1 :]
        self.strides, self.out_stride, self.out_channels = strides, out_stride, fuse_channels

        self.cbams = nn.ModuleList(
            CBAM(channels[i], reduction) if attention else nn.Identity() for i in self.cbam_layers
        )
        lateral = lambda c: ConvModule(c, fuse_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        smooth = lambda: ConvModule(
            fuse_channels, fuse_channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=dict(type='ReLU')
        )
        self.cbam_laterals = nn.ModuleList(lateral(channels[i]) for i in self.cbam_layers)
        self.skip_laterals = nn.ModuleList(lateral(channels[i]) for i in self.skip_layers)
        self.smooths = nn.ModuleList(
            smooth() for _ in range(len(self.cbam_layers) - 1 + len(self.skip_layers))
        )

    def _probe_layers(self):
        """Out channels and strides of every layer, from one tiny forward pass."""
        net = self.effnet
        saved_indices, was_training = net.out_indices, net.training
        net.out_indices = list(range(len(net.layers)))
        net.eval()
        with torch.no_grad():
            outs = net(torch.zeros(1, net.in_channels, 64, 64))
        net.out_indices = saved_indices
        net.train(was_training)
        return [o.shape[1] for o in outs], [64 // o.shape[-1] for o in outs]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        """Attend, fuse and return the one feature map.

        Args:
            x (torch.Tensor): images ``(N, 3, H, W)``.

        Returns:
            tuple[torch.Tensor]: ``((N, fuse_channels, H / out_stride,
            W / out_stride),)``.
        """
        feats = dict(zip(self.effnet.out_indices, self.effnet(x)))
        attended = [
            lat(cbam(feats[i]))
            for i, cbam, lat in zip(self.cbam_layers, self.cbams, self.cbam_laterals)
        ]
        laterals = attended[::-1] + [
            lat(feats[i]) for i, lat in zip(self.skip_layers, self.skip_laterals)
        ]
        fused = laterals[0]  # coarsest
        for finer, smooth in zip(laterals[1:], self.smooths):
            fused = smooth(
                finer
                + F.interpolate(fused, size=finer.shape[-2:], mode='bilinear', align_corners=False)
            )
        return (fused,)
