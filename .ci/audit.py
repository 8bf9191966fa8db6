"""Known vulnerabilities in the locked dependencies, from PyPI's own advisory data.

    python .ci/audit.py [uv.lock]

pip-audit cannot run on our machines: it asks PyPI's per-version JSON endpoint, which the
package proxy here does not serve, or OSV, which it cannot reach. PyPI's per-project
endpoint (``/pypi/<name>/json``) is served, and its ``vulnerabilities`` list holds the
advisories (PyPA advisory database, OSV format) affecting the project's newest release.
So: every locked package that is at its newest release is checked; one that is not is
named, with the newer version, so someone can upgrade it or check it by hand.

Exit status 1 when a locked version has a known vulnerability; 0 otherwise, also when
PyPI cannot be reached (a laptop offline), which is said on stderr.
"""

import json
import sys
import tomllib
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PYPI = "https://pypi.org/pypi/{name}/json"


def locked(lock: Path) -> list[tuple[str, str]]:
    packages = tomllib.loads(lock.read_text())["package"]
    return sorted(
        (p["name"], p["version"])
        for p in packages
        if "registry" in p.get("source", {})  # not the project itself
    )


def newest(name: str) -> tuple[str, list[dict]] | None:
    """(newest version, its advisories), or None when PyPI cannot be asked."""
    try:
        with urllib.request.urlopen(PYPI.format(name=name), timeout=15) as response:
            data = json.load(response)
    except (urllib.error.URLError, TimeoutError, ValueError):
        return None
    advisories = [v for v in data.get("vulnerabilities") or [] if not v.get("withdrawn")]
    return data["info"]["version"], advisories


def main() -> int:
    lock = Path(sys.argv[1] if len(sys.argv) > 1 else "uv.lock")
    packages = locked(lock)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = dict(zip(packages, pool.map(lambda p: newest(p[0]), packages), strict=True))
    unreachable = [name for (name, _), answer in answers.items() if answer is None]
    if len(unreachable) == len(packages):
        print("audit: PyPI cannot be reached; nothing was checked", file=sys.stderr)
        return 0
    vulnerable, older = [], []
    for (name, version), answer in answers.items():
        if answer is None:
            continue
        latest, advisories = answer
        if version != latest:
            older.append(f"{name} {version} (newest {latest})")
        elif advisories:
            ids = ", ".join(
                f"{a['id']} (fixed in {', '.join(a.get('fixed_in') or ['no release yet'])})"
                for a in advisories
            )
            vulnerable.append(f"{name} {version}: {ids}")
    checked = len(packages) - len(unreachable) - len(older)
    print(
        f"audit: {len(packages)} locked packages; {checked} at their newest release checked "
        f"against PyPI's advisories: {len(vulnerable)} vulnerable"
    )
    for line in vulnerable:
        print(f"  VULNERABLE {line}")
    if older:
        print(f"  not checkable here (older than the newest release): {'; '.join(older)}")
    if unreachable:
        print(f"  PyPI did not answer for: {', '.join(unreachable)}", file=sys.stderr)
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
