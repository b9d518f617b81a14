#pragma once

#include <string_view>

namespace chatroom {

/// Where a client is in its life; reported to on_state at each change.
///   connecting -> connected -> disconnected -> waiting_to_reconnect -> connecting ...
/// A connection attempt that fails goes from connecting straight to
/// waiting_to_reconnect (or to closed when reconnecting is off); closed is last.
enum class client_state {
    connecting,           ///< resolving, connecting, TLS handshake
    connected,            ///< lines flow
    disconnected,         ///< a connection that was up has ended
    waiting_to_reconnect, ///< next_try says how long until the next attempt
    closed,               ///< for good: close(), or a loss with reconnecting off
};

/// The state's name, as written in the enum ("waiting_to_reconnect").
constexpr std::string_view to_string(client_state s) noexcept {
    switch (s) {
    case client_state::connecting: return "connecting";
    case client_state::connected: return "connected";
    case client_state::disconnected: return "disconnected";
    case client_state::waiting_to_reconnect: return "waiting_to_reconnect";
    case client_state::closed: return "closed";
    }
    return "?";
}

} // namespace chatroom
