"""Whether CUDA could be present, asked without importing torch or LangChain (the auto driver asks it first, so that a
machine without an NVIDIA driver starts without the hf driver's imports: issue #25, Build 9)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path


def cuda_possible() -> bool:
    """torch is installed and an NVIDIA driver is there; only then can ``torch.cuda.is_available()`` be true."""
    if importlib.util.find_spec("torch") is None:
        return False
    if sys.platform == "darwin":
        return False
    return bool(shutil.which("nvidia-smi") or Path("/proc/driver/nvidia").exists() or Path("/dev/nvidia0").exists())
