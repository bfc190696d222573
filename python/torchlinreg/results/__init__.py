"""What a fit hands back: :class:`~torchlinreg.results.fit.LinearFit`, the
exact least-squares reference, the inference, the summary and the plots,
and a fit's saved form."""
