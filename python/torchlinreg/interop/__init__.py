"""Other tools' ways in and out: the R bridge (reticulate), R's ``lm()``
through rpy2, the scikit-learn estimator and R-style formulas."""
