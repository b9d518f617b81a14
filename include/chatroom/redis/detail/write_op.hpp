#pragma once

// What a writer sends (writer.hpp): an entry of a stream, a marker that
// opens a room's stream, or a canary; and the leaves of a dead incarnation,
// counted so its nicks are freed only once Redis has them all.

#include <chatroom/redis/detail/entry.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
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
    std::vector<std::string> fields; // entry, canary: field, value, ...
    std::size_t bytes = 0;
    std::uint64_t generation = 0; // marker: which opening of the room
    std::uint64_t count = 0;      // entry: its count; canary: its sequence
    std::shared_ptr<leave_job> job;
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
    append_fields(op.fields, e, node, epoch, count, member); // no copy of the event
    op.bytes = op.key.size();
    for (const auto& f : op.fields) op.bytes += f.size();
    return op;
}

// An entry of a room written under this process's name, as a reader would
// decode it (what fails there fails here too); nothing for anything else.
inline std::optional<stream_entry> own_room_entry(const write_op& op, const std::string& node, const std::string& epoch,
                                                  std::size_t max_line) {
    if (op.what != write_op::kind::entry) return std::nullopt;
    std::vector<entry_field> fields;
    for (std::size_t i = 0; i + 1 < op.fields.size(); i += 2) fields.emplace_back(op.fields[i], op.fields[i + 1]);
    auto entry = decode_entry(fields, entry_rules{max_line, entry_stream::room});
    if (!entry || entry->node != node || entry->epoch != epoch || entry->event.room.empty()) return std::nullopt;
    return entry;
}

} // namespace chatroom::detail
