"""Independent fits side by side, on every core unless ``MLMODELS_N_JOBS`` says otherwise.

Training fits many pipelines that do not depend on each other (the CV folds of every parameter
set, each candidate's refit, the learning curve's fits and the deployment refit). They run in
threads: scikit-learn's heavy loops (histogram gradient boosting, linear solvers, numpy) release
the GIL, and threads share the training frames instead of pickling them to worker processes,
which at the demo's scale would cost more than the fits. Each thread's OpenMP and BLAS pools are
capped so that the threads together use the cores once (no oversubscription). The results do
not depend on the number of jobs: every fit is seeded by the spec.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from joblib import Parallel, cpu_count, delayed, parallel_config
from threadpoolctl import threadpool_limits

ENVIRONMENT_VARIABLE = "MLMODELS_N_JOBS"


def n_jobs() -> int:
    """Return the number of fits run at once: ``MLMODELS_N_JOBS``, by default every core.

    Raises
    ------
    ValueError
        If ``MLMODELS_N_JOBS`` is set to anything but a positive integer.
    """
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if not value:
        return max(cpu_count(), 1)
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{ENVIRONMENT_VARIABLE} must be a positive integer (the number of fits "
                         f"run at once), got {value!r}")
    return int(value)


def run_all(function: Callable[..., Any], arguments: Iterable[tuple[Any, ...]]) -> list[Any]:
    """Return ``[function(*args) for args in arguments]``, computed up to :func:`n_jobs` at once.

    The order of the results is the order of ``arguments``. With one job (or one task) the calls
    run in this thread, as a plain loop would.
    """
    tasks = list(arguments)
    jobs = min(n_jobs(), len(tasks))
    if jobs <= 1:
        return [function(*args) for args in tasks]
    threads_each = max(cpu_count() // jobs, 1)

    def capped(*args: Any) -> Any:
        # OpenMP's limit is per thread: set it inside the worker thread itself.
        with threadpool_limits(limits=threads_each, user_api="openmp"):
            return function(*args)

    # BLAS pools are process-wide: capped once here, not entered and left by each thread.
    with threadpool_limits(limits=threads_each, user_api="blas"):
        return Parallel(n_jobs=jobs, backend="threading")(delayed(capped)(*args) for args in tasks)


def backend() -> Any:
    """Return a joblib config for scikit-learn's own ``n_jobs`` loops: threads, :func:`n_jobs`."""
    return parallel_config(backend="threading", n_jobs=n_jobs())
