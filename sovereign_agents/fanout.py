"""Many independent jobs, in this process one after another or as Ray tasks.

``fan_out(fn, items, ray=...)`` calls ``fn(item)`` for every item and yields
``(index, result)`` pairs as the jobs finish (in finishing order with Ray, in order without),
where ``result`` is what ``fn`` returned or the exception that ended the job. It is the one
place that knows Ray: ``sovereign batch`` and ``sovereign eval sensitivity --ray`` use it.

Ray is an optional extra (``pip install 'sovereign-agents[ray]'``); nothing here imports it
unless ``ray`` is given. ``ray="local"`` starts a local Ray instance for the jobs (``workers``
CPUs, no dashboard) and shuts it down after; any other value is an address for
``ray.init(address=...)`` (``auto``, ``host:port``, ``ray://host:10001``), and a Ray this
process had already joined is used as it is and left running.

A job whose worker process dies (killed, out of memory, a lost node) is run again by Ray, up to
``max_retries`` times (``ray.remote(max_retries=...)``); an exception the job raises is not
retried (it is the job's result). ``fn`` must be importable by name in the workers (a
module-level function of an installed package) and its items picklable.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sovereign_agents.errors import ConfigError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

LOCAL = "local"
RAY_EXTRA = "pip install 'sovereign-agents[ray]'"
MAX_RETRIES = 3  # Ray's default for tasks: a job survives three deaths of its worker
USAGE_STATS_ENV = "RAY_USAGE_STATS_ENABLED"


def ray_installed() -> bool:
    return importlib.util.find_spec("ray") is not None


def require_ray() -> Any:
    """The ``ray`` module, or one clear error naming the extra that installs it."""
    if not ray_installed():
        raise ConfigError(f"--ray needs Ray, which is not installed: {RAY_EXTRA}")
    import ray

    return ray


@contextmanager
def ray_session(address: str, workers: int | None = None) -> Iterator[Any]:
    """Ray joined for the duration: a new local instance (``address="local"``, ``workers``
    CPUs) or the cluster at ``address``. Only what this call started is shut down after."""
    ray = require_ray()
    if ray.is_initialized():  # the host process joined a Ray already: use it, leave it
        yield ray
        return
    options: dict[str, Any] = {"configure_logging": False, "log_to_driver": False}
    if address == LOCAL:
        options.update(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False)
    else:
        if workers is not None:
            raise ConfigError("--workers sizes a local Ray instance; a cluster has its own CPUs")
        options["address"] = address
    try:
        with _no_usage_report(address == LOCAL):
            ray.init(**options)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"cannot start or join Ray at {address!r}: {exc}") from exc
    try:
        yield ray
    finally:
        ray.shutdown()


@contextmanager
def _no_usage_report(local: bool) -> Iterator[None]:
    """A local instance is started without Ray's usage statistics (which Ray would send over
    the internet), unless the user set ``RAY_USAGE_STATS_ENABLED`` themselves. The variable
    is set only while ``ray.init`` starts the instance's processes, then restored."""
    if not local or USAGE_STATS_ENV in os.environ:
        yield
        return
    os.environ[USAGE_STATS_ENV] = "0"
    try:
        yield
    finally:
        os.environ.pop(USAGE_STATS_ENV, None)


def worker_cache_dir(configured: str | None) -> str | None:
    """This process's cache folder, to hand to worker processes that do not share its
    settings (the CLI's ``--cache-dir``); None when it is a temporary folder of this process."""
    from sovereign_agents.cache import cache_location

    path, why = cache_location(configured)
    return None if "temporary folder" in why else str(path)


def use_worker_cache_dir(path: str | None) -> None:
    """In a worker process of its own: the driver's cache folder, as if given as
    ``--cache-dir`` (a ``Context.cache_dir`` still wins)."""
    if path:
        from sovereign_agents.cache import use_cli_cache_dir

        use_cli_cache_dir(path, explicit=True)


def fan_out(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    ray: str | None = None,
    workers: int | None = None,
    max_retries: int = MAX_RETRIES,
) -> Iterator[tuple[int, R | BaseException]]:
    """``fn(item)`` for every item: ``(index, result or exception)`` as each job finishes.

    Without ``ray`` the jobs run here, in order; with it, as Ray tasks (see the module)."""
    if ray is None:
        for index, item in enumerate(items):
            try:
                yield index, fn(item)
            except Exception as exc:  # the job's outcome, reported to the caller
                yield index, exc
        return
    with ray_session(ray, workers) as session:
        remote = session.remote(max_retries=max_retries)(fn)
        pending = {remote.remote(item): index for index, item in enumerate(items)}
        while pending:
            done, _ = session.wait(list(pending), num_returns=1)
            for ref in done:
                index = pending.pop(ref)
                try:
                    yield index, session.get(ref)
                except Exception as exc:  # the task failed, or its worker died too often
                    yield index, _cause(session, exc)


def _cause(ray: Any, exc: Exception) -> BaseException:
    """The job's own exception out of Ray's wrapper (its message carries the remote
    traceback); a worker's death stays Ray's error."""
    if isinstance(exc, ray.exceptions.RayTaskError) and isinstance(exc.cause, BaseException):
        return exc.cause
    return exc
