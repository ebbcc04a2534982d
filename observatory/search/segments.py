"""Files this project writes beside a Whoosh segment (posting columns, typo dictionaries): read."""

from __future__ import annotations

import os

import numpy as np


def segment_file(reader, extension: str) -> np.ndarray | None:
    """The bytes of the file with ``extension`` beside a segment reader's segment, mapped into memory
    when the segment is in its own files (read otherwise); None when the segment has none."""
    segment, storage = reader.segment(), reader.storage()
    name = segment.make_filename(extension)
    folder = getattr(storage, "folder", None)
    if folder is not None:
        path = os.path.join(folder, name)
        return np.memmap(path, dtype=np.uint8, mode="r") if os.path.exists(path) else None
    if not storage.file_exists(name):
        return None
    handle = storage.open_file(name)
    try:
        return np.frombuffer(handle.read(), dtype=np.uint8)
    finally:
        handle.close()
