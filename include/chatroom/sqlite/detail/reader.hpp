#pragma once

#include <chatroom/core/history.hpp>
#include <chatroom/sqlite/detail/handle.hpp>
#include <chatroom/sqlite/detail/query.hpp>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>

/// @file
/// The SQLite history's query thread: a bounded queue of queries, answered
/// one at a time on a read-only connection of its own (in WAL mode a read
/// never waits for the writer's commit or fsync), each done called from
/// this thread.
namespace chatroom::detail {

class sqlite_reader {
public:
    using done_fn = std::function<void(std::error_code, history_page)>;

    /// Takes the read-only connection; starts the thread. Throws
    /// sqlite_error when the statements cannot be prepared.
    sqlite_reader(sqlite_db db, std::size_t page_size, std::size_t queue_limit,
                  std::function<void(std::string)> on_error)
        : db_(std::move(db)), runner_(db_, page_size), limit_(queue_limit == 0 ? 1 : queue_limit),
          on_error_(std::move(on_error)) {
        thread_ = std::thread([this] { run(); });
    }
    sqlite_reader(const sqlite_reader&) = delete;
    sqlite_reader& operator=(const sqlite_reader&) = delete;
    ~sqlite_reader() { stop(); }

    /// Queues q; done is called once from the query thread. When the queue
    /// is full (store_failed) or the reader stopped (stopping), done is
    /// called at once, here, with no lock held.
    void query(const history_query& q, done_fn done) {
        std::error_code refused;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stopping_) refused = history_errc::stopping;
            else if (queue_.size() >= limit_) refused = history_errc::store_failed;
            else queue_.emplace_back(q, std::move(done));
        }
        if (!refused) return wake_.notify_one();
        if (refused == history_errc::store_failed && on_error_)
            on_error_("history: " + std::to_string(limit_) + " queries are waiting: a query was refused");
        done(refused, {});
    }

    /// Answers the queries still queued with `stopping`, ends the thread. Idempotent.
    void stop() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        std::lock_guard<std::mutex> join(join_mutex_);
        if (thread_.joinable()) thread_.join();
    }

private:
    void run() {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) {
                std::deque<std::pair<history_query, done_fn>> left;
                left.swap(queue_);
                lock.unlock();
                for (auto& job : left) job.second(history_errc::stopping, {});
                return;
            }
            auto job = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            std::error_code ec;
            history_page page;
            try {
                std::tie(ec, page) = runner_.answer(job.first);
            } catch (const std::exception& e) {
                ec = history_errc::store_failed;
                page = {};
                if (on_error_) on_error_(std::string("history: a query failed: ") + e.what());
            }
            job.second(ec, std::move(page));
            lock.lock();
        }
    }

    sqlite_db db_;
    sqlite_query_runner runner_;
    std::size_t limit_;
    std::function<void(std::string)> on_error_;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::pair<history_query, done_fn>> queue_;
    bool stopping_ = false;

    std::mutex join_mutex_;
    std::thread thread_;
};

} // namespace chatroom::detail
