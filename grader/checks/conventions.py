"""Spelling conventions that differ between versions of one template (``Wi`` or ``Wu`` for the update
gate).  A rubric's ``[aliases]`` maps each canonical key to its other spelling; inputs carry both
spellings, and a student's result is read back under the canonical one."""
from __future__ import annotations

from typing import Any


def with_aliases(value: Any, aliases: dict[str, str]) -> Any:
    """Copy of ``value`` where every dict holding a canonical key also holds its alias."""
    if isinstance(value, dict):
        copy = {key: with_aliases(item, aliases) for key, item in value.items()}
        for canonical, alias in aliases.items():
            if canonical in copy and alias not in copy:
                copy[alias] = copy[canonical]
        return copy
    if isinstance(value, (list, tuple)):
        return type(value)(with_aliases(item, aliases) for item in value)
    return value


def canonical(value: Any, aliases: dict[str, str]) -> Any:
    """Copy of ``value`` where an alias key is renamed to its canonical key (unless both are present)."""
    if isinstance(value, dict):
        renamed = {}
        reverse = {alias: key for key, alias in aliases.items()}
        for key, item in value.items():
            target = reverse.get(key, key) if reverse.get(key) not in value else key
            renamed[target] = canonical(item, aliases)
        return renamed
    if isinstance(value, (list, tuple)):
        return type(value)(canonical(item, aliases) for item in value)
    return value
