#pragma once

#include <chatroom/core/history.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/sqlite/detail/handle.hpp>
#include <chatroom/sqlite/detail/schema.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

/// @file
/// One history_query answered from the history database, on the query
/// thread's read-only connection: the four ranges, `more`, `unavailable`,
/// each a short scan of the (room_key, seq) or (room_key, time_ms) index.
namespace chatroom::detail {

/// A decimal id as a seq; nullopt when it is not one (empty, not digits,
/// too large for SQLite's INTEGER).
inline std::optional<std::int64_t> parse_history_id(std::string_view id) {
    if (id.empty() || id.size() > 19) return std::nullopt;
    std::uint64_t value = 0;
    for (const char c : id) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(value);
}

class sqlite_query_runner {
public:
    sqlite_query_runner(sqlite_db& db, std::size_t page_size)
        : db_(db), page_size_(page_size == 0 ? 1 : page_size),
          room_(db, "SELECT room, trimmed FROM rooms WHERE room_key = ?1"),
          latest_(db, "SELECT seq, time_ms, kind, nick, text, account FROM messages WHERE room_key = ?1"
                      " ORDER BY seq DESC LIMIT ?2"),
          before_(db, "SELECT seq, time_ms, kind, nick, text, account FROM messages WHERE room_key = ?1 AND seq < ?3"
                      " ORDER BY seq DESC LIMIT ?2"),
          after_(db, "SELECT seq, time_ms, kind, nick, text, account FROM messages WHERE room_key = ?1 AND seq > ?3"
                     " ORDER BY seq LIMIT ?2"),
          between_ids_(db, "SELECT seq, time_ms, kind, nick, text, account FROM messages WHERE room_key = ?1"
                           " AND seq BETWEEN ?3 AND ?4 ORDER BY seq LIMIT ?2"),
          between_times_(db, "SELECT seq, time_ms, kind, nick, text, account FROM messages WHERE room_key = ?1"
                             " AND time_ms BETWEEN ?3 AND ?4 ORDER BY time_ms, seq LIMIT ?2") {}

    /// Answers q (bad_query for ids that are not numbers or bounds out of
    /// order). Throws sqlite_error when the file cannot be read.
    std::pair<std::error_code, history_page> answer(const history_query& q) {
        history_page page;
        const std::int64_t limit = static_cast<std::int64_t>(std::min(q.limit, page_size_));
        const std::string key = protocol::fold_case(q.room);

        std::int64_t from = 0, to = 0;
        switch (q.range) {
        case history_range::latest: break;
        case history_range::before:
        case history_range::after: {
            const auto id = parse_history_id(q.id);
            if (!id) return {history_errc::bad_query, {}};
            from = *id;
            break;
        }
        case history_range::between: {
            if (q.id.empty()) {
                if (q.since > q.until) return {history_errc::bad_query, {}};
                from = to_millis(q.since);
                to = to_millis(q.until);
            } else {
                const auto a = parse_history_id(q.id), b = parse_history_id(q.until_id);
                if (!a || !b || *a > *b) return {history_errc::bad_query, {}};
                from = *a;
                to = *b;
            }
            break;
        }
        }

        read_transaction txn(db_);
        std::string room;
        std::int64_t trimmed = 0;
        {
            sqlite_reset_guard g(room_);
            room_.bind(1, key);
            if (!room_.step()) return {}; // a room never spoken in: an empty page
            room = room_.text(0);
            // The name as first given; the asker's when the file's is not a name of that room.
            if (!protocol::is_valid_name(room) || protocol::fold_case(room) != key) room = q.room;
            trimmed = room_.integer(1);
        }
        switch (q.range) {
        case history_range::latest: page.more = fetch(latest_, key, limit, 0, 0, room, page, true); break;
        case history_range::before: page.more = fetch(before_, key, limit, from, 0, room, page, true); break;
        case history_range::after:
            if (from < trimmed) { // retention deleted messages newer than id: say so, give the latest
                page.unavailable = true;
                fetch(latest_, key, limit, 0, 0, room, page, true);
            } else {
                page.more = fetch(after_, key, limit, from, 0, room, page, false);
            }
            break;
        case history_range::between:
            page.more = fetch(q.id.empty() ? between_times_ : between_ids_, key, limit, from, to,
                              room, page, false);
            break;
        }
        return {std::error_code(), std::move(page)};
    }

private:
    /// A read transaction, so the room row and the page agree.
    class read_transaction {
    public:
        explicit read_transaction(sqlite_db& db) : db_(db) { db_.exec("BEGIN"); }
        read_transaction(const read_transaction&) = delete;
        read_transaction& operator=(const read_transaction&) = delete;
        ~read_transaction() {
            try {
                db_.exec("COMMIT");
            } catch (const sqlite_error&) {
            }
        }

    private:
        sqlite_db& db_;
    };

    /// Reads up to limit rows (one more to learn `more`) into page, oldest
    /// first; `descending`: the statement reads newest first. `more` counts
    /// rows read, kept or not (event_of leaves out a row it refuses), and
    /// is also set when the page's text reaches max_history_page_bytes: the
    /// asker pages on from the last message given.
    bool fetch(sqlite_stmt& s, const std::string& key, std::int64_t limit, std::int64_t a, std::int64_t b,
               const std::string& room, history_page& page, bool descending) {
        sqlite_reset_guard g(s);
        s.bind(1, key, true).bind(2, limit + 1);
        if (&s != &latest_) s.bind(3, a);
        if (&s == &between_ids_ || &s == &between_times_) s.bind(4, b);
        bool more = false;
        std::int64_t rows = 0;
        std::size_t bytes = 0;
        while (s.step()) {
            if (rows == limit || bytes >= max_history_page_bytes) {
                more = true;
                break;
            }
            ++rows;
            room_event e;
            if (!event_of(s, room, e)) continue;
            bytes += e.text.size();
            page.events.push_back(std::move(e));
        }
        if (descending) std::reverse(page.events.begin(), page.events.end());
        return more;
    }

    /// The row s is on as an event, checked as any input from outside the
    /// process (the file may have been written by something else): false
    /// for a nick that is not a valid name or a text with no line left
    /// once cleaned (the row is left out of the page); each line is
    /// cleaned as the sanitizer cleans a member's line (no control
    /// character, valid UTF-8); an account that is not a valid name is
    /// dropped.
    static bool event_of(const sqlite_stmt& s, const std::string& room, room_event& e) {
        const std::string_view nick = s.view(3);
        if (!protocol::is_valid_name(nick)) return false;
        e.seq = static_cast<std::uint64_t>(s.integer(0));
        e.time = from_millis(s.integer(1));
        e.kind = kind_from_column(s.view(2));
        e.room = room;
        e.nick = std::string(nick);
        const std::string_view text = s.view(4);
        if (e.kind == room_event_kind::chat) {
            std::string line;
            for_each_line(text, [&](std::string_view raw) {
                line.clear();
                sanitize_append(line, raw);
                if (!line.empty()) e.add_line(line);
            });
            if (e.line_count == 0) return false;
        } else {
            sanitize_append(e.text, text); // one line: a newline in it is cleaned away too
            if (e.text.empty()) return false;
        }
        const std::string_view account = s.view(5);
        if (protocol::is_valid_name(account)) e.account = std::string(account);
        return true;
    }

    sqlite_db& db_;
    std::size_t page_size_;
    sqlite_stmt room_, latest_, before_, after_, between_ids_, between_times_;
};

} // namespace chatroom::detail
