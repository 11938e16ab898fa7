"""A neural posterior estimator (NPE) for images: any registered architecture as the embedding
network, followed by one of sbi's conditional density estimators (a masked autoregressive flow
by default, as in sbi) of the standardised targets given the embedding.

The embedding is kept outside sbi's estimator (identity embedding there) so that an image is
embedded once per batch, however many parameter values are scored (a grid of a population's
parameter, thousands of posterior draws); sbi's ``loss``, ``sample`` and ``log_prob`` do the rest.
Training runs in deeplense's streaming trainer: sbi's ``append_simulations`` would hold every
image in memory."""

from __future__ import annotations

import threading
import warnings
import zlib
from typing import Any

import numpy as np
import torch
from torch import nn

# Held while a thread seeds and draws from torch's global generator (draws_in_support).
_GLOBAL_GENERATOR = threading.Lock()

ESTIMATORS = ("maf", "nsf", "mdn")  # sbi's posterior_nn models offered here (affine flow, spline flow, Gaussian mixture)


class PosteriorNetwork(nn.Module):
    """Embedding network + sbi conditional density estimator q(z | embedding(x)) on standardised
    targets z. ``forward`` returns the embedding (what the architecture check probes)."""

    def __init__(self, embedding: nn.Module, estimator: nn.Module) -> None:
        super().__init__()
        self.embedding = embedding
        self.estimator = estimator

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.embedding(images)

    def loss(self, z: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """Mean negative log density of the standardised targets ``z`` (b, t): the NPE objective."""
        features = self.embedding(images).float()
        return self.estimator.loss(z.float(), condition=features).mean()

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(b, features) embedding of each image: what the estimator is conditioned on."""
        return self.embedding(images).float()

    def sample_given(self, features: torch.Tensor, n_draws: int) -> torch.Tensor:
        """(b, n_draws, t) draws of standardised targets given embedded images."""
        return self.estimator.sample((n_draws,), condition=features).transpose(0, 1)

    def sample(self, images: torch.Tensor, n_draws: int) -> torch.Tensor:
        """(b, n_draws, t) draws of standardised targets for each image."""
        return self.sample_given(self.embed(images), n_draws)

    def log_prob(self, z: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """(g, b) log densities of ``z`` (g, b, t) (g values per image), the images embedded once."""
        features = self.embedding(images).float()
        return self.estimator.log_prob(z.float(), condition=features)


def build_posterior_network(embedding: nn.Module, n_targets: int, embedding_features: int, settings: dict[str, Any]) -> PosteriorNetwork:
    """``embedding`` (giving ``embedding_features`` per image) followed by the sbi estimator that
    ``settings`` names (``estimator``, ``hidden_features``, ``num_transforms``, ``num_components``)
    for ``n_targets`` standardised targets. No z-scoring inside sbi: targets arrive standardised
    by the task, embeddings are learnt."""
    from sbi.neural_nets import posterior_nn

    kind = settings["estimator"]
    if kind not in ESTIMATORS:
        raise ValueError(f"posterior estimator {kind!r} unknown; allowed: {', '.join(ESTIMATORS)}")
    build = posterior_nn(
        model=kind, z_score_theta="none", z_score_x="none", hidden_features=settings["hidden_features"],
        num_transforms=settings["num_transforms"], num_components=settings["num_components"],
    )
    # sbi infers the shapes from one batch of each; zeros draw nothing from the random stream. Its
    # warning that a one-target maf is a Gaussian is said once, in the config's documentation.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="In one-dimensional output space")
        estimator = build(torch.zeros(2, n_targets), torch.zeros(2, embedding_features))
    return PosteriorNetwork(embedding, estimator)


def batch_seed(images: torch.Tensor, base: int = 0) -> int:
    """A seed from a batch's pixels: the same images, batched the same way, get the same draws in
    evaluation, ``deeplense predict`` and ``load_model(...).posterior``, whatever process runs them."""
    data = np.ascontiguousarray(images.detach().float().cpu().numpy()).tobytes()
    return zlib.crc32(data, base) & 0x7FFFFFFF


def draws_in_support(network: PosteriorNetwork, images: torch.Tensor, n_draws: int, low: np.ndarray, high: np.ndarray,
                     *, seed: int, max_rounds: int = 20) -> tuple[np.ndarray, float]:
    """(b, n_draws, t) standardised draws inside the prior's support [low, high] (standardised),
    by rejection as sbi's DirectPosterior does; and the fraction of draws the estimator put outside
    it (its leakage). Images whose draws stay outside after ``max_rounds`` keep clipped draws."""
    features = network.embed(images)  # once: rejection rounds draw again, they do not embed again
    # sbi's flows draw from torch's global generator: seeding it is safe in one thread only, and
    # `deeplense predict` runs blocks on several threads of one process, so one draws at a time.
    with _GLOBAL_GENERATOR, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        kept: list[list[np.ndarray]] = [[] for _ in range(images.shape[0])]
        drawn = rejected = 0
        n_round = n_draws
        for _ in range(max_rounds):
            have = np.array([sum(len(p) for p in parts) for parts in kept])
            missing = np.flatnonzero(have < n_draws).tolist()
            if not missing:
                break
            if drawn:  # later rounds draw what is missing, at the acceptance seen so far, with a margin
                accepted = max(1.0 - rejected / drawn, 0.05)
                n_round = min(n_draws, int(np.ceil(1.2 * (n_draws - have[missing].min()) / accepted)) + 1)
            z = network.sample_given(features[missing], n_round).cpu().double().numpy()
            inside = ((z >= low) & (z <= high)).all(axis=-1)
            drawn += inside.size
            rejected += int((~inside).sum())
            for row, i in enumerate(missing):
                kept[i].append(z[row][inside[row]])
        out = np.empty((images.shape[0], n_draws, len(low)))
        for i, parts in enumerate(kept):
            values = np.concatenate(parts) if parts else np.empty((0, len(low)))
            if len(values) < n_draws:  # never reached in practice; kept finite and inside the prior
                extra = network.sample_given(features[i:i + 1], n_draws).cpu().double().numpy()[0]
                values = np.concatenate([values, np.clip(extra, low, high)])
            out[i] = values[:n_draws]
    return out, rejected / max(drawn, 1)
