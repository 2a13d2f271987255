"""Student math, parsed safely and compared by randomized evaluation.

Students write a plain syntax (``@`` matrix product, ``*`` elementwise, ``.T`` transpose, ``**`` power,
``exp log tanh sigma softmax sqrt sum``) or LaTeX (``\\odot``, ``\\circ``, ``^\\top``, ``\\frac``,
``\\cdot``, ``\\hat{y}``, ``W_{hh}``).  The text is rewritten to the plain syntax, parsed by Python's
``ast`` in ``eval`` mode (parsing runs nothing) and accepted only if every node is on a short whitelist.
It is then *interpreted* here, on numpy arrays: nothing is ever ``eval``-ed, ``exec``-ed or handed to
``sympify``.

Two expressions are equivalent when they agree on several random assignments of the declared symbols
(scalars, or matrices of declared shapes).  When they do not, ``explain`` compares the factors of the
two products and names the one that differs ("(1 - s**2) is missing; you have (1 - s)").
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import numpy as np

MAX_CHARS = 4000
MAX_NODES = 400
MAX_DEPTH = 40
MAX_POWER = 12
MAX_ELEMENTS = 2**20   # any value the interpreter makes: 8 MB
MAX_WORK = 2**27       # element operations for one comparison, its feedback included: well under a second
FUNCTIONS = {
    "exp": np.exp, "sin": np.sin, "cos": np.cos, "log": np.log, "ln": np.log, "tanh": np.tanh, "sqrt": np.sqrt, "abs": np.abs,
    "sigma": lambda x: 1 / (1 + np.exp(-x)), "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "relu": lambda x: np.maximum(x, 0), "sum": lambda x: np.sum(x), "diag": lambda x: np.diagflat(x),
    "softmax": lambda x: np.exp(x - np.max(x, axis=0)) / np.sum(np.exp(x - np.max(x, axis=0)), axis=0),
    "transpose": lambda x: np.transpose(x), "outer": lambda a, b: np.outer(a, b),
    # np.sum(x, axis=1, keepdims=True) and axis=0, as code-writing students give a bias gradient
    "rowsum": lambda x: np.sum(np.atleast_2d(x), axis=1, keepdims=True),
    "colsum": lambda x: np.sum(np.atleast_2d(x), axis=0, keepdims=True),
    "stack": lambda *parts: np.vstack([np.reshape(p, (-1, 1)) if np.ndim(p) < 2 else p for p in parts]),
    # the derivatives students write with a prime
    "dsigma": lambda x: (1 / (1 + np.exp(-x))) * (1 - 1 / (1 + np.exp(-x))), "dtanh": lambda x: 1 - np.tanh(x) ** 2,
    "drelu": lambda x: (np.asarray(x) > 0).astype(float),
}
CONSTANTS = {"pi": np.pi, "e": np.e}


class ParseError(Exception):
    """The answer cannot be read; the message says where, for the student."""


class ShapeError(Exception):
    pass


class TooCostly(ShapeError):
    """An answer whose values would be too large or too slow to compute: declared shapes are small, so
    only a contrived expression gets here, and it is bounded before any memory is taken."""


@dataclass
class Work:
    """What is left of one comparison's budget of element operations."""

    left: int = MAX_WORK

    def spend(self, elements: int, operations: int | None = None) -> None:
        if elements > MAX_ELEMENTS:
            raise TooCostly(f"a value of {elements:,} numbers is too large to evaluate (at most {MAX_ELEMENTS:,})")
        self.left -= max(elements, operations or 0)
        if self.left < 0:
            raise TooCostly("the expression takes too long to evaluate")


# --- from LaTeX and Unicode to the plain syntax ---------------------------------------------------

UNICODE = {"−": "-", "–": "-", "×": "@", "·": "@", "⋅": "@", "⊙": "*", "∘": "*", "⊘": "/", "ᵀ": ".T", "σ": "sigma",
           "Σ": "sum", "∑": "sum", "ŷ": "y_hat", "^T": ".T", "′": "_prime", "’": "_prime", "²": "**2", "³": "**3",
           "⁻¹": "**(-1)", "Γ": "Gamma", "γ": "gamma", "α": "alpha", "β": "beta", "δ": "delta", "θ": "theta",
           "φ": "phi", "ψ": "psi", "λ": "lambda_", "μ": "mu", "π": "pi", "η": "eta"}
# derivatives written with a prime: σ'(z), \tanh'(c), relu'(x)
PRIMED = re.compile(r"(?:\\)?(sigma|sigmoid|σ|tanh|relu)\s*['′’]\s*\(")
SIZED = re.compile(r"\\(?:big|Big|bigg|Bigg)[lr]?\s*(?=[()\[\]|.]|\\[{}])")
# a time step written as a mark, not a power: c^{<t-1>}, a^{\langle t \rangle}, c⟨t−1⟩, h^{(t)} → c_{t-1}
TIME_MARK = re.compile(r"\^\s*\{?\s*(?:<|\\langle|⟨)\s*([^{}<>⟨⟩]*?)\s*(?:>|\\rangle|⟩)\s*(?:(T|\\top)\s*)?\}?"
                       r"|\^\s*\{\s*\(\s*([tTk](?:\s*[-+−]\s*\d+)?)\s*\)\s*\}|⟨\s*([^⟨⟩]*?)\s*⟩")
