"""Rubrics: one TOML file per assignment, validated on load.

Every error names the file, the item (or table) and the field.  Paths in a rubric are relative to the
rubric's folder.  Bundled rubrics live in the ``rubrics`` package and are addressed by id
(``--rubric hw3``); any other path to a ``.toml`` file is a course's own rubric.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib
import importlib.util
import re
import sys
import threading
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from .execution.cells import MODES, defined_names
from .execution.limits import FIELD_NAMES as LIMIT_FIELDS
from .execution.limits import Limits
from . import fixtures
from .environment import REQUIREMENT, Environment
from . import late as late_policy
from .fixtures import StoredCase
from .late import LatePolicy

ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
VISIBILITIES = ("public", "hidden")
COMMON_ITEM_FIELDS = {"id", "title", "title_fa", "kind", "points", "visibility", "notebook", "description", "feedback",
                      "written_as"}
# which written answers a TA must confirm before they count: those read from a student's document (a PDF, a
# photo, a .docx …) always; those typed in dlgrade's own answers file too, unless the rubric says otherwise
CONFIRM = ("documents", "all")
TRANSLATED_TITLES = ("fa",)  # title_fa: the rubric's own text for reports in that language (--lang fa)
FEEDBACK_LEVELS = ("full", "verdict")  # verdict: only right or wrong (the default for hidden items)


class RubricError(Exception):
    """A rubric that cannot be used; the message names the file, the place and the field."""

    def __init__(self, path: Path | str, where: str, field_name: str, message: str):
        self.path, self.where, self.field, self.message = str(path), where, field_name, message
        location = f"{where}, field '{field_name}'" if field_name else where
        super().__init__(f"{self.path}: {location}: {message}")


class FieldError(Exception):
    """Raised by a kind's validation; the rubric loader adds the file and the item."""

    def __init__(self, field_name: str, message: str):
        self.field, self.message = field_name, message
        super().__init__(message)


@dataclass(frozen=True)
class Notebook:
    name: str
    match: tuple[str, ...]
    mode: str
    starter_files: tuple[Path, ...] = ()
    template: Path | None = None
    solution: Path | None = None


@dataclass(frozen=True)
class Generator:
    """Makes the arguments of one call from a seeded rng and sizes drawn from ``dims``."""

    name: str
    function: Callable | None
    dims: dict[str, tuple[int, int]]
    edge: tuple[dict[str, int], ...] = ()
    stored: "tuple[StoredCase, ...] | None" = None  # fixed cases from a file instead of a function


@dataclass
class Item:
    id: str
    title: str
    kind: str
    points: float
    visibility: str
    notebook: str | None
    description: str
    config: Any  # the kind's own validated settings
    feedback: str = "full"
    titles: dict[str, str] = field(default_factory=dict)  # the title in other languages: {"fa": "…"}
    labels: tuple[str, ...] = ()  # how students label this answer in a document ("Q2(b)", "سوال ۲ ب")


@dataclass
class Rubric:
    path: Path
    id: str
    title: str
    submission_pattern: re.Pattern | None
    limits: Limits
    aliases: dict[str, str]
    notebooks: dict[str, Notebook]
    generators: dict[str, Generator]
    items: list[Item]
    sha256: str
    # the course's reference files as loaded: values computed from them are cached under both digests, so
    # a process that outlives an edit (a Dask worker) computes them again
    references_sha256: str = ""
    answers_match: tuple[str, ...] = ()  # file-name patterns of the theory answers file
    answers_solution: Path | None = None  # a fully correct answers file, for selftest
    answers_notation: dict[str, str] = field(default_factory=dict)  # a question's own name (as read) → the symbol
    # a symbol that stands for an expression of others (Γ_o = σ(W_o ax + b_o)): (expression, the others' shapes)
    answers_definitions: dict[str, tuple[str, dict]] = field(default_factory=dict)
    answers_confirm: str = "documents"  # CONFIRM: which written answers are proposals a TA confirms
    detect: bool = True  # may `grade ZIP` pick this rubric from the file name alone?
    hidden_until: str = "published"  # hidden items on Gradescope: shown once grades are published, or never
    late: "LatePolicy | None" = None  # the [late] table: deadline, free-day budget, penalty
    environment: "Environment | None" = None  # the [environment] table: packages the notebooks import
    solution_files: tuple[Path, ...] = ()  # a correct submission's other files (a predictions CSV), for selftest
    titles: dict[str, str] = field(default_factory=dict)  # the assignment's title in other languages
    raw: dict = field(repr=False, default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def values_version(self) -> tuple[str, str]:
        """What a value computed from the rubric (a reference's expected output) depends on: a cache key."""
        return self.sha256, self.references_sha256

    @property
    def max_points(self) -> float:
        return sum(item.points for item in self.items)


COURSES = "dlgrade-courses"  # the distribution of the bundled homeworks: a TA's install, never a student's


def bundled_rubric_ids() -> list[str]:
    """The rubrics of the bundled homeworks, when their course content is installed."""
    try:
        root = resources.files("rubrics")
    except ModuleNotFoundError:
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.joinpath("rubric.toml").is_file())


