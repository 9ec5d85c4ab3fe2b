"""The weather mart is point-in-time correct: every feature of day d is recomputed here from the
raw rows of days <= d only, and the label is the raw maximum of day d + 1."""

from datetime import timedelta

import duckdb
import pytest

from mlops_assets.dataset import problem


@pytest.fixture(scope="module")
def raw_and_mart(built_warehouse):
    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        raw = conn.execute(
            'SELECT CAST("date" AS DATE), CAST(precipitation AS DOUBLE), '
            "CAST(temp_max AS DOUBLE) FROM raw.weather ORDER BY 1"
        ).fetchall()
        mart = conn.execute(
            f"SELECT day, precip_3d_mm, precip_7d_mm, rain_rate_7d, temp_max_3d_avg_c, "
            f"temp_max_7d_avg_c, temp_max_change_c, {problem.LABEL} FROM {problem.FEATURE_TABLE}"
        ).fetchall()
    return {day: (rain, temp) for day, rain, temp in raw}, mart


def test_every_day_with_a_known_tomorrow_is_one_row(raw_and_mart):
    raw, mart = raw_and_mart
    assert len(raw) == 1461  # 2012-01-01 .. 2015-12-31, as shipped
    assert len(mart) == len(raw) - 1  # the last day has no tomorrow
    assert len({row[0] for row in mart}) == len(mart)


def test_features_use_only_days_up_to_the_decision_and_the_label_is_tomorrow(raw_and_mart):
    raw, mart = raw_and_mart
    for day, p3, p7, rate7, t3, t7, change, label in mart:
        past = [raw[day - timedelta(days=i)] for i in range(7) if day - timedelta(days=i) in raw]
        rain, temp = [r for r, _ in past], [t for _, t in past]
        assert p3 == pytest.approx(sum(rain[:3])) and p7 == pytest.approx(sum(rain))
        assert rate7 == pytest.approx(sum(r > 0 for r in rain) / len(rain))
        assert t3 == pytest.approx(sum(temp[:3]) / len(temp[:3]))
        assert t7 == pytest.approx(sum(temp) / len(temp))
        yesterday = raw.get(day - timedelta(days=1))
        assert change == (None if yesterday is None else pytest.approx(temp[0] - yesterday[1]))
        assert label == raw[day + timedelta(days=1)][1]
