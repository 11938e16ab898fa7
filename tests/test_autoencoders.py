"""Autoencoders for anomaly detection: shapes at both dataset sizes, learning, a physics-flavoured
anomaly check (smooth blobs vs blobs with point sources) and the AAE's one-step gradient routing."""

from __future__ import annotations

import pytest
import torch

from deeplense.models import AnomalyModel, create_model
from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)

NAMES = ["conv_ae", "vae", "aae"]



def blobs(n: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """Smooth elliptical Gaussian light profiles at random centres, widths and brightnesses."""
    grid = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    y, x = torch.meshgrid(grid, grid, indexing="ij")
    centre = (torch.rand(n, 2, generator=generator) - 0.5) * size * 0.3
    sigma = size * (0.12 + 0.1 * torch.rand(n, 2, generator=generator))
    amp = 1.0 + torch.rand(n, generator=generator)
    dx = (x - centre[:, 0, None, None]) / sigma[:, 0, None, None]
    dy = (y - centre[:, 1, None, None]) / sigma[:, 1, None, None]
    return (amp[:, None, None] * torch.exp(-0.5 * (dx**2 + dy**2)))[:, None]


def with_point_sources(images: torch.Tensor, generator: torch.Generator, count: int = 5) -> torch.Tensor:
    """The same images plus a few bright single-pixel sources (unlike anything seen in training)."""
    out = images.clone()
    n, _, h, w = out.shape
    for i in range(n):
        rows = torch.randint(4, h - 4, (count,), generator=generator)
        cols = torch.randint(4, w - 4, (count,), generator=generator)
        out[i, 0, rows, cols] += 2.0
    return out


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [64, 150])
def test_reconstruction_has_the_input_shape(name, size):
    model = create_model(name, in_chans=2, num_outputs=3, img_size=size, latent_dim=8, widths=[4, 8, 8])
    assert isinstance(model, AnomalyModel)
    x = torch.randn(2, 2, size, size)
    assert model(x).shape == x.shape
    assert model.objective(x).shape == ()
    model.eval()
    with torch.no_grad():
        scores = model.anomaly_score(x)
        assert scores.shape == (2,)
        torch.testing.assert_close(model.anomaly_score(x), scores)  # deterministic in eval mode


@pytest.mark.parametrize("name", NAMES)
def test_trained_on_blobs_flags_point_sources(name):
    """Training lowers the objective and halves the training images' scores (a real learning check;
    the AAE's objective also holds the adversarial game's terms, which need not fall), and the
    scores of unseen blobs with point sources exceed those of unseen plain blobs (AUC ≥ 0.85; an
    untrained model scores ≈ 0.59, as the added light is never reconstructed exactly)."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    train = blobs(32, 32, g)
    model = create_model(name, in_chans=1, num_outputs=1, img_size=32, latent_dim=8, widths=[8, 16, 16])
    with torch.no_grad():
        untrained = model.eval().anomaly_score(train).mean()
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))  # GAN-style, for the AAE
    losses = []
    for step in range(200):
        batch = train[(step * 8) % 32 : (step * 8) % 32 + 8]
        loss = model.objective(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) < sum(losses[:10])
    normal = blobs(32, 32, g)
    anomalous = with_point_sources(normal, g)
    model.eval()
    with torch.no_grad():
        assert model.anomaly_score(train).mean() < 0.5 * untrained
        s_normal, s_anomalous = model.anomaly_score(normal), model.anomaly_score(anomalous)
    auc = (s_anomalous[:, None] > s_normal[None, :]).float().mean()
    assert auc >= 0.85, f"{name}: AUC {auc:.3f}"


def test_aae_one_backward_routes_each_loss_to_its_part():
    """The discriminator's gradient is that of its own loss only; the encoder's is that of the
    reconstruction and generator terms only; the decoder sees only the reconstruction."""
    torch.manual_seed(0)
    model = create_model("aae", in_chans=1, num_outputs=1, img_size=32, latent_dim=4, widths=[4, 8], adv_weight=0.7)
    x, prior = torch.randn(4, 1, 32, 32), torch.randn(4, 4)
    terms = model.losses(x, prior=prior)
    disc, enc, dec = list(model.discriminator.parameters()), list(model.encoder.parameters()), list(model.decoder.parameters())

    def grads(loss, params):
        return [g if g is not None else torch.zeros_like(p) for g, p in zip(torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True), params)]

    total = terms["reconstruction"] + 0.7 * terms["generator"] + terms["discriminator"]
    for got, want in zip(grads(total, disc), grads(terms["discriminator"], disc)):
        torch.testing.assert_close(got, want)
    for got, want in zip(grads(total, enc), grads(terms["reconstruction"] + 0.7 * terms["generator"], enc)):
        torch.testing.assert_close(got, want)
    assert all(g.abs().sum() == 0 for g in grads(terms["generator"], disc))
    assert any(g.abs().sum() > 0 for g in grads(terms["generator"], enc))
    assert all(g.abs().sum() == 0 for g in grads(terms["discriminator"], enc + dec))
    model.objective(x).backward()  # the training path: every part gets a gradient from one call
    assert all(p.grad is not None for p in disc + enc + dec)


def test_vae_objective_is_the_documented_negative_elbo():
    torch.manual_seed(0)
    model = create_model("vae", in_chans=1, num_outputs=1, img_size=16, latent_dim=3, widths=[4], beta=2.0).eval()
    x = torch.randn(2, 1, 16, 16)
    mu, logvar = model.posterior(x)
    reconstruction = 0.5 * (model.decode(mu) - x).square().sum(dim=(1, 2, 3))
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)
    torch.testing.assert_close(model.anomaly_score(x), (reconstruction + 2.0 * kl) / 256)
    torch.testing.assert_close(model.objective(x), ((reconstruction + 2.0 * kl) / 256).mean())


@pytest.mark.parametrize("name", NAMES)
def test_validation_loss_is_the_mean_anomaly_score(name):
    """Checkpoints are chosen by how well normal images score, not by the training objective: for the
    AAE the two differ (its objective holds the discriminator's loss), for the others they agree."""
    from deeplense.tasks import TASKS

    torch.manual_seed(0)
    task = TASKS.get("anomaly")(["no_sub", "cdm"], normal_class="no_sub")
    model = create_model(name, in_chans=1, num_outputs=0, img_size=32).eval()
    images = blobs(6, 32, torch.Generator().manual_seed(1))
    with torch.no_grad():
        loss, preds = task.loss_and_predictions(model, images, torch.zeros(6, dtype=torch.long))
        reconstruction = torch.nn.functional.mse_loss(model(images), images)
        objective = model.objective(images)
    assert float(loss) == pytest.approx(float(preds["score"].mean()), rel=1e-6)
    if name == "aae":
        assert float(loss) == pytest.approx(float(reconstruction), rel=1e-5)
        assert float(objective) > float(loss) + 1.0  # the discriminator's ≈ 2·ln 2 is not in it
    else:
        assert float(loss) == pytest.approx(float(objective), rel=1e-5)
