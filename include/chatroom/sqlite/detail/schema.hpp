#pragma once

#include <chatroom/core/room_event.hpp>
#include <chatroom/sqlite/detail/handle.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

/// @file
/// The history database's schema and how a connection to it is opened.
///
///     rooms(room_key PRIMARY KEY, room, trimmed)
///         room_key: the case-folded name; room: the name as first stored;
///         trimmed: the highest seq retention has deleted (0: none), so a
///         query "after X" knows whether messages after X were lost.
///     messages(room_key, seq, time_ms, kind, nick, text), a rowid table:
///         rows are appended at its end, and a message (a room event: often
///         several lines, kilobytes) is written once, never compared.
///         messages_seq UNIQUE (room_key, seq): a room's ids lie together in
///         order, so a page is one short range scan of small index entries;
///         messages_time (room_key, time_ms) serves time ranges and
///         retention by age. (Files made before kept messages WITHOUT ROWID
///         with PRIMARY KEY (room_key, seq); they are used as they are: every
///         statement reads and writes both layouts alike.)
///     meta(key PRIMARY KEY, value): 'last_seq', the highest seq ever
///         committed, so ids continue after a restart even when retention
///         has emptied every room.
///
/// The file is in WAL mode: readers (the query connection) never wait for
/// the writer, and the writer never waits for readers.
namespace chatroom::detail {

/// SQLite's PRAGMA synchronous, as the store's options name it.
enum class sqlite_sync : int { off = 0, normal = 1, full = 2 };

/// The kinds a store keeps, as stored ("chat", "action").
inline bool kept_kind(room_event_kind k) noexcept { return k == room_event_kind::chat || k == room_event_kind::action; }

/// The stored text of a kind, and back (unknown: chat).
inline const char* kind_column(room_event_kind k) noexcept { return k == room_event_kind::action ? "action" : "chat"; }
inline room_event_kind kind_from_column(std::string_view s) noexcept {
    return s == "action" ? room_event_kind::action : room_event_kind::chat;
}

/// A time as stored: milliseconds since the epoch (UTC), and back.
inline std::int64_t to_millis(std::chrono::system_clock::time_point t) noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
/// A time read back is held to what the clock can hold (a file written by
/// something else may say anything): no overflow converting it.
inline std::chrono::system_clock::time_point from_millis(std::int64_t ms) noexcept {
    constexpr std::int64_t most =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::duration::max()).count();
    ms = std::max(-most, std::min(most, ms));
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::milliseconds(ms)));
}

/// Whether the messages table is the WITHOUT ROWID one of earlier files
/// (its primary key already orders a room's ids: no messages_seq index).
inline bool without_rowid_messages(sqlite_db& db) {
    sqlite_stmt s(db, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'messages'");
    const bool old = s.step() && s.text(0).find("WITHOUT ROWID") != std::string::npos;
    s.reset();
    return old;
}

/// Whether table has a column of that name.
inline bool has_column(sqlite_db& db, const char* table, const char* column) {
    sqlite_stmt s(db, "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2");
    s.bind(1, std::string_view(table), true).bind(2, std::string_view(column), true);
    const bool found = s.step() && s.integer(0) > 0;
    s.reset();
    return found;
}

/// Opens (creating) the database for the writer: WAL, the sync level, the
/// schema. Throws sqlite_error with a message naming the file.
inline sqlite_db open_history_writer(const std::string& path, sqlite_sync sync) {
    sqlite_db db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    try {
        sqlite3_busy_timeout(db.get(), 5000);
        db.exec("PRAGMA journal_mode=WAL");
        switch (sync) {
        case sqlite_sync::off: db.exec("PRAGMA synchronous=OFF"); break;
        case sqlite_sync::normal: db.exec("PRAGMA synchronous=NORMAL"); break;
        case sqlite_sync::full: db.exec("PRAGMA synchronous=FULL"); break;
        }
        db.exec("CREATE TABLE IF NOT EXISTS rooms ("
                " room_key TEXT PRIMARY KEY NOT NULL,"
                " room TEXT NOT NULL,"
                " trimmed INTEGER NOT NULL DEFAULT 0)");
        // Not WITHOUT ROWID: there the whole row is the b-tree's key, and a
        // row past about 1 KiB spills to overflow pages that every key
        // comparison of an insert reads back (and allocates for).
        db.exec("CREATE TABLE IF NOT EXISTS messages ("
                " room_key TEXT NOT NULL,"
                " seq INTEGER NOT NULL,"
                " time_ms INTEGER NOT NULL,"
                " kind TEXT NOT NULL,"
                " nick TEXT NOT NULL,"
                " text TEXT NOT NULL,"
                " account TEXT NOT NULL DEFAULT '')");
        // Files from before account-tag was kept: the column added, empty
        // for the rows already there.
        if (!has_column(db, "messages", "account"))
            db.exec("ALTER TABLE messages ADD COLUMN account TEXT NOT NULL DEFAULT ''");
        if (!without_rowid_messages(db))
            db.exec("CREATE UNIQUE INDEX IF NOT EXISTS messages_seq ON messages (room_key, seq)");
        db.exec("CREATE INDEX IF NOT EXISTS messages_time ON messages (room_key, time_ms)");
        db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)");
        db.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('last_seq', 0)");
    } catch (const sqlite_error& e) {
        throw sqlite_error("cannot use the history database '" + path + "': " + e.what(), e.code());
    }
    return db;
}

/// The most bytes a value read back may have: far above any event this
/// server keeps (lines of at most max_line_bytes, a read's worth); a file
/// with a larger one (written by something else) fails that query with
/// store_failed instead of being loaded whole.
inline constexpr int max_history_value_bytes = 16 << 20;

/// The most text one page gathers before it stops and says `more` (a
/// page of this server's own events, at most a read's worth each, stays
/// well below it; a doctored file cannot make a query hold more).
inline constexpr std::size_t max_history_page_bytes = 8u << 20;

/// Opens the database read-only for queries (after open_history_writer made it).
inline sqlite_db open_history_reader(const std::string& path) {
    sqlite_db db(path, SQLITE_OPEN_READONLY);
    sqlite3_busy_timeout(db.get(), 5000);
    sqlite3_limit(db.get(), SQLITE_LIMIT_LENGTH, max_history_value_bytes);
    try {
        db.exec("PRAGMA query_only=1");
    } catch (const sqlite_error& e) {
        throw sqlite_error("cannot read the history database '" + path + "': " + e.what(), e.code());
    }
    return db;
}

/// The highest seq ever stored (0 when none): meta's last_seq, which the
/// writer raises in every commit, so retention emptying a room does not
/// lower it; and each room's highest row, one index probe per room.
inline std::uint64_t stored_last_seq(sqlite_db& db) {
    sqlite_stmt s(db, "SELECT MAX(COALESCE((SELECT value FROM meta WHERE key = 'last_seq'), 0),"
                      " COALESCE((SELECT MAX((SELECT MAX(seq) FROM messages m WHERE m.room_key = r.room_key))"
                      " FROM rooms r), 0))");
    std::uint64_t last = 0;
    if (s.step() && !s.is_null(0)) last = static_cast<std::uint64_t>(s.integer(0));
    s.reset();
    return last;
}

} // namespace chatroom::detail