def locate(spec: str) -> Path:
    """A rubric id of a bundled course, or a path to a rubric file (or to a folder holding rubric.toml)."""
    candidate = Path(spec)
    if candidate.is_dir():
        candidate = candidate / "rubric.toml"
    if candidate.is_file():
        return candidate.resolve()
    if re.fullmatch(r"[A-Za-z0-9_\-]+", spec) and spec in bundled_rubric_ids():
        return Path(str(resources.files("rubrics").joinpath(spec, "rubric.toml")))
    known = ", ".join(bundled_rubric_ids())
    if not known:
        raise RubricError(spec, "rubric", "", f"no such rubric file; the bundled homeworks are not installed here "
                                              f"(a TA installs them: pip install {COURSES})")
    raise RubricError(spec, "rubric", "", f"no such rubric file, and not a bundled rubric id (bundled: {known})")


def load(spec: str | Path) -> Rubric:
    path = locate(str(spec))
    raw_bytes = path.read_bytes()
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RubricError(path, "file", "", f"not valid TOML: {exc}") from None
    return _build(path, raw, hashlib.sha256(raw_bytes).hexdigest())


def _notation(path: Path, table) -> dict[str, str]:
    """``notation = { c_prev = ["c^{<t-1>}", "c_{t-1}"] }``: the names the question itself uses for a
    symbol, read the way answers are read, each claimed by one symbol."""
    from .theory import expressions

    if not isinstance(table, dict):
        raise RubricError(path, "[answers]", "notation", "must map each symbol to the names the question uses for it")
    names: dict[str, str] = {}
    for symbol, written in table.items():
        forms = [written] if isinstance(written, str) else written
        if not symbol.isidentifier() or not isinstance(forms, list) or not all(isinstance(f, str) for f in forms):
            raise RubricError(path, "[answers.notation]", symbol, "must be a list of the question's names for it")
        for form in forms:
            try:
                name = expressions.notation_name(form)
            except expressions.ParseError as exc:
                raise RubricError(path, "[answers.notation]", symbol, str(exc)) from None
            if names.get(name, symbol) != symbol:
                raise RubricError(path, "[answers.notation]", symbol, f"'{form}' is already a name of {names[name]}")
            names[name] = symbol
    return names


def _definitions(path: Path, table) -> dict[str, tuple[str, dict]]:
    """``Gamma_o = { is = "sigma(W_o @ ax + b_o)", symbols = { W_o = [4, 7], b_o = [4, 1] } }``: an answer
    may write the symbol or what it stands for; the symbols it adds are declared with their shapes."""
    if not isinstance(table, dict):
        raise RubricError(path, "[answers]", "definitions", "must map a symbol to { is = \"…\", symbols = { … } }")
    out = {}
    for name, entry in table.items():
        if (not name.isidentifier() or not isinstance(entry, dict) or not isinstance(entry.get("is"), str)
                or not isinstance(entry.get("symbols", {}), dict) or set(entry) - {"is", "symbols"}):
            raise RubricError(path, "[answers.definitions]", name,
                              "must be { is = \"an expression\", symbols = { name = shape, … } }")
        out[name] = (entry["is"], dict(entry.get("symbols", {})))
    return out


TABLES = ("assignment", "answers", "limits", "aliases", "late", "environment", "notebooks", "generators", "items")


