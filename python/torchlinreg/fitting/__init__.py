"""``fit()`` from user data to a LinearFit, resuming a fit, and loading one
with its training data."""
