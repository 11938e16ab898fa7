"""Training: tasks (what is predicted and how it is scored) and the training loop."""
