"""Generated networks for control regions (docs/scaling.md): ids unique across regions.

A utility's GIS gives every element and customer an id unique in the whole
utility, so the regions' data sets never share an id. Generated networks
all start at ``S1`` and ``C0000001``: :func:`prefixed` renames a network's
nodes, edges, customers, meters and phone numbers for one region, and
:func:`merged` puts several such networks into one (the data set of a
single region covering them all: the peer the regions are compared with in
``bench/regions.py`` and ``tests/test_regions.py``).

Pure: no database, no files. O(nodes + edges + customers) through the
contract-1 reader, so the results are validated like any loaded network.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from topology.io import network_from_features, network_to_geojson
from topology.model import Customers, Network

__all__ = ["merged", "prefixed"]

#: A North-American number as the generators write them: +1, area code, seven digits.
_NANP = re.compile(r"^\+1\d{3}(\d{7})$")


def prefixed(net: Network, prefix: str, *, area_code: str | None = None) -> Network:
    """``net`` with ``prefix`` before every node, edge, customer and meter id.

    Parameters
    ----------
    net : Network
        A network with individual customers (or customer counts only).
    prefix : str
        Put before each id, e.g. ``"N-"``.
    area_code : str, optional
        Three digits that replace the area code of every ``+1`` phone number
        (``+15550000001`` -> ``+16120000001``), so that two regions' callers
        never share a number; other numbers are kept.
    """
    features = network_to_geojson(net)["features"]
    for feature in features:
        props = feature["properties"]
        for key in ("id", "from", "to"):
            if key in props:
                props[key] = prefix + props[key]
    out = network_from_features(features)
    cust = net.customers
    if cust is not None:
        fields: dict[str, list[Any]] = {k: list(v) for k, v in cust.fields.items()}
        if "meter" in fields:
            fields["meter"] = [None if m is None else prefix + str(m) for m in fields["meter"]]
        if "phone" in fields and area_code is not None:
            fields["phone"] = [_phone(p, area_code) for p in fields["phone"]]
        node = np.array([out.node_index[prefix + net.node_ids[v]] for v in cust.node.tolist()])
        out.set_customers(Customers([prefix + c for c in cust.ids], node, fields))
    return out


def _phone(phone: Any, area_code: str) -> Any:
    match = _NANP.match(str(phone)) if phone else None
    return f"+1{area_code}{match.group(1)}" if match else phone


def merged(nets: Sequence[Network]) -> Network:
    """One network holding ``nets`` side by side (their ids must not overlap).

    Customers are kept when every network has them; a column missing from
    one network is empty for its customers.

    Raises
    ------
    NetworkValidationError
        Two networks share an id (the reader names it).
    """
    features = [f for net in nets for f in network_to_geojson(net)["features"]]
    out = network_from_features(features)
    if not nets or any(net.customers is None for net in nets):
        return out
    ids: list[str] = []
    node: list[int] = []
    names = sorted({k for net in nets for k in net.customers.fields})  # type: ignore[union-attr]
    fields: dict[str, list[Any]] = {k: [] for k in names}
    for net in nets:
        cust = net.customers
        assert cust is not None
        ids += cust.ids
        node += [out.node_index[net.node_ids[v]] for v in cust.node.tolist()]
        for k in names:
            fields[k] += list(cust.fields.get(k, [None] * len(cust)))
    out.set_customers(Customers(ids, np.array(node, dtype=np.int64), fields))
    return out
