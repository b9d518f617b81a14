#pragma once

// The error codes of the hiredis adapter (connection.hpp): how a command or
// a connection failed when no reply came. A Redis error reply (-ERR ...) is
// not one of these: it is a reply (reply.hpp), classified there.

#include <string>
#include <system_error>

namespace chatroom::detail {

enum class redis_error {
    command_timeout = 1, // a command in flight passed its deadline; the connection failed
    connect_timeout,     // the TCP connection was not established within the connect timeout
    connection_lost,     // the connection failed for a reason without a better code
    protocol_error,      // hiredis could not parse what the server sent
    not_connected,       // the command was not sent: connect() not called, or the connection is over
    unsupported_command, // the command was not sent: empty, one that breaks one-reply-per-command
                         // (SUBSCRIBE, MONITOR...: see subscribe()), or any on a subscriber connection
};

class redis_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "chatroom.redis"; }
    std::string message(int value) const override {
        switch (static_cast<redis_error>(value)) {
        case redis_error::command_timeout: return "redis command timed out";
        case redis_error::connect_timeout: return "redis connect timed out";
        case redis_error::connection_lost: return "redis connection lost";
        case redis_error::protocol_error: return "redis protocol error";
        case redis_error::not_connected: return "redis connection not established or already over";
        case redis_error::unsupported_command: return "redis command not supported by this connection";
        }
        return "unknown redis error";
    }
    std::error_condition default_error_condition(int value) const noexcept override {
        switch (static_cast<redis_error>(value)) {
        case redis_error::command_timeout:
        case redis_error::connect_timeout: return std::errc::timed_out;
        case redis_error::not_connected: return std::errc::not_connected;
        default: return {value, *this};
        }
    }
};

inline const std::error_category& redis_category() noexcept {
    static const redis_error_category category;
    return category;
}

inline std::error_code make_error_code(redis_error e) noexcept { return {static_cast<int>(e), redis_category()}; }

} // namespace chatroom::detail

namespace std {
template <>
struct is_error_code_enum<chatroom::detail::redis_error> : true_type {};
} // namespace std
