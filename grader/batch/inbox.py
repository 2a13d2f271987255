"""The submissions of a class: a folder of zips and documents (a theory PDF, photos, a .docx …), or one zip
of them as a learning platform exports it; who each belongs to, when it was submitted, and which one
counts (a student's latest zip, with their latest document beside it).  Every other file is left out
with a line that names it and says why."""
from __future__ import annotations

import csv
import hashlib
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from ..report.model import Student
from ..rubric import Rubric
from ..documents.kinds import kind_of
from ..submission import identify, is_document, sha256_of

MAX_INNER_ZIP_BYTES = 512 * 2**20
MAX_INNER_ZIPS = 5000


class InboxError(Exception):
    pass


class EmptyInbox(InboxError):
    """The source holds no submission at all: a wrong path, not a class."""


@dataclass
class Entry:
    path: Path
    student_key: str              # the student id, or the file name when it names no student
    student: Student
    submitted_at: datetime | None
    time_source: str              # "platform CSV" | "zip entries" | "unknown"
    superseded: list[str] = field(default_factory=list)  # the same student's earlier files
    conflicts: list[str] = field(default_factory=list)   # identity questions for a TA (``identity_conflicts``)
    companions: tuple[Path, ...] = ()  # the student's document graded with their zip (the theory PDF)

    @property
    def name(self) -> str:
        return self.path.name

    def sha256(self) -> str:
        """Of the file, and of its companions: a new theory PDF beside the same zip is a new submission."""
        if not self.companions:
            return sha256_of(self.path)
        parts = [f"{path.name}\0{sha256_of(path)}" for path in (self.path, *self.companions)]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def read_times(path: Path) -> dict[str, datetime]:
    """A platform's export of ``file name, timestamp`` rows (ISO 8601; a header row is allowed)."""
    times = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if len(row) < 2 or not row[0].strip():
                continue
            try:
                times[PurePosixPath(row[0].strip()).name] = datetime.fromisoformat(row[1].strip())
            except ValueError:
                if number == 1:
                    continue  # the header
                raise InboxError(f"{path.name}, line {number}: '{row[1]}' is not an ISO date and time") from None
    return times


def unpack_class_zip(archive_path: Path, folder: Path) -> list[Path]:
    """The zips and documents inside a platform's export, copied out under safe, unique names."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        with zipfile.ZipFile(archive_path) as archive:
            inner = [info for info in archive.infolist() if not info.is_dir() and (
                info.filename.lower().endswith(".zip") or is_document(Path(info.filename)))]
            if len(inner) > MAX_INNER_ZIPS:
                raise InboxError(f"{archive_path.name} holds {len(inner)} zips; at most {MAX_INNER_ZIPS} are read")
            for info in inner:
                if info.file_size > MAX_INNER_ZIP_BYTES:
                    raise InboxError(f"{archive_path.name}: {info.filename} is larger than {MAX_INNER_ZIP_BYTES >> 20} MiB")
                name = re.sub(r"[^\w.\-]", "_", PurePosixPath(info.filename.replace("\\", "/")).name)
                target = folder / name
                if target in written:  # two folders with the same file name: keep both
                    target = folder / f"{len(written)}_{name}"
                with archive.open(info) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(_capped(source, MAX_INNER_ZIP_BYTES), sink)
                written.append(target)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InboxError(f"{archive_path.name} cannot be read as a zip of submissions: {exc}") from None
    return written


class _capped:
    """A reader that refuses to yield more than ``limit`` bytes, whatever the entry's header claims."""

    def __init__(self, source, limit: int):
        self.source, self.left = source, limit

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(1 << 20 if size < 0 else size)
        self.left -= len(data)
        if self.left < 0:
            raise InboxError("an inner zip is larger than its declared size allows")
        return data


