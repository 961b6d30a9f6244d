"""A Dask client for independent solves, and the one way hjb maps a function over them in order.

By default an embedded LocalCluster with one single-threaded worker process per job (nothing to start by hand);
with `scheduler` an existing cluster at that address (`dask scheduler` + `dask worker …`), the way to go past one
machine. Each task sets torch's thread count itself, so a solve computes the same numbers wherever it runs.
"""
from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from hjb.errors import ProblemError

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
# A worker's statistical profiler samples the running task's stack every 10 ms and its event loop checks its own
# health every 20 ms: small-network training is Python-bound, and two 1-D LQR solves at once took 28.3 s each on a
# 2-worker LocalCluster against 25.1 s in a process pool; 25.6 s with these settings. hjb's tasks are long solves.
# worker-saturation 1.0: a worker holds one solve at a time, so that the next solve goes to whichever worker frees
# first (with 1.1, a single-threaded worker takes two, and the second waits behind the first).
CLUSTER_CONFIG = {
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
}


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def check_jobs(jobs: int) -> int:
    """jobs if it is a positive integer, else ProblemError."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ProblemError(f"jobs must be a positive integer; got {jobs!r}")
    return jobs


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int = 1) -> Iterator[Any]:
    """A distributed.Client: on the cluster at `scheduler`, else on a LocalCluster of `workers` processes, 1 thread
    each (no dashboard, quiet logs), closed on exit. ProblemError when the scheduler cannot be reached."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as err:
            raise ProblemError(f"cannot reach the Dask scheduler at {scheduler!r}: {err}; expected the address of "
                               "a running `dask scheduler` (e.g. tcp://127.0.0.1:8786)") from None
        with client:
            yield client
        return
    import dask

    # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, which fixes glibc's allocation thresholds:
    # torch then maps and unmaps memory for nearly every tensor (the quick suite took 592 s instead of 293 s,
    # 2·10⁸ page faults). Unset for the workers hjb starts; workers started by hand are fixed per task (_restore_malloc).
    with dask.config.set(CLUSTER_CONFIG):
        cluster = LocalCluster(n_workers=check_jobs(workers), threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
    with cluster, Client(cluster) as client:
        yield client


def _restore_malloc() -> None:
    """In a worker started with Dask's MALLOC_TRIM_THRESHOLD_ (glibc): raise the mmap and trim thresholds to the
    ceilings glibc's own dynamic thresholds reach (32 and 64 MiB), so that tensors come from the heap again
    (a 1-D LQR solve: 36.5 s with Dask's setting, 24.2 s restored, 23.5 s without it; the same numbers)."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return
    libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20)
    libc.mallopt(M_TRIM_THRESHOLD, 64 * 2**20)


def _with_threads(function: Callable, threads: int, *args) -> Any:
    """function(*args) after torch.set_num_threads(threads) (and _restore_malloc) in this worker."""
    import torch

    _restore_malloc()
    torch.set_num_threads(threads)
    return function(*args)


def map_in_order(client, function: Callable, items: Sequence[tuple], costs: Sequence[float] | None = None,
                 threads: int = 1, on_done: Callable[[int, Any], None] | None = None) -> list:
    """[function(*item) for item in items], each on a Dask worker with `threads` torch threads, the costliest
    submitted first; on_done(index, result) as each finishes. A task's exception is re-raised here."""
    from distributed import as_completed

    costs = list(costs) if costs is not None else [0.0] * len(items)
    # Submitted costliest first as well as prioritised: a worker that is idle takes the first task to arrive.
    order = sorted(range(len(items)), key=lambda i: -costs[i])
    submitted = {i: client.submit(_with_threads, function, threads, *items[i], pure=False, priority=costs[i])
                 for i in order}
    futures = [submitted[i] for i in range(len(items))]
    index = {future.key: i for i, future in enumerate(futures)}
    for future in as_completed(futures):
        if on_done is not None:
            on_done(index[future.key], future.result())
    return [future.result() for future in futures]