def _build(path: Path, raw: dict, sha256: str) -> Rubric:
    from .checks import kind_class  # the registry imports rubric types; import here to keep one direction

    for key in raw:
        if key not in TABLES:
            close = difflib.get_close_matches(key, TABLES, n=1)
            hint = f"; did you mean [{close[0]}]?" if close else ""
            raise RubricError(path, f"[{key}]", "", f"unknown table (known: {', '.join(TABLES)}){hint}")

    assignment = _table(path, raw, "assignment", required=True)
    rubric_id = _string(path, "[assignment]", assignment, "id", required=True)
    pattern = _string(path, "[assignment]", assignment, "submission")
    try:
        submission_pattern = re.compile(pattern) if pattern else None
    except re.error as exc:
        raise RubricError(path, "[assignment]", "submission", f"not a valid regular expression: {exc}") from None
    limits_table = _table(path, raw, "limits")
    for key, value in limits_table.items():
        if key not in LIMIT_FIELDS:
            raise RubricError(path, "[limits]", key, f"unknown limit (known: {', '.join(LIMIT_FIELDS)})")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise RubricError(path, "[limits]", key, "must be a positive number")
    aliases = _table(path, raw, "aliases")
    for key, value in aliases.items():
        if not isinstance(value, str):
            raise RubricError(path, "[aliases]", key, "must be a string: the other spelling of this key")

    answers = _table(path, raw, "answers")
    answers_match = answers.get("match", [])
    if isinstance(answers_match, str):
        answers_match = [answers_match]
    if not isinstance(answers_match, list) or not all(isinstance(m, str) and m for m in answers_match):
        raise RubricError(path, "[answers]", "match", "must be a list of file-name patterns such as 'answers*.md'")
    for key in answers:
        if key not in ("match", "solution", "notation", "definitions", "confirm"):
            raise RubricError(path, "[answers]", key,
                              "unknown field (known: match, solution, notation, definitions, confirm)")
    confirm = answers.get("confirm", "documents")
    if confirm not in CONFIRM:
        raise RubricError(path, "[answers]", "confirm", "must be 'documents' (answers read from a PDF, photo or "
                          "document are proposals a TA confirms) or 'all' (answers-file answers too)")
    notation = _notation(path, answers.get("notation", {}))
    definitions = _definitions(path, answers.get("definitions", {}))
    solution = _rubric_file(path, "[answers]", "solution", answers["solution"]) if "solution" in answers else None
    detect = assignment.get("detect", True)
    if not isinstance(detect, bool):
        raise RubricError(path, "[assignment]", "detect", "must be true or false")
    solution_files = assignment.get("solution_files", [])
    if not isinstance(solution_files, list) or not all(isinstance(f, str) for f in solution_files):
        raise RubricError(path, "[assignment]", "solution_files", "must list files relative to the rubric")
    hidden_until = assignment.get("hidden_until", "published")
    if hidden_until not in ("published", "never"):
        raise RubricError(path, "[assignment]", "hidden_until", "must be 'published' or 'never'")
    late_table = _table(path, raw, "late")
    try:
        late = late_policy.parse(late_table) if late_table else None
    except late_policy.LateError as exc:
        raise RubricError(path, "[late]", exc.field, str(exc)) from None
    rubric = Rubric(path=path, id=rubric_id, answers_match=tuple(answers_match), answers_solution=solution,
                    answers_notation=notation, answers_definitions=definitions, detect=detect,
                    answers_confirm=confirm,
                    late=late, hidden_until=hidden_until, environment=_environment(path, raw),
                    solution_files=tuple(_rubric_file(path, "[assignment]", "solution_files", f) for f in solution_files),
                    title=_string(path, "[assignment]", assignment, "title") or rubric_id,
                    titles=_titles(path, "[assignment]", assignment),
                    submission_pattern=submission_pattern, limits=Limits().merged(limits_table),
                    aliases=dict(aliases), notebooks=_notebooks(path, raw), generators=_generators(path, raw),
                    items=[], sha256=sha256, raw=raw)
    items = raw.get("items", [])
    if not isinstance(items, list) or not items:
        raise RubricError(path, "[[items]]", "", "the rubric has no items")
    seen = set()
    for index, table in enumerate(items):
        where = f"items[{index}]"
        if not isinstance(table, dict):
            raise RubricError(path, where, "", "must be a table")
        item_id = _string(path, where, table, "id", required=True)
        where = f"items[{index}] ({item_id})"
        if not ITEM_ID.match(item_id):
            raise RubricError(path, where, "id", "use letters, digits, '.', '_' and '-'")
        if item_id in seen:
            raise RubricError(path, where, "id", "duplicate item id")
        seen.add(item_id)
        kind = _string(path, where, table, "kind", required=True)
        try:
            check_class = kind_class(kind)
        except KeyError as exc:
            raise RubricError(path, where, "kind", str(exc.args[0])) from None
        points = table.get("points")
        if not isinstance(points, (int, float)) or isinstance(points, bool) or points < 0:
            raise RubricError(path, where, "points", "must be a number ≥ 0")
        visibility = table.get("visibility", "public")
        if visibility not in VISIBILITIES:
            raise RubricError(path, where, "visibility", f"must be one of {', '.join(VISIBILITIES)}")
        notebook = table.get("notebook")
        if check_class.needs_notebook and notebook not in rubric.notebooks:
            known = ", ".join(rubric.notebooks) or "none declared"
            raise RubricError(path, where, "notebook", f"must name one of the [[notebooks]] ({known})")
        own = {k: v for k, v in table.items() if k not in COMMON_ITEM_FIELDS}
        try:
            config = check_class.configure(own, rubric)
        except FieldError as exc:
            raise RubricError(path, where, exc.field, exc.message) from None
        feedback = table.get("feedback", "full" if visibility == "public" else "verdict")
        if feedback not in FEEDBACK_LEVELS:
            raise RubricError(path, where, "feedback", f"must be one of {', '.join(FEEDBACK_LEVELS)}")
        rubric.items.append(Item(item_id, _string(path, where, table, "title") or item_id, kind, float(points),
                                 visibility, notebook, _string(path, where, table, "description") or "", config,
                                 feedback, _titles(path, where, table), _labels(path, where, table)))
    rubric.references_sha256 = files_digest((reference._file for _, _, reference in references(rubric)
                                             if reference._file is not None), rubric.folder)
    return rubric


