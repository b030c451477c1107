"""One Genloom per data dir: a second launch asks the first to show itself, then exits."""
from __future__ import annotations

import hashlib

from PySide6.QtNetwork import QLocalServer, QLocalSocket

from models.runtime import paths


def server_name() -> str:
    digest = hashlib.sha1(str(paths.home().resolve()).encode()).hexdigest()[:12]
    return f"genloom-{digest}"


def ask_running_instance_to_show() -> bool:
    """True when another instance answered (this process should then exit)."""
    socket = QLocalSocket()
    socket.connectToServer(server_name())
    if not socket.waitForConnected(300):
        return False
    socket.write(b"show\n")
    socket.flush()
    socket.waitForBytesWritten(300)
    socket.disconnectFromServer()
    return True


def listen(on_show) -> QLocalServer:
    server = QLocalServer()
    QLocalServer.removeServer(server_name())  # a crashed instance may have left its socket behind
    server.listen(server_name())

    def accept():
        while server.hasPendingConnections():
            connection = server.nextPendingConnection()
            connection.readyRead.connect(lambda c=connection: (c.readAll(), on_show()))
    server.newConnection.connect(accept)
    return server
