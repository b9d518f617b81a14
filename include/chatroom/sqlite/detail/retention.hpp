#pragma once

#include <chatroom/sqlite/detail/handle.hpp>
#include <chatroom/sqlite/detail/schema.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>

/// @file
/// Retention for the SQLite history: at most keep_count messages per room,
/// none older than keep_age. Run by the writer thread only, between its
/// commits, in transactions of a bounded number of deletions, so neither
/// keep() nor a commit of new messages ever waits for a large DELETE.
namespace chatroom::detail {

class sqlite_retention {
public:
    /// keep_count 0: no bound by count; keep_age zero: none by age.
    sqlite_retention(sqlite_db& db, std::size_t keep_count, std::chrono::milliseconds keep_age)
        : db_(db), keep_count_(keep_count), keep_age_(keep_age),
          nth_oldest_(db, "SELECT seq FROM messages WHERE room_key = ?1 ORDER BY seq LIMIT 1 OFFSET ?2"),
          delete_upto_(db, "DELETE FROM messages WHERE room_key = ?1 AND seq <= ?2"),
          oldest_by_time_(db, "SELECT MAX(seq) FROM (SELECT seq FROM messages WHERE room_key = ?1 AND time_ms < ?2"
                              " ORDER BY time_ms LIMIT ?3)"),
          delete_old_(db, "DELETE FROM messages WHERE room_key = ?1 AND time_ms < ?2 AND seq <= ?3"),
          trim_(db, "UPDATE rooms SET trimmed = ?2 WHERE room_key = ?1 AND trimmed < ?2"),
          count_(db, "SELECT COUNT(*) FROM messages WHERE room_key = ?1") {
        load();
    }

    /// Whether the rooms table holds this room already.
    bool known(const std::string& key) const { return rooms_.count(key) != 0; }

    /// The writer inserted a room row.
    void add_room(const std::string& key) { rooms_.emplace(key, 0); }

    /// The writer inserted one message into room key (in an open transaction).
    void added(const std::string& key) {
        auto it = rooms_.find(key);
        if (it == rooms_.end()) it = rooms_.emplace(key, 0).first;
        if (keep_count_ != 0 && ++it->second > static_cast<std::int64_t>(keep_count_)) over_.insert(key);
    }

    /// A write was rolled back: the counts are read again from the file.
    void reload() {
        rooms_.clear();
        over_.clear();
        load();
    }

    /// Whether retention by age is due (checked at most every second).
    bool age_due(std::chrono::steady_clock::time_point now) const noexcept {
        return keep_age_.count() > 0 && now >= next_age_check_;
    }

    /// When age_due() next becomes true (max() when there is no age bound).
    std::chrono::steady_clock::time_point next_age_check() const noexcept {
        return keep_age_.count() > 0 ? next_age_check_ : std::chrono::steady_clock::time_point::max();
    }

    /// Makes retention by age due now (a flush or stop catches up at once).
    void age_check_now() noexcept { next_age_check_ = {}; }

    /// Whether a step() has anything to do now.
    bool due(std::chrono::steady_clock::time_point now) const noexcept { return !over_.empty() || age_due(now); }

