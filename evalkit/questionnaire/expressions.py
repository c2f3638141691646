"""A small, safe evaluator for the XLSForm expression subset our forms use (表达式求值).

``relevant``, ``constraint`` and ``required`` cells are parsed once by a tokenizer and a
recursive-descent parser into a tiny tree, then evaluated over a whole DataFrame at once
(one numpy array per node), so 100,000 interviews validate in well under a second per
expression. Nothing is ever passed to Python's ``eval``.

Supported (docs/methodology/questionnaire.md §2): ``.`` (the current answer), ``${name}``,
number and string literals, ``= != < <= > >=``, ``and or``, ``not()``, ``+ - * div mod``,
unary minus, parentheses, ``selected(x, 'code')``, ``count-selected(x)``,
``string-length(x)``, ``number(x)``, ``string(x)``, ``if(c, a, b)``, ``true()``, ``false()``,
``coalesce(a, b)``, ``int(x)``. Semantics follow XPath 1.0 as ODK applies them: an empty
answer is the empty string or NaN, comparisons with NaN are false (``!=`` true), and
``=`` compares numbers when either side is numeric, strings otherwise.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from evalkit.errors import QuestionnaireError

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<ref>\$\{(?P<refname>[A-Za-z_][A-Za-z0-9_.\-]*)\})
  | (?P<num>\d+\.\d*|\.\d+|\d+)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)
  | (?P<dot>\.\.|\.)
  | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
""", re.VERBOSE)

_FUNCTIONS = {"selected": 2, "count-selected": 1, "string-length": 1, "not": 1, "number": 1,
              "string": 1, "if": 3, "true": 0, "false": 0, "coalesce": 2, "int": 1}


@dataclass(frozen=True)
class Tok:
    kind: str
    text: str
    pos: int


def tokenize(expr: str) -> list[Tok]:
    """Split ``expr`` into tokens; any character outside the subset is an error."""
    out, pos = [], 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise QuestionnaireError(
                f"表达式无法解析 / cannot parse expression {expr!r} at position {pos} "
                f"(character {expr[pos]!r}); only the documented XLSForm subset is supported.")
        kind = m.lastgroup
        if kind == "refname":  # pragma: no cover - inner group never last
            kind = "ref"
        if kind != "ws":
            text = m.group("refname") if kind == "ref" else m.group(0)
            if kind == "name" and text in ("and", "or", "div", "mod"):
                kind = "op"
            out.append(Tok(kind, text, pos))
        pos = m.end()
    return out


