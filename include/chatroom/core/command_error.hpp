#pragma once

#include <string>
#include <system_error>
#include <type_traits>

/// @file
/// Why basic_server::add_command refused a command: std::error_code values of
/// the "chatroom.command" category.
namespace chatroom {

/// Why add_command refused (an std::error_code enum).
enum class command_errc {
    bad_name = 1,       ///< not 1-32 of A-Z a-z 0-9 _ . -
    no_handler,         ///< the handler is empty
    builtin,            ///< a built-in command has that name (pass replace to shadow it)
    already_registered, ///< a command of the host's has that name (pass replace to replace it)
};

namespace detail {

class command_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "chatroom.command"; }
    std::string message(int value) const override {
        switch (static_cast<command_errc>(value)) {
        case command_errc::bad_name: return "bad command name: use 1-32 of A-Z a-z 0-9 _ . -";
        case command_errc::no_handler: return "no handler";
        case command_errc::builtin: return "a built-in command has that name";
        case command_errc::already_registered: return "a command of that name is already registered";
        }
        return "unknown chatroom command error";
    }
};

} // namespace detail

/// The category of command_errc; one object for the whole program.
inline const std::error_category& command_category() noexcept {
    static const detail::command_category_impl category;
    return category;
}

/// A command_errc as an std::error_code (found by argument-dependent lookup).
inline std::error_code make_error_code(command_errc e) noexcept { return {static_cast<int>(e), command_category()}; }

} // namespace chatroom

namespace std {
template <>
struct is_error_code_enum<chatroom::command_errc> : true_type {};
} // namespace std
