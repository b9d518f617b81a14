#!/bin/sh
# Runs irctest (a snapshot in ../shared/tools/irctest, or IRCTEST_DIR) against
# chatroom-server --irc-port with irctest's standard selection, server tests
# only. Usage: run_irctest.sh PATH/TO/chatroom-server [pytest args...]
# Needs Debian's python3-pytest (and python3-pytest-xdist for -n). The gate
# that ./scripts/test runs is run_irctest_gate.py (per-marker summary and the
# expected-pass list).
set -eu
server=$(realpath "$1"); shift
here=$(cd "$(dirname "$0")" && pwd)
irctest=${IRCTEST_DIR:-$here/../../../shared/tools/irctest}
cd "$irctest"
CHATROOM_SERVER_BINARY=$server PYTHONPATH=$here${PYTHONPATH:+:$PYTHONPATH} \
exec /usr/bin/python3 -m pytest -p no:cacheprovider --controller irctest_controller.chatroom \
  -m 'not services and not implementation-specific and not deprecated and not strict' \
  --ignore=irctest/self_tests -rfEsxX "$@"
