"""One file of named arrays, written once and opened memory-mapped.

Layout: the magic ``SOVIDX01``, the header's length (8 bytes, little-endian), a JSON header
``{"meta": {...}, "arrays": {name: {"dtype", "shape", "offset"}}}``, then each array's raw
bytes at its offset (64-byte aligned). Opening reads the header only; each array is an
``np.memmap`` (read-only), so a process touches, and holds in memory, only the pages it
reads. Nothing in the file can run code: dtypes are checked against an allow-list.

``SortedStrings`` is a read-only ``Mapping[str, int]`` kept in such a file: the keys sorted
(UTF-8, concatenated, with start offsets) and one value per key, found by binary search.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from sovereign_agents.cache import CacheInvalid

MAGIC = b"SOVIDX01"
_ALIGN = 64
_DTYPES = {"<i4", "<i8", "<f4", "|u1"}
_REMEMBERED = 200_000  # keys a SortedStrings remembers having looked up (then forgets all)
_SLACK = 64  # spaces after the header JSON, room for update_meta


def _aligned(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN


class ArrayFileWriter:
    """Declare every array (name, dtype, shape), then fill them in any order, in chunks."""

    def __init__(
        self, handle: BinaryIO, meta: dict[str, Any], arrays: dict[str, tuple[str, int]]
    ) -> None:
        layout: dict[str, dict[str, Any]] = {}
        offset = 0
        for name, (dtype, length) in arrays.items():
            if dtype not in _DTYPES:
                raise TypeError(f"unsupported dtype {dtype}")
            layout[name] = {"dtype": dtype, "shape": [length], "offset": offset}
            offset = _aligned(offset + length * np.dtype(dtype).itemsize)
        header = json.dumps({"meta": meta, "arrays": layout}).encode("utf-8") + b" " * _SLACK
        self.base = _aligned(len(MAGIC) + 8 + len(header))
        self.header_length = len(header)
        self.meta = dict(meta)
        self.layout = layout
        self.handle = handle
        self.written = dict.fromkeys(arrays, 0)
        handle.write(MAGIC + len(header).to_bytes(8, "little") + header)
        handle.truncate(self.base + offset)

    def update_meta(self, **changes: Any) -> None:
        """Rewrite the header with ``changes`` in meta (small values: the header keeps
        ``_SLACK`` bytes of spaces for them)."""
        self.meta.update(changes)
        header = json.dumps({"meta": self.meta, "arrays": self.layout}).encode("utf-8")
        if len(header) > self.header_length:
            raise ValueError("the header outgrew its reserved space")
        self.handle.seek(len(MAGIC) + 8)
        self.handle.write(header.ljust(self.header_length))

    def write(self, name: str, chunk: np.ndarray, at: int | None = None) -> None:
        """Write ``chunk`` at element ``at`` of array ``name`` (default: after the last)."""
        spec = self.layout[name]
        chunk = np.ascontiguousarray(chunk, dtype=spec["dtype"])
        start = self.written[name] if at is None else at
        if start + len(chunk) > spec["shape"][0]:
            raise ValueError(f"{name}: {start + len(chunk)} elements > {spec['shape'][0]}")
        self.handle.seek(self.base + spec["offset"] + start * chunk.itemsize)
        self.handle.write(chunk.tobytes())
        self.written[name] = max(self.written[name], start + len(chunk))


def open_array_file(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta, arrays memory-mapped); ``CacheInvalid`` when the file is not whole and sound."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(len(MAGIC) + 8)
        if len(head) < len(MAGIC) + 8 or head[: len(MAGIC)] != MAGIC:
            raise CacheInvalid("not an index file (no SOVIDX01 magic)")
        length = int.from_bytes(head[len(MAGIC) :], "little")
        if length > min(size, 1 << 26):
            raise CacheInvalid("header length beyond the file")
        try:
            header = json.loads(handle.read(length).decode("utf-8"))
        except ValueError as exc:
            raise CacheInvalid(f"unreadable header ({exc})") from exc
    if not isinstance(header, dict) or not isinstance(header.get("meta"), dict):
        raise CacheInvalid("header without meta")
    layout = header.get("arrays")
    if not isinstance(layout, dict):
        raise CacheInvalid("header without arrays")
    base = _aligned(len(MAGIC) + 8 + length)
    arrays: dict[str, np.ndarray] = {}
    for name, spec in layout.items():
        try:
            dtype, (count,), offset = spec["dtype"], spec["shape"], spec["offset"]
        except (KeyError, TypeError, ValueError) as exc:
            raise CacheInvalid(f"array {name!r}: bad layout") from exc
        if dtype not in _DTYPES or not isinstance(count, int) or not isinstance(offset, int):
            raise CacheInvalid(f"array {name!r}: bad dtype or shape")
        end = base + offset + count * np.dtype(dtype).itemsize
        if count < 0 or offset < 0 or end > size:
            raise CacheInvalid(f"array {name!r} lies beyond the end of the file (truncated?)")
        if count == 0:
            arrays[name] = np.zeros(0, dtype=dtype)
        else:
            mapped = np.memmap(path, dtype=dtype, mode="r", offset=base + offset, shape=(count,))
            arrays[name] = mapped.view(np.ndarray)  # a plain view: its slices cost less
    return header["meta"], arrays


class _Keys(Sequence[bytes]):
    def __init__(self, blob: np.ndarray, starts: np.ndarray) -> None:
        self.blob, self.starts = blob, starts

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, i: int) -> bytes:  # type: ignore[override]
        return bytes(self.blob[int(self.starts[i]) : int(self.starts[i + 1])])


class SortedStrings(Mapping[str, int]):
    """A read-only str -> int map over arrays: keys sorted by their UTF-8 bytes."""

    def __init__(self, blob: np.ndarray, starts: np.ndarray, values: np.ndarray | None) -> None:
        """``values`` None: each key's value is its position (a vocabulary)."""
        if (values is not None and len(starts) != len(values) + 1) or (
            len(starts) and int(starts[0]) != 0
        ):
            raise CacheInvalid("key offsets and values do not match")
        if not len(starts) or int(starts[-1]) != len(blob) or (np.diff(starts) < 0).any():
            raise CacheInvalid("key offsets are not increasing within the key bytes")
        self._keys = _Keys(blob, starts)
        self._values = values
        self._found: dict[str, int | None] = {}  # keys looked up before (a binary search
        # in Python costs ~20 slices of the key bytes; the same terms come back every query)

    @staticmethod
    def arrays(items: list[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(blob, starts, values) of ``items``, sorted by key."""
        encoded = sorted((k.encode("utf-8", errors="surrogatepass"), v) for k, v in items)
        lengths = np.fromiter((len(k) for k, _ in encoded), dtype=np.int64, count=len(encoded))
        starts = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        blob = np.frombuffer(b"".join(k for k, _ in encoded), dtype=np.uint8)
        values = np.fromiter((v for _, v in encoded), dtype=np.int64, count=len(encoded))
        return blob, starts, values

    def _find(self, key: object) -> int | None:
        if not isinstance(key, str):
            return None
        if key in self._found:
            return self._found[key]
        raw = key.encode("utf-8", errors="surrogatepass")
        i = bisect.bisect_left(self._keys, raw)
        found = i if i < len(self._keys) and self._keys[i] == raw else None
        if len(self._found) >= _REMEMBERED:
            self._found.clear()
        self._found[key] = found
        return found

    def __getitem__(self, key: str) -> int:
        i = self._find(key)
        if i is None:
            raise KeyError(key)
        return i if self._values is None else int(self._values[i])

    def __contains__(self, key: object) -> bool:
        return self._find(key) is not None

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return (self._keys[i].decode("utf-8", errors="surrogatepass") for i in range(len(self)))
