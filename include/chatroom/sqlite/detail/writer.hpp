#pragma once

#include <chatroom/core/room_event.hpp>
#include <chatroom/sqlite/detail/handle.hpp>
#include <chatroom/sqlite/detail/retention.hpp>
#include <chatroom/sqlite/detail/schema.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

/// @file
/// The SQLite history's writer: a bounded queue that keep() pushes to (a
/// mutex held for one push, no I/O), and one thread that takes everything
/// queued, inserts it in one transaction (group commit) with statements
/// prepared once, then applies retention in small transactions of its own.
namespace chatroom::detail {

/// One message as the writer stores it.
struct sqlite_message {
    std::string room_key; ///< the folded room name
    std::string room;     ///< the name as given
    std::uint64_t seq = 0;
    std::int64_t time_ms = 0;
    room_event_kind kind = room_event_kind::chat;
    std::string nick;
    std::string text;
    std::string account; ///< IRC's account-tag (empty: none)
};

/// What the writer is told at construction.
struct sqlite_writer_settings {
    std::size_t queue_limit = 65536;
    std::size_t batch = 4096;                   ///< commit at once when this many wait
    std::chrono::milliseconds commit_interval{10}; ///< else at most this long after the first waits
    std::size_t keep_count = 0;
    std::chrono::milliseconds keep_age{0};
    std::function<void(std::string)> on_error;
};

class sqlite_writer {
public:
    /// Takes the writer's connection (schema made); starts the thread.
    sqlite_writer(sqlite_db db, sqlite_writer_settings s)
        : db_(std::move(db)), s_(std::move(s)), retention_(db_, s_.keep_count, s_.keep_age),
          insert_room_(db_, "INSERT OR IGNORE INTO rooms (room_key, room) VALUES (?1, ?2)"),
          insert_(db_, "INSERT OR IGNORE INTO messages (room_key, seq, time_ms, kind, nick, text, account)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
          last_seq_(db_, "UPDATE meta SET value = ?1 WHERE key = 'last_seq' AND value < ?1"),
          begin_(db_, "BEGIN IMMEDIATE"), commit_(db_, "COMMIT") {
        if (s_.queue_limit == 0) s_.queue_limit = 1;
        if (s_.batch == 0) s_.batch = 1;
        thread_ = std::thread([this] { run(); });
    }
    sqlite_writer(const sqlite_writer&) = delete;
    sqlite_writer& operator=(const sqlite_writer&) = delete;
    ~sqlite_writer() { stop(); }

    /// Queues m; false (and counted in dropped()) when the queue is full or
    /// the writer stopped. Never waits for the disk.
    bool push(sqlite_message&& m) {
        bool wake = false, queued = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stopping_) return false;
            if (queue_.size() >= s_.queue_limit) {
                dropped_.fetch_add(1, std::memory_order_relaxed);
                if (!overflowing_) { // a new episode: the writer tells on_error
                    overflowing_ = true;
                    ++overflows_;
                    wake = true;
                }
            } else {
                overflowing_ = false;
                queue_.push_back(std::move(m));
                queued = true;
                wake = queue_.size() == 1 || queue_.size() == s_.batch;
            }
        }
        if (wake) wake_.notify_one();
        return queued;
    }

    /// Blocks until everything pushed before the call is committed (or
    /// failed) and retention has caught up. For tests and shutdown.
    void flush() {
        std::unique_lock<std::mutex> lock(mutex_);
        if (finished_) return;
        const std::uint64_t ticket = ++flush_asked_;
        wake_.notify_one();
        done_.wait(lock, [&] { return flush_served_ >= ticket || finished_; });
    }

    /// Commits what is queued, then ends the thread. Idempotent.
    void stop() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        std::lock_guard<std::mutex> join(join_mutex_);
        if (thread_.joinable()) thread_.join();
    }

    std::uint64_t committed() const noexcept { return committed_.load(std::memory_order_acquire); }
    std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
    std::uint64_t failed() const noexcept { return failed_.load(std::memory_order_relaxed); }

