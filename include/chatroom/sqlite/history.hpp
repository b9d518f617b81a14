#pragma once

#include <chatroom/core/history.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/sqlite/detail/reader.hpp>
#include <chatroom/sqlite/detail/schema.hpp>
#include <chatroom/sqlite/detail/writer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>

/// @file
/// A durable history_store in one SQLite file (docs/history.md, "SQLite").
/// Needs SQLite 3 (link chatroom::sqlite, or -lsqlite3).
namespace chatroom {

/// How a sqlite_history stores and bounds what it keeps.
struct sqlite_history_options {
    /// The database file, created when missing (its -wal and -shm files lie beside it).
    std::string path;
    /// The most messages one query returns (history_query::limit is capped at it).
    std::size_t page_size = 100;
    /// Per room, the most messages kept (the oldest go first); 0: all.
    std::size_t keep_count = 0;
    /// Messages older than this are deleted; 0: kept forever.
    std::chrono::hours keep_age{0};

    /// SQLite's PRAGMA synchronous, in WAL mode. A process crash (kill -9)
    /// loses no committed message under any of them; a power loss or an OS
    /// crash may lose, with `normal`, the commits since the last checkpoint,
    /// and with `off` may corrupt the file. `full` syncs every commit.
    enum class sync_mode {
        off,    ///< never syncs: a power loss may corrupt the file
        normal, ///< syncs at checkpoints: a power loss may lose the last commits
        full,   ///< syncs every commit: a power loss loses nothing committed
    };
    sync_mode sync = sync_mode::normal; ///< see sync_mode

    /// The most messages waiting to be written. Past it keep() drops the
    /// message (counted by dropped(), on_error told once per episode).
    std::size_t queue_limit = 65536;
    /// Group commit: the writer commits at once when this many wait...
    std::size_t commit_batch = 4096;
    /// ...and otherwise at most this long after the first of them was queued.
    std::chrono::milliseconds commit_interval{10};
    /// The most queries waiting; past it a query is answered store_failed.
    std::size_t query_limit = 1024;

    /// Told what went wrong (a write or read failure, an overflow), from the
    /// store's own threads or from query(); may be empty. Must not throw.
    std::function<void(std::string)> on_error;
};

/// A history_store in SQLite: one writer thread that commits in groups, one
/// query thread on a read-only connection, the file in WAL mode.
///
/// Threads: keep() and query() may be called from any thread (keep() with
/// the server's lock held: it copies the event and queues it, never touching
/// the disk); query's done is called from the query thread, or from inside
/// query() when the query is refused at once (queue full: store_failed;
/// stopped: stopping). on_error is called from the store's threads, and
/// from query() when it refuses. done and on_error must not throw, and
/// should be quick: queries are answered one at a time.
///
/// Kept: chat and action events with a seq (other kinds, and events with
/// seq 0, are ignored), with their room (case-folded for lookup, the name as
/// first stored returned), seq, time (ms since the epoch, UTC; now when the
/// event has none), nick and text.
///
/// Loss: a message is lost when the queue is full (dropped()) or its batch
/// fails to commit (failed(), on_error told); what keep() queued before
/// stop() is committed by stop().
class sqlite_history final : public history_store {
public:
    /// Opens (creating) the file, in WAL mode, makes the schema and reads the
    /// highest seq kept; starts the writer and query threads. Throws
    /// std::runtime_error, naming the file and SQLite's reason, when it
    /// cannot be opened, read or written (call it at startup).
    explicit sqlite_history(sqlite_history_options options) : options_(std::move(options)) {
        auto writer_db = detail::open_history_writer(options_.path, static_cast<detail::sqlite_sync>(options_.sync));
        last_seq_ = detail::stored_last_seq(writer_db);
        auto reader_db = detail::open_history_reader(options_.path);
        detail::sqlite_writer_settings w;
        w.queue_limit = options_.queue_limit;
        w.batch = options_.commit_batch;
        w.commit_interval = options_.commit_interval;
        w.keep_count = options_.keep_count;
        w.keep_age = std::chrono::duration_cast<std::chrono::milliseconds>(options_.keep_age);
        w.on_error = options_.on_error;
        writer_ = std::make_unique<detail::sqlite_writer>(std::move(writer_db), std::move(w));
        reader_ = std::make_unique<detail::sqlite_reader>(std::move(reader_db), options_.page_size,
                                                          options_.query_limit, options_.on_error);
    }

    sqlite_history(const sqlite_history&) = delete;
    sqlite_history& operator=(const sqlite_history&) = delete;

    /// Stops (see stop()).
    ~sqlite_history() override { stop(); }

    /// Queues a chat or action event for the writer; never waits for the
    /// disk. Dropped (and counted) when queue_limit messages wait; ignored
    /// after stop().
    void keep(const room_event& event) override {
        if (!detail::kept_kind(event.kind) || event.seq == 0) return;
        detail::sqlite_message m;
        m.room_key = protocol::fold_case(event.room);
        m.room = event.room;
        m.seq = event.seq;
        m.time_ms = detail::to_millis(event.time.time_since_epoch().count() != 0 ? event.time
                                                                               : std::chrono::system_clock::now());
        m.kind = event.kind;
        m.nick = event.nick;
        m.text = event.text;
        m.account = event.account;
        writer_->push(std::move(m));
    }

    /// Queues q for the query thread (see the class comment for where done
    /// is called). Errors: bad_query (an id that is not a decimal number,
    /// bounds out of order), store_failed (the file could not be read, or
    /// query_limit queries wait), stopping (after stop()).
    void query(const history_query& q, std::function<void(std::error_code, history_page)> done) override {
        reader_->query(q, std::move(done));
    }

    /// The highest seq ever committed, read when the store opened.
    std::uint64_t last_seq() const override { return last_seq_; }

    /// Commits everything keep() queued before, applies retention, and
    /// joins both threads; queries still waiting are answered `stopping`.
    /// Idempotent; blocks (call it when the server stops, not in a handler).
    void stop() override {
        std::call_once(stopped_, [this] {
            writer_->stop();
            reader_->stop();
        });
    }

    /// Blocks until every message keep() queued before the call is committed
    /// (or failed) and retention has caught up. For tests and shutdown, not
    /// for handlers. Returns at once after stop().
    void flush() { writer_->flush(); }

    /// Messages committed so far (since this store opened).
    std::uint64_t committed() const noexcept { return writer_->committed(); }
    /// Messages dropped because queue_limit messages were waiting.
    std::uint64_t dropped() const noexcept { return writer_->dropped(); }
    /// Messages whose batch failed to commit (on_error said why).
    std::uint64_t failed() const noexcept { return writer_->failed(); }

    /// The options it was opened with.
    const sqlite_history_options& options() const noexcept { return options_; }

private:
    sqlite_history_options options_;
    std::uint64_t last_seq_ = 0;
    std::unique_ptr<detail::sqlite_writer> writer_;
    std::unique_ptr<detail::sqlite_reader> reader_;
    std::once_flag stopped_;
};

} // namespace chatroom