def files_digest(paths, root: Path) -> str:
    """The names (relative to ``root`` when under it) and contents of the files among ``paths``."""
    digest = hashlib.sha256()
    for path in sorted(set(paths)):
        if path.is_file() and "__pycache__" not in path.parts:
            name = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _labels(path: Path, where: str, table: dict) -> tuple[str, ...]:
    labels = table.get("written_as", [])
    if not isinstance(labels, list) or not all(isinstance(label, str) and label.strip() for label in labels):
        raise RubricError(path, where, "written_as", "must list the labels students write for this answer in a "
                                                     "document, such as [\"Q2(b)\", \"سوال ۲ ب\"]")
    return tuple(label.strip() for label in labels)


def _titles(path: Path, where: str, table: dict) -> dict[str, str]:
    return {language: text for language in TRANSLATED_TITLES
            if (text := _string(path, where, table, f"title_{language}"))}


def _table(path: Path, raw: dict, name: str, required: bool = False) -> dict:
    value = raw.get(name, None)
    if value is None:
        if required:
            raise RubricError(path, f"[{name}]", "", "missing table")
        return {}
    if not isinstance(value, dict):
        raise RubricError(path, f"[{name}]", "", "must be a table")
    return value


def _string(path: Path, where: str, table: dict, key: str, required: bool = False) -> str | None:
    value = table.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise RubricError(path, where, key, "required" if value is None else "must be a non-empty string")
    return value


def _environment(path: Path, raw: dict) -> Environment | None:
    """``[environment]``: ``requirements`` (PEP 508 strings), ``find_links`` (folders of wheels beside the
    rubric) and ``offline``."""
    table = _table(path, raw, "environment")
    if not table:
        return None
    for key in table:
        if key not in ("requirements", "find_links", "offline"):
            raise RubricError(path, "[environment]", key, "unknown field (known: requirements, find_links, offline)")
    requirements = table.get("requirements", [])
    if not isinstance(requirements, list) or not all(isinstance(r, str) and REQUIREMENT.match(r.strip())
                                                       for r in requirements):
        raise RubricError(path, "[environment]", "requirements",
                          "must list requirements such as \"matplotlib\" or \"tqdm>=4\" (no pip options)")
    links = table.get("find_links", [])
    if not isinstance(links, list) or not all(isinstance(link, str) for link in links):
        raise RubricError(path, "[environment]", "find_links", "must list folders of wheels, relative to the rubric")
    folders = tuple((path.parent / link).resolve() for link in links)
    for link, folder in zip(links, folders):
        if not folder.is_dir():
            raise RubricError(path, "[environment]", "find_links", f"folder not found: {link}")
    offline = table.get("offline", False)
    if not isinstance(offline, bool):
        raise RubricError(path, "[environment]", "offline", "must be true or false")
    if not requirements:
        return None
    return Environment(tuple(r.strip() for r in requirements), folders, offline)


def _rubric_file(path: Path, where: str, key: str, relative: str) -> Path:
    target = (path.parent / relative).resolve()
    if not target.is_file():
        raise RubricError(path, where, key, f"file not found: {relative}")
    return target


