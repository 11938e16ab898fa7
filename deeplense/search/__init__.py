"""Hyperparameter and architecture search with Optuna inside the workflow: the search config, the
sampled trials trained by deeplense's trainer, parallel workers sharing one study, and the
exported trials, figures and best config (trained as the model ``<search>_best``)."""
