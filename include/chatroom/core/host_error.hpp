#pragma once

#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

/// @file
/// Why a host control (server.hpp: kick, move, rename, set_topic, the room
/// controls, async_notice) did not do what it was asked: std::error_code
/// values of the "chatroom.host" category, and the result type the controls
/// return.
namespace chatroom {

/// Why a host control failed: the values of host_category(), usable as
/// std::error_code (std::is_error_code_enum is true for it).
enum class host_errc {
    no_such_member = 1, ///< no member has that nick (on this server)
    no_such_room,       ///< no room has that name (on this server)
    name_taken,         ///< the new nick is another member's; the room already exists
    bad_name,           ///< not 1-32 of A-Z a-z 0-9 _ . -
    room_full,          ///< the room has its max_members
    lobby_is_fixed,     ///< the lobby cannot be created, made private, capped or closed
    stopping,           ///< the server is stopping
};

namespace detail {

class host_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "chatroom.host"; }
    std::string message(int value) const override {
        switch (static_cast<host_errc>(value)) {
        case host_errc::no_such_member: return "no such member";
        case host_errc::no_such_room: return "no such room";
        case host_errc::name_taken: return "name taken";
        case host_errc::bad_name: return "bad name: use 1-32 of A-Z a-z 0-9 _ . -";
        case host_errc::room_full: return "room full";
        case host_errc::lobby_is_fixed: return "the lobby cannot be changed that way";
        case host_errc::stopping: return "server stopping";
        }
        return "unknown chatroom host error";
    }
};

} // namespace detail

/// The category of host_errc; one object for the whole program.
inline const std::error_category& host_category() noexcept {
    static const detail::host_category_impl category;
    return category;
}

/// A host_errc as a std::error_code of host_category() (found by ADL, so
/// `std::error_code ec = host_errc::no_such_room;` works).
inline std::error_code make_error_code(host_errc e) noexcept { return {static_cast<int>(e), host_category()}; }

/// What a host control did. True when it did what was asked (as the bool the
/// 2.x controls returned); otherwise error() says why. Compare it with a
/// host_errc directly: `if (r == chatroom::host_errc::no_such_room)`.
class control_result {
public:
    /// Done.
    control_result() = default;
    /// Done when ec is empty, else failed for ec.
    control_result(std::error_code ec) noexcept : ec_(ec) {}
    /// Failed for e.
    control_result(host_errc e) noexcept : ec_(make_error_code(e)) {}

    /// True when the control did what was asked.
    explicit operator bool() const noexcept { return !ec_; }
    /// Why it failed; empty when done.
    const std::error_code& error() const noexcept { return ec_; }
    /// error().message(), or "done".
    std::string message() const { return ec_ ? ec_.message() : std::string("done"); }

    /// Whether it failed for e.
    friend bool operator==(const control_result& r, host_errc e) noexcept { return r.ec_ == make_error_code(e); }
    /// Whether it did not fail for e (done, or failed otherwise).
    friend bool operator!=(const control_result& r, host_errc e) noexcept { return !(r == e); }

private:
    std::error_code ec_;
};

} // namespace chatroom

namespace std {
template <>
struct is_error_code_enum<chatroom::host_errc> : true_type {};
} // namespace std
