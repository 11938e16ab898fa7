"""Tasks (what a model learns and how it is evaluated), one registered class each; importing the
package registers the built-in ones, in the order the leaderboard lists them."""

# Registration order is the order of tasks in the leaderboard and in the config's allowed values.
from deeplense.tasks import classification  # noqa: F401,I001  (registers)
from deeplense.tasks import regression  # noqa: F401  (registers)
from deeplense.tasks import anomaly  # noqa: F401  (registers)
from deeplense.tasks import posterior  # noqa: F401  (registers)
from deeplense.tasks.base import (
    TASKS,
    Column,
    EvalContext,
    Monitor,
    Predictions,
    Task,
    loss_names,
    make_task,
    monitor_names,
    register_task,
    task_from_state,
    task_names,
)
from deeplense.tasks.anomaly import Anomaly
from deeplense.tasks.classification import Classification
from deeplense.tasks.posterior import Posterior
from deeplense.tasks.regression import Regression

__all__ = [
    "TASKS", "Anomaly", "Classification", "Column", "EvalContext", "Monitor", "Posterior", "Predictions", "Regression", "Task",
    "loss_names", "make_task", "monitor_names", "register_task", "task_from_state", "task_names",
]
