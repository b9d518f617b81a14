"""An irctest controller for chatroom-server --irc-port.

irctest (progval/irctest) starts the server on a port it picks and connects
its clients there. chatroom-server is found through CHATROOM_SERVER_BINARY.
A telnet listener is opened too, on another free port (chatroom-server
always has one), and nothing else: no TLS, no server password. A test that
asks for services (irctest's `services` marker: accounts made during the
test, as sasl.py does) gets chatroom-server's own accounts instead: the
server runs with `--users FILE`, and registerUser adds a line to FILE (an
Argon2id hash from `--hash-password`) and sends SIGHUP, which rereads it.
SASL PLAIN is then offered (sasl=PLAIN), as the server does whenever it has
accounts.

Every run has one account, irctest's operator (`operuser`, `operpassword`,
as its ergo and inspircd controllers configure one) with the operator role
(`name:hash:op`), so OPER works: the server has accounts in every test, and
so offers sasl in CAP LS in every test.
"""
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from typing import Optional, Set, Type

from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController


def _own_group_dying_with_parent() -> None:
    """Runs in the child before exec: a process group of its own (irctest
    kills the group) and SIGTERM when the pytest worker that started it
    exits, however it exits, so that no chatroom-server outlives a run
    (with -n, pytest-xdist may end a worker without its tests' tearDown)."""
    os.setsid()
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


OPER_NAME, OPER_PASSWORD = "operuser", "operpassword"
_hashes = {}  # password -> Argon2id hash, made once per process (each takes a while)


def _hash(binary: str, password: str) -> str:
    if password not in _hashes:
        r = subprocess.run([binary, "--hash-password"], input=(password + "\n").encode(),
                           capture_output=True, timeout=30, check=True)
        _hashes[password] = r.stdout.decode().strip()
    return _hashes[password]


def _note_pid(pid: int) -> None:
    """Appends pid to the file CHATROOM_IRCTEST_PIDS names, if any, so the
    gate (run_irctest_gate.py) can end, by PID, any server still running."""
    path = os.environ.get("CHATROOM_IRCTEST_PIDS")
    if path:
        with open(path, "a", encoding="ascii") as f:
            f.write(f"{pid}\n")


class ChatroomController(BaseServerController, DirectoryBasedController):
    software_name = "chatroom"
    supported_sasl_mechanisms: Set[str] = {"PLAIN"}
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
        assert self.proc is None
        self.port = port
        self.hostname = hostname
        self.create_config()
        (_, telnet_port) = self.get_hostname_and_port()
        binary = os.environ.get("CHATROOM_SERVER_BINARY", "chatroom-server")
        self.binary = binary
        # The operator's account always; with services, registerUser's too.
        assert self.directory
        users_path = os.path.join(self.directory, "users")
        with open(users_path, "w", encoding="ascii") as f:
            f.write(f"{OPER_NAME}:{_hash(binary, OPER_PASSWORD)}:op\n")
        self.users_path = users_path if run_services else None
        accounts = ["--users", users_path]
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
                *accounts,
            ],
            preexec_fn=_own_group_dying_with_parent,
        )
        _note_pid(self.proc.pid)

    def wait_for_services(self) -> None:
        """No services to wait for: the accounts are the server's own."""

    def registerUser(self, case, username: str, password: Optional[str] = None) -> None:
        """An account in the server's --users file, reread on SIGHUP."""
        if self.users_path is None:
            raise NotImplementedByController("account registration")
        assert password is not None and "\n" not in password
        self.wait_for_port()  # listening, so its SIGHUP handler is installed (SIGHUP would end it before)
        with open(self.users_path, "a", encoding="ascii") as f:
            f.write(f"{username}:{_hash(self.binary, password)}\n")
        assert self.proc
        self.proc.send_signal(signal.SIGHUP)
        # A connection and a PING answered after the signal: the server's one
        # thread handled the SIGHUP (queued before them) by then.
        with socket.create_connection((self.hostname, self.port), timeout=10) as s:
            s.sendall(b"PING :reloaded\r\n")
            data, deadline = b"", time.monotonic() + 10
            while b"reloaded" not in data and time.monotonic() < deadline:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk

    def kill_proc(self) -> None:
        """Ends the server at once (SIGKILL to its process group): its graceful
        stop drains for about 2 s, which irctest would wait for after every
        test (two thirds of the suite's time); no test reads what a server
        says as it stops."""
        assert self.proc
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own group (setsid above)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.proc = None


def get_irctest_controller_class() -> Type[ChatroomController]:
    return ChatroomController
