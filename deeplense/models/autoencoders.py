"""Autoencoders for anomaly detection (train on one class, e.g. no_sub; flag what reconstructs badly):
a convolutional autoencoder, a variational autoencoder and an adversarial autoencoder.

All share :class:`AnomalyModel`: ``forward(x)`` is the reconstruction, ``objective(x)`` the scalar
training loss of a batch (one optimiser step trains every part), ``anomaly_score(x)`` one score
per image, higher for images unlike the training set; ``num_outputs`` is ignored.

Images of any size work: the encoder pads them symmetrically (zeros) to a multiple of 2^depth
(150 → 152 for three stride-2 levels) and the reconstruction is cropped back.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from deeplense.models.registry import register_architecture


def _down(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True))


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True))


class AnomalyModel(nn.Module):
    """Convolutional encoder to ``code_dim`` numbers and decoder from ``latent_dim``; subclasses
    define the objective and the score."""

    def __init__(self, in_chans: int, img_size: int, latent_dim: int, widths: Sequence[int], code_dim: int | None = None) -> None:
        super().__init__()
        if not widths or latent_dim < 1:
            raise ValueError(f"{type(self).__name__}: need at least one width and latent_dim ≥ 1 (got {list(widths)}, {latent_dim})")
        step = 2 ** len(widths)
        self.img_size = img_size
        self.padded = -(-img_size // step) * step
        self.bottom = (widths[-1], self.padded // step, self.padded // step)
        flat = widths[-1] * self.bottom[1] * self.bottom[2]
        chans = [in_chans, *widths]
        self.encoder = nn.Sequential(*[_down(a, b) for a, b in zip(chans[:-1], chans[1:])], nn.Flatten(), nn.Linear(flat, code_dim or latent_dim))
        self.decoder_input = nn.Linear(latent_dim, flat)
        ups = [_up(a, b) for a, b in zip(chans[:1:-1], chans[-2:0:-1])]
        self.decoder = nn.Sequential(*ups, nn.ConvTranspose2d(chans[1], in_chans, 4, stride=2, padding=1))

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        extra = self.padded - x.shape[-1]
        return F.pad(x, (extra // 2, extra - extra // 2, extra // 2, extra - extra // 2)) if extra else x

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's output (the latent code, or the VAE's mean and log-variance)."""
        return self.encoder(self._pad(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images of the input's size from latent codes."""
        out = self.decoder(self.decoder_input(z).view(-1, *self.bottom))
        lo = (self.padded - self.img_size) // 2
        return out[..., lo : lo + self.img_size, lo : lo + self.img_size]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def objective(self, x: torch.Tensor) -> torch.Tensor:
        """Mean-squared reconstruction error of the batch."""
        return F.mse_loss(self(x), x)

    def anomaly_score(self, x: torch.Tensor) -> torch.Tensor:
        """Per-image mean-squared reconstruction error, shape (batch,)."""
        return (self(x) - x).square().flatten(1).mean(1)


class ConvAutoencoder(AnomalyModel):
    """Plain convolutional autoencoder: MSE objective, reconstruction error as the score."""

    def __init__(self, in_chans: int, img_size: int, latent_dim: int = 32, widths: Sequence[int] = (32, 64, 128)) -> None:
        super().__init__(in_chans, img_size, latent_dim, widths)


class VariationalAutoencoder(AnomalyModel):
    """VAE with a unit-variance Gaussian decoder. ``objective`` is the negative ELBO per pixel:
    mean over the batch of (½‖x − x̂‖² + β·KL(q(z|x) ‖ N(0, I))) / pixels, constants dropped, with
    one reparameterised sample in training mode. ``anomaly_score`` is the same negative ELBO per
    image, evaluated at the mean latent (deterministic in any mode)."""

    def __init__(self, in_chans: int, img_size: int, latent_dim: int = 32, widths: Sequence[int] = (32, 64, 128), beta: float = 1.0) -> None:
        super().__init__(in_chans, img_size, latent_dim, widths, code_dim=2 * latent_dim)
        self.beta = beta

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x)."""
        mu, logvar = self.encode(x).chunk(2, dim=1)
        return mu, logvar.clamp(-20.0, 10.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.posterior(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return self.decode(z)

    def _negative_elbo(self, x: torch.Tensor, sample: bool) -> torch.Tensor:
        mu, logvar = self.posterior(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if sample else mu
        reconstruction = 0.5 * (self.decode(z) - x).square().flatten(1).sum(1)
        kl = 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(1)
        return (reconstruction + self.beta * kl) / x[0].numel()

    def objective(self, x: torch.Tensor) -> torch.Tensor:
        return self._negative_elbo(x, sample=self.training).mean()

    def anomaly_score(self, x: torch.Tensor) -> torch.Tensor:
        return self._negative_elbo(x, sample=False)


class AdversarialAutoencoder(AnomalyModel):
    """AAE (Makhzani et al. 2015): an autoencoder whose codes a discriminator pushes toward the prior
    N(0, I). ``objective`` = MSE + ``adv_weight``·(encoder's generator loss) + discriminator loss,
    arranged so that ONE backward pass trains every part correctly: the discriminator sees detached
    codes (its loss does not reach the encoder), and the generator term runs the discriminator with
    detached parameters through ``torch.func.functional_call`` (it does not reach the discriminator)."""

    def __init__(
        self, in_chans: int, img_size: int, latent_dim: int = 32, widths: Sequence[int] = (32, 64, 128), adv_weight: float = 1.0, disc_hidden: int = 64
    ) -> None:  # fmt: skip
        super().__init__(in_chans, img_size, latent_dim, widths)
        self.adv_weight = adv_weight
        self.discriminator = nn.Sequential(
            nn.Linear(latent_dim, disc_hidden), nn.LeakyReLU(0.2), nn.Linear(disc_hidden, disc_hidden), nn.LeakyReLU(0.2), nn.Linear(disc_hidden, 1)
        )

    def losses(self, x: torch.Tensor, prior: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The three terms: reconstruction, generator (encoder fools the discriminator),
        discriminator (prior samples ``prior`` vs codes); ``prior`` defaults to fresh N(0, I) draws."""
        z = self.encode(x)
        prior = torch.randn_like(z) if prior is None else prior
        frozen = {name: p.detach() for name, p in self.discriminator.named_parameters()}
        fooled = functional_call(self.discriminator, frozen, (z,))
        real, fake = self.discriminator(prior), self.discriminator(z.detach())
        bce = F.binary_cross_entropy_with_logits
        return {
            "reconstruction": F.mse_loss(self.decode(z), x),
            "generator": bce(fooled, torch.ones_like(fooled)),
            "discriminator": bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake)),
        }

    def objective(self, x: torch.Tensor) -> torch.Tensor:
        terms = self.losses(x)
        return terms["reconstruction"] + self.adv_weight * terms["generator"] + terms["discriminator"]


@register_architecture("conv_ae")
def conv_ae(in_chans: int, num_outputs: int, img_size: int, latent_dim: int = 32, widths: Sequence[int] = (32, 64, 128)) -> ConvAutoencoder:
    """Convolutional autoencoder (``num_outputs`` is ignored)."""
    return ConvAutoencoder(in_chans, img_size, latent_dim, widths)


@register_architecture("vae")
def vae(in_chans: int, num_outputs: int, img_size: int, latent_dim: int = 32, widths: Sequence[int] = (32, 64, 128), beta: float = 1.0) -> VariationalAutoencoder:
    """Variational autoencoder (``num_outputs`` is ignored)."""
    return VariationalAutoencoder(in_chans, img_size, latent_dim, widths, beta)


@register_architecture("aae")
def aae(
    in_chans: int, num_outputs: int, img_size: int, latent_dim: int = 32, widths: Sequence[int] = (32, 64, 128), adv_weight: float = 1.0, disc_hidden: int = 64
) -> AdversarialAutoencoder:  # fmt: skip
    """Adversarial autoencoder (``num_outputs`` is ignored)."""
    return AdversarialAutoencoder(in_chans, img_size, latent_dim, widths, adv_weight, disc_hidden)
