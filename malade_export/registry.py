"""A name -> object table that a module fills with a decorator where the object is defined.

Classifiers, denoisers, defences, attacks, runtimes and benchmark backends each keep one, so the
CLI's choices, the tables and the benchmark read the same list, and adding one is one new file.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import MaladeError

T = TypeVar("T")


class Registry(Generic[T]):
    """``@REG.register("name")`` over a definition; ``REG.get("name")``; ``REG.names()`` in registration order."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # what the entries are, for error messages ("defence", "runtime", ...)
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(obj: T) -> T:
            if name in self._entries:
                raise MaladeError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
            return obj

        return add

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise MaladeError(f"unknown {self.kind} {name!r}; choose one of {', '.join(self._entries)}") from None

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
