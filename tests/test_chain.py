"""The Langevin chain (chain/): MagNet as its one-step case, fresh noise, votes, the schedule, refused settings."""
import pytest
import torch

from malade_export.chain import load_defense
from malade_export.errors import MaladeError
from malade_export.schedule import DEFAULT_SCHEDULE, Schedule


def test_magnet_special_case_is_one_reconstruction(tiny_checkpoints):
    loaded = load_defense(tiny_checkpoints["classifier"], tiny_checkpoints["dae"], magnet=True)
    chain, x = loaded.defense, torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        out = chain(x)
        recon = loaded.dae.model(x)
        torch.testing.assert_close(out.purified, recon, atol=1e-6, rtol=0)
        torch.testing.assert_close(out.logits, loaded.classifier.model(recon), atol=1e-5, rtol=0)
        torch.testing.assert_close(out.score, (recon - x).flatten(1).norm(dim=1))


def test_chain_is_random_by_default_and_fixed_with_noise(tiny_checkpoints):
    chain = load_defense(tiny_checkpoints["classifier"], tiny_checkpoints["sdae"], steps=4).defense
    x = torch.rand(3, 1, 28, 28)
    noise = torch.randn(chain.noise_shape(3))
    with torch.no_grad():
        assert not torch.equal(chain(x).purified, chain(x).purified)
        torch.testing.assert_close(chain(x, noise).purified, chain(x, noise).purified, atol=0, rtol=0)
        assert chain(x, noise).purified.min() >= 0 and chain(x, noise).purified.max() <= 1


def test_votes_average_probabilities(tiny_checkpoints):
    chain = load_defense(tiny_checkpoints["classifier"], tiny_checkpoints["sdae"], steps=2, votes=3).defense
    out = chain(torch.rand(4, 1, 28, 28))
    assert out.logits.shape == (4, 10) and out.purified.shape == (4, 1, 28, 28)
    torch.testing.assert_close(out.logits.exp().sum(1), torch.ones(4))


def test_schedule_anneals_to_floor_and_parses():
    assert DEFAULT_SCHEDULE.alphas(10)[0] == pytest.approx(DEFAULT_SCHEDULE.alpha0)
    assert DEFAULT_SCHEDULE.alphas(10)[-1] == pytest.approx(DEFAULT_SCHEDULE.alpha_min)
    alphas = Schedule(0.09, 0.009, 0, 0).alphas(3)
    assert alphas == pytest.approx([0.09, 0.09 * 0.1**0.5, 0.009])  # geometric interpolation
    deltas = DEFAULT_SCHEDULE.deltas(5)
    assert all(a > b for a, b in zip(deltas, deltas[1:], strict=False))
    parsed = Schedule.parse("delta0=0.2, decay=linear")
    assert parsed.delta0 == 0.2 and parsed.alpha0 == DEFAULT_SCHEDULE.alpha0
    assert parsed.deltas(3) == pytest.approx([0.2, (0.2 + DEFAULT_SCHEDULE.delta_min) / 2, DEFAULT_SCHEDULE.delta_min])
    with pytest.raises(MaladeError, match="bad schedule item"):
        Schedule.parse("gamma=1")


@pytest.mark.parametrize("steps", [0, -3, 100000])
def test_bad_step_counts_are_refused(tiny_checkpoints, steps):
    with pytest.raises(MaladeError, match="steps must be between"):
        load_defense(tiny_checkpoints["classifier"], tiny_checkpoints["sdae"], steps=steps)


def test_schedule_moves_with_sigma_and_a_recorded_one_wins(tiny_checkpoints, tmp_path):
    """A sigma-0.1 denoiser under the sigma-0.3 default would diverge (refused); its own default keeps the drift."""
    from malade_export.checkpoint import load_checkpoint, save_checkpoint
    from malade_export.schedule import default_schedule

    scaled = DEFAULT_SCHEDULE.scaled_to(0.1)
    assert scaled.alpha0 / 0.1**2 == pytest.approx(DEFAULT_SCHEDULE.alpha0 / 0.3**2)
    assert scaled.delta0 == pytest.approx(DEFAULT_SCHEDULE.delta0 / 3)
    assert DEFAULT_SCHEDULE.scaled_to(0.3) == DEFAULT_SCHEDULE
    sdae = load_checkpoint(tiny_checkpoints["sdae"], "sdae")
    low = save_checkpoint(sdae.model, {**sdae.config, "sigma": 0.1}, tmp_path / "low")
    with pytest.raises(MaladeError, match="diverge"):
        load_defense(tiny_checkpoints["classifier"], low, schedule=DEFAULT_SCHEDULE)
    assert load_defense(tiny_checkpoints["classifier"], low).defense.schedule == scaled
    tuned = {"alpha0": 0.004, "alpha_min": 0.002, "delta0": 0.01, "delta_min": 0.001, "decay": "linear"}
    recorded = save_checkpoint(sdae.model, {**sdae.config, "sigma": 0.1, "schedule": tuned}, tmp_path / "tuned")
    assert load_defense(tiny_checkpoints["classifier"], recorded).defense.schedule == Schedule(**tuned)
    with pytest.raises(MaladeError, match="schedule"):
        default_schedule(0.1, {"schedule": {**tuned, "alpha0": 5.0}})
