"""Fitted detectors saved between runs, without pickle.

An incremental run reuses what the last full run learned instead of learning
it again. A fitted detector is written as JSON: its class, its parameters and
its fitted attributes, with pandas tables, numpy arrays and networkx graphs
written as plain values (numbers in bulk as their bytes, in base64), and
scikit-learn estimators inside it through skops (which rebuilds only the types
it is told to trust). Loading never runs code
from the file: only classes of kgsentinel and scikit-learn are rebuilt.

Example:
    >>> import pandas as pd
    >>> from sklearn.base import BaseEstimator
    >>> table = pd.DataFrame({"activity": ["A", "B"], "hours": [1.5, 2.0]})
    >>> decode(encode(table)).equals(table)
    True
"""

from __future__ import annotations

import base64
import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["decode", "encode", "load_fitted", "save_fitted"]

_TRUSTED_MODULES = ("kgsentinel.", "sklearn.", "numpy.", "scipy.", "builtins.")
#: numpy kinds written as raw bytes: booleans, integers and floats
_BINARY_KINDS = frozenset("biuf")


def save_fitted(detector: Any, path: Path, *, meta: dict[str, Any]) -> None:
    """Write ``detector`` (fitted) and ``meta`` to ``path``, atomically."""
    document = {"meta": meta, "detector": encode(detector)}
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_text(json.dumps(document), encoding="utf-8")
    temporary.replace(path)


def load_fitted(path: Path) -> tuple[Any, dict[str, Any]] | None:
    """The detector and meta saved at ``path``, or None when there is none or it is unreadable."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return decode(document["detector"]), document["meta"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError):
        return None


def encode(value: Any) -> Any:
    """A JSON-ready form of ``value`` (see :func:`decode`)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple | set | frozenset):
        kind = {list: "list", tuple: "tuple", set: "set", frozenset: "set"}[type(value)]
        return {"t": kind, "v": [encode(item) for item in value]}
    if isinstance(value, dict):
        return {"t": "dict", "v": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in _BINARY_KINDS:
            return {"t": "ndarray", "dtype": value.dtype.str, "shape": list(value.shape),
                    "b": _packed(value)}  # fmt: skip
        dtype = "object" if value.dtype == object else value.dtype.str
        items = [encode(v) for v in value.ravel().tolist()]
        return {"t": "ndarray", "dtype": dtype, "shape": list(value.shape), "v": items}
    if isinstance(value, pd.DataFrame):
        return {"t": "frame", "columns": encode(value.columns), "index": encode(value.index),
                "v": [_values(value.iloc[:, i]) for i in range(value.shape[1])]}  # fmt: skip
    if isinstance(value, pd.Series):
        return {"t": "series", "name": encode(value.name), "index": encode(value.index),
                **_values(value)}  # fmt: skip
    if isinstance(value, pd.MultiIndex):
        return {"t": "multiindex", "names": encode(list(value.names)),
                "v": [encode(level) for level in (value.get_level_values(i)
                                                  for i in range(value.nlevels))]}  # fmt: skip
    if isinstance(value, pd.Index):
        return {"t": "index", "name": encode(value.name), **_values(pd.Series(value))}
    if isinstance(value, pd.Timestamp):
        return {"t": "timestamp", "v": value.isoformat()}
    if isinstance(value, pd.Timedelta):
        return {"t": "timedelta", "v": int(value.value)}
    if _is_graph(value):
        return _graph(value)
    return _estimator(value)


def decode(value: Any) -> Any:
    """The value :func:`encode` wrote."""
    if not isinstance(value, dict):
        return value
    kind = value["t"]
    if kind in ("list", "tuple", "set"):
        items = [decode(item) for item in value["v"]]
        return {"list": list, "tuple": tuple, "set": set}[kind](items)
    if kind == "dict":
        return {_hashable(decode(k)): decode(v) for k, v in value["v"]}
    if kind == "ndarray" and "b" in value:
        return _unpacked(value["b"], value["dtype"]).reshape(value["shape"])
    if kind == "ndarray":
        items = [decode(v) for v in value["v"]]
        dtype = object if value["dtype"] == "object" else np.dtype(value["dtype"])
        return np.array(items, dtype=dtype).reshape(value["shape"])
    if kind == "frame":
        index = decode(value["index"])
        columns = [_restore(column).set_axis(index) for column in value["v"]]
        frame = pd.concat(columns, axis=1) if columns else pd.DataFrame(index=index)
        frame.columns = decode(value["columns"])
        return frame
    if kind == "series":
        return _restore(value).set_axis(decode(value["index"])).rename(decode(value["name"]))
    if kind == "multiindex":
        return pd.MultiIndex.from_arrays([decode(level) for level in value["v"]],
                                         names=decode(value["names"]))  # fmt: skip
    if kind == "index":
        return pd.Index(_restore(value), name=decode(value["name"]))
    if kind == "timestamp":
        return pd.Timestamp(value["v"])
    if kind == "timedelta":
        return pd.Timedelta(value["v"])
    if kind == "graph":
        return _rebuild_graph(value)
    if kind == "skops":
        return _skops_load(value["v"])
    if kind == "object":
        return _rebuild_estimator(value)
    raise ValueError(f"unknown kind {kind!r} in a saved detector")


def _values(series: pd.Series) -> dict[str, Any]:
    dtype = str(series.dtype)
    if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series):
        numbers = series.astype("int64").where(series.notna(), None)
        return {"dtype": dtype, "v": [None if pd.isna(v) else int(v) for v in numbers]}
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in _BINARY_KINDS:
        return {"dtype": dtype, "b": _packed(series.to_numpy())}
    return {"dtype": dtype, "v": [encode(v) for v in series.tolist()]}


