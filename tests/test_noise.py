import numpy as np
import pytest
import torch

from malade_export.noise import fresh_seeds, seeded_noise
from malade_export.noise.torch_ops import seeded_noise_torch

SEEDS = [0, 1, 2**62 - 1, 123456789012345, 7]


def test_numpy_and_torch_twins_are_bit_identical():
    host = seeded_noise(SEEDS, 10, (1, 28, 28), votes=2)
    graph = seeded_noise_torch(torch.tensor(SEEDS), 10, (1, 28, 28), votes=2).numpy()
    assert host.shape == (10, 10, 1, 28, 28)
    np.testing.assert_array_equal(host.view(np.uint32), graph.view(np.uint32))


def test_sample_noise_does_not_depend_on_batch():
    seeds = np.arange(64) * 7919 + 3
    batch = seeded_noise(seeds, 4, (1, 8, 8))
    for i in (0, 17, 63):
        np.testing.assert_array_equal(seeded_noise(seeds[i: i + 1], 4, (1, 8, 8))[:, 0], batch[:, i])


def test_uniform_bits_are_splitmix64s_outputs():
    """Checked against the reference algorithm (Vigna's splitmix64.c) in plain Python integers."""
    from malade_export.noise.gaussian import UNIFORM_BITS, _uniform_bits
    from malade_export.noise.numpy_ops import NumpyOps

    def splitmix64(seed, count):
        state, mask = seed % 2**64, 2**64 - 1
        for _ in range(count):
            state = (state + 0x9E3779B97F4A7C15) & mask
            z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & mask
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
            yield z ^ (z >> 31)

    seeds = [0, 12345, -3, 2**62 - 1]
    bits = _uniform_bits(np.array(seeds), 1, 1, 50, NumpyOps()).reshape(len(seeds), 50)
    for row, seed in zip(bits, seeds, strict=True):
        assert [int(b) for b in row] == [z >> (64 - UNIFORM_BITS) for z in splitmix64(seed, 50)]


def test_noise_is_standard_normal_and_uncorrelated():
    z = seeded_noise(np.arange(100), 10, (1, 28, 28)).astype(np.float64)
    flat = z.ravel()
    assert abs(flat.mean()) < 0.005 and abs(flat.std() - 1) < 0.005
    assert abs(np.mean(np.abs(flat) > 1.96) - 0.05) < 0.002  # the tails are Gaussian too
    # ~700k pairs each, so the standard error of a correlation is ~0.0012.
    assert abs(np.corrcoef(z[:-1].ravel(), z[1:].ravel())[0, 1]) < 0.005  # consecutive steps
    assert abs(np.corrcoef(z[:, :-1].ravel(), z[:, 1:].ravel())[0, 1]) < 0.005  # consecutive seeds
    assert abs(np.corrcoef(z[..., :-1].ravel(), z[..., 1:].ravel())[0, 1]) < 0.005  # neighbouring pixels


def test_different_seeds_differ_and_fresh_seeds_are_unpredictable():
    a, b = seeded_noise([1, 2], 1, (1, 4, 4))[0]
    assert not np.array_equal(a, b)
    assert len({int(s) for s in fresh_seeds(16)}) == 16
    assert not np.array_equal(fresh_seeds(4), fresh_seeds(4))


@pytest.mark.parametrize("seed", [-1, -(2**62)])
def test_negative_seeds_match_too(seed):
    host = seeded_noise([seed], 2, (1, 3, 3))
    graph = seeded_noise_torch(torch.tensor([seed]), 2, (1, 3, 3)).numpy()
    np.testing.assert_array_equal(host, graph)


def test_quantile_lookup_matches_the_normal_quantile_function():
    from statistics import NormalDist

    from malade_export.noise.gaussian import UNIFORM_BITS, _normal_from_bits
    from malade_export.noise.numpy_ops import NumpyOps

    bits = np.arange(0, 1 << UNIFORM_BITS, 61, dtype=np.int64)
    z = _normal_from_bits(bits, NumpyOps()).astype(np.float64)
    exact = np.array([NormalDist().inv_cdf((b + 0.5) / 2**UNIFORM_BITS) for b in bits])
    error = np.abs(z - exact)
    assert error[np.abs(exact) < 3.5].max() < 2e-4 and error[np.abs(exact) < 3.9].max() < 4e-3
    assert np.all(np.diff(z) >= 0)  # monotone: larger uniforms never give smaller noise
    assert 4.4 < -z.min() < 4.5 and 4.4 < z.max() < 4.5  # the documented tail cut
