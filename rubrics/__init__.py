"""Bundled rubrics: one folder per assignment holding rubric.toml, its template notebooks, starter files
and a solution used by ``grade selftest``."""
