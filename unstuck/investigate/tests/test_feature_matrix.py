"""The win model's feature matrix is built a column at a time (winmodel.base_columns): it must
hold, to the last bit, what base_features gives row by row, and the custom attributes as
before, for every kind of value a signal row or a CRM's custom field brings (issue 16.4)."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from django.test import SimpleTestCase

from unstuck.investigate.winmodel import NUMERIC, FeatureSpec, _num


# The features as the win model computed them one row at a time before base_columns: the
# reference the column-wise build must equal.
def base_features(row: dict[str, Any]) -> dict[str, float]:
    open_stage = row["stage_kind"] == "open"
    peak = _num(row["amount_peak"])
    now = _num(row["amount_now"])
    return {
        "stage_order": _num(row["stage_order"]) if open_stage else math.nan,
        "age_days": _num(row["age_days"]),
        "days_in_stage": _num(row["days_in_stage"]) if open_stage else math.nan,
        "log_amount": math.log1p(max(now, 0)) if not math.isnan(now) else math.nan,
        "n_act": _num(row["n_act"]),
        "n_act_30": _num(row["n_act_30"]),
        "days_silent": _num(row["days_silent"]),
        "n_inbound": _num(row["n_inbound"]),
        "n_sh": _num(row["n_sh"]),
        "n_eb": min(_num(row["n_eb"]), 1.0),
        "n_supporters": _num(row["n_supporters"]),
        "pushes": _num(row["pushes"]),
        "amount_ratio": now / peak if peak and peak > 0 else 1.0,
        "moved_back": 1.0 if row["moved_back_at"] else 0.0,
        "days_to_close": _num(row["days_to_close"]),
        "champion_days": _num(row["champion_days"]),
    }


def row_by_row(spec: FeatureSpec, rows: list[dict[str, Any]], customs: dict[int, Any]) -> Any:
    """The matrix as it was built before: base_features and the customs, one row at a time."""
    out = np.full((len(rows), len(spec.all_names)), np.nan)
    for i, row in enumerate(rows):
        custom = customs.get(row["deal_id"]) or {}
        values = list(base_features(row).values())
        values += [_num(custom.get(k)) for k in spec.numeric_custom]
        for key, cats in spec.categorical.items():
            value = custom.get(key)
            values.append(float(cats.index(str(value))) if str(value) in cats else math.nan)
        out[i] = values
    return out if spec.keep is None else out[:, np.array(spec.keep, dtype=bool)]


def signal_row(deal_id: int, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "deal_id": deal_id,
        "stage_kind": "open",
        "stage_order": 2,
        "age_days": 40,
        "days_in_stage": 12,
        "amount_now": 1000.0,
        "amount_peak": 1500.0,
        "n_act": 3,
        "n_act_30": 1,
        "days_silent": 9.5,
        "n_inbound": 0,
        "n_sh": 2,
        "n_eb": 3,
        "n_supporters": 1,
        "pushes": 0,
        "moved_back_at": None,
        "days_to_close": -4,
        "champion_days": None,
    }
    row.update(values)
    return row


ROWS = [
    signal_row(1),
    signal_row(2, stage_kind="won", amount_now=None, amount_peak=None, moved_back_at=date.today()),
    signal_row(3, amount_now=Decimal("1234.56"), amount_peak=Decimal("0"), n_eb=0),
    signal_row(4, amount_now=-5.0, amount_peak=-1.0, days_in_stage=None, age_days=math.nan),
    signal_row(5, amount_now=-0.0, amount_peak=0.1, champion_days=Decimal("2.5"), n_eb=None),
    signal_row(6, amount_now=1 / 3, amount_peak=math.nan, days_silent="7", stage_kind="lost"),
    signal_row(7, amount_now=7.0, amount_peak=3.0, moved_back_at="2026-01-02", days_to_close=None),
]
CUSTOMS: dict[int, Any] = {
    1: {"seats": 12, "plan": "pro", "region": "EMEA"},
    2: {"seats": "40", "plan": "basic"},
    3: {"seats": None, "plan": None, "region": 7},
    4: {"seats": "n/a", "plan": "pro", "region": "APAC"},
    5: {"seats": Decimal("3.5"), "plan": "enterprise"},
    6: {"seats": True, "region": "None"},
}


class FeatureMatrixTests(SimpleTestCase):
    def spec(self) -> FeatureSpec:
        return FeatureSpec(
            numeric_custom=["seats", "missing"],
            categorical={"plan": ["basic", "enterprise", "pro"], "region": ["7", "APAC", "None"]},
        )

    def assert_same_bits(self, got: Any, expected: Any) -> None:
        self.assertEqual(got.shape, expected.shape)
        self.assertEqual(got.tobytes(), expected.tobytes())

    def test_column_at_a_time_is_row_by_row_to_the_bit(self) -> None:
        spec = self.spec()
        expected = row_by_row(spec, ROWS, CUSTOMS)
        self.assert_same_bits(spec.matrix(ROWS, CUSTOMS), expected)
        # The cases are there: NaN, a negative zero, a ratio and the codes of categories.
        self.assertTrue(np.isnan(expected).any())
        self.assertTrue(np.signbit(expected[4, list(NUMERIC).index("log_amount")]))
        self.assertEqual(expected[6, list(NUMERIC).index("amount_ratio")], 7.0 / 3.0)
        self.assertEqual(expected[0, -2], 2.0)

    def test_with_columns_dropped_and_no_rows(self) -> None:
        spec = self.spec()
        spec.keep = [i % 3 != 1 for i in range(len(spec.all_names))]
        self.assert_same_bits(spec.matrix(ROWS, CUSTOMS), row_by_row(spec, ROWS, CUSTOMS))
        self.assertEqual(spec.matrix([], {}).shape, (0, sum(spec.keep)))