COMBINING = {"\u0303": "_tilde", "\u0302": "_hat", "\u0304": "_bar"}  # c̃ ĉ c̄ typed with a combining mark
POWERED_CALL = re.compile(r"(?:\\)?(tanh|sigma|exp|log|sin|cos)\s*\^\s*\{?(\d)\}?\s*\(([^()]*)\)")
POWERED_BARE = re.compile(r"(?:\\)?(tanh|sigma|exp|log|sin|cos)\s*\^\s*\{?(\d)\}?\s+([A-Za-z][A-Za-z0-9]*(?:_\{[^{}]*\}|_\w+)?)")
LATEX_COMMANDS = {r"\odot": "*", r"\circ": "*", r"\oslash": "/", r"\cdot": "@", r"\times": "@", r"\top": "T", r"\sigma": "sigma",
                  r"\tanh": "tanh", r"\exp": "exp", r"\log": "log", r"\ln": "ln", r"\sum": "sum", r"\sqrt": "sqrt",
                  r"\left": "", r"\right": "", r"\,": "", r"\;": "", r"\!": "", r"\mathrm": "", r"\operatorname": "",
                  r"\theta": "theta", r"\Gamma": "Gamma", r"\gamma": "gamma", r"\alpha": "alpha", r"\beta": "beta",
                  r"\delta": "delta", r"\psi": "psi", r"\phi": "phi", r"\pi": "pi"}


# \sum_{t=1}^{3} gW_{hh,t} and \prod_{k=1}^{2} …: an index with number bounds, written out term by term
INDEXED = re.compile(r"(\\sum|\\prod|Σ|∑|∏)\s*(?:_\s*\{\s*([A-Za-z])\s*=\s*(-?\d+)\s*\}\s*\^\s*(?:\{\s*(?:[A-Za-z]\s*=\s*)?(-?\d+)\s*\}|(\d))"
                     r"|\^\s*(?:\{\s*(?:[A-Za-z]\s*=\s*)?(-?\d+)\s*\}|(\d))\s*_\s*\{\s*([A-Za-z])\s*=\s*(-?\d+)\s*\})")
UNBOUNDED = re.compile(r"(?:\\sum|\\prod|Σ|∑|∏)\s*(?:_\s*\{?\s*[A-Za-z][^}^]*\}?|\^)")
MAX_INDEXED_TERMS = 50


def _expand_indexed(text: str) -> str:
    """Write out every ``\\sum``/``\\prod`` whose index has number bounds: its body (up to the next + or
    - outside brackets) once per value, the index replaced in subscripts and powers (h_{2-k} → h_{2})."""
    for _ in range(20):
        match = INDEXED.search(text)
        if match is None:
            break
        groups = match.groups()
        if groups[1] is not None:
            index, low, high = groups[1], int(groups[2]), int(groups[3] if groups[3] is not None else groups[4])
        else:
            index, low, high = groups[7], int(groups[8]), int(groups[5] if groups[5] is not None else groups[6])
        if not 0 < high - low + 1 <= MAX_INDEXED_TERMS:
            raise ParseError(f"the {match.group(1)} from {low} to {high} has no terms or too many (at most {MAX_INDEXED_TERMS})")
        is_sum = match.group(1) in ("\\sum", "Σ", "∑")
        end = _term_end(text, match.end()) if is_sum else _factor_end(text, match.end())
        body = text[match.end():end].strip()
        if not body:
            raise ParseError(f"nothing follows {match.group(0).strip()}")
        copies = [f"({_with_index(body, index, value)})" for value in range(low, high + 1)]
        joined = " + ".join(copies) if is_sum else " ".join(copies)
        text = text[:match.start()] + f"({joined})" + text[end:]
    unbounded = UNBOUNDED.search(text)
    if unbounded is not None:
        raise ParseError(f"'{unbounded.group(0).strip()}…': give the index its number bounds, as in "
                         "\\sum_{t=1}^{3}, or write the terms out")
    return text


def _term_end(text: str, start: int) -> int:
    """Where the term that begins at ``start`` ends: a + or - outside brackets, a closing bracket, an =."""
    depth = 0
    for position in range(start, len(text)):
        char = text[position]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                return position
        elif depth == 0 and char in "+-−=" and text[start:position].strip() and text[position - 1] not in "^_{":
            return position
        elif depth == 0 and text.startswith("\\right", position):
            return position
    return len(text)


FACTOR = re.compile(r"\s*(?:\\[A-Za-z]+\s*(?:\{[^{}]*\})?|[A-Za-z][A-Za-z0-9]*|\d+)" + r"(?:\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]+)|\s*\^\s*(?:\{[^{}]*\}|\\?\w))*")
POWERS = re.compile(r"(?:\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]+)|\s*\^\s*(?:\{[^{}]*\}|\\?\w))*")


