"""arXiv search through the ``arxiv`` package: polite, retried, cached.

* One rate limiter per endpoint, shared by every thread of the process: the four query
  branches of a round run in parallel but never hit arXiv more often than one request per
  ``arxiv_interval`` seconds (arXiv asks for 3 s).
* Retries with exponential backoff on 5xx/429, timeouts, dropped connections and
  ``arxiv.UnexpectedEmptyPageError``; pages that already arrived are kept
  (``PartialResults``) when a later page fails for good.
* Complete results are cached in SQLite, keyed by endpoint, query and parameters, so a rerun
  makes no request.
* Every request has a whole-request deadline and a response size cap
  (``http_limits``: ``request_deadline_s``, ``max_response_bytes``); a request past its
  deadline is retried like a timeout, an oversized page fails the query.
* ``SOVEREIGN_ARXIV_API_URL`` (or ``Context.arxiv_api_url``) sets the client's
  ``query_url_format``; an endpoint that cannot be reached raises ``SearchUnavailable``.

Its knobs form one config group, ``ArxivConfig`` (``ArxivConfig.from_context`` reads them from
a run's context); one backend is kept per config in a process (``arxiv_backend``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import sqlite3
import threading
import time
from collections import deque
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import arxiv
import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from sovereign_agents.cache import cache_dir
from sovereign_agents.corpus import split_arxiv_id
from sovereign_agents.errors import SearchUnavailable
from sovereign_agents.http_limits import HttpLimits, bound_session, http_limits
from sovereign_agents.schemas import Paper, Uncertainty
from sovereign_agents.search.base import PartialResults
from sovereign_agents.text import STOP_WORDS, tokens
from sovereign_agents.wording import count

if TYPE_CHECKING:
    from sovereign_agents.context import Context

DEFAULT_ENDPOINT = "https://export.arxiv.org/api/query"
RETRY_STATUSES = {429, 500, 502, 503, 504}
log = logging.getLogger(__name__)


class RateLimiter:
    """At most one request per ``interval`` seconds across all threads."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._next = 0.0
        self.slots: deque[float] = deque(maxlen=256)  # the times granted, for inspection

    def wait(self) -> float:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
            self.slots.append(slot)
        delay = slot - now
        if delay > 0:
            time.sleep(delay)
        return delay


