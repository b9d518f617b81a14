#pragma once

/// @file
/// A room's history read from its Redis stream (docs/history.md#redis-streams):
/// the history store of a server in a cluster. The backplane already writes
/// every line to the room's stream (trimmed to about
/// redis_options::stream_length entries), so this store keeps nothing
/// itself; it answers /history and async_history from the stream, and every
/// node of the cluster answers the same page with the same ids.
///
/// @code
///     server.set_room_log(chatroom::redis_backplane_factory(options));
///     server.set_history_store(std::make_unique<chatroom::redis_history>(options));
/// @endcode

#include <chatroom/redis/detail/history_reader.hpp>
#include <chatroom/core/history.hpp>
#include <chatroom/redis/options.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace chatroom {

/// How a redis_history reads (beyond the redis_options it shares with the backplane).
struct redis_history_options {
    /// The server's server_options::max_line_bytes: no line read back is longer.
    std::size_t max_line_bytes = 4096;
    /// Most messages one query returns (the server also caps it at its history_page).
    std::size_t max_page = 1000;
    /// Queries waiting for the query thread past which a new one fails (store_failed).
    std::size_t max_queued = 256;
    /// Why a query failed (Redis unreachable, a command refused, the queue
    /// full) and entries skipped as not well formed, for the host's log:
    /// called from the query thread, or from query()'s caller when the queue
    /// is full, so possibly from two threads at once. Entries skipped are
    /// told at most once every 10 s.
    std::function<void(std::string)> on_error;
};

/// A history_store answering from the rooms' Redis streams.
///
/// - Pages: history_range as in history.hpp, counted in messages (a chat
///   event of several lines is one). Events come oldest first, with the
///   stream entry's id as log_id and its time as time: the same on every
///   node. Only chat and /me entries are history; entries that fail the
///   backplane's checks are skipped, never shown in part.
/// - after, before: `unavailable` when the stream was trimmed past the id
///   (or does not exist); after then returns the latest messages, before an
///   empty page.
/// - Errors: bad_query for an id that is not one (nothing is sent to
///   Redis); store_failed when Redis cannot be read within
///   redis_options::command_timeout (told to on_error); stopping after
///   stop(). Sentinel (redis_options::masters) is followed: each master's
///   address is asked of the sentinels when its connection opens, and again
///   after a failure.
/// - A room that opens on a server is replayed by the backplane alone: the
///   server does not fill it from a store under a shared log, so joiners get
///   its lines once, whatever server_options::history_lines.
/// - Threads: one query thread of its own, with a synchronous connection to
///   each instance; query() never blocks and may be called from any thread;
///   done runs on the query thread (or inside query() for a query refused
///   at once: stopped, or the queue full).
class redis_history final : public history_store {
public:
    /// Starts the query thread; connects when the first query comes. Throws
    /// std::system_error if the thread cannot start.
    explicit redis_history(redis_options redis, redis_history_options options = {})
        : options_(std::move(options)),
          reader_(redis, options_.max_line_bytes ? options_.max_line_bytes : 1, options_.max_page) {
        thread_ = std::thread([this] { run(); });
    }
    ~redis_history() override { stop(); }
    redis_history(const redis_history&) = delete;
    redis_history& operator=(const redis_history&) = delete;

    /// Nothing: the backplane's stream holds every line already.
    void keep(const room_event&) override {}

    void query(const history_query& q, std::function<void(std::error_code, history_page)> done) override {
        {
            std::unique_lock<std::mutex> g(mu_);
            if (!stopping_ && jobs_.size() < options_.max_queued) {
                jobs_.push_back({q, std::move(done)});
                g.unlock();
                wake_.notify_one();
                return;
            }
            if (!stopping_) {
                g.unlock();
                report("history: " + std::to_string(options_.max_queued) + " queries waiting; one refused");
                return done(make_error_code(history_errc::store_failed), {});
            }
        }
        done(make_error_code(history_errc::stopping), {});
    }

    /// Waits for the query in flight (bounded by the command timeout), fails
    /// the waiting ones with stopping, and ends the query thread.
    /// Idempotent; the destructor calls it.
    void stop() override {
        {
            std::lock_guard<std::mutex> g(mu_);
            stopping_ = true;
        }
        wake_.notify_all();
        std::lock_guard<std::mutex> j(join_mu_);
        if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    }

private:
    struct job {
        history_query q;
        std::function<void(std::error_code, history_page)> done;
    };

    void run() {
        for (;;) {
            job next;
            {
                std::unique_lock<std::mutex> g(mu_);
                wake_.wait(g, [&] { return stopping_ || !jobs_.empty(); });
                if (stopping_) break;
                next = std::move(jobs_.front());
                jobs_.pop_front();
            }
            auto r = reader_.read(next.q);
            if (r.ec == history_errc::store_failed) report("history: " + r.failure);
            if (r.skipped) skipped(next.q.room, r.skipped);
            next.done(r.ec, std::move(r.page));
        }
        reader_.close();
        std::deque<job> left;
        {
            std::lock_guard<std::mutex> g(mu_);
            left.swap(jobs_);
        }
        for (job& j : left) j.done(make_error_code(history_errc::stopping), {});
    }

    void skipped(const std::string& room, std::size_t n) {
        const auto now = std::chrono::steady_clock::now();
        skipped_ += n;
        if (told_ != std::chrono::steady_clock::time_point{} && now - told_ < std::chrono::seconds(10)) return;
        told_ = now;
        report("history: " + std::to_string(skipped_) + " stream entries skipped as not well formed (latest in room " +
               room + ")");
        skipped_ = 0;
    }

    void report(std::string text) const {
        if (options_.on_error) options_.on_error(std::move(text));
    }

    const redis_history_options options_;
    detail::history_reader reader_; // the query thread's only
    std::size_t skipped_ = 0;       // likewise
    std::chrono::steady_clock::time_point told_{};

    std::mutex mu_;
    std::condition_variable wake_;
    std::deque<job> jobs_;
    bool stopping_ = false;
    std::mutex join_mu_;
    std::thread thread_;
};

} // namespace chatroom
