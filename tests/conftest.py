"""Shared test configuration: a fixed hypothesis profile for CI, a deeper one on request."""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings

# Helper modules beside the tests (contract_modules, faultlib) are imported by
# name; under --import-mode=importlib their folders are put on the path here.
for _helpers in ("numeric", "reports"):
    _folder = str(Path(__file__).resolve().parent / _helpers)
    if _folder not in sys.path:
        sys.path.insert(0, _folder)

settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("deep", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("GRADPROOF_HYPOTHESIS_PROFILE", "ci"))

# The derivation cache: a fresh folder for each test run, never the user's own
# (the command-line tests' subprocesses inherit it).
_CACHE_DIR = tempfile.mkdtemp(prefix="gradproof-test-cache-")
atexit.register(shutil.rmtree, _CACHE_DIR, True)
os.environ["GRADPROOF_CACHE_DIR"] = _CACHE_DIR
os.environ.pop("GRADPROOF_NO_CACHE", None)
