#pragma once

#include <chatroom/core/room_event.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

/// @file
/// A room's past beyond the members who heard it: the query a member, a
/// dialect or the host asks, the page it gets, and the interface a history
/// store implements (in memory: the rooms' rings; SQLite: chatroom/sqlite/).
///
/// Ids: a message's id is the one its room event was given when the room log
/// ordered it: the in-process log's sequence number in decimal ("41"), or
/// with the Redis backplane the stream entry's id ("1733486400000-3"). Ids of
/// one room increase in the room's order; a store compares them as numbers.
namespace chatroom {

/// Which part of a room's history a query asks for.
enum class history_range : std::uint8_t {
    latest,  ///< the last `limit` messages
    before,  ///< the last `limit` messages older than `id`
    after,   ///< the first `limit` messages newer than `id` (what a reconnecting client missed)
    between, ///< the first `limit` from `id` to `until_id`, both included; by time (`since`, `until`) when `id` is empty
};

/// A question to a room's history.
struct history_query {
    std::string room;                              ///< the room's name (any case)
    history_range range = history_range::latest;   ///< which part
    std::string id;                                ///< before, after: the bound (excluded); between: the first id
    std::string until_id;                          ///< between: the last id (included)
    std::chrono::system_clock::time_point since{}; ///< between by time: from (included)
    std::chrono::system_clock::time_point until{}; ///< between by time: to (included)
    std::size_t limit = 100;                       ///< at most this many; the store caps it at its page size
};

/// A store's answer: one page of a room's messages.
struct history_page {
    /// Oldest first, each with the id (seq, or log_id) and the time it was
    /// given when first said: never restamped.
    std::vector<room_event> events;
    /// More messages lie beyond this page in the direction asked (older for
    /// latest and before, newer for after and between).
    bool more = false;
    /// after: messages that followed `id` are no longer kept (retention or a
    /// trimmed stream removed them). The page then holds the latest
    /// messages, and some between `id` and them are not available.
    bool unavailable = false;
};

/// Why a history query was not answered: the values of history_category().
enum class history_errc {
    bad_query = 1, ///< an id that is not one (not digits, or not MS-N), or times out of order
    not_kept,      ///< this server keeps no history (--history 0 and no store)
    store_failed,  ///< the store could not read (its error went to the host's log)
    stopping,      ///< the server is stopping
};

namespace detail {

class history_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "chatroom.history"; }
    std::string message(int value) const override {
        switch (static_cast<history_errc>(value)) {
        case history_errc::bad_query: return "bad history query: an id is not one this server gives, or times are out of order";
        case history_errc::not_kept: return "this server keeps no history";
        case history_errc::store_failed: return "the history store could not be read";
        case history_errc::stopping: return "server stopping";
        }
        return "unknown chatroom history error";
    }
};

} // namespace detail

/// The category of history_errc; one object for the whole program.
inline const std::error_category& history_category() noexcept {
    static const detail::history_category_impl category;
    return category;
}

/// A history_errc as a std::error_code of history_category().
inline std::error_code make_error_code(history_errc e) noexcept { return {static_cast<int>(e), history_category()}; }

/// A message's id as it is quoted: log_id when the log gave one, else seq.
inline std::string id_of(const room_event& e) { return e.log_id.empty() ? std::to_string(e.seq) : e.log_id; }

/// What keeps messages beyond a room's ring: the events the room log ordered
/// (chat and /me actions; joins, leaves and private messages are not kept),
/// and the queries over them.
///
/// Thread contract: keep() is called with the server's lock held, in each
/// room's order, and must not block (a store that writes to disk queues and
/// writes on its own thread). query() may be called from any thread and calls
/// done exactly once, from any thread, never from inside query() with a lock
/// of the caller's held: the server calls it unlocked.
class history_store {
public:
    virtual ~history_store() = default;

    /// Keeps one ordered message event (its seq or log_id, and time, set).
    virtual void keep(const room_event& event) = 0;

    /// Answers q; done(ec, page) once. An empty page with no error: nothing
    /// matches (a room never spoken in).
    virtual void query(const history_query& q, std::function<void(std::error_code, history_page)> done) = 0;

    /// The highest sequence number kept, read when the store opened: the
    /// in-process log numbers its events after it, so ids never repeat
    /// across a restart. 0 when empty (or for ids that are not numbers).
    virtual std::uint64_t last_seq() const { return 0; }

    /// The server is stopping: what was handed to keep() is written (or, for
    /// a store that cannot, the loss is documented), and nothing is kept after.
    virtual void stop() {}
};

} // namespace chatroom

namespace std {
template <>
struct is_error_code_enum<chatroom::history_errc> : true_type {};
} // namespace std
