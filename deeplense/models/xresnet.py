"""The XResNet hybrid of the DeepLense axion-mass regression: fastai's XResNet with Mish and simple
self-attention, written here so that deeplense does not depend on fastai.

XResNet is the "bag of tricks" ResNet (He et al. 2019) as fastai builds it: a 3-convolution stem
(c_in → 32 → 32 → 64, the first with stride 2), ResNet-D shortcuts (average-pool, then a 1×1
convolution), the last batch-norm γ of every residual branch initialised to zero, Kaiming-normal
initialisation. The "hybrid" adds Mish activations (Misra 2019) and SimpleSelfAttention
(Wu & Peek 2020, the ``sa=True`` option of fastai's ``xresnet``: a spectral-normalised 1×1
convolution and x·xᵀ attention, gated by γ = 0 at initialisation) in the last block of the first
stage, as fastai places it.

References: Wu & Peek (2020), "SimpleSelfAttention", github.com/sdoria/SimpleSelfAttention;
DeepLense axion-mass regression with the XResNet hybrid (ML4Sci GSoC 2021/2022 DeepLense project;
Alexander, Gleyzer et al.), which reported test MAE 0.274 / 0.221 / 0.126 (log10 eV) on Models I/II/III.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from deeplense.models.registry import register_architecture

STAGE_WIDTHS = (64, 128, 256, 512)
DEPTHS = {18: (1, (2, 2, 2, 2)), 34: (1, (3, 4, 6, 3)), 50: (4, (3, 4, 6, 3))}


def conv_layer(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, act: bool = True, zero_bn: bool = False) -> nn.Sequential:
    """fastai's ``ConvLayer``: convolution without bias, batch norm (γ = 0 if ``zero_bn``), Mish."""
    bn = nn.BatchNorm2d(c_out)
    nn.init.constant_(bn.weight, 0.0 if zero_bn else 1.0)
    layers = [nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False), bn]
    return nn.Sequential(*layers, nn.Mish()) if act else nn.Sequential(*layers)


class SimpleSelfAttention(nn.Module):
    """Wu & Peek (2020) / fastai: o = γ · (x xᵀ) · conv(x) + x over flattened positions; ``sym``
    symmetrises the 1×1 convolution's weight."""

    def __init__(self, channels: int, sym: bool = False) -> None:
        super().__init__()
        self.sym = sym
        conv = nn.Conv1d(channels, channels, 1, bias=False)
        nn.init.kaiming_normal_(conv.weight)
        self.conv = nn.utils.parametrizations.spectral_norm(conv)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape
        x = x.flatten(2)
        weight = self.conv.weight.squeeze(-1)
        if self.sym:
            weight = (weight + weight.t()) / 2
        convx = torch.einsum("oc,bcn->bon", weight, x)
        o = torch.bmm(torch.bmm(x, x.transpose(1, 2)), convx)
        return (self.gamma * o + x).view(size)


class ResBlock(nn.Module):
    """fastai's XResNet ``ResBlock``: basic (expansion 1) or bottleneck (4) branch with a zero-γ last
    norm, optional self-attention, and a ResNet-D identity path (average-pool, then 1×1 convolution)."""

    def __init__(self, expansion: int, c_in: int, width: int, stride: int = 1, sa: bool = False, sym: bool = False) -> None:
        super().__init__()
        c_in, c_out = c_in * expansion, width * expansion
        if expansion == 1:
            path = [conv_layer(c_in, width, stride=stride), conv_layer(width, c_out, act=False, zero_bn=True)]
        else:
            path = [
                conv_layer(c_in, width, 1),
                conv_layer(width, width, stride=stride),
                conv_layer(width, c_out, 1, act=False, zero_bn=True),
            ]
        if sa:
            path.append(SimpleSelfAttention(c_out, sym=sym))
        self.convpath = nn.Sequential(*path)
        identity: list[nn.Module] = []
        if stride != 1:
            identity.append(nn.AvgPool2d(stride, ceil_mode=True))
        if c_in != c_out:
            identity.append(conv_layer(c_in, c_out, 1, act=False))
        self.idpath = nn.Sequential(*identity)
        self.act = nn.Mish()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.convpath(x) + self.idpath(x))


class XResNet(nn.Sequential):
    """fastai's ``XResNet`` with Mish and (``sa``) SimpleSelfAttention; ``widen`` scales the stage
    widths (64, 128, 256, 512), ``dropout`` is applied before the linear head."""

    def __init__(
        self, expansion: int, layers: tuple[int, ...], in_chans: int, num_outputs: int,
        widen: float = 1.0, dropout: float = 0.0, sa: bool = True, sym: bool = False,
    ) -> None:  # fmt: skip
        stem_sizes = (in_chans, 32, 32, 64)
        stem = [conv_layer(stem_sizes[i], stem_sizes[i + 1], stride=2 if i == 0 else 1) for i in range(3)]
        widths = [64 // expansion] + [int(w * widen) for w in STAGE_WIDTHS]
        stages = [
            nn.Sequential(*[
                ResBlock(expansion, widths[i] if j == 0 else widths[i + 1], widths[i + 1],
                         stride=(1 if i == 0 else 2) if j == 0 else 1, sa=sa and i == 0 and j == n - 1, sym=sym)
                for j in range(n)
            ])
            for i, n in enumerate(layers)
        ]  # fmt: skip
        super().__init__(
            *stem, nn.MaxPool2d(3, stride=2, padding=1), *stages,
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(widths[-1] * expansion, num_outputs),
        )  # fmt: skip
        for m in self.modules():  # fastai's init_cnn; batch-norm γ were set by conv_layer
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)


def _xresnet(depth: int):
    expansion, layers = DEPTHS[depth]

    def build(in_chans: int, num_outputs: int, img_size: int, widen: float = 1.0, dropout: float = 0.0, sa: bool = True, sym: bool = False) -> XResNet:
        return XResNet(expansion, layers, in_chans, num_outputs, widen=widen, dropout=dropout, sa=sa, sym=sym)

    build.__doc__ = f"XResNet-{depth} hybrid (Mish, self-attention); any image size (global pooling)."
    return build


for _depth in DEPTHS:
    register_architecture(f"xresnet{_depth}_hybrid")(_xresnet(_depth))
