"""Templates copied as ``<model>/1/model.py`` into Triton repositories (run inside Triton's Python backend)."""
from pathlib import Path

DEFENSE_MODEL = Path(__file__).with_name("model.py")
NOISE_MODEL = Path(__file__).with_name("noise_model.py")
