"""Grading a whole class: collecting the submissions, grading them in parallel (local processes or a
Dask cluster), caching, the resumable gradebook, the late policy and class statistics."""
