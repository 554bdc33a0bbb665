"""A throwaway MariaDB server on its own port and data directory, which a test may kill and restart."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import MySQLdb


class PrivateMariaDB:
    """``mariadbd`` on 127.0.0.1:<free port> over ``folder``; the machine's shared MariaDB is never touched."""

    def __init__(self, folder: Path):
        self.folder = folder
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                "--user=root",
                f"--datadir={folder / 'data'}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
        )
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        command = [
            "/usr/sbin/mariadbd",
            "--no-defaults",
            "--user=root",
            f"--datadir={self.folder / 'data'}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.folder / 'sock'}",
            f"--pid-file={self.folder / 'pid'}",
            "--local-infile=1",
            "--skip-log-bin",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                MySQLdb.connect(host="127.0.0.1", port=self.port, user="root", passwd="").close()
                return
            except MySQLdb.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def kill(self) -> None:
        """Stop the server the hard way (SIGKILL): nothing is flushed, InnoDB recovers on the next start."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)

    def connect(self) -> MySQLdb.Connection:
        return MySQLdb.connect(host="127.0.0.1", port=self.port, user="root", passwd="", autocommit=True)
