"""A compact binary form of a :class:`~topology.model.Network`.

Databases and caches keep a loaded network as one blob: the model's arrays
in a compressed ``.npz`` archive, with the ids, names and free-form
properties as JSON inside it. Reading it back skips parsing and validating
the GIS file again, which at a million elements is the difference between
seconds and a minute. The blob holds the *normal* state; switch states are
kept beside it by whoever stores it.

>>> blob = dumps(net)              # doctest: +SKIP
>>> same = loads(blob)             # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from topology.exceptions import NetworkFileError
from topology.model import Customers, Network

__all__ = ["FORMAT_VERSION", "dumps", "loads"]

#: Bumped whenever the layout of the archive changes.
FORMAT_VERSION = 1

_ARRAYS = (
    "node_xy",
    "node_source",
    "edge_kind",
    "edge_from",
    "edge_to",
    "edge_normal_closed",
    "edge_length_m",
    "edge_scada",
    "edge_capacity",
    "node_voltage_kv",
    "geom_offsets",
    "geom_coords",
)


def _json_bytes(doc: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(doc, separators=(",", ":")).encode("utf-8"), dtype=np.uint8)


def dumps(net: Network) -> bytes:
    """Serialize ``net`` (normal state, customers included) to bytes.

    O(n + m) time and output size (zlib-compressed).
    """
    arrays: dict[str, np.ndarray] = {name: getattr(net, name) for name in _ARRAYS}
    arrays["node_customers"] = net.node_customers
    meta: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "node_ids": net.node_ids,
        "edge_ids": net.edge_ids,
        "node_name": net.node_name,
        "edge_name": net.edge_name,
        "node_props": {str(k): v for k, v in net.node_props.items()},
        "edge_props": {str(k): v for k, v in net.edge_props.items()},
        "customers": None,
    }
    if net.customers is not None:
        arrays["customer_node"] = net.customers.node
        meta["customers"] = {"ids": net.customers.ids, "fields": net.customers.fields}
    arrays["meta"] = _json_bytes(meta)
    buf = io.BytesIO()
    # numpy's stubs type the ``allow_pickle`` keyword as bool, and mypy matches
    # ``**arrays`` against it too; no archive key here is "allow_pickle".
    np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def loads(blob: bytes) -> Network:
    """Rebuild a :class:`Network` written by :func:`dumps`. O(n + m).

    Raises
    ------
    NetworkFileError
        The bytes are not such an archive, or of another format version.
    """
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    except (OSError, ValueError, KeyError) as exc:
        raise NetworkFileError(f"not a stored network model: {exc}") from exc
    if meta.get("format") != FORMAT_VERSION:
        raise NetworkFileError(
            f"stored network model has format {meta.get('format')}, expected {FORMAT_VERSION}"
        )
    customers = None
    if meta["customers"] is not None:
        customers = Customers(
            ids=meta["customers"]["ids"],
            node=arrays.pop("customer_node"),
            fields=meta["customers"]["fields"],
        )
    node_customers = arrays.pop("node_customers")
    return Network(
        node_ids=meta["node_ids"],
        edge_ids=meta["edge_ids"],
        node_name=meta["node_name"],
        edge_name=meta["edge_name"],
        node_props={int(k): v for k, v in meta["node_props"].items()},
        edge_props={int(k): v for k, v in meta["edge_props"].items()},
        node_customers=None if customers is not None else node_customers,
        customers=customers,
        **arrays,
    )
