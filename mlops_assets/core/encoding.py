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

    def transform(self, frame: pl.DataFrame) -> np.ndarray:
        """A float64 matrix, columns in ``features`` order."""
        self.check_columns(frame.columns)
        out = np.empty((frame.height, len(self.features)), dtype=np.float64)
        for i, name in enumerate(self.categorical):
            vocabulary = self.vocabularies[name]
            codes = (
                frame.get_column(name)
                .cast(pl.String)
                .replace_strict(
                    vocabulary, list(range(len(vocabulary))), default=None, return_dtype=pl.Float64
                )
            )
            out[:, i] = codes.fill_null(np.nan).to_numpy()
        offset = len(self.categorical)
        for i, name in enumerate(self.numeric):
            column = frame.get_column(name)
            try:
                out[:, offset + i] = column.cast(pl.Float64).fill_null(np.nan).to_numpy()
            except pl.exceptions.InvalidOperationError as exc:
                raise FeatureSchemaError(
                    f"feature '{name}' has type {column.dtype}, expected a number"
                ) from exc
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
