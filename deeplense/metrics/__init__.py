"""Metric primitives (numpy, scipy, scikit-learn only): classification, regression and anomaly
figures of merit with percentile-bootstrap intervals, computed from arrays."""
