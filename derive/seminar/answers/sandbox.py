"""Checking answers in limited processes: the names older code imports from here.

The checking itself lives in :mod:`gradproof.derive.seminar.workers` (warm
templates, one fresh limited process per check); ``CheckPool`` is its
:class:`~gradproof.derive.seminar.workers.WarmPool`.
"""

from __future__ import annotations

from gradproof.derive.seminar.workers import Budget, CpuLimit
from gradproof.derive.seminar.workers import WarmPool as CheckPool

__all__ = ["Budget", "CheckPool", "CpuLimit"]
