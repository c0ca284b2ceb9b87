"""A private OpenLDAP server with the SDET schema, for tests, benchmarks and the demo.

:class:`Slapd` writes a ``slapd.conf`` under a folder of its own, loads LDIF
files with ``slapadd`` before the server starts (much faster than ``ldapadd``),
then runs ``/usr/sbin/slapd`` on a free loopback port. Nothing needs root once
the Debian ``slapd`` package is installed. Each instance owns its folder and
port, so several test processes can run servers side by side.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Final, Self

SCHEMA_FILES: Final = (
    "05-ldappc.schema",
    "11-esco-const.schema",
    "13-esco-personne.schema",
    "16-esco-addons.schema",
    "17-esco-structure.schema",
    "21-esco-groupe.schema",
)
SYSTEM_SCHEMAS: Final = ("core", "cosine", "inetorgperson", "nis")
ADMIN_PASSWORD: Final = "secret"  # noqa: S105 - a throwaway password of a private test server
DEFAULT_SUFFIX: Final = "dc=esco-centre,dc=fr"


class SlapdError(RuntimeError):
    """slapd or one of its tools is missing or failed; the message carries its output."""


def _binary(name: str) -> str:
    for folder in ("/usr/sbin", "/usr/bin", "/usr/local/sbin"):
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise SlapdError(f"{name} not found: install Debian's slapd and ldap-utils packages")
    return found


def schema_folder() -> Path:
    """The folder holding the six SDET/ESCO schema files shipped with the package."""
    return Path(str(resources.files("farm.simulators") / "sdet_schema"))


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Slapd:
    """One private slapd: ``suffix`` is its only database, ``admin_dn`` its rootdn.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    ``anonymous_size_limit`` mimics production servers that cap plain
    searches (paged searches are not capped), so that a reader that forgets
    to page is caught.
    """

    def __init__(
        self,
        folder: Path,
        *,
        suffix: str = DEFAULT_SUFFIX,
        ldif_files: Sequence[Path] = (),
        anonymous_size_limit: int = 500,
    ) -> None:
        self.folder = Path(folder)
        self.suffix = suffix
        self.ldif_files = tuple(Path(p) for p in ldif_files)
        self.anonymous_size_limit = anonymous_size_limit
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def admin_dn(self) -> str:
        return f"cn=admin,{self.suffix}"

    @property
    def admin_password(self) -> str:
        return ADMIN_PASSWORD

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.folder / "slapd.conf"

    def write_config(self) -> None:
        """Write ``slapd.conf`` and create the database folder."""
        (self.folder / "db").mkdir(parents=True, exist_ok=True)
        (self.folder / "run").mkdir(parents=True, exist_ok=True)
        schemas = [f"include /etc/ldap/schema/{name}.schema" for name in SYSTEM_SCHEMAS]
        schemas += [f"include {schema_folder() / name}" for name in SCHEMA_FILES]
        limit = self.anonymous_size_limit
        lines = [
            *schemas,
            f"pidfile {self.folder / 'run' / 'slapd.pid'}",
            f"argsfile {self.folder / 'run' / 'slapd.args'}",
            "modulepath /usr/lib/ldap",
            "moduleload back_mdb",
            "database mdb",
            f"limits anonymous size.soft={limit} size.hard={limit} size.prtotal=unlimited",
            "maxsize 1073741824",
            f'suffix "{self.suffix}"',
            f'rootdn "{self.admin_dn}"',
            f"rootpw {ADMIN_PASSWORD}",
            f"directory {self.folder / 'db'}",
            "access to * by * read",
            "index objectClass eq",
            "index uid,ENTPersonLogin,ENTPersonJointure,ENTStructureUAI,ENTStructureSIREN eq",
            "index ENTPersonStructRattach,ENTAuxPersRelEleveEleve eq",
            "index ENTEleveClasses,ENTEleveGroupes,ENTAuxEnsClasses,ENTAuxEnsGroupes eq,sub",
            "index ENTPersonFonctions eq,sub",
            "index modifyTimestamp eq",
        ]
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def load(self, ldif_files: Iterable[Path]) -> None:
        """Bulk-load LDIF files into the (stopped) database with slapadd."""
        for ldif in ldif_files:
            self._run([_binary("slapadd"), "-q", "-f", str(self.config_path), "-l", str(ldif)])

    def start(self, *, attempts: int = 5) -> Self:
        """Configure, load the LDIF files, then start slapd and wait until it answers."""
        self.write_config()
        if self.ldif_files:
            self.load(self.ldif_files)
        last = ""
        for _ in range(attempts):
            # Another process may grab the port between the probe and bind: retry then.
            self.port = free_port()
            process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [_binary("slapd"), "-d", "0", "-f", str(self.config_path), "-h", f"{self.url}/"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                ready = self._wait_ready(process)
            except BaseException:
                process.kill()
                process.wait()
                raise
            if ready:
                self._process = process
                return self
            process.kill()
            _, err = process.communicate()
            last = err.decode("utf-8", "replace")[-2000:]
        raise SlapdError(f"slapd did not start under {self.folder}: {last}")

    def _wait_ready(self, process: subprocess.Popen[bytes], timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        """Stop slapd (the database stays on disk until the folder is removed)."""
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(command, capture_output=True, check=False)  # noqa: S603
        if done.returncode != 0:
            output = (done.stderr or done.stdout).decode("utf-8", "replace")[-2000:]
            raise SlapdError(f"{' '.join(command)} failed ({done.returncode}): {output}")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