def _factor_end(text: str, start: int) -> int:
    """Where the one factor that a product sign takes ends: ``\\prod_{k=1}^{2} W_{hh}^T x`` repeats W_{hh}^T."""
    opening = re.match(r"\s*(\\left\s*)?[(\[]", text[start:])
    if opening:
        end = _term_end(text, start + opening.end())
        end += len("\\right") + 1 if text.startswith("\\right", end) else 1
        return end + POWERS.match(text, end).end() - end
    found = FACTOR.match(text, start)
    return found.end() if found and found.end() > start else _term_end(text, start)


def _with_index(body: str, index: str, value: int) -> str:
    body = re.sub(rf"(?<![\\A-Za-z]){index}(?![A-Za-z])", str(value), body)
    # the subscripts and powers that hold arithmetic of the index: h_{2-0} → h_{2}, W^{3-1} → W^{2}
    return re.sub(r"([_^])\{\s*(-?\d+)\s*([-+])\s*(\d+)\s*\}",
                  lambda m: f"{m.group(1)}{{{int(m.group(2)) + (1 if m.group(3) == '+' else -1) * int(m.group(4))}}}", body)


COLUMN = re.compile(r"\\begin\{[bpBV]?matrix\}((?:(?!\\end\{)[^&])*?)\\end\{[bpBV]?matrix\}", re.S)


def _stacked(text: str) -> str:
    """A column of blocks, ``[a^{<t-1>}; x^{<t>}]`` or ``\\begin{bmatrix} a \\\\ x \\end{bmatrix}``, is
    ``stack(a, x)``: one vector on top of the other."""
    text = COLUMN.sub(lambda m: "[" + "; ".join(r.strip() for r in re.split(r"\\\\", m.group(1)) if r.strip()) + "]", text)
    out, opened = list(text), []
    for index, char in enumerate(text):
        if char == "[":
            opened.append((index, []))
        elif char == ";" and opened and _depth(text[opened[-1][0] + 1:index]) == 0:
            opened[-1][1].append(index)
        elif char == "]" and opened:
            start, semicolons = opened.pop()
            if semicolons:
                out[start] = " stack("
                for position in semicolons:
                    out[position] = ","
                out[index] = ")"
    return "".join(out)


def _depth(text: str) -> int:
    return sum((c in "([{") - (c in ")]}") for c in text)


def _time_step(found: re.Match) -> str:
    step, transposed, in_parentheses, bare = found.groups()
    return "_{" + (step if step is not None else in_parentheses if in_parentheses is not None else bare).replace(" ", "") \
        + "}" + ("^T" if transposed else "")


