"""Answers written as code: the numpy and PyTorch vocabulary CS students use for math, and the values
numpy and PyTorch print, rewritten into the answers' plain syntax before it is read.

    np.dot(W.T, dz)  torch.matmul(a, b)  a.dot(b)  W.T.dot(dz)      →  (W.T) @ (dz)
    np.outer(a, b)  torch.outer(a, b)  np.einsum('i,j->ij', a, b)    →  outer(a, b)
    np.multiply(a, b)  torch.mul(a, b)                                →  (a) * (b)
    np.square(x)                                                      →  (x)**2
    np.linalg.matrix_power(W, 3)                                      →  (W)**(3)
    np.sum(dz, axis=1, keepdims=True)   dz.sum(axis=1, keepdims=True) →  rowsum(dz)   (axis 0: colsum)
    np.tanh(x)  torch.sigmoid(x)  F.softmax(x, dim=0)  np.exp(x)      →  tanh(x)  sigmoid(x)  softmax(x)  exp(x)
    x.transpose()  x.t()  np.transpose(x)                             →  (x).T
    array([4., 0., 7.])  tensor([4., 0., 7.])  torch.Size([8, 16, 64])  →  [4., 0., 7.]  …  (8, 16, 64)

Only this vocabulary is known; any other call with a module prefix, an unknown keyword or an einsum
other than the few below is refused with the reason, never guessed.  Pure text work, bounded by the
answer's length: nothing is evaluated here.
"""
from __future__ import annotations

import re

from .expressions import MAX_CHARS, ParseError

PREFIX = r"(?:np|numpy|torch|F|nn\.functional|torch\.nn\.functional|np\.linalg|numpy\.linalg|torch\.linalg)\."
# name → (the plain syntax's template over the positional arguments, the keywords it may take)
CALLS = {
    "dot": ("({0}) @ ({1})", set()), "matmul": ("({0}) @ ({1})", set()), "mm": ("({0}) @ ({1})", set()),
    "mv": ("({0}) @ ({1})", set()), "outer": ("outer({0}, {1})", set()), "ger": ("outer({0}, {1})", set()),
    "multiply": ("({0}) * ({1})", set()), "mul": ("({0}) * ({1})", set()), "add": ("({0}) + ({1})", set()),
    "subtract": ("({0}) - ({1})", set()), "sub": ("({0}) - ({1})", set()), "divide": ("({0}) / ({1})", set()),
    "div": ("({0}) / ({1})", set()), "square": ("({0})**2", set()), "power": ("({0})**({1})", set()),
    "pow": ("({0})**({1})", set()), "matrix_power": ("({0})**({1})", set()), "transpose": ("({0}).T", set()),
    "tanh": ("tanh({0})", set()), "sigmoid": ("sigmoid({0})", set()), "exp": ("exp({0})", set()),
    "log": ("log({0})", set()), "sqrt": ("sqrt({0})", set()), "abs": ("abs({0})", set()),
    "relu": ("relu({0})", set()), "softmax": ("softmax({0})", {"dim", "axis"}), "diag": ("diag({0})", set()),
    "diagflat": ("diag({0})", set()), "sum": ("sum({0})", {"axis", "dim", "keepdims", "keepdim"}),
    "array": ("{0}", {"dtype"}), "tensor": ("{0}", {"dtype", "requires_grad"}), "Size": ("{0}", set()),
}
# the einsum specs whose meaning is one of the plain syntax's operations
EINSUM = {"i,j->ij": "outer({0}, {1})", "ij,jk->ik": "({0}) @ ({1})", "ij,j->i": "({0}) @ ({1})",
          "ij->ji": "({0}).T", "i,i->": "sum(({0}) * ({1}))", "ij,ij->ij": "({0}) * ({1})"}
METHODS = {"dot": "({0}) @ ({1})", "transpose": "({0}).T", "t": "({0}).T", "sum": None}
CALL = re.compile(rf"(?<![\w.])(?P<prefix>{PREFIX})?(?P<name>[A-Za-z_]\w*)\s*\(")
METHOD = re.compile(r"\.(?P<name>dot|transpose|t|sum)\s*\(")
MODULE_CALL = re.compile(rf"(?<![\w.]){PREFIX}(?:\w+\.)*(\w+)\s*\(")


def looks_like_code(text: str) -> bool:
    return bool(MODULE_CALL.search(text) or METHOD.search(text) or re.search(r"\b(?:array|tensor)\s*\(", text))


def from_code(text: str) -> str:
    """``text`` with the known numpy/PyTorch calls written in the plain syntax; ``ParseError`` for a call
    with a module prefix that is not known."""
    if len(text) > MAX_CHARS or not looks_like_code(text):
        return text
    return _rewrite(text, 0)


def _rewrite(text: str, depth: int) -> str:
    if depth > 20:
        raise ParseError("the code is nested too deeply to read")
    out, position = [], 0
    while True:
        call, method = CALL.search(text, position), METHOD.search(text, position)
        found = min((m for m in (call, method) if m), key=lambda m: m.start(), default=None)
        if found is None:
            return "".join(out) + text[position:]
        close = _closing(text, found.end() - 1)
        arguments, keywords = _arguments(text[found.end():close], depth)
        if found is method:
            receiver_start = _receiver_start(text, found.start(), position)
            receiver = _rewrite(text[receiver_start:found.start()], depth + 1)
            out.append(text[position:receiver_start])
            out.append(_method(found.group("name"), receiver, arguments, keywords))
        else:
            out.append(text[position:found.start()])
            out.append(_call(found.group("prefix"), found.group("name"), arguments, keywords, text[found.end():close]))
        position = close + 1


