"""Parsed network files kept on disk, for commands run again and again on one file.

Parsing a GeoJSON network is the slow part of a one-shot command (tens of
milliseconds for 10,000 nodes on the fast path, :mod:`topology.fastio`;
several times that when the validating reader has to run); reading the
compact binary form back (:mod:`topology.binary`) takes a few milliseconds.
:func:`read_network_cached` answers from the cache when the network file,
the customers file and the CRS are byte for byte the ones cached, and reads
(and caches) the files otherwise. The key is a hash of the files' contents,
so an edited file is never answered from the cache, whatever its timestamps.

Only GeoJSON files are cached; GIS folders and databases are read as usual.
The folder keeps the :data:`KEEP` most recently used networks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from topology.binary import FORMAT_VERSION, dumps, loads
from topology.exceptions import Issue, NetworkFileError
from topology.io import read_network
from topology.model import Network

__all__ = ["KEEP", "read_network_cached"]

#: How many parsed networks the cache folder keeps.
KEEP = 16

_CACHED_SUFFIXES = {".geojson", ".json"}


def _key(path: Path, customers: Path | None, crs: str | None) -> str:
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"format {FORMAT_VERSION}; crs {crs}\n".encode())
    for part in (path, customers):
        digest.update(b"\0file\0")
        if part is not None:
            with part.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()


def _write_atomically(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in entries[KEEP:]:
        for path in (stale, stale.with_suffix(".json")):
            with contextlib.suppress(OSError):
                path.unlink()


def read_network_cached(
    path: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str],
    crs: str | None = None,
    customers: str | os.PathLike[str] | None = None,
) -> Network:
    """:func:`topology.io.read_network`, answered from ``cache_dir`` when it can be.

    Same parameters, errors and result (warnings included) as
    :func:`~topology.io.read_network`. A cache that cannot be read or
    written is ignored: the files are then read as usual.

    Notes
    -----
    A hit costs one pass over the files' bytes (to hash them) plus
    O(n + m) to rebuild the arrays; a miss adds the cost of writing the
    archive (about a tenth of the parse).
    """
    path, folder = Path(path), Path(cache_dir)
    customers_path = Path(customers) if customers is not None else None
    if path.suffix.lower() not in _CACHED_SUFFIXES or not path.is_file():
        return read_network(path, crs=crs, customers=customers)
    if customers_path is not None and not customers_path.is_file():
        return read_network(path, crs=crs, customers=customers)
    key = _key(path, customers_path, crs)
    blob, side = folder / f"{key}.npz", folder / f"{key}.json"
    try:
        net = loads(blob.read_bytes())
        net.warnings = [
            Issue(w["element"], w["message"], w["severity"], tuple(w["ids"]))
            for w in json.loads(side.read_text(encoding="utf-8"))["warnings"]
        ]
        os.utime(blob)  # most recently used
        return net
    except (OSError, ValueError, KeyError, NetworkFileError):
        pass
    net = read_network(path, crs=crs, customers=customers)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        warnings = [
            {"element": w.element, "message": w.message, "severity": w.severity, "ids": w.ids}
            for w in net.warnings
        ]
        _write_atomically(side, json.dumps({"warnings": warnings}).encode("utf-8"))
        _write_atomically(blob, dumps(net))
        _prune(folder)
    except OSError:
        pass  # a read-only home or a full disk: the answer does not depend on the cache
    return net
