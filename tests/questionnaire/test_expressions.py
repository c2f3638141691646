"""The XLSForm expression subset: every operator against hand-computed truth tables."""
import math

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import QuestionnaireError
from evalkit.questionnaire.expressions import Evaluator, evaluate, parse, references, tokenize

DF = pd.DataFrame({
    "age": ["5", "15", "", "40"],                 # text as exports give it
    "n": [1.0, 2.0, np.nan, 4.0],                  # already numeric
    "m": ["industry finance", "none", "", "none industry"],
    "t": ["yes", "no", None, "yes"],
    "s": ["abc", "", "x", "中文字"],
})
NUM = {"age", "n"}


def ev(expr, current=None):
    return evaluate(expr, DF, current=current, numeric=NUM).tolist()


@pytest.mark.parametrize("expr, expected", [
    ("${age} >= 6 and ${age} <= 15", [False, True, False, False]),
    (". >= 6", [False, True, False, True]),            # current = age; empty -> NaN -> false
    ("${t} = 'yes'", [True, False, False, True]),
    ("${t} != 'yes'", [False, True, True, False]),       # empty != 'yes' is true (XPath)
    ("not(${t} = 'yes')", [False, True, True, False]),
    ("${t} = 'yes' or ${age} = 15", [True, True, False, True]),
    ("${n} = 2", [False, True, False, False]),
    ("${n} != 2", [True, False, True, True]),            # NaN != 2 is true
    ("${n} + ${age} > 10", [False, True, False, True]),   # 6, 17, NaN, 44
    ("${n} * 3 - 1 = 5", [False, True, False, False]),
    ("${age} div 5 = 1", [True, False, False, False]),
    ("${age} mod 2 = 1", [True, True, False, False]),
    ("-${n} < -1", [False, True, False, True]),
    ("(1 + 2) * 3 = 9 and 1 + 2 * 3 = 7", [True] * 4),   # precedence
    ("selected(${m}, 'industry')", [True, False, False, True]),
    ("selected(${m}, 'finance')", [True, False, False, False]),
    ("count-selected(${m}) = 2", [True, False, False, True]),
    ("not(selected(${m}, 'none') and count-selected(${m}) > 1)", [True, True, True, False]),
    ("string-length(${s}) = 3", [True, False, False, True]),   # characters, not bytes
    ("string-length(${t}) > 0", [True, True, False, True]),
    ("if(${n} > 1, 'big', 'small') = 'big'", [False, True, False, True]),
    ("coalesce(${t}, 'none') = 'none'", [False, False, True, False]),
    ("number(${age}) = 40", [False, False, False, True]),
    ("true() and not(false())", [True] * 4),
    ("${missing_column} = ''", [True] * 4),             # a question absent from the export is empty
])
def test_truth_tables(expr, expected):
    assert ev(expr, current="age") == expected


def test_string_equality_with_numbers_text_field():
    # '=' between a text field and a number literal compares numbers, as XPath does
    df = pd.DataFrame({"code": ["007", "7", "x"]})
    assert evaluate("${code} = 7", df).tolist() == [True, True, False]
    assert evaluate("${code} = '7'", df).tolist() == [False, True, False]


def test_parse_tree_and_references():
    assert parse("${a} > 2 and selected(., 'x')") == (
        "bin", "and", ("bin", ">", ("ref", "a"), ("num", 2.0)),
        ("call", "selected", (("ref", "."), ("str", "x"))))
    assert references("${a} + ${b} > . and selected(${c}, 'x')") == {"a", "b", "c"}
    assert [t.text for t in tokenize("count-selected(.) >= 2")] == ["count-selected", "(", ".", ")", ">=", "2"]


@pytest.mark.parametrize("bad", [
    "__import__('os').system('echo hi')",   # never eval: unknown function
    "${a} +",                               # incomplete
    "(${a} > 1",                            # unbalanced
    "${a} ; 1",                             # character outside the subset
    "selected(${a})",                       # wrong arity
    "",
])
def test_rejects_anything_outside_the_subset(bad):
    with pytest.raises(QuestionnaireError):
        parse(bad)


def test_dot_without_current_question_is_an_error():
    with pytest.raises(QuestionnaireError):
        evaluate(". > 1", DF)


def test_vectorised_over_many_rows_matches_row_by_row():
    rng = np.random.default_rng(3)
    big = pd.DataFrame({"age": rng.integers(0, 30, 5000).astype(str),
                        "t": rng.choice(["yes", "no", None], 5000)})
    got = evaluate("(${age} >= 6 and ${age} <= 15) or ${t} = 'yes'", big, numeric={"age"})
    a = big["age"].astype(int)
    want = ((a >= 6) & (a <= 15)) | (big["t"] == "yes")
    assert np.array_equal(got, want.to_numpy())
    # each sub-expression evaluated once per column, not per row
    e = Evaluator(big, numeric={"age"})
    e.boolean("${age} > 3")
    assert set(e._cache) == {"age"}


# ---------------------------------------------------------------- property: vectorised == row by row
from hypothesis import given, settings
from hypothesis import strategies as st

_OPS = {"=": lambda x, y: x == y, "!=": lambda x, y: x != y, "<": lambda x, y: x < y,
        "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}


def _atom():
    num = st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(list(_OPS)), st.integers(-3, 3)).map(
        lambda t: (f"${{{t[0]}}} {t[1]} {t[2]}", lambda r, t=t: _cmp(r[t[0]], t[1], t[2])))
    arith = st.tuples(st.sampled_from(["+", "-", "*"]), st.sampled_from(list(_OPS)), st.integers(-5, 5)).map(
        lambda t: (f"${{a}} {t[0]} ${{b}} {t[1]} {t[2]}",
                   lambda r, t=t: _cmp({"+": r["a"] + r["b"], "-": r["a"] - r["b"], "*": r["a"] * r["b"]}[t[0]],
                                       t[1], t[2])))
    text = st.sampled_from(["yes", "no"]).map(lambda c: (f"${{t}} = '{c}'", lambda r, c=c: r["t"] == c))
    return st.one_of(num, arith, text)


def _cmp(x, op, y):
    if math.isnan(x):
        return op == "!="
    return _OPS[op](x, y)


_expr = st.recursive(_atom(), lambda inner: st.one_of(
    st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
        lambda t: (f"({t[0][0]}) {t[1]} ({t[2][0]})",
                   (lambda r, t=t: t[0][1](r) and t[2][1](r)) if t[1] == "and"
                   else (lambda r, t=t: t[0][1](r) or t[2][1](r)))),
    inner.map(lambda e: (f"not({e[0]})", lambda r, e=e: not e[1](r)))), max_leaves=6)

_rows = st.lists(st.tuples(st.one_of(st.none(), st.integers(-4, 4)), st.one_of(st.none(), st.integers(-4, 4)),
                           st.sampled_from(["yes", "no", None])), min_size=1, max_size=12)


@settings(max_examples=80, deadline=None)
@given(_expr, _rows)
def test_vectorised_evaluation_equals_a_row_by_row_reference(expr, rows):
    text, ref = expr
    df = pd.DataFrame({"a": [None if r[0] is None else str(r[0]) for r in rows],
                       "b": [None if r[1] is None else str(r[1]) for r in rows],
                       "t": [r[2] for r in rows]})
    got = evaluate(text, df, numeric={"a", "b"})
    want = [ref({"a": float("nan") if a is None else float(a), "b": float("nan") if b is None else float(b),
                 "t": t or ""}) for a, b, t in rows]
    assert got.tolist() == want, text