# ---------------------------------------------------------------- parser (AST as tuples)
class _Parser:
    """Precedence (low → high): or, and, = !=, < <= > >=, + -, * div mod, unary -, primary."""

    def __init__(self, expr: str):
        self.expr = expr
        self.toks = tokenize(expr)
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, text=None):
        t = self.peek()
        if t is None or (text is not None and t.text != text):
            want = f"'{text}'" if text else "more input"
            got = "end of expression" if t is None else repr(t.text)
            raise QuestionnaireError(f"表达式语法错误 / syntax error in {self.expr!r}: expected {want}, got {got}.")
        self.i += 1
        return t

    def parse(self):
        if not self.toks:
            raise QuestionnaireError("表达式为空 / empty expression.")
        node = self.binary(0)
        if self.peek() is not None:
            raise QuestionnaireError(
                f"表达式语法错误 / syntax error in {self.expr!r}: unexpected {self.peek().text!r}.")
        return node

    _LEVELS = (("or",), ("and",), ("=", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "div", "mod"))

    def binary(self, level):
        if level == len(self._LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while (t := self.peek()) is not None and t.kind == "op" and t.text in self._LEVELS[level]:
            self.take()
            node = ("bin", t.text, node, self.binary(level + 1))
        return node

    def unary(self):
        t = self.peek()
        if t is not None and t.kind == "op" and t.text == "-":
            self.take()
            return ("neg", self.unary())
        return self.primary()

    def primary(self):
        t = self.take()
        if t.kind == "num":
            return ("num", float(t.text))
        if t.kind == "str":
            return ("str", t.text[1:-1])
        if t.kind == "ref":
            return ("ref", t.text)
        if t.kind == "dot":
            if t.text == "..":
                raise QuestionnaireError(f"'..' is not supported in {self.expr!r} outside position(..).")
            return ("ref", ".")
        if t.kind == "op" and t.text == "(":
            node = self.binary(0)
            self.take(")")
            return node
        if t.kind == "name":
            name = t.text
            if name == "position":  # position(..) in calculations: the repeat index
                self.take("(")
                self.take("..")
                self.take(")")
                return ("position",)
            if name not in _FUNCTIONS:
                raise QuestionnaireError(
                    f"不支持的函数 / function '{name}()' in {self.expr!r} is not in the supported subset "
                    f"({', '.join(sorted(_FUNCTIONS))}).")
            self.take("(")
            args = []
            if not (self.peek() is not None and self.peek().text == ")"):
                args.append(self.binary(0))
                while self.peek() is not None and self.peek().text == ",":
                    self.take(",")
                    args.append(self.binary(0))
            self.take(")")
            if len(args) != _FUNCTIONS[name]:
                raise QuestionnaireError(
                    f"函数参数个数错误 / {name}() takes {_FUNCTIONS[name]} argument(s), got {len(args)} in {self.expr!r}.")
            return ("call", name, tuple(args))
        raise QuestionnaireError(f"表达式语法错误 / syntax error in {self.expr!r}: unexpected {t.text!r}.")


@lru_cache(maxsize=4096)
def parse(expr: str):
    """Parse once (cached) into a tuple tree; raises QuestionnaireError on bad syntax."""
    return _Parser(str(expr)).parse()


def references(expr: str) -> set[str]:
    """The ``${name}`` fields an expression reads (``.`` excluded)."""
    names: set[str] = set()

    def walk(node):
        if node[0] == "ref" and node[1] != ".":
            names.add(node[1])
        for child in node[1:]:
            if isinstance(child, tuple):
                if child and isinstance(child[0], str):
                    walk(child)
                else:
                    for c in child:
                        walk(c)

    walk(parse(expr))
    return names


# ---------------------------------------------------------------- vectorised evaluation
class _Val:
    """An evaluated operand: kind 'num' | 'str' | 'bool' | 'node' (a field: string + number views)."""

    __slots__ = ("kind", "_s", "_n", "_b")

    def __init__(self, kind, s=None, n=None, b=None):
        self.kind, self._s, self._n, self._b = kind, s, n, b

    def num(self, n_rows):
        if self._n is None:
            if self.kind == "bool":
                self._n = self._b.astype(float)
            else:
                self._n = pd.to_numeric(pd.Series(self.str(n_rows)).replace("", np.nan),
                                        errors="coerce").to_numpy(float)
        return np.broadcast_to(self._n, (n_rows,))

    def str(self, n_rows):
        if self._s is None:
            if self.kind == "bool":
                self._s = np.where(self._b, "true", "false").astype(object)
            else:
                n = np.asarray(self._n, dtype=float)
                txt = pd.Series(np.broadcast_to(n, (n_rows,))).map(
                    lambda x: "" if np.isnan(x) else (str(int(x)) if float(x).is_integer() else repr(float(x))))
                self._s = txt.to_numpy(object)
        return np.broadcast_to(self._s, (n_rows,))

    def bool(self, n_rows):
        if self._b is None:
            if self.kind == "num":
                n = np.asarray(self._n, float)
                self._b = (n != 0) & ~np.isnan(n)
            else:  # XPath boolean() of a string / node: non-empty
                self._b = pd.Series(self.str(n_rows)).str.len().to_numpy() > 0
        return np.broadcast_to(self._b, (n_rows,))


def _column_strings(col: pd.Series) -> np.ndarray:
    """Answers as strings, '' where missing (XPath string value of an empty node)."""
    if col.dtype == object:  # answers already strings (or None): avoid a costly re-encoding
        arr = col.to_numpy(dtype=object, copy=True)
        arr[pd.isna(arr)] = ""
        return arr
    return col.astype("string").fillna("").to_numpy(object)


class Evaluator:
    """Evaluate parsed expressions over ``frame``; ``current`` names the column ``.`` means.

    ``numeric`` lists the fields the form types as integer/decimal: ``=`` between two such
    fields compares numbers rather than strings (as ODK does for typed answers).
    """

    def __init__(self, frame: pd.DataFrame, numeric=(), position=None):
        self.frame = frame
        self.n = len(frame)
        self.numeric = set(numeric)
        self.position = position
        self._cache: dict[str, _Val] = {}

    def field(self, name: str) -> _Val:
        if name not in self._cache:
            if name in self.frame.columns:
                col = self.frame[name]
                if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                    v = _Val("node", n=col.to_numpy(float))
                else:
                    v = _Val("node", s=_column_strings(col))
            else:  # a field with no column in the export: every answer empty
                v = _Val("node", s=np.full(self.n, "", dtype=object))
            v.kind = "node_num" if name in self.numeric else "node"
            self._cache[name] = v
        return self._cache[name]

    def value(self, expr: str, current: str | None = None) -> _Val:
        return self._eval(parse(expr), current)

    def boolean(self, expr: str, current: str | None = None) -> np.ndarray:
        """Evaluate ``expr`` to one boolean per row."""
        return np.array(self.value(expr, current).bool(self.n), dtype=bool)

    # --------------------------------------------------------------- tree walk
    def _eval(self, node, cur) -> _Val:
        n = self.n
        op = node[0]
        if op == "num":
            return _Val("num", n=np.float64(node[1]))
        if op == "str":
            return _Val("str", s=np.array(node[1], dtype=object))
        if op == "ref":
            name = cur if node[1] == "." else node[1]
            if name is None:
                raise QuestionnaireError("'.' used in an expression with no current question.")
            return self.field(name)
        if op == "position":
            if self.position is None:
                return _Val("num", n=np.full(n, np.nan))
            return _Val("num", n=np.asarray(self.position, float))
        if op == "neg":
            return _Val("num", n=-self._eval(node[1], cur).num(n))
        if op == "bin":
            o, a, b = node[1], self._eval(node[2], cur), self._eval(node[3], cur)
            if o == "or":
                return _Val("bool", b=a.bool(n) | b.bool(n))
            if o == "and":
                return _Val("bool", b=a.bool(n) & b.bool(n))
            if o in ("+", "-", "*", "div", "mod"):
                x, y = a.num(n), b.num(n)
                with np.errstate(all="ignore"):
                    r = {"+": np.add, "-": np.subtract, "*": np.multiply,
                         "div": np.true_divide, "mod": np.fmod}[o](x, y)
                return _Val("num", n=r)
            if o in ("<", "<=", ">", ">="):
                x, y = a.num(n), b.num(n)
                with np.errstate(invalid="ignore"):
                    r = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}[o](x, y)
                return _Val("bool", b=r)
            # = and !=
            kinds = {a.kind, b.kind}
            if "bool" in kinds:
                eq = a.bool(n) == b.bool(n)
            elif "num" in kinds or kinds == {"node_num"}:
                x, y = a.num(n), b.num(n)
                eq = x == y
                if o == "!=":
                    return _Val("bool", b=~eq)
            else:
                eq = a.str(n) == b.str(n)
            eq = np.asarray(eq, dtype=bool)
            return _Val("bool", b=eq if o == "=" else ~eq)
        if op == "call":
            name, args = node[1], node[2]
            if name == "true":
                return _Val("bool", b=np.bool_(True))
            if name == "false":
                return _Val("bool", b=np.bool_(False))
            vals = [self._eval(x, cur) for x in args]
            if name == "not":
                return _Val("bool", b=~vals[0].bool(n))
            if name == "number":
                return _Val("num", n=vals[0].num(n))
            if name == "int":
                return _Val("num", n=np.trunc(vals[0].num(n)))
            if name == "string":
                return _Val("str", s=vals[0].str(n))
            if name == "string-length":
                return _Val("num", n=pd.Series(vals[0].str(n)).str.len().to_numpy(float))
            if name == "count-selected":
                s = pd.Series(vals[0].str(n))
                return _Val("num", n=s.str.split().str.len().fillna(0).to_numpy(float))
            if name == "selected":
                s = pd.Series(vals[0].str(n))
                code = vals[1].str(n)
                if code.ndim == 0 or len(set(np.unique(code))) == 1:
                    c = str(code.flat[0]) if code.size else ""
                    hit = (" " + s + " ").str.contains(" " + c + " ", regex=False).to_numpy(bool)
                else:
                    hit = np.array([c in str(x).split() for x, c in zip(s, code)], dtype=bool)
                return _Val("bool", b=hit)
            if name == "coalesce":
                s0, s1 = vals[0].str(n), vals[1].str(n)
                return _Val("str", s=np.where(s0 != "", s0, s1).astype(object))
            if name == "if":
                c = vals[0].bool(n)
                a, b = vals[1], vals[2]
                if a.kind in ("num", "node_num") and b.kind in ("num", "node_num"):
                    return _Val("num", n=np.where(c, a.num(n), b.num(n)))
                return _Val("str", s=np.where(c, a.str(n), b.str(n)).astype(object))
        raise QuestionnaireError(f"internal: unknown expression node {node!r}")  # pragma: no cover


def evaluate(expr: str, frame: pd.DataFrame, current: str | None = None, numeric=()) -> np.ndarray:
    """Convenience: ``expr`` as one boolean per row of ``frame``."""
    return Evaluator(frame, numeric=numeric).boolean(expr, current)