private:
    void report(const std::string& what) {
        if (s_.on_error) s_.on_error(what);
    }

    void run() {
        std::vector<sqlite_message> batch;
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            const auto wanted = [&] {
                return !queue_.empty() || stopping_ || flush_asked_ > flush_served_ || overflows_ > reported_;
            };
            if (!wanted() && !retention_due()) {
                auto next = retention_.next_age_check();
                if (retention_pause_ > std::chrono::steady_clock::now()) next = retention_pause_;
                if (next == std::chrono::steady_clock::time_point::max()) wake_.wait(lock, wanted);
                else wake_.wait_until(lock, next, wanted);
            }
            // Group commit: unless asked to hurry, let a batch gather for at
            // most commit_interval after its first message.
            if (!queue_.empty() && queue_.size() < s_.batch && !stopping_ && flush_asked_ == flush_served_) {
                const auto until = std::chrono::steady_clock::now() + s_.commit_interval;
                wake_.wait_until(lock, until, [&] {
                    return queue_.size() >= s_.batch || stopping_ || flush_asked_ > flush_served_;
                });
            }
            // Double buffering: the queue gets the last batch's emptied
            // storage, so keep() rarely allocates under the lock.
            batch.swap(queue_);
            const std::uint64_t asked = flush_asked_;
            const bool flushing = flush_asked_ > flush_served_;
            const bool stop = stopping_;
            const std::uint64_t overflows = overflows_;
            const bool overflow_news = overflows_ > reported_;
            reported_ = overflows_;
            lock.unlock();

            if (overflow_news) {
                report("history: the write queue is full (" + std::to_string(s_.queue_limit) +
                       " messages waiting): messages are dropped, not stored (" + std::to_string(dropped()) +
                       " so far, episode " + std::to_string(overflows) + ")");
            }
            if (!batch.empty()) write(batch);
            clean(flushing || stop);
            batch.clear(); // the strings are freed here, unlocked

            lock.lock();
            if (asked > flush_served_) flush_served_ = asked;
            done_.notify_all();
            if (stop && queue_.empty()) {
                finished_ = true;
                done_.notify_all();
                return;
            }
        }
    }

    /// One transaction for the whole batch.
    void write(const std::vector<sqlite_message>& batch) {
        std::uint64_t highest = 0;
        try {
            begin_.run(); // prepared once, as COMMIT: not parsed per batch
            try {
                for (const auto& m : batch) {
                    if (!retention_.known(m.room_key)) {
                        sqlite_reset_guard g(insert_room_);
                        insert_room_.bind(1, m.room_key, true).bind(2, m.room, true);
                        insert_room_.run();
                        retention_.add_room(m.room_key);
                    }
                    sqlite_reset_guard g(insert_);
                    insert_.bind(1, m.room_key, true)
                        .bind(2, static_cast<std::int64_t>(m.seq))
                        .bind(3, m.time_ms)
                        .bind(4, kind_column(m.kind), true)
                        .bind(5, m.nick, true)
                        .bind(6, m.text, true)
                        .bind(7, m.account, true);
                    insert_.run();
                    if (db_.changes() == 1) retention_.added(m.room_key);
                    highest = std::max<std::uint64_t>(highest, m.seq);
                }
                {
                    sqlite_reset_guard g(last_seq_);
                    last_seq_.bind(1, static_cast<std::int64_t>(highest));
                    last_seq_.run();
                }
                commit_.run();
            } catch (...) {
                try {
                    db_.exec("ROLLBACK");
                } catch (const sqlite_error&) {
                }
                retention_.reload();
                throw;
            }
            committed_.fetch_add(batch.size(), std::memory_order_release);
            if (failing_) report("history: writing again");
            failing_ = false;
        } catch (const std::exception& e) {
            failed_.fetch_add(batch.size(), std::memory_order_relaxed);
            if (!failing_) {
                report(std::string("history: ") + std::to_string(batch.size()) + " messages not stored: " + e.what());
            }
            failing_ = true;
        }
    }

    bool retention_due() const {
        const auto now = std::chrono::steady_clock::now();
        return now >= retention_pause_ && retention_.due(now);
    }

    /// Retention: one transaction of at most a batch and 1,000 deletions
    /// after each batch, or (flush, stop) until it has caught up. After a
    /// failure it rests a second (a full disk is not retried in a loop).
    void clean(bool all) {
        if (all) retention_.age_check_now();
        try {
            while (retention_due()) {
                const bool more = retention_.step(s_.batch + 1000, std::chrono::steady_clock::now());
                if (!more || !all) break;
            }
        } catch (const std::exception& e) {
            retention_pause_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
            report(std::string("history: retention failed: ") + e.what());
        }
    }

    sqlite_db db_;
    sqlite_writer_settings s_;
    sqlite_retention retention_;
    sqlite_stmt insert_room_, insert_, last_seq_, begin_, commit_;
    bool failing_ = false; // writer thread only
    std::chrono::steady_clock::time_point retention_pause_{}; // writer thread only

    std::mutex mutex_;
    std::condition_variable wake_; // the writer waits here
    std::condition_variable done_; // flush() waits here
    std::vector<sqlite_message> queue_;
    bool stopping_ = false, finished_ = false, overflowing_ = false;
    std::uint64_t flush_asked_ = 0, flush_served_ = 0, overflows_ = 0, reported_ = 0;
    std::atomic<std::uint64_t> committed_{0}, dropped_{0}, failed_{0};

    std::mutex join_mutex_;
    std::thread thread_;
};

} // namespace chatroom::detail
