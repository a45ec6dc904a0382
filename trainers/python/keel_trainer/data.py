"""Reads what Keel hands a trainer: the snapshot's feature columns, converted the way Keel reads them, and the run's
rows file (each snapshot row's part and encoded label)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

#: The string Keel's serving feeds an ONNX graph for a missing categorical value (ml/onnx/missing-category.ts).
MISSING_CATEGORY = "\u241fkeel:missing\u241f"

PART_TRAIN, PART_VALID, PART_HOLDOUT = 0, 1, 2


@dataclass
class RunRows:
    part: np.ndarray  # uint8 per snapshot row
    label: np.ndarray  # float64 per snapshot row

    def indices(self, part: int) -> np.ndarray:
        return np.flatnonzero(self.part == part)


def read_rows(path: str) -> RunRows:
    table = pq.read_table(path, columns=["part", "label"])
    return RunRows(
        part=table.column("part").to_numpy(zero_copy_only=False).astype(np.uint8),
        label=table.column("label").to_numpy(zero_copy_only=False).astype(np.float64),
    )


def _seconds(column: pa.ChunkedArray) -> np.ndarray:
    """Dates and timestamps as epoch seconds (DuckDB's epoch()), as doubles."""
    kind = column.type
    if pa.types.is_date32(kind) or pa.types.is_date64(kind):
        days = pc.cast(pc.cast(column, pa.date32()), pa.int32())
        return days.to_numpy(zero_copy_only=False).astype(np.float64) * 86400.0
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[kind.unit]
    ticks = pc.cast(column, pa.int64())
    return ticks.to_numpy(zero_copy_only=False).astype(np.float64) / per_second


def numeric_column(column: pa.ChunkedArray) -> np.ndarray:
    """Booleans → 0/1, dates and timestamps → epoch seconds, other numbers → double; missing → NaN."""
    kind = column.type
    if pa.types.is_boolean(kind):
        column = pc.cast(column, pa.int8())
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        values = _seconds(column)
        mask = column.is_null().to_numpy(zero_copy_only=False)
    else:
        as_double = pc.cast(column, pa.float64())
        mask = as_double.is_null().to_numpy(zero_copy_only=False)
        values = as_double.fill_null(np.nan).to_numpy(zero_copy_only=False).astype(np.float64)
    values = np.array(values, dtype=np.float64)
    values[mask] = np.nan
    return values


def categorical_column(column: pa.ChunkedArray) -> np.ndarray:
    """Text as text; missing → Keel's missing-category string (what serving feeds the graph for null)."""
    values = pc.cast(column, pa.string()) if not pa.types.is_string(column.type) else column
    return np.array([MISSING_CATEGORY if v is None else v for v in values.to_pylist()], dtype=object)


def read_features(snapshot_path: str, features: list[dict]) -> dict[str, np.ndarray]:
    table = pq.read_table(snapshot_path, columns=[feature["name"] for feature in features])
    out: dict[str, np.ndarray] = {}
    for feature in features:
        column = table.column(feature["name"])
        out[feature["name"]] = numeric_column(column) if feature["kind"] == "numeric" else categorical_column(column)
    return out
