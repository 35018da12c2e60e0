"""Reading the ``malade.*`` metadata an exported file carries (torch-free, for servers)."""
from __future__ import annotations

import json
from typing import Any

PREFIX = "malade."


def read_metadata(props: dict[str, str]) -> dict[str, Any]:
    """``malade.*`` entries with JSON values decoded and the prefix dropped; other keys ignored."""
    out: dict[str, Any] = {}
    for key, value in props.items():
        if key.startswith(PREFIX):
            try:
                out[key[len(PREFIX):]] = json.loads(value)
            except ValueError:
                out[key[len(PREFIX):]] = value
    return out
