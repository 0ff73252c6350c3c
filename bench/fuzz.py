"""The adversarial suite at length, on demand: `python -m bench.fuzz [CASES]`.

Runs the properties of tests/test_adversarial.py (every route and every server-side Dash
callback, with any input, as any user) with CASES examples in all (default 10,000),
against the same real PostgreSQL, Redis and app the test suite starts. It passes only if
no case got a 5xx, logged a failure or echoed a long value. `make test` runs the same
properties with a few dozen examples each.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROPERTIES = ("test_routes_answer_2xx_or_4xx", "test_callbacks_answer_2xx_or_4xx")


def main(argv: list[str]) -> int:
    cases = int(argv[0]) if argv else 10_000
    per_property = math.ceil(cases / len(PROPERTIES))
    print(f"{len(PROPERTIES)} properties x {per_property:,} examples = "
          f"{per_property * len(PROPERTIES):,} cases")  # fmt: skip
    selection = " or ".join(PROPERTIES)
    return subprocess.call(
        [sys.executable, "-m", "pytest", "tests/test_adversarial.py", "-q", "-k", selection,
         "--hypothesis-show-statistics"],
        cwd=ROOT, env={**os.environ, "HUB_FUZZ_EXAMPLES": str(per_property)},
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
