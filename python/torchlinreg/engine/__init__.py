"""The numerical core: the model ``X Wᵀ + b``, the loss, the optimizers and
their options, scaling, the moments and the objectives built from them,
minibatch stepping and the training loop. It knows nothing of files,
formulas or R."""