def _call(prefix: str | None, name: str, arguments: list[str], keywords: dict[str, str], raw: str) -> str:
    if name == "einsum" and prefix:
        return _einsum(arguments, raw)
    if name == "sum" and keywords:
        return _axis_sum(arguments[0] if arguments else "", keywords)
    known = CALLS.get(name)
    if known is None:
        if prefix:
            raise ParseError(f"'{prefix}{name}(…)' is not part of the answer syntax: write the math it computes")
        return f"{name}({', '.join(arguments)})"
    if prefix is None and name not in ("array", "tensor"):  # a plain function of the answer syntax: as it is
        return f"{name}({', '.join(arguments)})"
    template, allowed = known
    unknown = set(keywords) - allowed
    if unknown:
        raise ParseError(f"'{name}(…, {sorted(unknown)[0]}=…)': that keyword is not read; write the math it computes")
    if name == "softmax" and keywords.get("dim", keywords.get("axis", "0")) not in ("0", "-2"):
        raise ParseError("softmax over another axis than the column: write which entries it normalises")
    needed = len(set(re.findall(r"\{(\d)\}", template)))
    if len(arguments) != needed and not (name == "Size" and len(arguments) == 1):
        raise ParseError(f"'{name}(…)' with {len(arguments)} arguments: it takes {needed}")
    if name == "Size":
        return "(" + arguments[0].strip().strip("[]()") + ")"
    return template.format(*arguments)


def _method(name: str, receiver: str, arguments: list[str], keywords: dict[str, str]) -> str:
    if name == "sum":
        return _axis_sum(receiver, keywords) if keywords or arguments else f"sum({receiver})"
    if name == "dot":
        if len(arguments) != 1:
            raise ParseError("'.dot(…)' takes one argument")
        return METHODS["dot"].format(receiver, arguments[0])
    if arguments:
        raise ParseError(f"'.{name}(…)' with arguments is not read: write the transpose as .T")
    return METHODS[name].format(receiver)


def _axis_sum(argument: str, keywords: dict[str, str]) -> str:
    """np.sum(dz, axis=1, keepdims=True): the sums of the rows, kept as a column (the answers' vectors are
    columns, so keepdims changes nothing a student means); axis 0 the sums of the columns."""
    unknown = set(keywords) - {"axis", "dim", "keepdims", "keepdim"}
    if unknown:
        raise ParseError(f"sum(…, {sorted(unknown)[0]}=…) is not read")
    axis = keywords.get("axis", keywords.get("dim"))
    if axis is None:
        return f"sum({argument})"
    if axis.strip() in ("1", "-1"):
        return f"rowsum({argument})"
    if axis.strip() in ("0", "-2"):
        return f"colsum({argument})"
    raise ParseError(f"a sum over axis {axis.strip()[:10]} is not read: write which entries it adds")


def _einsum(arguments: list[str], raw: str) -> str:
    spec = re.match(r"\s*(['\"])([^'\"]*)\1", raw)
    if not spec or not arguments:
        raise ParseError("einsum needs its subscripts as a string first")
    subscripts = spec.group(2).replace(" ", "")
    template = EINSUM.get(subscripts)
    operands = arguments[1:]
    if template is None or len(operands) != len(set(re.findall(r"\{(\d)\}", template))):
        raise ParseError(f"einsum('{subscripts[:20]}', …) is not read: write the math it computes")
    return template.format(*operands)


def _closing(text: str, opening: int) -> int:
    depth = 0
    for index in range(opening, len(text)):
        depth += (text[index] in "([{") - (text[index] in ")]}")
        if depth == 0:
            return index
    raise ParseError(f"a parenthesis opened at '{text[max(0, opening - 10):opening + 1]}' is never closed")


def _arguments(inside: str, depth: int) -> tuple[list[str], dict[str, str]]:
    """The call's positional arguments (rewritten) and its keywords, split at the top-level commas."""
    parts, level, start, quote = [], 0, 0, ""
    for index, char in enumerate(inside):
        if char in "'\"" and (not quote or char == quote):
            quote = "" if quote else char  # einsum's 'i,j->ij' holds commas of its own
        level += (char in "([{") - (char in ")]}") if not quote else 0
        if char == "," and level == 0 and not quote:
            parts.append(inside[start:index])
            start = index + 1
    parts.append(inside[start:])
    positional, keywords = [], {}
    for part in (p.strip() for p in parts):
        if not part:
            continue
        keyword = re.fullmatch(r"([A-Za-z_]\w*)\s*=\s*(.+)", part, re.S)
        if keyword and not part.startswith(("'", '"')):
            keywords[keyword.group(1)] = keyword.group(2).strip()
        elif part.startswith(("'", '"')):
            positional.append(part)  # einsum's subscripts
        else:
            positional.append(_rewrite(part, depth + 1))
    return positional, keywords


def _receiver_start(text: str, dot: int, floor: int) -> int:
    """Where the object a method is called on begins: a name (with .T), or a bracketed group."""
    index = dot
    while True:
        if index > floor and text[index - 1] in ")]":
            depth = 0
            while index > floor:
                index -= 1
                depth += (text[index] in ")]") - (text[index] in "([")
                if depth == 0:
                    break
        while index > floor and (text[index - 1].isalnum() or text[index - 1] in "_."):
            index -= 1
        if index > floor and text[index - 1] in ")]" and text[index:dot].startswith("."):
            continue
        return index
