#!/usr/bin/env python3
"""Run a private slapd with the SDET schema on a free loopback port (no root needed).

    .venv/bin/python tools/slapd.py --folder /tmp/ent --ldif ent.ldif --suffix dc=ent-test,dc=fr

It loads the LDIF files with slapadd, starts slapd, prints the URL and the
admin DN, and stops the server on Ctrl-C (or SIGTERM). Needs Debian's slapd
package (``tools/test`` installs it when absent).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import threading
from pathlib import Path

from farm.simulators.slapd import DEFAULT_SUFFIX, Slapd, SlapdError


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--folder", type=Path, help="where the database lives (default: a temp folder)"
    )
    parser.add_argument("--suffix", default=DEFAULT_SUFFIX)
    parser.add_argument("--ldif", type=Path, action="append", default=[], help="LDIF to load")
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="farm-slapd-"))
    if (folder / "db" / "data.mdb").exists():
        print(f"{folder} already holds a database; pick an empty folder", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with Slapd(folder, suffix=args.suffix, ldif_files=args.ldif) as server:
            print(f"url      {server.url}")
            print(f"admin    {server.admin_dn} (password: {server.admin_password})")
            print(f"folder   {folder}")
            print("Ctrl-C stops the server.", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
    except SlapdError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