def _notebooks(path: Path, raw: dict) -> dict[str, Notebook]:
    tables = raw.get("notebooks", [])
    if not isinstance(tables, list):
        raise RubricError(path, "[[notebooks]]", "", "must be an array of tables")
    notebooks = {}
    for index, table in enumerate(tables):
        where = f"notebooks[{index}]"
        name = _string(path, where, table, "name", required=True)
        where = f"notebooks[{index}] ({name})"
        match = table.get("match")
        if isinstance(match, str):
            match = [match]
        if not isinstance(match, list) or not match or not all(isinstance(m, str) and m for m in match):
            raise RubricError(path, where, "match", "must be a list of file-name patterns such as '*RNN*.ipynb'")
        mode = table.get("mode", "full")
        if mode not in MODES:
            raise RubricError(path, where, "mode", f"must be one of {', '.join(MODES)}")
        starters = table.get("starter_files", [])
        if not isinstance(starters, list):
            raise RubricError(path, where, "starter_files", "must be a list of paths")
        optional = {key: _rubric_file(path, where, key, table[key]) for key in ("template", "solution") if key in table}
        notebooks[name] = Notebook(name, tuple(match), mode,
                                   tuple(_rubric_file(path, where, "starter_files", s) for s in starters),
                                   optional.get("template"), optional.get("solution"))
    return notebooks


def _generators(path: Path, raw: dict) -> dict[str, Generator]:
    generators = {}
    for name, table in _table(path, raw, "generators").items():
        where = f"[generators.{name}]"
        if not isinstance(table, dict):
            raise RubricError(path, where, "", "must be a table")
        if "stored" in table:
            generators[name] = _stored_generator(path, where, name, table)
            continue
        try:
            function = resolve_callable(path, table.get("function"))
        except ValueError as exc:
            raise RubricError(path, where, "function", str(exc)) from None
        dims = table.get("dims", {})
        if not isinstance(dims, dict):
            raise RubricError(path, where, "dims", "must be a table of name = [low, high]")
        for dim, bounds in dims.items():
            if (not isinstance(bounds, list) or len(bounds) != 2 or not all(isinstance(b, int) for b in bounds)
                    or not 1 <= bounds[0] <= bounds[1]):
                raise RubricError(path, where, f"dims.{dim}", "must be [low, high] with 1 ≤ low ≤ high")
        edge = table.get("edge", [])
        if not isinstance(edge, list) or not all(isinstance(e, dict) for e in edge):
            raise RubricError(path, where, "edge", "must be a list of tables such as { m = 1 }")
        for case in edge:
            for dim, value in case.items():
                if dim not in dims or not isinstance(value, int) or value < 1:
                    raise RubricError(path, where, "edge", f"'{dim} = {value}' is not a positive size of a declared dim")
        generators[name] = Generator(name, function, {k: (v[0], v[1]) for k, v in dims.items()}, tuple(edge))
    return generators


def _stored_generator(path: Path, where: str, name: str, table: dict) -> Generator:
    """``stored = "fixtures/NAME"``: the cases written by ``grade export-student`` (STEM.json + STEM.npz)."""
    if set(table) != {"stored"} or not isinstance(table["stored"], str):
        raise RubricError(path, where, "stored", "must be the only field: the stem of a stored-cases file")
    stem = (path.parent / table["stored"]).resolve()
    if not stem.is_relative_to(path.parent.resolve()):
        raise RubricError(path, where, "stored", "must lie inside the rubric's folder")
    try:
        return Generator(name, None, {}, (), fixtures.read(stem))
    except fixtures.FixtureError as exc:
        raise RubricError(path, where, "stored", str(exc)) from None


def resolve_callable(rubric_path: Path, spec: Any) -> "Reference":
    """``package.module:name`` (importable), or ``relative/file.py:name`` beside the rubric, as a
    ``Reference``: checked now without running the module (the file exists and defines the name at its
    top level, or else it is imported to see), imported on first call.  Raises ``ValueError`` with a
    message for the caller to place."""
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise ValueError("must be 'module:function' or 'file.py:function'")
    module_name, attribute = spec.split(":")
    if module_name.endswith(".py"):
        file = (rubric_path.parent / module_name).resolve()
        if not file.is_file():
            raise ValueError(f"file not found: {module_name}")
    else:
        try:
            found = importlib.util.find_spec(module_name)
        except (ImportError, ValueError) as exc:
            raise ValueError(f"cannot load {spec}: {type(exc).__name__}: {exc}") from None
        if found is None:
            raise ValueError(f"cannot load {spec}: no module named {module_name!r}")
        file = Path(found.origin) if found.origin and found.origin.endswith(".py") else None
    reference = Reference(spec, file if module_name.endswith(".py") else None, module_name, attribute)
    if file is None or attribute not in _names_in(file):
        reference.resolve()  # defined in a way only running the module shows (or not at all): find out now
    return reference


