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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from joblib import Parallel, cpu_count, delayed, parallel_config
from joblib.parallel import ThreadingBackend
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
    with threads(jobs):
        return Parallel(n_jobs=jobs)(delayed(function)(*args) for args in tasks)


@contextmanager
def threads(jobs: int) -> Iterator[None]:
    """Run the joblib loops inside (scikit-learn's ``n_jobs``) in ``jobs`` capped threads.

    The threads share the cores: BLAS pools are capped to ``cpu_count() // jobs`` threads for
    the whole process, and each task caps its OpenMP pool in its own worker thread. One job
    changes nothing: its loop runs in this thread, uncapped, as a plain loop would.

    Parameters
    ----------
    jobs
        The number of tasks run at once (pass the same number as the loop's ``n_jobs``).

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> with threads(2):  # doctest: +SKIP
    ...     GridSearchCV(estimator, grid, n_jobs=2).fit(X, y)
    """
    if jobs <= 1:
        yield
        return
    threads_each = max(cpu_count() // jobs, 1)
    # BLAS pools are process-wide: capped once here, not entered and left by each thread.
    with threadpool_limits(limits=threads_each, user_api="blas"), \
            parallel_config(backend=_CappedThreads(threads_each), n_jobs=jobs):
        yield


class _CappedThreads(ThreadingBackend):
    """joblib's threading backend, each task's OpenMP pool capped in its worker thread."""

    def __init__(self, openmp_threads: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.openmp_threads = openmp_threads

    def submit(self, func: Callable[[], Any], callback: Any = None) -> Any:
        """Schedule ``func`` in a worker thread, under that thread's OpenMP cap."""
        return super().submit(partial(_capped, func, self.openmp_threads), callback)


def _capped(func: Callable[[], Any], openmp_threads: int) -> Any:
    """Call ``func`` with this thread's OpenMP pool capped (OpenMP's limit is per thread)."""
    with threadpool_limits(limits=openmp_threads, user_api="openmp"):
        return func()


def backend() -> Any:
    """Return a joblib config for scikit-learn's own ``n_jobs`` loops: threads, :func:`n_jobs`."""
    return parallel_config(backend="threading", n_jobs=n_jobs())