_LIMITERS: dict[str, RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(endpoint: str, interval: float) -> RateLimiter:
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(endpoint)
        if limiter is None:
            limiter = _LIMITERS[endpoint] = RateLimiter(interval)
        limiter.interval = interval
        return limiter


class _TimeoutSession(requests.Session):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


@dataclass
class RequestStats:
    requests: int = 0
    retries: int = 0
    cache_hits: int = 0
    waited_s: float = 0.0


class PoliteClient(arxiv.Client):
    """An ``arxiv.Client`` whose every page request waits for the shared limiter and is
    retried with backoff on transient failures (the package's own delay and retries are off)."""

    def __init__(
        self,
        endpoint: str,
        *,
        page_size: int,
        limiter: RateLimiter,
        retries: int,
        backoff: float,
        timeout: float,
        stats: RequestStats,
        limits: HttpLimits,
    ) -> None:
        super().__init__(page_size=page_size, delay_seconds=0.0, num_retries=0)
        self.query_url_format = endpoint + "?{}"
        self._session = bound_session(_TimeoutSession(timeout), limits)
        self.limiter, self.retries, self.backoff, self.stats = limiter, retries, backoff, stats

    def _transient(self, exc: BaseException) -> bool:
        """A failure worth another try: 429/5xx, an empty page mid-results, a timeout, a
        dropped connection (a 400 or 404 is final)."""
        if isinstance(exc, arxiv.HTTPError):
            return exc.status in RETRY_STATUSES
        return isinstance(
            exc, arxiv.UnexpectedEmptyPageError | requests.Timeout | requests.ConnectionError
        )

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff with 10% jitter: backoff * 2**(attempt-1) * [1, 1.1)."""
        return float(self.backoff * 2 ** (state.attempt_number - 1) * (1 + 0.1 * random.random()))

    def _count_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1

    def _parse_feed(self, url: str, first_page: bool = True, _try_index: int = 0) -> Any:
        """One page, each try after the shared limiter's wait, retried (tenacity) on
        transient failures; the last failure is raised as it was."""
        for attempt in Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=self._wait,
            retry=retry_if_exception(self._transient),
            before_sleep=self._count_retry,
            reraise=True,
        ):
            with attempt:
                self.stats.waited_s += self.limiter.wait()
                self.stats.requests += 1
                return super()._parse_feed(url, first_page=first_page, _try_index=0)
        raise AssertionError("unreachable")


def arxiv_query(
    query: str, categories: list[str], date_from: str | None, date_to: str | None
) -> str:
    """A plain-words query -> arXiv's syntax: every content word in any field, ANDed, with
    optional category and submission-date filters."""
    words = [t for t in tokens(query) if t not in STOP_WORDS][:8] or tokens(query)[:8]
    parts = [" AND ".join(f"all:{w}" for w in words)] if words else []
    if categories:
        parts.append("(" + " OR ".join(f"cat:{c}" for c in categories) + ")")
    if date_from or date_to:
        start = (date_from or "1991-01-01").replace("-", "") + "0000"
        end = (date_to or "2999-12-31").replace("-", "") + "2359"
        parts.append(f"submittedDate:[{start} TO {end}]")
    return " AND ".join(parts)


def paper_from_result(result: arxiv.Result) -> Paper:
    paper_id, version = split_arxiv_id(result.entry_id)
    return Paper(
        id=paper_id,
        version=version,
        title=result.title,
        abstract=result.summary,
        authors=[a.name for a in result.authors],
        categories=list(result.categories),
        url=result.entry_id,
        published=result.published.date().isoformat() if result.published else None,
    )


class ResultCache:
    """Complete search results in SQLite (JSON text, no code), keyed by a hash of endpoint,
    query and params.

    The file is untrusted: a file that is not this cache's database (damaged, random bytes,
    another format or schema version) is replaced, and a row that does not hold valid results
    for its key is deleted; both count as a miss, and ``notes`` names the file and why.
    """

    SCHEMA = 2  # PRAGMA user_version of the database layout below

    def __init__(self, path: Path) -> None:
        self.path = path
        self.notes: list[str] = []
        self._lock = threading.Lock()
        try:
            self._open()
        except sqlite3.Error as exc:
            self._replace(f"not a usable results database ({exc})")

    def _open(self) -> None:
        with closing(sqlite3.connect(self.path)) as db, db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and (version != self.SCHEMA or tables != {"results"}):
                raise sqlite3.DatabaseError(f"schema version {version}, tables {sorted(tables)}")
            db.execute(
                "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, params TEXT NOT NULL, "
                "value TEXT NOT NULL, created REAL NOT NULL)"
            )
            db.execute(f"PRAGMA user_version = {self.SCHEMA}")

    def _replace(self, why: str) -> None:
        note = f"cache file {self.path} was unusable ({why}); replaced it"
        log.warning(note)
        self.notes.append(note)
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self._open()

    @staticmethod
    def params(**params: Any) -> str:
        return json.dumps(params, sort_keys=True)

    @staticmethod
    def key(**params: Any) -> str:
        return hashlib.sha256(ResultCache.params(**params).encode()).hexdigest()

    def _execute(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        with self._lock:
            try:
                with closing(sqlite3.connect(self.path)) as db, db:
                    return db.execute(sql, args).fetchall()
            except sqlite3.DatabaseError as exc:  # damaged since it was opened
                self._replace(str(exc))
                return []

    def get(self, key: str, params: str | None = None) -> list[tuple[Paper, float]] | None:
        rows = self._execute("SELECT params, value FROM results WHERE key = ?", (key,))
        if not rows:
            return None
        stored, value = rows[0]
        try:
            if params is not None and stored != params:
                raise ValueError("stored for other search parameters")
            results = [(Paper.model_validate(p), float(s)) for p, s in json.loads(value)]
            if not all(0 <= s <= 1 for _, s in results):
                raise ValueError("scores out of range")
        except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
            note = f"cache file {self.path}: dropped an invalid entry ({str(exc)[:120]})"
            log.warning(note)
            self.notes.append(note)
            self._execute("DELETE FROM results WHERE key = ?", (key,))
            return None
        return results

    def put(self, key: str, results: list[tuple[Paper, float]], params: str = "") -> None:
        value = json.dumps([[p.model_dump(mode="json"), s] for p, s in results])
        self._execute(
            "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?)",
            (key, params, value, time.time()),
        )

    def take_notes(self) -> list[str]:
        with self._lock:
            notes, self.notes = self.notes, []
        return notes


@dataclass(frozen=True)
class ArxivConfig:
    """The arXiv source's config group: endpoint, politeness, retries, filters, bounds (the
    defaults are the context's: ``from_context``)."""

    endpoint: str
    interval: float  # seconds between requests, shared by every thread
    retries: int  # per page
    backoff: float  # first retry delay in seconds, doubled each time
    timeout: float  # seconds a connection or one read may stall
    limits: HttpLimits  # whole-request deadline and response size cap
    categories: tuple[str, ...] = ()
    date_from: str | None = None  # YYYY-MM-DD
    date_to: str | None = None
    cache_dir: str | None = None  # where the results cache lives (None: cache.cache_location)

    @classmethod
    def from_context(cls, context: Context) -> ArxivConfig:
        return cls(
            endpoint=(context.search.arxiv_api_url or DEFAULT_ENDPOINT).rstrip("?"),
            interval=context.search.arxiv_interval,
            retries=context.search.arxiv_retries,
            backoff=context.search.arxiv_backoff,
            timeout=context.search.arxiv_timeout,
            categories=tuple(context.search.arxiv_categories),
            date_from=context.search.arxiv_date_from,
            date_to=context.search.arxiv_date_to,
            cache_dir=context.cache_dir,
            limits=http_limits(context, "arxiv"),
        )


