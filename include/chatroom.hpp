/// @file
/// chatroom: a header-only, embeddable chat-room component on standalone Asio.
/// See README.md; the protocol is in docs/protocol.md.
#ifndef CHATROOM_HPP
#define CHATROOM_HPP

#include <chatroom/version.hpp>
#include <chatroom/core.hpp>   // rooms, members, the log, delivery, connections
#include <chatroom/line.hpp>   // the line protocol of telnet, nc and chatroom-client
#include <chatroom/server.hpp> // basic_server: the core with the line protocol over plain sockets
#include <chatroom/client.hpp> // basic_client

// Browsers (chatroom/web.hpp) and the Redis backplane (chatroom/redis.hpp)
// are opt-in parts with headers of their own.
// TLS is opt-in: define CHATROOM_USE_OPENSSL before including chatroom and
// link OpenSSL (libssl, libcrypto).
#if defined(CHATROOM_USE_OPENSSL)
#include <chatroom/tls.hpp>
#endif

#endif // CHATROOM_HPP
