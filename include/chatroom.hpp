// chatroom: a header-only, embeddable chat-room component on standalone Asio.
// See README.md; the protocol is in docs/protocol.md.
#ifndef CHATROOM_HPP
#define CHATROOM_HPP

#include <chatroom/version.hpp>
#include <chatroom/options.hpp>
#include <chatroom/events.hpp>
#include <chatroom/access.hpp>
#include <chatroom/stats.hpp>
#include <chatroom/message.hpp>
#include <chatroom/sanitize.hpp>
#include <chatroom/line_framer.hpp>
#include <chatroom/protocol.hpp>
#include <chatroom/room_event.hpp>
#include <chatroom/room_log.hpp>
#include <chatroom/renderer.hpp>
#include <chatroom/transport.hpp>
#include <chatroom/server.hpp>
#include <chatroom/client.hpp>

// TLS is opt-in: define CHATROOM_USE_OPENSSL before including chatroom and
// link OpenSSL (libssl, libcrypto).
#if defined(CHATROOM_USE_OPENSSL)
#include <chatroom/tls.hpp>
#endif

#endif // CHATROOM_HPP
