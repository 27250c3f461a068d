"""The scorer's Arrow conversion of features gives the frame training sees, value for value."""

from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlmodels.learn.pipelines import arrow_feature_frame, feature_frame
from mlmodels.spec import specs
from tests.unit.toy import SPEC

COLUMNS = {
    "small_int": pa.array([1, None, 3, -4], pa.int32()),
    "big_int": pa.array([2**53 + 1, 0, None, 7], pa.int64()),
    "real": pa.array([0.5, float("nan"), None, -1e300], pa.float64()),
    "single": pa.array([0.1, None, 2.5, 3.0], pa.float32()),
    "money": pa.array([Decimal("1.10"), None, Decimal("-2.05"), Decimal("0.00")],
                      pa.decimal128(18, 2)),
    "flag": pa.array([True, False, None, True], pa.bool_()),
    "colour": pa.array(["red", None, "blue", ""], pa.string()),
    "size": pa.array(["s", "m", None, "l"], pa.large_string()),
    "code": pa.array([1, 2, None, 4], pa.int64()),  # an integer listed as categorical
}


def spec_of(numeric, categorical):
    return specs.from_dict({**SPEC, "features": {"numeric": numeric, "categorical": categorical}})


def test_arrow_conversion_equals_the_pandas_one_for_every_type():
    batch = pa.RecordBatch.from_pydict(COLUMNS)
    spec = spec_of(["small_int", "big_int", "real", "single", "money", "flag"],
                   ["colour", "size", "code"])
    arrow, pandas = arrow_feature_frame(batch, spec), feature_frame(batch.to_pandas(), spec)
    assert list(arrow.columns) == list(pandas.columns)
    for column in pandas.columns:
        assert arrow[column].dtype == pandas[column].dtype, column
        mine, theirs = arrow[column].to_numpy(), pandas[column].to_numpy()
        if mine.dtype == object:
            assert [None if v is None else v for v in mine] == list(theirs), column
        else:
            np.testing.assert_array_equal(mine, theirs, err_msg=column)


def test_a_value_that_is_not_a_number_fails_as_in_training():
    batch = pa.RecordBatch.from_pydict({"x1": pa.array(["1", "two"]), "x2": pa.array([1.0, 2.0]),
                                        "colour": pa.array(["a", "b"])})
    spec = spec_of(["x1", "x2"], ["colour"])
    with pytest.raises(ValueError, match=r"feature 'x1' is listed under features\.numeric"):
        arrow_feature_frame(batch, spec)
    with pytest.raises(ValueError, match=r"feature 'x1' is listed under features\.numeric"):
        feature_frame(batch.to_pandas(), spec)


def test_the_frame_has_one_row_per_batch_row_in_order():
    batch = pa.RecordBatch.from_pydict({"x1": pa.array(range(5)), "x2": pa.array([0.0] * 5),
                                        "colour": pa.array(list("abcde"))})
    frame = arrow_feature_frame(batch, spec_of(["x1", "x2"], ["colour"]))
    assert frame.index.equals(pd.RangeIndex(5))
    assert list(frame.x1) == [0.0, 1.0, 2.0, 3.0, 4.0] and list(frame.colour) == list("abcde")