def _names_in(file: Path) -> frozenset[str]:
    try:
        stat = file.stat()
    except OSError:
        return frozenset()
    return _names_in_version(file, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _names_in_version(file: Path, mtime_ns: int, size: int) -> frozenset[str]:
    """Parsed once per version of the file: a rubric's references mostly share one module."""
    try:
        return frozenset(defined_names(file.read_bytes()))
    except OSError:
        return frozenset()


_RUNNING_FILE = threading.Lock()  # a course's reference file runs once, whichever thread asks for it first


class Reference:
    """A course's reference function, imported the first time it is called: loading a rubric (for a
    regrade from the cache, or to list its items) need not import torch and every reference module."""

    def __init__(self, spec: str, file: Path | None, module_name: str, attribute: str):
        self.spec, self._file, self._module_name, self._attribute = spec, file, module_name, attribute
        self._target: Callable | None = None

    def __call__(self, *args, **kwargs):
        return (self._target or self.resolve())(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Reference({self.spec!r})"

    def resolve(self) -> Callable:
        """The function itself; ``ValueError`` naming the spec when it cannot be had."""
        if self._target is not None:
            return self._target
        try:
            if self._file is not None:
                module = self._run_file()
            else:
                module = importlib.import_module(self._module_name)
            target = getattr(module, self._attribute)
        except Exception as exc:
            raise ValueError(f"cannot load {self.spec}: {type(exc).__name__}: {exc}") from None
        if not callable(target):
            raise ValueError(f"{self.spec} is not callable")
        self._target = target
        return target

    def _run_file(self):
        # named by its text too: a process that outlives an edit runs the new version
        unique = f"_dlgrade_rubric_{hashlib.sha1(str(self._file).encode() + self._file.read_bytes()).hexdigest()[:16]}"
        with _RUNNING_FILE:
            module = sys.modules.get(unique)
            if module is None:
                module_spec = importlib.util.spec_from_file_location(unique, self._file)
                module = importlib.util.module_from_spec(module_spec)
                sys.modules[unique] = module
                try:
                    module_spec.loader.exec_module(module)  # trusted: the course's own reference code
                except BaseException:
                    del sys.modules[unique]  # as importlib does: a half-run module is not kept
                    raise
        return module


def references(rubric: "Rubric") -> list[tuple[str, str, Reference]]:
    """Every reference the rubric names, with where: (section, field, reference)."""
    places = [(f"[generators.{name}]", "function", generator.function) for name, generator in rubric.generators.items()]
    for item in rubric.items:
        config = item.config  # a kind's dataclass, or a dict
        values = ({f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
                  if dataclasses.is_dataclass(config) else config if isinstance(config, dict) else {})
        places += [(f"items ({item.id})", key, value) for key, value in values.items()]
    return [(where, key, value) for where, key, value in places if isinstance(value, Reference)]


def resolve_references(rubric: "Rubric") -> None:
    """Import every reference the rubric names (``grade validate``); ``RubricError`` for the first that fails."""
    for where, key, reference in references(rubric):
        try:
            reference.resolve()
        except ValueError as exc:
            raise RubricError(rubric.path, where, key, str(exc)) from None


def import_references_meanwhile(rubric: "Rubric") -> threading.Thread:
    """Import the rubric's references in a thread of their own while the student's kernel starts: torch
    alone is a second of CPU that would otherwise come after it.  A reference that fails is left for the
    check that calls it to report."""
    def import_all() -> None:
        for _, _, reference in references(rubric):
            try:
                reference.resolve()
            except ValueError:
                pass

    thread = threading.Thread(target=import_all, name="dlgrade-references", daemon=True)
    thread.start()
    return thread


def item_callable(table: dict, key: str, rubric: "Rubric") -> "Reference":
    """A callable named by an item field; errors become ``FieldError`` so the loader names the item."""
    try:
        return resolve_callable(rubric.path, table.get(key))
    except ValueError as exc:
        raise FieldError(key, str(exc)) from None
