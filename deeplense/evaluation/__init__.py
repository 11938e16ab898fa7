"""Evaluation on the fixed test split: metrics (scikit-learn) and their provenance."""
