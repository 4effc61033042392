"""Shared test configuration: a fixed hypothesis profile for CI, a deeper one on request."""

import atexit
import os
import shutil
import tempfile

from hypothesis import HealthCheck, settings

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
