"""The runnable examples in the numeric package's docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gradproof.numeric.gradcheck",
    "gradproof.numeric.mutation",
    "gradproof.numeric.network",
    "gradproof.numeric.init",
    "gradproof.numeric.optim",
    "gradproof.numeric.memory",
    "gradproof.numeric.specialise",
    "gradproof.numeric.digits",
    "gradproof.numeric.experiments",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no runnable example"
    assert result.failed == 0
