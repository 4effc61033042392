"""The converter's one error for a claim that reads but means nothing with its names."""

from __future__ import annotations


class ConvertError(ValueError):
    """A well-formed formula that cannot be converted with the names given: one line."""
