from hypothesis import HealthCheck, settings

settings.register_profile(
    "clinical", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("clinical")
