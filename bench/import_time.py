"""What loading the pytest plugin costs a project's pytest run. Prints one JSON object.

Runs ``python -X importtime -c "import harness.plugin"`` in fresh interpreters and reads
the cumulative import times: ``plugin_import_ms`` is the plugin's own share (everything
``harness.plugin`` imports beyond pytest, which any pytest run imports anyway);
``total_ms`` includes pytest. Medians over ``--repeat`` runs.

Usage: python bench/import_time.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys

_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def once() -> tuple[float, float, list[str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import harness.plugin"],
        capture_output=True,
        text=True,
        check=True,
    )
    cumulative: dict[str, float] = {}
    for line in done.stderr.splitlines():
        m = _LINE.match(line)
        if m:
            cumulative[m.group(4)] = int(m.group(2)) / 1000.0
    heavy = [
        name
        for name in ("pandas", "pandera", "pydantic", "hypothesis", "aiohttp", "yaml", "rich")
        if name in cumulative
    ]
    return cumulative["harness.plugin"], cumulative.get("pytest", 0.0), heavy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    runs = [once() for _ in range(args.repeat)]
    total = statistics.median(r[0] for r in runs)
    pytest_ms = statistics.median(r[1] for r in runs)
    print(
        json.dumps(
            {
                "plugin_import_ms": round(total - pytest_ms, 1),
                "pytest_import_ms": round(pytest_ms, 1),
                "total_ms": round(total, 1),
                "heavy_modules_imported": runs[-1][2],
                "repeat": args.repeat,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