def _zip_time(path: Path) -> datetime | None:
    try:
        with zipfile.ZipFile(path) as archive:
            stamps = [datetime(*info.date_time) for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    return max(stamps) if stamps else None


def _is_submission(path: Path) -> bool:
    return path.suffix.lower() == ".zip" or is_document(path)


def collect(source: Path, rubric: Rubric, unpack_to: Path, times: dict[str, datetime] | None = None,
            left_out: list[str] | None = None) -> list[Entry]:
    """Every student's counted submission (the latest zip, or the latest document when they sent no zip),
    their latest document beside a zip as its companion, the others listed on it; ``left_out`` gets a
    line for every file that is not a submission."""
    left_out = left_out if left_out is not None else []
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if not p.is_dir() and unpack_to not in p.parents)
        for path in files:
            if not path.is_file():
                left_out.append(f"{path.relative_to(source)}: not a regular file (a link or a device): left out")
            elif not _is_submission(path):
                left_out.append(f"{path.relative_to(source)}: neither a zip nor a document the grader reads "
                                "(.pdf, .png, .jpg, .docx, .md, .tex, .txt, .ipynb): left out")
        zips = [p for p in files if p.is_file() and _is_submission(p)]
    elif zipfile.is_zipfile(source):
        zips = unpack_class_zip(source, unpack_to)
    else:
        raise InboxError(f"{source}: neither a folder of submissions nor a zip of them")
    if not zips:
        named = "".join(f"\n  left out: {line}" for line in left_out[:10])
        raise EmptyInbox(f"{source} holds no submission: a class is a folder of the students' zips or documents, "
                         f"or one zip of them{named}")
    by_student: dict[str, list[Entry]] = {}
    for path in zips:
        student = _identify(path.name, rubric)
        key = student.student_id or path.stem
        if times and path.name in times:
            when, origin = times[path.name], "platform CSV"
        else:
            when = _zip_time(path)
            origin = "zip entries" if when else "unknown"
        by_student.setdefault(key, []).append(Entry(path, key, student, when, origin))
    conflicts = identity_conflicts(by_student)
    counted = []
    for key, entries in sorted(by_student.items()):
        entries.sort(key=lambda e: (_comparable(e.submitted_at), e.name))
        # a zip counts before a document (the practical's code); the latest document goes with it
        zips = [e for e in entries if not is_document(e.path)]
        documents = [e for e in entries if is_document(e.path)]
        photos = [e for e in documents if kind_of(e.name) == "image"]
        latest = (zips or documents)[-1]
        if photos and (latest in photos or zips):  # photos are pages of one answer sheet: all of them count
            latest.companions = tuple(sorted((e.path for e in photos if e is not latest), key=lambda p: p.name))
        elif zips and documents:
            latest.companions = (documents[-1].path,)
        entries = [e for e in entries if e is not latest and e.path not in latest.companions] + [latest]
        latest.superseded = [e.name for e in entries[:-1]]
        latest.conflicts = conflicts.get(key, [])
        tied = [e.name for e in entries[:-1] if e.submitted_at is not None
                and _comparable(e.submitted_at) == _comparable(latest.submitted_at)]
        if tied:  # the file name must not decide which of two uploads counts
            latest.conflicts.append(f"uploads at the same time ({latest.submitted_at.isoformat()}): {', '.join(tied)} "
                                    f"and {latest.name}; {latest.name} was counted, confirm it is the one")
        counted.append(latest)
    return counted


def identity_conflicts(by_student: dict[str, list[Entry]]) -> dict[str, list[str]]:
    """What about a student's identity a TA must look at, by student key: two names for one id, one name
    for two ids, uploads of one id from different folders (a platform's folder is its uploader).  The
    latest file still counts, and its report and row say why it may not be this student's."""
    found: dict[str, list[str]] = {}
    ids_by_name: dict[tuple, set[str]] = {}
    for key, entries in by_student.items():
        names = {_name(e.student): e for e in entries if _name(e.student)}
        if len(names) > 1:
            found.setdefault(key, []).append(
                f"one id, {len(names)} names: " + "; ".join(f"{e.name} says {' '.join(n)}" for n, e in names.items()))
        folders = sorted({str(e.path.parent) for e in entries})
        if len(folders) > 1:
            found.setdefault(key, []).append(
                f"uploads of one id from {len(folders)} folders: " + "; ".join(
                    f"{e.path.parent.name}/{e.name}" for e in entries))
        for name in names:
            if entries[0].student.student_id:
                ids_by_name.setdefault(name, set()).add(key)
    for name, keys in ids_by_name.items():
        if len(keys) > 1:
            for key in keys:
                found.setdefault(key, []).append(f"one name, {len(keys)} ids: {' '.join(name)} uses "
                                                 + ", ".join(sorted(keys)))
    return found


def _name(student: Student) -> tuple:
    return tuple(part.strip().casefold() for part in (student.first or "", student.last or "") if part.strip())


def unidentified(entry: "Entry", rubric: Rubric) -> str | None:
    """Why the TA must look at a file whose name identifies no student (None when it does)."""
    if rubric.submission_pattern is None or any((entry.student.first, entry.student.last, entry.student.student_id)):
        return None
    return (f"{entry.name}: the file name names no student (it does not follow {rubric.submission_pattern.pattern}); "
            f"it is graded under the key '{entry.student_key}' until it is renamed")


def _identify(name: str, rubric: Rubric) -> Student:
    """As ``grade`` does, but also inside a longer name: a platform's '3_HW3_Ali_Rezaei_401.zip'."""
    student, problem = identify(name, rubric.submission_pattern)
    if problem and rubric.submission_pattern is not None:
        found = rubric.submission_pattern.search(name)
        if found:
            groups = found.groupdict()
            return Student(groups.get("first"), groups.get("last"), groups.get("student_id"))
    return student


def _comparable(when: datetime | None) -> tuple:
    if when is None:
        return (0, "")
    return (1, (when if when.tzinfo is None else when.astimezone(timezone.utc).replace(tzinfo=None)).isoformat())
