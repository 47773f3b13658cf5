"""Errors of automatic fan control settings: a translation key and its placeholders, never free text."""

from __future__ import annotations


class AutomaticConfigError(ValueError):
    """A setting of automatic fan control was refused.

    ``key`` is a translation key (under ``exceptions`` and the options flow's ``error`` in strings.json),
    ``placeholders`` the values its message names (all strings). Raised before anything is sent to a BMC.
    """

    def __init__(self, key: str, **placeholders: str) -> None:
        """Record the translation key and the message's placeholders."""
        detail = ", ".join(f"{name}={value}" for name, value in sorted(placeholders.items()))
        super().__init__(key + (f" ({detail})" if detail else ""))
        self.key = key
        self.placeholders = placeholders
