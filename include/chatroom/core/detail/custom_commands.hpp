#pragma once

#include <chatroom/core/access.hpp>
#include <chatroom/core/command.hpp>
#include <chatroom/core/command_error.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/sanitize.hpp>

#include <algorithm>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace chatroom::detail {

// The host's commands (basic_server::add_command), by folded name, sorted
// for /help. Guarded by the hub's lock.
class custom_commands {
public:
    struct entry {
        std::string name; // as registered
        std::string help;
        command_handler handler;
    };

    // A name that a built-in or a custom command has is refused unless replace.
    std::error_code add(std::string name, std::string help, command_handler handler, bool replace) {
        if (!protocol::is_valid_name(name)) return command_errc::bad_name;
        if (!handler) return command_errc::no_handler;
        std::string key = protocol::fold_case(name);
        if (!replace && map_.count(key)) return command_errc::already_registered;
        if (!replace && std::find(std::begin(protocol::builtin_commands), std::end(protocol::builtin_commands), key) !=
                            std::end(protocol::builtin_commands))
            return command_errc::builtin;
        map_[std::move(key)] = entry{std::move(name), std::move(help), std::move(handler)};
        return {};
    }

    // The command typed as name (any case), or null.
    const entry* find(std::string_view name) const {
        if (map_.empty()) return nullptr;
        const auto it = map_.find(protocol::fold_case(name));
        return it == map_.end() ? nullptr : &it->second;
    }

    // Each command's name and help, sanitized, into /help's answer.
    void list(reply& help) const {
        for (const auto& [key, c] : map_) {
            std::string text;
            sanitize_append(text, c.help);
            help.commands.emplace_back(c.name, std::move(text));
        }
    }

private:
    std::map<std::string, entry> map_;
};

} // namespace chatroom::detail
