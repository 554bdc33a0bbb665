"""A loopback TCP proxy that can cut its connections part-way, to lose the database in the middle of a load."""

from __future__ import annotations

import contextlib
import socket
import threading


class CuttingProxy:
    """Forwards 127.0.0.1:<port> to ``target``; once armed, drops the connection that sends ``cut_after`` bytes
    (or is sent ``cut_reply_after`` bytes: the server lost while it answers)."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.cut_after: int | None = None
        self.cut_reply_after: int | None = None
        self.cuts = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                sent += len(data)
                if from_client and self.cut_after is not None and sent > self.cut_after:
                    self.cut_after, self.cuts = None, self.cuts + 1
                    break
                if not from_client and self.cut_reply_after is not None and sent > self.cut_reply_after:
                    self.cut_reply_after, self.cuts = None, self.cuts + 1
                    break
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._listener.close()