def to_plain(text: str) -> str:
    """Rewrite LaTeX, Unicode math and numpy/PyTorch code into the plain syntax (no evaluation, pure text)."""
    from .code import from_code  # the vocabulary of code-writing students (its own module: it reads calls)
    from .word_forms import from_word  # Word's and Google Docs' equations pasted as text

    text = _stacked(_expand_indexed(from_code(from_word(text).strip().strip("$").strip())))
    # \mathrm{softmax}, \text{ReLU}, \operatorname{diag}: the name inside is the name
    text = re.sub(r"\\(?:mathrm|text|textrm|textit|mathit|operatorname|mathbf|boldsymbol|bm)\s*\{([^{}]*)\}", r"\1", text)
    text = TIME_MARK.sub(_time_step, text)
    text = re.sub("([A-Za-z])([\u0303\u0302\u0304])", lambda m: m.group(1) + COMBINING[m.group(2)], text)
    text = PRIMED.sub(lambda m: "d" + {"σ": "sigma", "sigmoid": "sigma"}.get(m.group(1), m.group(1)) + "(", text)
    text = SIZED.sub("", text)
    text = re.sub(r"(tanh|sigma|σ|exp|log|sin|cos)\s*([²³])", lambda m: m.group(1) + "^" + "23"["²³".index(m.group(2))], text)
    text = POWERED_CALL.sub(r"\1(\3)**\2", text)  # \tanh^2(x): the square of tanh(x)
    text = POWERED_BARE.sub(r"\1(\3)**\2", text)  # \tanh^2 c_t
    text = re.sub(r"\\[dt]frac", r"\\frac", text)
    text = re.sub(r"\\q?quad|\\ ", " ", text)
    text = re.sub(r"√\s*(\w+)", r"sqrt(\1)", text).replace("√", "sqrt")
    text = re.sub(r"\\otimes|⊗", f" {OUTER} ", text)
    for old, new in UNICODE.items():
        text = text.replace(old, new)
    text = re.sub(r"\\(hat|tilde|bar)\s+([A-Za-z])(?![A-Za-z])", r"\2_\1", text)  # \hat y, no braces
    text = re.sub(r"\\hat\{(\w+)\}", r"\1_hat", text)
    text = re.sub(r"\\tilde\{(\w+)\}", r"\1_tilde", text)
    text = re.sub(r"\\bar\{(\w+)\}", r"\1_bar", text)
    text = re.sub(r"\^\{?\\top\}?|\^\{?T\}?(?![A-Za-z0-9_])|\^\{?\\intercal\}?", ".T", text)
    # W_{hh,t} → W_hh_t, c_{t-1} → c_tm1, h_{t+1} → h_tp1: a subscript is part of the name
    text = re.sub(r"_\{([A-Za-z0-9_,+\-]+)\}", lambda m: "_" + m.group(1).replace(",", "_").replace("-", "m")
                  .replace("+", "p"), text)
    for _ in range(20):  # x^{…} → x**(…) and \frac{a}{b} → ((a)/(b)), innermost first
        new = re.sub(r"\^\{([^{}]*)\}", r"**(\1)", text)
        new = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"((\1)/(\2))", new)
        if new == text:
            break
        text = new
    for command, replacement in sorted(LATEX_COMMANDS.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(command, replacement)
    text = _grouping_brackets(text.replace("{", "(").replace("}", ")").replace("^", "**"))
    return _implicit_products(text)


def _grouping_brackets(text: str) -> str:
    """``[a + b] c`` → ``(a + b) c``: square brackets that group; ``o[0]`` (an index) is left to be refused."""
    out, opened = list(text), []
    for index, char in enumerate(text):
        if char == "[":
            before = text[:index].rstrip()
            grouping = not before or not (before[-1].isalnum() or before[-1] in "_)]")
            opened.append((index, grouping))
        elif char == "]" and opened:
            start, grouping = opened.pop()
            if grouping:
                out[start], out[index] = "(", ")"
    return "".join(out)


# Juxtaposition, written as an operator Python parses at the product's precedence: on paper ``W h`` is
# a matrix product and ``Γ_o (1 - Γ_o)`` of two vectors is elementwise; which one is decided from the
# shapes at evaluation (``_side_by_side``).
SIDE_BY_SIDE = "%"
OUTER = "//"  # a ⊗ b, the outer product: an operator at the product's precedence that no answer uses otherwise


_TOKEN = re.compile(r"\s*((?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[A-Za-z_][A-Za-z0-9_]*(?:\.T)?|\*\*|//|\S)")


def _implicit_products(text: str) -> str:
    """Juxtaposition is a product, as on paper: ``(a - b) s.T`` → ``(a - b) @ s.T``, ``2 x`` → ``2 @ x``;
    a known function name followed by ``(`` stays a call."""
    tokens = _bare_arguments(_TOKEN.findall(text))
    out = []
    for token in tokens:
        if out:
            previous = out[-1]
            ends_operand = previous == ")" or previous[0].isalnum() or previous[0] == "_"
            starts_operand = token == "(" or token[0].isalnum() or token[0] == "_"
            is_call = token == "(" and (previous in FUNCTIONS)
            if ends_operand and starts_operand and not is_call:
                out.append(SIDE_BY_SIDE)
        out.append(token)
    return " ".join(out)


def _bare_arguments(tokens: list[str]) -> list[str]:
    """``\\tanh c_t`` → ``tanh ( c_t )``, ``\\sum \\exp(z)`` → ``sum ( exp ( z ) )``: a function written
    without parentheses takes the one name, number or call that follows it."""
    out, position = [], 0
    while position < len(tokens):
        token = tokens[position]
        out.append(token)
        position += 1
        if token not in FUNCTIONS or token in ("outer", "stack") or position >= len(tokens) or tokens[position] == "(":
            continue
        end = position
        while end < len(tokens) and tokens[end] in FUNCTIONS and tokens[end] not in ("outer", "stack"):
            end += 1  # \sum \exp(z), \sigma \tanh x: functions of functions
        if end >= len(tokens) or not (tokens[end][0].isalnum() or tokens[end][0] in "_("):
            continue
        if tokens[end] == "(" or (end + 1 < len(tokens) and tokens[end + 1] == "("):
            depth, end = 0, end + (tokens[end] != "(")
            while end < len(tokens):
                depth += {"(": 1, ")": -1}.get(tokens[end], 0)
                end += 1
                if depth == 0:
                    break
        else:
            end += 1
        out += ["(", *_bare_arguments(tokens[position:end]), ")"]
        position = end
    return out


# --- parsing --------------------------------------------------------------------------------------

ALLOWED_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult, ast.Mod, ast.FloorDiv)


@dataclass(frozen=True)
class Parsed:
    text: str          # the plain form
    tree: ast.expr
    located: str = ""  # the formula as found inside a sentence, when the answer was one (``prose``)


def notation_name(written: str) -> str:
    """The identifier a written symbol becomes (``c^{<t-1>}`` → ``c_tm1``, ``\\tilde{c}^{<t>}`` →
    ``c_tilde_t``), so that a rubric may declare the question's own names as aliases of its symbols."""
    plain = to_plain(written)
    name = plain.replace(" ", "")
    if name.isidentifier():
        return name
    if name.startswith("stack(") and name.endswith(")"):
        return plain  # a block vector the question names as one symbol: [a^{<t-1>}; x^{<t>}]
    raise ParseError(f"'{written}' is not a single name (it reads as '{name}')")


