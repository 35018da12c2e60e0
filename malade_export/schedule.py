"""Annealed step sizes of the Langevin chain: alpha_t (drift) and delta_t (noise) per step.

The paper says only that "annealing alpha and delta with an offset" works best; here the offset is
the floor each schedule decays to. Values are plain Python floats so the unrolled graph holds them
as constants and the export metadata can record them exactly.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .errors import MaladeError

DECAYS = ("geometric", "linear", "constant")
MAX_VALUE = 1.0  # alpha and delta: pixels lie in [0, 1], so a larger noise std or step only destroys the image
MAX_DRIFT = 2.0  # alpha / sigma^2: x + a (r(x) - x) moves away from r(x) once a > 2


@dataclass(frozen=True)
class Schedule:
    """alpha goes alpha0 -> alpha_min and delta goes delta0 -> delta_min over the N steps.

    ``alpha`` is in units of sigma^2 (the drift is alpha_t (r(x) - x) / sigma^2), so alpha = sigma^2
    moves x all the way to r(x). Defaults: see ``DEFAULT_SCHEDULE``.
    """

    alpha0: float
    alpha_min: float
    delta0: float
    delta_min: float
    decay: str = "geometric"

    def __post_init__(self) -> None:
        if self.decay not in DECAYS:
            raise MaladeError(f"unknown schedule decay {self.decay!r}; choose one of {', '.join(DECAYS)}")
        for name in ("alpha0", "alpha_min", "delta0", "delta_min"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_VALUE:
                raise MaladeError(f"schedule {name} must be a number in [0, {MAX_VALUE:g}], got {value!r:.40}")

    def check_for(self, sigma: float) -> None:
        """Refuse drift steps past 2 sigma^2, where each step overshoots r(x) by more than it corrects."""
        worst = max(self.alpha0, self.alpha_min)
        if worst > MAX_DRIFT * sigma**2:
            raise MaladeError(f"schedule alpha {worst:g} exceeds {MAX_DRIFT:g} sigma^2 = {MAX_DRIFT * sigma**2:g} "
                              f"for this denoiser (sigma={sigma:g}): the chain would diverge")

    def _decay(self, start: float, floor: float, steps: int) -> list[float]:
        if steps == 1 or self.decay == "constant":
            return [start] * steps
        fractions = [t / (steps - 1) for t in range(steps)]
        if self.decay == "linear" or start == 0 or floor == 0:
            return [start + (floor - start) * f for f in fractions]
        return [start * (floor / start) ** f for f in fractions]

    def alphas(self, steps: int) -> list[float]:
        return self._decay(self.alpha0, self.alpha_min, steps)

    def deltas(self, steps: int) -> list[float]:
        return self._decay(self.delta0, self.delta_min, steps)

    def scaled_to(self, sigma: float, reference_sigma: float = 0.3) -> Schedule:
        """This schedule moved from ``reference_sigma`` to ``sigma``: the same drift fractions (alpha / sigma^2)
        and the same noise std relative to sigma, so a denoiser trained at a smaller sigma takes the steps
        its training noise makes sense of (the default was chosen at sigma 0.3 and diverges below 0.21)."""
        ratio = sigma / reference_sigma
        return Schedule(min(self.alpha0 * ratio**2, MAX_VALUE), min(self.alpha_min * ratio**2, MAX_VALUE),
                        min(self.delta0 * ratio, MAX_VALUE), min(self.delta_min * ratio, MAX_VALUE), self.decay)

    def to_dict(self) -> dict[str, float | str]:
        return asdict(self)

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """Parse ``alpha0=0.09,alpha_min=0.02,delta0=0.1,delta_min=0.01,decay=linear`` (keys optional)."""
        values: dict[str, float | str] = DEFAULT_SCHEDULE.to_dict()
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition("=")
            if not sep or key.strip() not in values:
                raise MaladeError(f"bad schedule item {part!r}; expected key=value with keys {', '.join(values)}")
            key = key.strip()
            try:
                values[key] = value.strip() if key == "decay" else float(value)
            except ValueError:
                raise MaladeError(f"schedule {key} must be a number, got {value!r}") from None
        return cls(**values)  # type: ignore[arg-type]


def default_schedule(sigma: float, denoiser_config: dict[str, object] | None = None) -> Schedule:
    """The schedule a chain takes when none is asked for: the one its denoiser's checkpoint records (a
    preset tuned for its data), else ``DEFAULT_SCHEDULE`` moved to the denoiser's sigma."""
    recorded = (denoiser_config or {}).get("schedule")
    if isinstance(recorded, dict):
        try:
            return Schedule(**recorded)  # type: ignore[arg-type]
        except TypeError as exc:
            raise MaladeError(f"the denoiser's recorded schedule is malformed: {exc}") from None
    return DEFAULT_SCHEDULE.scaled_to(sigma)


def magnet_schedule(sigma: float) -> Schedule:
    """One full step to r(x) without noise: MagNet as a special case of the chain."""
    return Schedule(sigma**2, sigma**2, 0.0, 0.0, "constant")


# Chosen by scripts/sweep_schedule.py on the validation split (results/schedule_sweep.md): the most
# robust setting whose clean accuracy is within 2 points of the best on the grid.
DEFAULT_SCHEDULE = Schedule(alpha0=0.045, alpha_min=0.009, delta0=0.05, delta_min=0.005, decay="geometric")
