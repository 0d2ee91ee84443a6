"""Loaded problem sets, cached per process by version: parsing a set costs far more than grading with it."""

from __future__ import annotations

import threading
from collections import OrderedDict

from grader.problemset.loader import load_problem_set
from grader.problemset.model import ProblemSet as LoadedSet
from grader.service.models import SetVersion

CACHE_SIZE = 32

_lock = threading.Lock()
_cache: OrderedDict[tuple[int, str], LoadedSet] = OrderedDict()


def loaded_set(version: SetVersion) -> LoadedSet:
    """The problem set of ``version``, loaded once per process."""
    key = (version.id, version.sha256)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    loaded = load_problem_set(version.source, f"{version.title} (version {version.number})")
    with _lock:
        _cache[key] = loaded
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return loaded
