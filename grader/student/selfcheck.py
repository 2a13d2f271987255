"""``grade check``: a student's own files graded by the public checks of a bundle, in seconds."""
from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from ..grading import GradingOptions, grade
from ..report.model import Report
from .bundle import Bundle


def check_files(paths: list[Path], bundle: Bundle, options: GradingOptions | None = None) -> Report:
    """Grade ``paths`` (notebooks, an answers file, or folders holding them) as one submission."""
    with tempfile.TemporaryDirectory(prefix="dlgrade-check-") as scratch:
        zip_path = Path(scratch) / "self-check.zip"
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as archive:
            for path in paths:
                if path.is_dir():
                    for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()):
                        archive.write(file, file.relative_to(path).as_posix())
                else:
                    archive.write(path, path.name)
        report = grade(zip_path, bundle.rubric, options)
    report.submission.file = ", ".join(path.name for path in paths)
    report.warnings.insert(0, bundle.notice())
    return report
