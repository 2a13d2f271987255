"""A student's zip, or a bare document (a PDF, a photo, a .docx …), opened safely into a private workspace.

Refused before anything is written: entries with absolute paths or ``..``, links, too many entries,
too many uncompressed bytes or an implausible compression ratio (a zip bomb), encrypted entries.
While unpacking, the bytes actually written are counted too, so a zip that lies about its sizes is
stopped.  Nested zips are kept as files, never unpacked.
"""
from __future__ import annotations

import fnmatch
import hashlib
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .documents.kinds import kind_of
from .report.model import Student

JUNK = ("__MACOSX/", ".ipynb_checkpoints/", ".DS_Store", "Thumbs.db")


class SubmissionError(Exception):
    """The submission cannot be read at all; the message names the file and the problem."""


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int = 2000
    max_total_bytes: int = 512 * 2**20
    max_entry_bytes: int = 256 * 2**20
    max_ratio: float = 200.0  # uncompressed / compressed, for entries over 1 MiB


@dataclass
class Submission:
    path: Path
    workspace: Path
    files: list[str]  # relative POSIX paths of the unpacked files
    sha256: str
    size_bytes: int
    warnings: list[str] = field(default_factory=list)

    def cleanup(self) -> None:
        shutil.rmtree(self.workspace, ignore_errors=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# what a browser or a platform adds to a second copy: 'HW3_Ali_Rezaei_401 (1).zip', '…-2.zip', '… copy.zip'
DOWNLOAD_SUFFIX = re.compile(r"(?:\s*\(\d{1,3}\)|-\d{1,2}|\s+copy(?:\s+\d{1,2})?)(?=\.zip$)", re.I)
# a document handed in on its own is a submission too (the theory part: HW3_Sara_Ahmadi_401.pdf), up to
# this size
MAX_DOCUMENT_BYTES = 256 * 2**20


def is_document(path: Path) -> bool:
    """A bare document, not a zip (a .docx is a zip inside, and a document all the same)."""
    return kind_of(path.name) is not None


def identify(file_name: str, pattern: re.Pattern | None) -> tuple[Student, str | None]:
    """The student's identity from the file name (a browser's ' (1)' ignored); a name that does not match
    is a warning."""
    if pattern is None:
        return Student(), None
    as_zip = str(PurePosixPath(file_name).with_suffix(".zip")) if is_document(Path(file_name)) else file_name
    match = next((found for name in dict.fromkeys((file_name, as_zip)) for found in
                  (pattern.fullmatch(name), pattern.fullmatch(DOWNLOAD_SUFFIX.sub("", name))) if found), None)
    if not match:
        return Student(), (f"file name '{file_name}' does not follow the assignment's pattern "
                           f"{pattern.pattern}: the student could not be identified from it")
    groups = match.groupdict()
    return Student(groups.get("first"), groups.get("last"), groups.get("student_id")), None


def _safe_name(name: str) -> PurePosixPath | None:
    """The entry's relative path, or None when it is absolute or climbs out with '..'."""
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or re.match(r"^[A-Za-z]:", normalised):
        return None
    path = PurePosixPath(normalised)
    if any(part == ".." for part in path.parts):
        return None
    return path


def _is_junk(name: str) -> bool:
    return any(marker in name if marker.endswith("/") else name.endswith(marker) for marker in JUNK)


def _check_entries(zip_path: Path, infos: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    if len(infos) > limits.max_entries:
        raise SubmissionError(f"{zip_path.name}: {len(infos)} entries, more than the limit of {limits.max_entries}")
    total = 0
    for info in infos:
        if _safe_name(info.filename) is None:
            raise SubmissionError(f"{zip_path.name}: entry '{info.filename}' has an absolute path or '..': refused")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise SubmissionError(f"{zip_path.name}: entry '{info.filename}' is a symbolic link: refused")
        if info.flag_bits & 0x1:
            raise SubmissionError(f"{zip_path.name}: entry '{info.filename}' is encrypted: refused")
        if info.file_size > limits.max_entry_bytes:
            raise SubmissionError(f"{zip_path.name}: entry '{info.filename}' unpacks to {info.file_size} bytes, "
                                  f"more than the limit of {limits.max_entry_bytes}")
        if info.file_size > 2**20 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise SubmissionError(f"{zip_path.name}: entry '{info.filename}' is compressed "
                                  f"{info.file_size / max(info.compress_size, 1):.0f}:1, a zip bomb: refused")
        total += info.file_size
    if total > limits.max_total_bytes:
        raise SubmissionError(f"{zip_path.name}: unpacks to {total} bytes, more than the limit of "
                              f"{limits.max_total_bytes}: refused")


def open_submission(zip_path: Path, limits: ZipLimits = ZipLimits(), workspace_root: Path | None = None,
                    companions: tuple[Path, ...] = ()) -> Submission:
    """Unpack ``zip_path`` (or copy a bare document) into a new private workspace, with ``companions``, the
    same student's documents uploaded beside it; ``SubmissionError`` if it cannot be read."""
    if not zip_path.is_file():
        raise SubmissionError(f"{zip_path}: no such file")
    if is_document(zip_path):
        return _open_documents(zip_path, (zip_path, *companions), workspace_root)
    submission = _open_zip(zip_path, limits, workspace_root)
    if companions:
        _add_documents(submission, companions)
    return submission


def _open_documents(main: Path, documents: tuple[Path, ...], workspace_root: Path | None) -> Submission:
    workspace = Path(tempfile.mkdtemp(prefix="dlgrade-ws-", dir=workspace_root))
    submission = Submission(main, workspace, [], sha256_of(main), main.stat().st_size)
    try:
        _add_documents(submission, documents)
    except SubmissionError:
        submission.cleanup()
        raise
    return submission


def _add_documents(submission: Submission, documents: tuple[Path, ...]) -> None:
    """Documents handed in as files of their own, copied into the workspace under their own names."""
    for path in documents:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise SubmissionError(f"{path.name}: {size} bytes, more than the limit of {MAX_DOCUMENT_BYTES}")
        name = path.name if path.name not in submission.files else f"{len(submission.files)}_{path.name}"
        shutil.copyfile(path, submission.workspace / name)
        submission.files = sorted([*submission.files, name])
        if path != submission.path:
            submission.warnings.append(f"{path.name} was graded with {submission.path.name}: the same student's "
                                       "document, uploaded beside it")


def _open_zip(zip_path: Path, limits: ZipLimits, workspace_root: Path | None) -> Submission:
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"{zip_path.name}: not a readable zip file ({exc})") from None
    workspace = Path(tempfile.mkdtemp(prefix="dlgrade-ws-", dir=workspace_root))
    warnings: list[str] = []
    files: list[str] = []
    try:
        with archive:
            infos = archive.infolist()
            _check_entries(zip_path, infos, limits)
            for info in infos:
                relative = _safe_name(info.filename)
                if info.is_dir() or _is_junk(info.filename):
                    continue
                target = workspace.joinpath(*relative.parts)
                if target.exists():
                    warnings.append(f"{zip_path.name}: '{info.filename}' appears twice; the first copy is used")
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                _extract(archive, info, target, limits.max_entry_bytes, zip_path)
                files.append(relative.as_posix())
    except SubmissionError:
        shutil.rmtree(workspace, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        shutil.rmtree(workspace, ignore_errors=True)
        raise SubmissionError(f"{zip_path.name}: cannot be unpacked ({type(exc).__name__}: {exc})") from None
    return Submission(zip_path, workspace, sorted(files), sha256_of(zip_path), zip_path.stat().st_size, warnings)


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limit: int, zip_path: Path) -> None:
    written = 0
    with archive.open(info) as source, open(target, "xb") as sink:
        for block in iter(lambda: source.read(1 << 20), b""):
            written += len(block)
            if written > max(info.file_size, 0) or written > limit:
                raise SubmissionError(f"{zip_path.name}: entry '{info.filename}' unpacks to more bytes than it "
                                      "declares: refused")
            sink.write(block)


def _matches(path: str, pattern: str) -> bool:
    """A pattern with a folder (``cs231n/rnn_layers.py``) matches the end of the path; others the name."""
    if "/" in pattern:
        return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, "*/" + pattern)
    return fnmatch.fnmatchcase(PurePosixPath(path).name, pattern)


def find_file(files: list[str], patterns: tuple[str, ...]) -> tuple[str | None, list[str]]:
    """The file matching the first pattern that matches anything (case-insensitive, on the file name);
    with several candidates the shallowest path wins.  Returns (chosen, other candidates)."""
    for pattern in patterns:
        lowered = pattern.lower()
        candidates = [f for f in files if _matches(f.lower(), lowered)]
        if candidates:
            candidates.sort(key=lambda f: (f.count("/"), f))
            return candidates[0], candidates[1:]
    return None, []
