"""Loaded problem sets, cached per process by version: parsing a set costs far more than grading with it."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict

from grader.problemset.loader import load_problem_set
from grader.problemset.model import ProblemSet as LoadedSet
from grader.problemset.source import ProblemSetError
from grader.service.models import SetVersion

CACHE_SIZE = 32
#: a YAML escape of half a UTF-16 surrogate pair, which the reader refuses (it is not a character)
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")

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
    name = f"{version.title} (version {version.number})"
    try:
        loaded = load_problem_set(version.source, name)
    except ProblemSetError as exc:
        # A set stored before such escapes were refused at upload: shown with U+FFFD in their place.
        if "surrogate" not in exc.message or not SURROGATE_ESCAPE.search(version.source):
            raise
        loaded = load_problem_set(SURROGATE_ESCAPE.sub(r"\\uFFFD", version.source), name)
    with _lock:
        _cache[key] = loaded
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return loaded
