"""Print the shell commands of a README section's first ``sh`` block, exactly as written there.

    python scripts/readme_commands.py "Quick start"        # the commands .ci/run runs

The section is found by its heading (``## Quick start``) or by a bold label that opens a paragraph
(``**Embedded**``). tests/test_readme.py runs the other blocks with the same reader.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def block(title: str, text: str | None = None) -> str:
    """The text of the first ```sh block after the heading or bold label ``title``."""
    text = README.read_text(encoding="utf-8") if text is None else text
    marker = re.search(rf"^(#+ {re.escape(title)}\s*$|\*\*{re.escape(title)}\*\*)", text, re.M)
    if marker is None:
        raise LookupError(f"README.md has no section {title!r}")
    found = re.compile(r"^```sh\n(.*?)^```", re.M | re.S).search(text, marker.end())
    if found is None:
        raise LookupError(f"README.md has no sh block after {title!r}")
    return found.group(1)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        sys.stdout.write(block(argv[0]))
    except LookupError as exc:
        print(f"readme_commands: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
