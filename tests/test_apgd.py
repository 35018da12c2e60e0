"""APGD-CE, APGD-DLR and AutoAttack-rand from torchattacks: strength on a tiny classifier, the eps ball,
EOT draws reaching the model, the worst-case choice, the missing-library error, and the script."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import template_images
from torch import nn

from malade_export.attacks import APGDCE, APGDDLR, AutoAttackRand
from malade_export.cli.eval import eval_cmd
from malade_export.errors import MaladeError

pytest.importorskip("torchattacks")
ROOT = Path(__file__).resolve().parents[1]
ATTACKS = (APGDCE, APGDDLR, AutoAttackRand)



@pytest.fixture(scope="module")
def tiny() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A linear classifier fitted in seconds: accurate on clean data and under random noise, not at eps 0.15."""
    torch.manual_seed(0)
    train, test = template_images(600, 0), template_images(100, 1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    x, y = torch.from_numpy(train.images), torch.from_numpy(train.labels)
    for _ in range(60):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.eval(), torch.from_numpy(test.images), torch.from_numpy(test.labels)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return (model(x).argmax(1) == y).float().mean().item()


class Noisy(nn.Module):
    """A linear classifier behind Gaussian input noise drawn on every call; counts its forward passes."""

    def __init__(self, classes: int = 10, shape: tuple[int, ...] = (1, 4, 4), noise: float = 0.1) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.linear = nn.Linear(int(np.prod(shape)), classes)
        self.noise, self.calls = noise, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.linear((x + self.noise * torch.randn_like(x)).flatten(1))


def test_apgd_ce_beats_random_noise_of_the_same_eps_on_an_undefended_classifier(tiny):
    model, x, y = tiny
    eps = 0.15
    clean = accuracy(model, x, y)
    torch.manual_seed(0)
    noise = accuracy(model, (x + eps * torch.randint(0, 2, x.shape).float().mul(2).sub(1)).clamp(0, 1), y)
    attacked = accuracy(model, APGDCE(model, eps=eps, steps=10)(x, y), y)
    assert clean > 0.8 and noise > 0.6, (clean, noise)
    assert attacked < 0.1 and attacked < noise - 0.5, (clean, noise, attacked)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_results_stay_in_the_eps_ball_and_in_unit_range(tiny, attack):
    model, x, y = tiny
    x, y = x[:20], y[:20]
    adv = attack(model, eps=0.05, steps=3, eot=1)(x, y)
    assert adv.shape == x.shape and adv.min() >= 0 and adv.max() <= 1
    assert (adv - x).abs().max() <= 0.05 + 1e-6
    assert (adv != x).any()


@pytest.mark.parametrize("attack", (APGDCE, APGDDLR), ids=lambda a: a.name)
@pytest.mark.parametrize("eot", (1, 5))
def test_every_gradient_averages_eot_fresh_forward_passes(attack, eot):
    model = Noisy()
    x, y = torch.rand(6, 1, 4, 4), torch.arange(6)
    attack(model, eps=0.1, steps=4, eot=eot)(x, y)
    assert model.calls == (4 + 1) * eot  # the start point and each of the 4 steps


def test_autoattack_rand_spends_eot_draws_on_each_attack_and_each_check():
    model = Noisy(noise=0.0)  # deterministic: APGD-DLR runs exactly on the points APGD-CE left correct
    x = torch.rand(6, 1, 4, 4)
    y = model(x).argmax(1)
    model.calls = 0
    attack = AutoAttackRand(model, eps=0.001, steps=4, eot=3)
    adv = attack(x, y)
    assert attack.to_dlr > 0  # eps 0.001 fools almost nothing
    assert model.calls == (4 + 1) * 3 + 3 + (4 + 1) * 3 + 3  # APGD-CE, its check, APGD-DLR, its check
    assert (adv - x).abs().max() <= 0.001 + 1e-6


def test_points_a_draw_got_wrong_and_points_never_fooled_are_still_attacked():
    """torchattacks' own perturb() would return both kinds clean; a fresh draw would then score the clean image."""
    model = Noisy(noise=0.0)
    x = torch.rand(10, 1, 4, 4)
    predicted = model(x).argmax(1)
    y = torch.where(torch.arange(10) < 5, predicted, (predicted + 1) % 10)  # the last five start misclassified
    adv = APGDCE(model, eps=1e-4, steps=3)(x, y)
    moved = (adv - x).flatten(1).abs().amax(1) > 0
    assert moved.all(), moved


def test_autoattack_rand_keeps_per_sample_the_image_the_defence_gets_wrong_more_often(monkeypatch):
    """Per point: APGD-CE's image unless APGD-DLR's is right in fewer draws; APGD-DLR only where APGD-CE's is
    ever right. The model says class 0 wherever pixel 0 is below 0.5, class 1 elsewhere."""
    class Threshold(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.tensor(10.0))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            logit = self.scale * (x.flatten(1)[:, :1] - 0.5)
            return torch.cat([-logit, logit, torch.zeros_like(logit)], 1)

    attack = AutoAttackRand(Threshold(), eps=0.3, steps=1, eot=2, num_classes=3)
    x, y = torch.full((3, 1, 1, 1), 0.3), torch.zeros(3, dtype=torch.long)
    ce = torch.tensor([0.6, 0.4, 0.4]).view(3, 1, 1, 1)  # wrong, right, right
    dlr = torch.tensor([0.4, 0.6]).view(2, 1, 1, 1)  # for points 1 and 2: right, wrong
    seen = {}

    def fake_dlr(xs, ys):
        seen["points"] = xs.shape[0]
        return dlr, torch.tensor([True, False])

    monkeypatch.setattr(attack.ce, "run", lambda xs, ys: (ce.clone(), torch.tensor([False, True, True])))
    monkeypatch.setattr(attack.dlr, "run", fake_dlr)
    adv = attack(x, y)
    assert seen["points"] == 2
    assert adv.flatten().tolist() == pytest.approx([0.6, 0.4, 0.6])
    assert (attack.to_dlr, attack.took_dlr, attack.never_fooled) == (2, 1, 1)


def test_torchattacks_imports_without_torchvision():
    """CI installs it with --no-deps: its APGD, APGD-T and AutoAttack must not need torchvision."""
    code = ("import sys, importlib.abc\n"
            "class Block(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'torchvision':\n"
            "            raise ImportError('torchvision blocked')\n"
            "sys.meta_path.insert(0, Block())\n"
            "from torchattacks import APGD, APGDT, AutoAttack\n"
            "print('torchvision' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stdout + done.stderr


def test_dlr_refuses_two_classes():
    with pytest.raises(MaladeError, match="at least 3 classes"):
        APGDDLR(Noisy(classes=2), eps=0.1, num_classes=2)


def test_describe_names_the_library_its_version_and_the_settings(tiny):
    model, x, y = tiny
    attack = AutoAttackRand(model, eps=0.1, steps=2, eot=2)
    attack(x[:4], y[:4])
    record = attack.describe()
    assert {k: record[k] for k in ("attack", "library", "library_version", "norm", "eps", "steps", "n_restarts",
                                   "eot", "loss")} == {
        "attack": "autoattack-rand", "library": "torchattacks", "library_version": "3.5.1", "norm": "Linf",
        "eps": 0.1, "steps": 2, "n_restarts": 1, "eot": 2, "loss": "ce, then dlr"}
    assert record["in_attack"]["n"] == 4


def test_a_missing_torchattacks_is_a_one_line_error_naming_the_install(setup, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchattacks", None)  # "import torchattacks" now fails
    with pytest.raises(MaladeError, match=r"pip install --no-deps torchattacks==3\.5\.1"):
        APGDCE(Noisy(), eps=0.1)
    result = CliRunner().invoke(eval_cmd, ["--dataset", setup["dataset"], "--classifier", str(setup["classifier"]),
                                           "--defense", "none", "--attack", "apgd-ce", "--n", "4", "--holdout", "0"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: the APGD attacks need torchattacks, which is not installed: pip install --no-deps torchattacks==3.5.1"]


def test_malade_eval_runs_autoattack_rand_through_the_whole_chain(setup, tmp_path):
    out = tmp_path / "aa.json"
    result = CliRunner().invoke(eval_cmd, [str(a) for a in (
        "--dataset", setup["dataset"], "--classifier", setup["classifier"], "--defense", "malade", "--sdae",
        setup["sdae"], "--steps", 2, "--attack", "autoattack-rand", "--eps", 0.1, "--pgd-steps", 2, "--eot", 2,
        "--n", 4, "--holdout", 0, "--out", out)])
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    assert record["defense"]["defense"] == "malade" and record["attack"]["bpda"] is False
    assert record["attack"]["eot"] == 2 and record["attack"]["library_version"] == "3.5.1"
    assert "--attack autoattack-rand" in record["command"] and "--eot 2" in record["command"]


def test_the_script_writes_rows_and_a_summary_with_intervals(setup, tmp_path):
    out = tmp_path / "aa"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "autoattack_rand.py"), str(out), "--classifier",
         str(setup["classifier"]), "--sdae", str(setup["sdae"]), "--dataset", setup["dataset"], "--n", "6",
         "--holdout", "0", "--eot", "2", "--steps", "2", "--rows", "clean,pgd,autoattack-rand", "--", "--steps", "2"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["autoattack-rand.json", "autoattack-rand.md", "clean.json",
                                                     "clean.md", "pgd.json", "pgd.md", "summary.json", "summary.md"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["torchattacks"] == "3.5.1" and summary["device_name"] and summary["n"] == 6
    rows = {r["row"]: r for r in summary["rows"]}
    assert [r["status"] for r in rows.values()] == ["ok"] * 3
    aa = rows["autoattack-rand"]["record"]
    assert aa["attack"]["eot"] == 2 and aa["attack"]["steps"] == 2 and aa["attack"]["eps"] == 0.1
    assert aa["autoattack_rand"]["device_name"] == summary["device_name"]
    low, high = aa["attacked"]["ci95"]
    assert low <= aa["attacked"]["accuracy"] <= high and aa["attacked"]["n"] == 6
    lowest = min(rows[r]["record"]["attacked"]["accuracy"] for r in ("pgd", "autoattack-rand"))
    assert summary["worst"]["rows"] == [r for r in ("pgd", "autoattack-rand")
                                        if rows[r]["record"]["attacked"]["accuracy"] == lowest]
    assert "autoattack-rand" in (out / "summary.md").read_text()
    assert json.loads((out / "pgd.json").read_text())["command"].startswith("malade eval ")


def test_the_script_skips_a_row_that_would_not_fit_its_deadline(setup, tmp_path):
    out = tmp_path / "aa"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "autoattack_rand.py"), str(out), "--classifier",
         str(setup["classifier"]), "--sdae", str(setup["sdae"]), "--dataset", setup["dataset"], "--n", "6",
         "--holdout", "0", "--eot", "50", "--steps", "1000", "--rows", "clean,autoattack-rand", "--deadline-s", "30",
         "--", "--steps", "2"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {r["row"]: r for r in json.loads((out / "summary.json").read_text())["rows"]}
    assert rows["clean"]["status"] == "ok"
    assert rows["autoattack-rand"]["status"] == "skipped" and "estimated" in rows["autoattack-rand"]["reason"]


@pytest.mark.slow
def test_device_script_short_mode_runs_on_the_cpu(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable, "AUTOATTACK_BUDGET_S": "200"}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "device_autoattack.sh"), str(out), "--short"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["device_autoattack.log", "fashion-mnist_summary.json",
                                                     "fashion-mnist_summary.md", "rows.tar.gz"]
    with tarfile.open(out / "rows.tar.gz") as archive:
        assert {"./fashion-mnist/pgd.json", "./fashion-mnist/autoattack-rand.md"} <= set(archive.getnames())
    summary = json.loads((out / "fashion-mnist_summary.json").read_text())
    assert [r["status"] for r in summary["rows"]] == ["ok"] * 3, summary["rows"]
    assert summary["device"] == "cpu" and summary["n"] == 4
    assert "cifar10: skipped" in (out / "device_autoattack.log").read_text()
    assert importlib.util.find_spec("torchattacks") is not None


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_autoattack_rand_runs_on_cuda_through_the_chain():
    from malade_export.chain import preset
    from malade_export.defenses import Malade

    bundled = preset()
    defense = Malade.from_checkpoints(bundled.classifier, bundled.sdae, steps=2).to("cuda")
    x, y = torch.rand(8, 1, 28, 28, device="cuda"), torch.arange(8, device="cuda")
    adv = AutoAttackRand(defense, eps=0.1, steps=3, eot=2)(x, y)
    assert adv.device.type == "cuda" and (adv - x).abs().max() <= 0.1 + 1e-6 and 0 <= adv.min() <= adv.max() <= 1