def parse(text: str, symbols: dict, aliases: dict[str, str] | None = None,
          definitions: dict[str, str] | None = None) -> Parsed:
    """Parse an answer; every problem is a ``ParseError`` with a message for the student.  ``aliases``
    maps a name as ``notation_name`` reads it to the rubric's symbol; ``definitions`` maps a name the
    student defined on an earlier line (``dz = ŷ − y``) to what they wrote for it, put in its place."""
    if not isinstance(text, str) or not text.strip():
        raise ParseError("the answer is empty")
    if len(text) > MAX_CHARS:
        raise ParseError(f"the answer is {len(text)} characters long; at most {MAX_CHARS} are read")
    plain = to_plain(text)
    if aliases:
        for written, symbol in aliases.items():
            if " " in written:
                plain = plain.replace(written, symbol)
        plain = re.sub(r"(?<![\w.])[A-Za-z_]\w*", lambda m: aliases.get(m.group(0), m.group(0)), plain)
    if definitions:
        plain = _substituted(plain, definitions, symbols, aliases or {})
    plain = re.sub(r"(?<![\w.])[A-Za-z_]\w*", lambda m: _juxtaposed(m.group(0), symbols, aliases or {}), plain)
    if plain.count("(") > MAX_DEPTH * 2 or _max_nesting(plain) > MAX_DEPTH:
        raise ParseError(f"the answer is nested more than {MAX_DEPTH} levels deep")
    try:
        tree = ast.parse(plain, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else type(exc).__name__
        shown = plain.replace(f" {SIDE_BY_SIDE} ", " ")
        where = ""
        if isinstance(exc, SyntaxError) and exc.offset and len(shown) > 20:
            at = min(len(shown), max(0, exc.offset - 1 - plain[:exc.offset].count(f" {SIDE_BY_SIDE} ") * 2))
            where = f" near '{shown[max(0, at - 12):at + 12].strip()}'"
        raise ParseError(f"cannot read '{_short(plain)}' as math: {detail}{where}; write products with * or @, "
                         "powers with ^ or **, and close every bracket") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ParseError(f"the answer has more than {MAX_NODES} parts")
    for node in nodes:
        _check_node(node, symbols)
    return Parsed(plain.replace(f" {SIDE_BY_SIDE} ", " ").replace(f" {OUTER} ", " ⊗ "), tree)


MAX_DEFINITIONS = 12


def _substituted(plain: str, definitions: dict[str, str], symbols: dict, aliases: dict[str, str]) -> str:
    """The student's own names replaced by what they defined them as, in parentheses, a definition's own
    names too (a chain ``dz`` → ``da`` → …, a few levels deep); a name of the question's is never replaced."""
    own = {}
    for written, value in list(definitions.items())[:MAX_DEFINITIONS]:
        try:
            name = notation_name(written)
        except ParseError:
            continue
        if name not in symbols and name not in aliases and name not in FUNCTIONS:
            own[name] = to_plain(value)
    for _ in range(4):
        replaced = re.sub(r"(?<![\w.])[A-Za-z_]\w*", lambda m: f"({own[m.group(0)]})" if m.group(0) in own
                          else m.group(0), plain)
        if replaced == plain:
            break
        if len(replaced) > MAX_CHARS * 4:
            raise ParseError("the answer's own definitions, put in its place, make it too long to read")
        plain = replaced
    return plain


def _juxtaposed(name: str, symbols: dict, aliases: dict[str, str]) -> str:
    """``Nrd`` → ``N r d``, ``ND`` → ``N D``: a name that is no symbol but reads as the question's symbols
    side by side in exactly one way is their product, as on paper; otherwise it stays unknown."""
    if name in symbols or name in FUNCTIONS or name in CONSTANTS or len(name) > 40:
        return name
    # a subscript flattened into the name, as Word pastes it: Whh is W_hh, y3 is y_3, y_hatt is y_hat_t
    flattened = {symbol for symbol in symbols if symbol.replace("_", "") == name.replace("_", "")}
    ways: list[list[list[str]]] = [[] for _ in range(len(name) + 1)]
    ways[0] = [[]]
    for end in range(1, len(name) + 1):
        for start in range(end):
            piece = name[start:end]
            if piece in symbols or (piece in aliases and " " not in piece):
                ways[end] += [split + [aliases.get(piece, piece)] for split in ways[start]][:2]
        ways[end] = ways[end][:2]  # two readings are already one too many
    if len(flattened) + len(ways[-1]) != 1:
        return name  # none, or more than one reading: unknown, never a guess
    return flattened.pop() if flattened else f" {SIDE_BY_SIDE} ".join(ways[-1][0])


def _max_nesting(text: str) -> int:
    depth = deepest = 0
    for char in text:
        depth += char == "("
        depth -= char == ")"
        deepest = max(deepest, depth)
    return deepest


def _short(text: str) -> str:
    text = text.replace(f" {SIDE_BY_SIDE} ", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _check_node(node: ast.AST, symbols: dict) -> None:
    if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop, ast.Load)):
        if isinstance(node, ast.BinOp) and not isinstance(node.op, ALLOWED_BINOPS):
            raise ParseError(f"the operator {type(node.op).__name__} is not part of the answer syntax")
        if isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ParseError("only + and - may stand before a term")
        return
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, float)) or isinstance(node.value, bool) or abs(node.value) > 1e12:
            raise ParseError(f"{node.value!r} is not a number the answer may use")
        return
    if isinstance(node, ast.Name):
        if node.id not in symbols and node.id not in FUNCTIONS and node.id not in CONSTANTS:
            known = ", ".join(sorted(symbols)) or "none"
            raise ParseError(f"unknown symbol '{node.id}' (the symbols of this question: {known})")
        return
    if isinstance(node, ast.Attribute):
        if node.attr != "T":
            raise ParseError(f"'.{node.attr}' is not allowed; only '.T' (transpose) is")
        return
    if isinstance(node, ast.Call):
        if (not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords
                or len(node.args) > (8 if node.func.id == "stack" else 2)):
            name = node.func.id if isinstance(node.func, ast.Name) else "this"
            raise ParseError(f"'{name}(...)' is not a known function ({', '.join(sorted(FUNCTIONS))})")
        return
    raise ParseError(f"'{type(node).__name__}' is not part of the answer syntax")