    /// Deletes at most about `budget` rows in one transaction: the oldest of
    /// rooms over keep_count, then (when age_due) rows older than keep_age.
    /// Returns true when work remains (call again). Throws sqlite_error
    /// (the transaction is rolled back and the counts reloaded).
    bool step(std::size_t budget, std::chrono::steady_clock::time_point now) {
        bool more = false;
        std::size_t left = budget;
        db_.exec("BEGIN IMMEDIATE");
        try {
            for (auto it = over_.begin(); it != over_.end() && left > 0;) {
                auto& count = rooms_[*it];
                const auto excess = static_cast<std::size_t>(count) - keep_count_;
                const std::size_t n = std::min(excess, left);
                const std::int64_t removed = delete_oldest(*it, n);
                count -= removed;
                left -= std::min(left, static_cast<std::size_t>(removed));
                if (count <= static_cast<std::int64_t>(keep_count_) || removed == 0) {
                    it = over_.erase(it);
                } else {
                    more = true;
                    ++it;
                }
            }
            if (age_due(now) && left > 0) {
                const std::int64_t cutoff = to_millis(std::chrono::system_clock::now() - keep_age_);
                bool age_more = false;
                for (auto& [key, count] : rooms_) {
                    if (left == 0) {
                        age_more = true;
                        break;
                    }
                    const std::int64_t removed = delete_older(key, cutoff, left);
                    count -= removed;
                    if (static_cast<std::size_t>(removed) >= left) age_more = true;
                    left -= std::min(left, static_cast<std::size_t>(removed));
                }
                if (age_more) more = true;
                else next_age_check_ = now + std::chrono::seconds(1);
            }
            db_.exec("COMMIT");
        } catch (...) {
            try {
                db_.exec("ROLLBACK");
            } catch (const sqlite_error&) {
            }
            reload();
            throw;
        }
        return more;
    }

private:
    void load() {
        sqlite_stmt rooms(db_, "SELECT room_key FROM rooms");
        while (rooms.step()) rooms_.emplace(rooms.text(0), 0);
        rooms.reset();
        if (keep_count_ == 0) return;
        for (auto& [key, count] : rooms_) {
            sqlite_reset_guard g(count_);
            count_.bind(1, key);
            count = count_.step() ? count_.integer(0) : 0;
            if (count > static_cast<std::int64_t>(keep_count_)) over_.insert(key);
        }
    }

    /// Deletes the n oldest messages of a room; returns how many went.
    std::int64_t delete_oldest(const std::string& key, std::size_t n) {
        if (n == 0) return 0;
        std::int64_t cutoff = 0;
        {
            sqlite_reset_guard g(nth_oldest_);
            nth_oldest_.bind(1, key).bind(2, static_cast<std::int64_t>(n - 1));
            if (!nth_oldest_.step()) return 0;
            cutoff = nth_oldest_.integer(0);
        }
        return delete_with(delete_upto_, key, 0, cutoff);
    }

    /// Deletes up to about `limit` messages of a room older than cutoff_ms.
    std::int64_t delete_older(const std::string& key, std::int64_t cutoff_ms, std::size_t limit) {
        std::int64_t upto = 0;
        {
            sqlite_reset_guard g(oldest_by_time_);
            oldest_by_time_.bind(1, key).bind(2, cutoff_ms).bind(3, static_cast<std::int64_t>(limit));
            if (!oldest_by_time_.step() || oldest_by_time_.is_null(0)) return 0;
            upto = oldest_by_time_.integer(0);
        }
        return delete_with(delete_old_, key, cutoff_ms, upto);
    }

    /// Runs one of the two DELETEs, then raises the room's `trimmed` mark.
    std::int64_t delete_with(sqlite_stmt& del, const std::string& key, std::int64_t cutoff_ms, std::int64_t upto) {
        {
            sqlite_reset_guard g(del);
            del.bind(1, key);
            if (&del == &delete_old_) del.bind(2, cutoff_ms).bind(3, upto);
            else del.bind(2, upto);
            del.run();
        }
        const std::int64_t removed = db_.changes();
        if (removed > 0) {
            sqlite_reset_guard g(trim_);
            trim_.bind(1, key).bind(2, upto);
            trim_.run();
        }
        return removed;
    }

    sqlite_db& db_;
    std::size_t keep_count_;
    std::chrono::milliseconds keep_age_;
    sqlite_stmt nth_oldest_, delete_upto_, oldest_by_time_, delete_old_, trim_, count_;
    std::unordered_map<std::string, std::int64_t> rooms_; ///< room key -> messages (counted when keep_count)
    std::unordered_set<std::string> over_;                ///< rooms with more than keep_count
    std::chrono::steady_clock::time_point next_age_check_{};
};

} // namespace chatroom::detail
