"""Turn feature rows into the numeric matrix every model reads, the same way everywhere.

Training, batch scoring and the online service all call ``FeatureEncoder.transform``; its state
(category vocabularies, feature order) is saved as JSON with each model version, so a served
row is encoded exactly as it was in training.
"""

from dataclasses import dataclass

import numpy as np
import polars as pl


class FeatureSchemaError(ValueError):
    """Rows whose columns do not match the model's registered feature schema."""


@dataclass(frozen=True)
class FeatureEncoder:
    """Categorical features become integer codes (unknown = NaN); the rest become floats."""

    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    vocabularies: dict[str, list[str]]

    @classmethod
    def fit(
        cls, frame: pl.DataFrame, categorical: tuple[str, ...], numeric: tuple[str, ...]
    ) -> "FeatureEncoder":
        vocab = {
            c: sorted(v for v in frame.get_column(c).unique().to_list() if v is not None)
            for c in categorical
        }
        return cls(categorical=tuple(categorical), numeric=tuple(numeric), vocabularies=vocab)

    @property
    def features(self) -> tuple[str, ...]:
        return self.categorical + self.numeric

    def check_columns(self, columns: list[str]) -> None:
        missing = [c for c in self.features if c not in columns]
        if missing:
            raise FeatureSchemaError(
                f"rows lack feature(s) {missing} that the model was trained with; "
                f"registered features: {list(self.features)}"
            )

    def __post_init__(self) -> None:
        # value -> code, built once per encoder: serving encodes one row at a time
        lookups = {
            c: {v: float(i) for i, v in enumerate(self.vocabularies[c])} for c in self.categorical
        }
        object.__setattr__(self, "_lookups", lookups)

    def transform(self, frame: pl.DataFrame) -> np.ndarray:
        """A float64 matrix, columns in ``features`` order; unknown categories become NaN."""
        self.check_columns(frame.columns)
        out = np.empty((frame.height, len(self.features)), dtype=np.float64)
        for i, name in enumerate(self.categorical):
            lookup = self._lookups[name]
            out[:, i] = [lookup.get(v, np.nan) for v in frame.get_column(name).to_list()]
        wrong = [
            c
            for c in self.numeric
            if not (frame.schema[c].is_numeric() or frame.schema[c] in (pl.Boolean, pl.Null))
        ]
        if wrong:
            raise FeatureSchemaError(
                f"feature '{wrong[0]}' has type {frame.schema[wrong[0]]}, expected a number"
            )
        numeric = frame.select(pl.col(c).cast(pl.Float64) for c in self.numeric)
        out[:, len(self.categorical) :] = numeric.to_numpy()
        return out

    def transform_rows(self, rows: list[dict]) -> np.ndarray:
        """The same matrix as ``transform`` from plain dicts: the serving hot path, where a
        one-row DataFrame would cost more than the model."""
        if rows:
            self.check_columns(list(rows[0]))
        out = np.empty((len(rows), len(self.features)), dtype=np.float64)
        offset = len(self.categorical)
        for r, row in enumerate(rows):
            for i, name in enumerate(self.categorical):
                out[r, i] = self._lookups[name].get(row[name], np.nan)
            for i, name in enumerate(self.numeric):
                value = row[name]
                if value is not None and not isinstance(value, int | float):
                    raise FeatureSchemaError(
                        f"feature '{name}' has type {type(value).__name__}, expected a number"
                    )
                out[r, offset + i] = np.nan if value is None else float(value)
        return out

    def to_dict(self) -> dict:
        return {
            "categorical": list(self.categorical),
            "numeric": list(self.numeric),
            "vocabularies": self.vocabularies,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureEncoder":
        return cls(
            categorical=tuple(data["categorical"]),
            numeric=tuple(data["numeric"]),
            vocabularies={k: list(v) for k, v in data["vocabularies"].items()},
        )