# --- evaluation -----------------------------------------------------------------------------------

def evaluate(parsed: Parsed, values: dict, work: Work | None = None) -> np.ndarray:
    """Interpret the tree on numpy values; shape problems raise ``ShapeError`` with a readable message,
    and a value or a computation beyond ``work`` raises ``TooCostly`` before it is made."""
    with np.errstate(all="ignore"):
        return np.asarray(_eval(parsed.tree, values, work or Work()), dtype=float)


def _cost(name: str, args: list) -> tuple[int, int]:
    """(elements of the result, operations) of FUNCTIONS[name] on ``args``, known before calling it."""
    sizes = [int(np.size(arg)) for arg in args]
    if name == "outer":
        return sizes[0] * sizes[-1], sizes[0] * sizes[-1]
    if name == "diag":
        return sizes[0] ** 2, sizes[0] ** 2
    return max(sizes, default=1), sum(sizes)


def _eval(node: ast.AST, values: dict, work: Work):
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in values:
            return values[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise ShapeError(f"'{node.id}' is a function: write {node.id}(...) with its argument in parentheses")
    if isinstance(node, ast.Attribute):
        return np.transpose(np.asarray(_eval(node.value, values, work)))
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, values, work)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Call):
        args = [_eval(arg, values, work) for arg in node.args]
        work.spend(*_cost(node.func.id, args))
        try:
            return FUNCTIONS[node.func.id](*args)
        except (ValueError, TypeError) as exc:
            raise ShapeError(f"{node.func.id}(...) cannot take these arguments ({exc})") from None
    left, right = _eval(node.left, values, work), _eval(node.right, values, work)
    a, b = np.asarray(left), np.asarray(right)
    if isinstance(node.op, ast.FloorDiv):
        work.spend(a.size * b.size)
        return np.outer(a, b)
    if isinstance(node.op, ast.Mod):
        if a.ndim and b.ndim and a.shape[-1] != b.shape[0] and a.shape == b.shape:
            work.spend(a.size)
            return a * b  # two vectors side by side: elementwise, as on paper
        if a.ndim and b.ndim and a.shape[-1] != b.shape[0] and a.size > 1 and b.size > 1:
            raise ShapeError(f"side by side, shapes {a.shape} and {b.shape} are neither a matrix product nor "
                             "elementwise")
    if isinstance(node.op, (ast.MatMult, ast.Mod)):
        if a.ndim == 0 or b.ndim == 0 or a.shape == (1, 1) or b.shape == (1, 1):
            work.spend(max(a.size, b.size))
            return a * b  # a scalar "product" written with @ or \cdot
        if a.shape[-1] != b.shape[0]:
            hint = (" (is a transpose missing or extra?)" if a.ndim == b.ndim == 2 and (a.shape[0] == b.shape[0] or
                    a.shape[1] == b.shape[1]) else "")
            raise ShapeError(f"matrix product of shapes {a.shape} and {b.shape}: the inner sizes differ{hint}")
        rows, columns = (a.size // a.shape[-1], int(np.prod(b.shape[1:], dtype=np.int64)))
        work.spend(rows * columns, rows * columns * a.shape[-1])
        return a @ b
    if isinstance(node.op, ast.Pow):
        exponent = float(np.asarray(right)) if b.ndim == 0 else None
        if exponent is None or abs(exponent) > MAX_POWER:
            raise ShapeError("a power must have a small number as its exponent")
        if a.ndim == 2 and a.shape[0] == a.shape[1] and a.shape[0] > 1 and exponent.is_integer():
            work.spend(a.size, a.size * a.shape[0] * 2 * max(int(abs(exponent)).bit_length(), 1))
            return np.linalg.matrix_power(a, int(exponent))  # W_hh**k of a square matrix: the matrix power
        work.spend(a.size)
        return a ** exponent
    if a.ndim and b.ndim and a.shape != b.shape and not (a.size == 1 or b.size == 1):
        symbol = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}[type(node.op)]
        hint = " (did you mean @ for a matrix product?)" if symbol == "*" else ""
        raise ShapeError(f"'{symbol}' of shapes {a.shape} and {b.shape}{hint}")
    work.spend(max(a.size, b.size))
    if isinstance(node.op, ast.Add):
        return a + b
    if isinstance(node.op, ast.Sub):
        return a - b
    if isinstance(node.op, ast.Mult):
        return a * b
    return a / b


