"""The runnable examples in the numeric package's docstrings stay true."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["numeric.gradcheck", "numeric.mutation", "numeric.network", "numeric.init", "numeric.optim",
           "numeric.memory", "numeric.specialise", "numeric.digits", "numeric.experiments"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no runnable example"
    assert result.failed == 0