def _packed(array: np.ndarray) -> str:
    """A numeric array's bytes (little-endian), in base64: far quicker to read than a list."""
    return base64.b64encode(np.ascontiguousarray(array.astype(array.dtype.newbyteorder("<")))
                            .tobytes()).decode("ascii")  # fmt: skip


def _unpacked(text: str, dtype: str) -> np.ndarray:
    kind = np.dtype(dtype)
    if kind.kind not in _BINARY_KINDS:
        raise ValueError(f"not a numeric array: {dtype!r} in a saved detector")
    return np.frombuffer(base64.b64decode(text), dtype=kind.newbyteorder("<")).astype(kind)


def _restore(value: dict[str, Any]) -> Any:
    if "b" in value:
        return pd.Series(_unpacked(value["b"], value["dtype"]), dtype=value["dtype"])
    items = [decode(v) for v in value["v"]]
    dtype = value["dtype"]
    if dtype.startswith(("datetime64", "timedelta64")):
        return pd.Series(items, dtype="float64").astype("Int64").astype(dtype)
    try:
        return pd.Series(items, dtype=dtype)
    except (TypeError, ValueError):
        return pd.Series(items, dtype=object)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _is_graph(value: Any) -> bool:
    return type(value).__module__.startswith("networkx.")


def _graph(graph: Any) -> dict[str, Any]:
    return {"t": "graph", "class": type(graph).__name__,
            "nodes": [[encode(n), encode(d)] for n, d in graph.nodes(data=True)],
            "edges": [[encode(a), encode(b), encode(d)] for a, b, d in graph.edges(data=True)],
            "attrs": encode(dict(graph.graph))}  # fmt: skip


def _rebuild_graph(value: dict[str, Any]) -> Any:
    import networkx as nx

    if value["class"] not in ("Graph", "DiGraph", "MultiGraph", "MultiDiGraph"):
        raise ValueError(f"not a networkx graph class: {value['class']!r}")
    graph = getattr(nx, value["class"])()
    graph.graph.update(decode(value["attrs"]))
    graph.add_nodes_from((_hashable(decode(n)), decode(d)) for n, d in value["nodes"])
    graph.add_edges_from(
        (_hashable(decode(a)), _hashable(decode(b)), decode(d)) for a, b, d in value["edges"]
    )
    return graph


def _estimator(value: Any) -> dict[str, Any]:
    cls = type(value)
    module = cls.__module__
    if module.startswith("sklearn.") and not _holds_ours(value):
        import skops.io as sio

        return {"t": "skops", "v": base64.b64encode(sio.dumps(value)).decode("ascii")}
    if not module.startswith("kgsentinel.") and not module.startswith("sklearn."):
        raise TypeError(f"cannot save a {module}.{cls.__qualname__} in a detector")
    state = {key: encode(item) for key, item in vars(value).items()}
    return {"t": "object", "class": f"{module}:{cls.__qualname__}", "state": state}


def _holds_ours(value: Any) -> bool:
    """Whether a scikit-learn object (a Pipeline) holds kgsentinel estimators."""
    steps = getattr(value, "steps", None)
    return bool(steps) and any(type(step).__module__.startswith("kgsentinel.") for _, step in steps)


def _rebuild_estimator(value: dict[str, Any]) -> Any:
    module_name, _, name = value["class"].partition(":")
    if not module_name.startswith(("kgsentinel.", "sklearn.")):
        raise ValueError(f"refusing to rebuild {value['class']!r} from a saved detector")
    cls = getattr(importlib.import_module(module_name), name)
    instance = cls.__new__(cls)
    instance.__dict__.update({key: decode(item) for key, item in value["state"].items()})
    return instance


def _skops_load(text: str) -> Any:
    import skops.io as sio

    data = base64.b64decode(text)
    untrusted = sio.get_untrusted_types(data=data)
    refused = [name for name in untrusted if not name.startswith(_TRUSTED_MODULES)]
    if refused:
        raise ValueError(f"refusing types {', '.join(refused)} in a saved detector")
    return sio.loads(data, trusted=untrusted)