CONSTRAINTS = ("probability", "one_hot", "orthogonal", "positive")


def random_values(symbols: dict, rng: np.random.Generator, constraints: dict | None = None,
                  definitions: dict | None = None) -> dict:
    """One random assignment: ``symbols`` maps a name to [] (a scalar), a shape, or a fixed number.
    ``constraints`` draws a symbol from the set it belongs to, so that an equivalence that holds only
    there is found: a ``probability`` vector (each column positive, summing to 1), a ``one_hot`` vector,
    an ``orthogonal`` matrix, a ``positive`` value."""
    values = {}
    for name, declared in symbols.items():
        constraint = (constraints or {}).get(name)
        if isinstance(declared, (int, float)):
            values[name] = float(declared)
        elif declared in ([], (), None):
            values[name] = rng.uniform(0.3, 1.7)
            if constraint is None:
                continue
        else:
            shape = tuple(declared)
            values[name] = rng.uniform(0.3, 1.7, size=shape) * rng.choice([-1, 1], size=shape)
        if constraint is not None:
            values[name] = constrained(constraint, np.shape(values[name]), rng)
    for name, parsed in (definitions or {}).items():  # Γ_o drawn as σ(W_o ax + b_o) of the drawn W_o, ax, b_o
        values[name] = evaluate(parsed, values)
    return values


def constrained(constraint: str, shape: tuple, rng: np.random.Generator) -> np.ndarray | float:
    if constraint == "positive":
        return rng.uniform(0.3, 1.7, size=shape) if shape else float(rng.uniform(0.3, 1.7))
    if constraint == "probability":
        weights = rng.uniform(0.2, 1.0, size=shape)
        return weights / weights.sum(axis=0, keepdims=True)
    if constraint == "one_hot":
        columns = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
        hot = np.zeros((shape[0], columns))
        hot[rng.integers(0, shape[0], size=columns), np.arange(columns)] = 1.0
        return hot.reshape(shape)
    if constraint == "orthogonal":
        q, r = np.linalg.qr(rng.standard_normal(shape))
        return q * np.sign(np.diag(r))
    raise ValueError(f"unknown constraint {constraint!r}")


@dataclass(frozen=True)
class Comparison:
    equivalent: bool
    message: str = ""


def compare(student: Parsed, reference: Parsed, symbols: dict, trials: int = 5, seed: int = 0,
            rtol: float = 1e-7, constraints: dict | None = None, definitions: dict | None = None) -> Comparison:
    rng = np.random.default_rng(seed)
    work = Work()  # the student's side of every trial and of the feedback draws on one budget
    for _ in range(trials):
        for _ in range(20):  # a draw outside the reference's domain (log of a negative) says nothing: draw again
            values = random_values(symbols, rng, constraints, definitions)
            expected = evaluate(reference, values)
            if np.all(np.isfinite(expected)):
                break
        try:
            actual = evaluate(student, values, work)
        except ShapeError as exc:
            return Comparison(False, str(exc))
        if actual.shape != expected.shape:
            squeezed = np.squeeze(actual).shape == np.squeeze(expected).shape
            hint = " (a transpose missing or extra?)" if actual.T.shape == expected.shape else ""
            if not squeezed:
                return Comparison(False, f"the result has shape {actual.shape}, expected {expected.shape}{hint}")
            actual = actual.reshape(expected.shape)
        if not np.allclose(actual, expected, rtol=rtol, atol=1e-12, equal_nan=True):
            try:
                return Comparison(False, explain(student, reference, values, random_values(symbols, rng, constraints, definitions), work))
            except TooCostly:
                return Comparison(False, UNEXPLAINED)
    return Comparison(True)


# --- feedback: which factor differs -----------------------------------------------------------------

