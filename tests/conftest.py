"""Shared test configuration: a fixed hypothesis profile for CI, a deeper one on request."""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("GRADPROOF_HYPOTHESIS_PROFILE", "ci"))
