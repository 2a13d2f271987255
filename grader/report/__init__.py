"""Reports: the model, and one renderer per output format."""
from .model import Report

__all__ = ["Report"]