class ArxivSearch:
    """``SearchBackend`` over the arXiv API."""

    name = "arxiv"

    def __init__(self, config: ArxivConfig) -> None:
        self.config = config
        self.endpoint = config.endpoint
        self.limiter = limiter_for(self.endpoint, config.interval)
        self.cache = ResultCache(cache_dir(config.cache_dir) / "arxiv-results.sqlite")
        self.stats = RequestStats()

    def _client(self, page_size: int) -> PoliteClient:
        return PoliteClient(
            self.endpoint,
            page_size=page_size,
            limiter=self.limiter,
            retries=self.config.retries,
            backoff=self.config.backoff,
            timeout=self.config.timeout,
            limits=self.config.limits,
            stats=self.stats,
        )

    def _run(self, search: arxiv.Search, page_size: int) -> list[tuple[Paper, float]]:
        results: list[tuple[Paper, float]] = []
        try:
            for rank, result in enumerate(self._client(page_size).results(search)):
                # relevance order is arXiv's; a score that falls with rank keeps it comparable
                results.append((paper_from_result(result), round(1.0 / (1 + rank), 4)))
        except requests.ConnectionError as exc:
            if not results:
                raise SearchUnavailable(
                    f"arXiv API at {self.endpoint} cannot be reached ({type(exc).__name__}); "
                    "check the network or SOVEREIGN_ARXIV_API_URL, or search a local arXiv "
                    "metadata file with --corpus PATH"
                ) from exc
            raise PartialResults(
                results, f"connection lost after {count(len(results), 'result')}"
            ) from exc
        except (arxiv.ArxivError, requests.RequestException) as exc:
            if results:
                raise PartialResults(results, f"{type(exc).__name__}: {exc}") from exc
            raise
        return results

    def search(self, query: str, k: int) -> list[tuple[Paper, float]]:
        config = self.config
        search_query = arxiv_query(query, list(config.categories), config.date_from, config.date_to)
        params = ResultCache.params(
            endpoint=self.endpoint, query=search_query, k=k, sort="relevance"
        )
        key = hashlib.sha256(params.encode()).hexdigest()
        cached = self.cache.get(key, params)
        if cached is not None:
            self.stats.cache_hits += 1
            return cached
        search = arxiv.Search(
            query=search_query, max_results=k, sort_by=arxiv.SortCriterion.Relevance
        )
        results = self._run(search, page_size=min(k, 100))
        self.cache.put(key, results, params)
        return results

    def get(self, paper_id: str) -> Paper | None:
        try:
            found = self._run(arxiv.Search(id_list=[paper_id.strip()], max_results=1), 1)
        except arxiv.HTTPError as exc:
            if exc.status == 400:  # arXiv answers a malformed id with 400
                return None
            raise
        return found[0][0] if found else None

    def notes(self) -> list[Uncertainty]:
        """Damaged cache files replaced or entries dropped since last asked."""
        return [
            Uncertainty(kind="fallback", node="search", message=m) for m in self.cache.take_notes()
        ]

    def describe(self) -> str:
        config = self.config
        filters = []
        if config.categories:
            filters.append("categories " + ", ".join(config.categories))
        if config.date_from or config.date_to:
            filters.append(f"submitted {config.date_from or '…'} to {config.date_to or '…'}")
        where = (
            "arXiv's API" if self.endpoint == DEFAULT_ENDPOINT else f"arXiv API at {self.endpoint}"
        )
        extra = f" ({'; '.join(filters)})" if filters else ""
        return (
            f"{where}{extra}, arXiv relevance ranking, one request per "
            f"{config.interval:g} s shared by the parallel queries"
        )


_BACKENDS: dict[ArxivConfig, ArxivSearch] = {}
_BACKENDS_LOCK = threading.Lock()


def arxiv_backend(config: ArxivConfig) -> ArxivSearch:
    """One backend per configuration in this process (its stats and cache are shared)."""
    with _BACKENDS_LOCK:
        if config not in _BACKENDS:
            _BACKENDS[config] = ArxivSearch(config)
        return _BACKENDS[config]
