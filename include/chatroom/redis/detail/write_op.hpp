#pragma once

// What a writer sends (writer.hpp): an entry of a stream, a marker that
// opens a room's stream, or a canary; and the leaves of a dead incarnation,
// counted so its nicks are freed only once Redis has them all.

#include <chatroom/redis/detail/entry.hpp>
#include <chatroom/redis/detail/resp.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::detail {

// Leaves announced for a dead incarnation: once Redis has them all, its
// nicks may be freed.
struct leave_job {
    std::size_t remaining = 0;
    std::function<void()> then; // with mu held
};

struct write_op {
    enum class kind : unsigned char { entry, marker, canary };
    kind what = kind::entry;
    std::string key;
    // entry, canary: field, value, ... encoded as the command's arguments
    // (resp.hpp) when the operation is made: the writer's batch appends
    // them as they are, with no string of its own per field.
    std::string fields;
    std::size_t field_count = 0; // arguments in fields
    std::size_t bytes = 0;       // the key's and the fields' own sizes
    std::uint64_t generation = 0; // marker: which opening of the room
    std::uint64_t count = 0;      // entry: its count; canary: its sequence
    std::shared_ptr<leave_job> job;

    void add_field(std::string_view name, std::string_view value) {
        append_resp_arg(fields, name);
        append_resp_arg(fields, value);
        field_count += 2;
        bytes += name.size() + value.size();
    }

    // The fields again as (name, value) views of fields; what add_field
    // wrote, so well formed.
    std::vector<entry_field> decoded_fields() const {
        std::vector<entry_field> out;
        out.reserve(field_count / 2);
        std::string_view rest = fields;
        auto next = [&rest] {
            const std::size_t nl = rest.find('\n');
            std::size_t len = 0;
            std::from_chars(rest.data() + 1, rest.data() + nl - 1, len);
            const std::string_view arg = rest.substr(nl + 1, len);
            rest.remove_prefix(nl + 1 + len + 2);
            return arg;
        };
        for (std::size_t i = 0; i + 1 < field_count; i += 2) {
            const std::string_view name = next();
            out.emplace_back(name, next());
        }
        return out;
    }
};

// An event as an entry of the stream key, written under a writer's name:
// this process's (node, epoch, count, origin member), or a dead
// incarnation's for its leaves.
inline write_op entry_op(std::string key, const room_event& e, std::uint64_t count, const std::string& node,
                         const std::string& epoch, std::uint64_t member, std::shared_ptr<leave_job> job = nullptr) {
    write_op op;
    op.key = std::move(key);
    op.count = count;
    op.job = std::move(job);
    op.bytes = op.key.size();
    op.fields.reserve(e.text.size() + e.room.size() + e.nick.size() + node.size() + epoch.size() + 96);
    // Straight from the event: no copy of it, nor of its text but the one into the command.
    for_each_field(e, node, epoch, count, member, [&op](std::string_view name, std::string_view value) {
        op.add_field(name, value);
    });
    return op;
}

// An entry of a room written under this process's name, as a reader would
// decode it (what fails there fails here too); nothing for anything else.
inline std::optional<stream_entry> own_room_entry(const write_op& op, const std::string& node, const std::string& epoch,
                                                  std::size_t max_line) {
    if (op.what != write_op::kind::entry) return std::nullopt;
    auto entry = decode_entry(op.decoded_fields(), entry_rules{max_line, entry_stream::room});
    if (!entry || entry->node != node || entry->epoch != epoch || entry->event.room.empty()) return std::nullopt;
    return entry;
}

} // namespace chatroom::detail
