"""irctest's controller for chatroom-server (chatroom.py); see run_irctest.sh."""
