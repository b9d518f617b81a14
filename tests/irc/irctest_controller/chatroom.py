"""An irctest controller for chatroom-server --irc-port.

irctest (progval/irctest) starts the server on a port it picks and connects
its clients there. chatroom-server is found through CHATROOM_SERVER_BINARY.
A telnet listener is opened too, on another free port (chatroom-server
always has one), and nothing else: no TLS, no server password, no services
(irctest skips the tests that need those: chatroom offers none of them).
"""
import os
import shutil
from typing import Optional, Set, Type

from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController


class ChatroomController(BaseServerController, DirectoryBasedController):
    software_name = "chatroom"
    supported_sasl_mechanisms: Set[str] = set()
    supports_sts = False

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
        websocket_hostname: Optional[str],
        websocket_port: Optional[int],
    ) -> None:
        if websocket_hostname is not None or websocket_port is not None:
            raise NotImplementedByController("Websocket")
        if ssl:
            raise NotImplementedByController("TLS")
        if password is not None:
            raise NotImplementedByController("PASS")
        if run_services:
            raise NotImplementedByController("services")
        assert self.proc is None
        self.port = port
        self.hostname = hostname
        self.create_config()
        (_, telnet_port) = self.get_hostname_and_port()
        binary = os.environ.get("CHATROOM_SERVER_BINARY", "chatroom-server")
        faketime_cmd = []
        if faketime and shutil.which("faketime"):
            faketime_cmd = ["faketime", "-f", faketime]
            self.faketime_enabled = True
        self.proc = self.execute(
            [
                *faketime_cmd,
                binary,
                # Loopback only, whatever address irctest names (it may
                # name 0.0.0.0, which a client reaches through loopback too).
                "--bind", "127.0.0.1",
                "--port", str(telnet_port),
                "--irc-port", str(port),
                "--irc-name", "My.Little.Server",  # the name irctest's tests expect
            ]
        )


def get_irctest_controller_class() -> Type[ChatroomController]:
    return ChatroomController
