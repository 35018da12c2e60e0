"""Do two chains give the same answers? A paired comparison on shared inputs.

The two chains are one defence in two runtimes, or two sDAEs behind one classifier. Separate
``malade eval`` runs differ in more than that: a black-box substitute trained on slightly different
oracle labels crafts different examples, which alone moves the attacked accuracy by points. Here
the attack is crafted once (against the reference), and both chains classify the very same clean
and adversarial images under the very same noise draws, so every difference is their own; the
paired interval then resolves differences far below what two unpaired intervals could.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ..attacks import Attack
from ..defenses import Defense
from .stats import Z95, Accuracy


@dataclass(frozen=True)
class PairedResult:
    reference: Accuracy
    candidate: Accuracy
    agreement: float  # fraction of images whose predicted label is the same in both chains
    difference: float  # candidate minus reference accuracy
    difference_ci95: tuple[float, float]  # paired (per-image) normal interval

    def to_dict(self) -> dict[str, object]:
        return {"reference": self.reference.to_dict(), "candidate": self.candidate.to_dict(),
                "agreement": self.agreement, "difference": self.difference,
                "difference_ci95": list(self.difference_ci95)}


def paired_result(ref_correct: torch.Tensor, cand_correct: torch.Tensor, agree: torch.Tensor) -> PairedResult:
    n = len(ref_correct)
    diff = cand_correct.double() - ref_correct.double()
    mean = float(diff.mean())
    half = Z95 * float(diff.std(unbiased=True)) / math.sqrt(n) if n > 1 else float("inf")
    return PairedResult(Accuracy(int(ref_correct.sum()), n), Accuracy(int(cand_correct.sum()), n),
                        float(agree.double().mean()), mean, (mean - half, mean + half))


@torch.no_grad()
def _labels(defense: Defense, x: torch.Tensor, noise_seed: int) -> torch.Tensor:
    torch.manual_seed(noise_seed)  # both chains draw the same noise for this batch
    return defense(x).argmax(1)


def compare_paired(reference: Defense, candidate: Defense, attack: Attack | None, images: torch.Tensor,
                   labels: torch.Tensor, seed: int, batch_size: int = 100,
                   progress: bool = True) -> dict[str, PairedResult]:
    """Paired results on clean images and (if ``attack``) on adversarial ones crafted once."""
    picks: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {"clean": [], "attacked": []}
    bar = tqdm(total=len(images), desc="paired chains", unit="img", disable=not progress)
    for index, start in enumerate(range(0, len(images), batch_size)):
        x, y = images[start: start + batch_size], labels[start: start + batch_size]
        inputs = {"clean": x}
        if attack is not None:
            torch.manual_seed(seed * 1_000_003 + index)
            inputs["attacked"] = attack(x, y)
        for part, batch in inputs.items():
            noise_seed = seed * 1_000_003 + 2 * index + (part == "attacked")
            picks[part].append((_labels(reference, batch, noise_seed), _labels(candidate, batch, noise_seed)))
        bar.update(len(x))
    bar.close()
    out = {}
    for part, pairs in picks.items():
        if pairs:
            ref, cand = torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs])
            out[part] = paired_result(ref == labels, cand == labels, ref == cand)
    return out
