"""Moving values between numpy (what crosses the bridge) and torch (what the references compute in).

torch is imported when a reference first needs it, not with the grader: loading a rubric, a regrade
from the cache or ``grade --help`` need not pay its second and a half."""
from __future__ import annotations

import sys
from typing import Any

import numpy as np


def to_torch(value: Any, requires_grad: bool = False) -> Any:
    """Tensors for every array in a structure: floats as float64 (they get ``requires_grad`` when
    asked), integers as int64 and booleans as bool, so an index array or a mask reaches a reference as
    what it is."""
    if isinstance(value, np.ndarray):
        import torch

        kind = value.dtype.kind
        dtype = np.float64 if kind == "f" else np.int64 if kind in "iu" else value.dtype
        tensor = torch.from_numpy(np.array(value, dtype=dtype))
        return tensor.requires_grad_(requires_grad and tensor.is_floating_point())
    if isinstance(value, dict):
        return {key: to_torch(item, requires_grad) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_torch(item, requires_grad) for item in value)
    return value


def to_numpy(value: Any) -> Any:
    torch = sys.modules.get("torch")  # not imported yet: nothing can be a tensor
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, dict):
        return {key: to_numpy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_numpy(item) for item in value)
    return value
