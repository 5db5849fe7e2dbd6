import os

from hypothesis import settings as hypothesis_settings

# CI never flakes: a derandomized profile with no deadline (machines here are noisy).
hypothesis_settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True, database=None
)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