def _factors(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.MatMult, ast.Mod)):
        return _factors(node.left) + _factors(node.right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return [ast.Constant(-1.0)] + _factors(node.operand)
    return [node]


def _value_key(node: ast.AST, values: dict, work: Work):
    try:
        value = np.asarray(_eval(node, values, work), dtype=float)
    except TooCostly:
        raise
    except ShapeError:
        return None
    return value


def terms(node: ast.AST, sign: float = 1.0) -> list[tuple[float, ast.AST]]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        right_sign = sign if isinstance(node.op, ast.Add) else -sign
        return terms(node.left, sign) + terms(node.right, right_sign)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return terms(node.operand, -sign)
    return [(sign, node)]


def _unmatched(reference_parts, student_parts, values, work: Work) -> tuple[list, list]:
    """Pair parts with equal values; return the reference parts and the student parts left over."""
    student_values = [_value_key(part, values, work) for part in student_parts]
    used, missing = set(), []
    for part in reference_parts:
        value = _value_key(part, values, work)
        match = next((i for i, v in enumerate(student_values) if i not in used and v is not None and value is not None
                      and v.shape == value.shape and np.allclose(v, value)), None)
        if match is None:
            missing.append(part)
        else:
            used.add(match)
    return missing, [student_parts[i] for i in range(len(student_parts)) if i not in used]


def _signed(term: tuple[float, ast.AST]) -> ast.AST:
    sign, node = term
    return node if sign > 0 else ast.UnaryOp(ast.USub(), node)


def explain(student: Parsed, reference: Parsed, values: dict, other_values: dict | None = None,
            work: Work | None = None) -> str:
    """Say how the student's value differs: a flipped sign, a constant factor (the same on two random
    draws), or — descending into the one part that differs — the term or factor that is wrong.  Every
    evaluation draws on ``work``; ``TooCostly`` when it runs out."""
    work = work or Work()
    expected, actual = evaluate(reference, values), evaluate(student, values, work)
    if expected.shape == actual.shape and np.any(expected):
        if np.allclose(actual, -expected):
            return "the sign is flipped"
        factor = _constant_ratio(actual, expected)
        if factor is not None and other_values is not None:
            again = _constant_ratio(evaluate(student, other_values, work), evaluate(reference, other_values))
            if again is not None and np.isclose(again, factor):
                return f"off by a constant factor of {factor:.4g}"
    return _explain_nodes(student.tree, reference.tree, values, 0, work)


def _constant_ratio(actual: np.ndarray, expected: np.ndarray) -> float | None:
    if actual.shape != expected.shape:
        return None
    ratio = np.divide(actual, expected, out=np.full(expected.shape, np.nan), where=np.abs(expected) > 1e-9)
    finite = ratio[np.isfinite(ratio)]
    if finite.size and np.allclose(finite, finite[0]) and not np.isclose(finite[0], 1):
        return float(finite[0])
    return None


def _explain_nodes(student: ast.AST, reference: ast.AST, values: dict, depth: int, work: Work) -> str:
    """Sums first, then products: when exactly one part is wrong, explain that part instead; inside
    the same function, explain its argument."""
    if (isinstance(student, ast.Call) and isinstance(reference, ast.Call) and student.func.id == reference.func.id
            and len(student.args) == len(reference.args) == 1 and depth < 6):
        inner = _explain_nodes(student.args[0], reference.args[0], values, depth + 1, work)
        if inner != UNEXPLAINED:
            return f"inside {reference.func.id}(...): {inner}"
    for split, name in ((lambda n: [_signed(t) for t in terms(n)], "term"), (_factors, "factor")):
        ref_parts, stu_parts = split(reference), split(student)
        if len(ref_parts) == 1 and len(stu_parts) == 1:
            continue
        missing, extra = _unmatched(ref_parts, stu_parts, values, work)
        if len(missing) == len(ref_parts) and len(ref_parts) > 1 and name == "term":
            continue  # nothing in common as a sum: try it as a product
        if not missing and not extra:
            continue
        if len(missing) == 1 and len(extra) == 1:
            transposed = _transposed(extra[0], missing[0], values, work)
            if transposed:
                return transposed
        if len(missing) == 1 and len(extra) == 1 and depth < 6:
            inner = _explain_nodes(extra[0], missing[0], values, depth + 1, work)
            if inner != UNEXPLAINED:
                return inner
        if missing or extra:
            return _describe(missing, extra, name)
    return UNEXPLAINED


UNEXPLAINED = "the value differs from the expected expression"


def _transposed(written: ast.AST, expected: ast.AST, values: dict, work: Work) -> str:
    """``W_hh`` where ``W_hh.T`` belongs (a square matrix, so no shape error said it)."""
    have, want = _value_key(written, values, work), _value_key(expected, values, work)
    if have is None or want is None or have.ndim != 2 or have.shape[0] < 2 or have.shape[1] < 2:
        return ""
    if have.T.shape == want.shape and np.allclose(have.T, want) and not np.allclose(have, want):
        return f"{_show(written)} is transposed: {_show(expected)} belongs there"
    return ""


def _describe(missing: list, extra: list, part: str) -> str:
    if not missing:
        return f"extra {part}{'s' if len(extra) > 1 else ''}: {', '.join(_show(f) for f in extra)}"
    text = (f"the {part}{'s' if len(missing) > 1 else ''} {', '.join(_show(f) for f in missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing or wrong")
    if extra:
        text += f"; you have {', '.join(_show(f) for f in extra)} instead"
    return text


def _show(node: ast.AST) -> str:
    text = ast.unparse(node).replace(f" {SIDE_BY_SIDE} ", " ").replace(f" {OUTER} ", " ⊗ ")
    return text if len(text) <= 40 else text[:37] + "..."
