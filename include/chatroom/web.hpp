#pragma once

/// @file
/// Browsers in the same rooms: the web listener (chat page, WebSocket,
/// /healthz, /metrics). Opt-in; Asio only (and OpenSSL for https/wss when
/// CHATROOM_USE_OPENSSL is defined).
#include <chatroom/web/listener.hpp>
#include <chatroom/web/options.hpp>
