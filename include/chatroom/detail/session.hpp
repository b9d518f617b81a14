#pragma once

#include <chatroom/hub.hpp>
#include <chatroom/member.hpp>

#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/socket_base.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace chatroom::detail {

inline constexpr std::size_t read_chunk_bytes = 64 * 1024;

// One read buffer per thread, shared by every connection that thread serves:
// a connection waits for readability and reads only when bytes are there, so
// an idle connection holds no read buffer at all.
inline char* thread_read_buffer() {
    thread_local std::unique_ptr<char[]> buffer(new char[read_chunk_bytes]);
    return buffer.get();
}

inline bool would_block(const std::error_code& ec) noexcept {
    return ec == asio::error::would_block || ec == asio::error::try_again;
}

// The server side of one plain stream connection (TCP or Unix socket).
// It reads and writes in the reactor style: wait for readiness, then a
// non-blocking read into the thread's buffer, or a non-blocking gather write
// of everything queued. Every socket call is made under the member's mutex,
// so handlers of several threads never touch the socket at once.
template <class Protocol, class Executor>
class session final : public member {
public:
    using socket_type = typename Protocol::socket::template rebind_executor<Executor>::other;

    session(socket_type socket, std::shared_ptr<hub> h, std::string peer)
        : member(h->locking(), h->options().max_line_bytes), socket_(std::move(socket)), hub_(std::move(h)) {
        address = std::move(peer);
    }

    ~session() override { hub_->release(address); }

    void start() {
        std::error_code ec;
        socket_.non_blocking(true, ec);
        hub_->attach(shared_from_this());
        optional_lock g(mutex);
        if (!closing_) wait_readable();
    }

    void flush() override {
        optional_lock g(mutex);
        if (!writing_ && !closed_) write_queued();
    }

    void close_gracefully() override {
        optional_lock g(mutex);
        if (closing_) return;
        closing_ = true;
        if (!writing_) write_queued();
    }

    void close_now(std::string_view last_words) override {
        optional_lock g(mutex);
        if (closed_) return;
        if (!last_words.empty()) {
            // Best effort: one non-blocking write; a peer that does not read
            // may never see it.
            std::string line = out.mid_message() ? "\r\n" : "";
            line.append(last_words.data(), last_words.size());
            line += "\r\n";
            std::error_code ec;
            socket_.write_some(asio::buffer(line), ec);
        }
        close_socket();
    }

    void resume_reading(std::string unread) override {
        asio::post(socket_.get_executor(), [self = self_ptr(), unread = std::move(unread)] {
            if (!unread.empty()) {
                self->consume(unread.data(), unread.size());
                return;
            }
            optional_lock g(self->mutex);
            if (!self->closing_) self->wait_readable();
        });
    }

    bool is_closed() override {
        optional_lock g(mutex);
        return closed_;
    }

private:
    std::shared_ptr<session> self_ptr() { return std::static_pointer_cast<session>(shared_from_this()); }

    // ---- reading ------------------------------------------------------------

    void wait_readable() {
        if (read_waiting_ || closed_) return;
        read_waiting_ = true;
        socket_.async_wait(asio::socket_base::wait_read,
                           [self = self_ptr()](std::error_code ec) { self->on_readable(ec); });
    }

    void on_readable(std::error_code ec) {
        char* buffer = thread_read_buffer();
        std::size_t n = 0;
        {
            optional_lock g(mutex);
            read_waiting_ = false;
            if (closed_) return;
            if (ec && closing_) {
                close_socket();
                return;
            }
            if (!ec) {
                if (closing_ && !lingering_) return; // output still flushing; input waits
                n = socket_.read_some(asio::buffer(buffer, read_chunk_bytes), ec);
                if (would_block(ec)) {
                    wait_readable();
                    return;
                }
                if (lingering_) {
                    // Closing: input is read and dropped until the peer's EOF,
                    // so the close does not reset data still on its way to it.
                    if (ec) close_socket();
                    else wait_readable();
                    return;
                }
            }
        }
        if (ec == asio::error::eof) {
            hub_->depart(*this, leave_reason::eof, true);
        } else if (ec) {
            hub_->depart(*this, leave_reason::connection_lost, false);
        } else {
            consume(buffer, n);
        }
    }

    void consume(const char* data, std::size_t size) {
        // false: the member left, or flood control paused it and the hub
        // will call resume_reading.
        if (!hub_->receive(*this, data, size)) return;
        optional_lock g(mutex);
        if (!closing_) wait_readable();
    }

    // ---- writing ------------------------------------------------------------

    // Writes until the queue is empty or the socket is full. Mutex held.
    void write_queued() {
        outbox::gather g;
        while (!out.empty()) {
            out.fill(g);
            std::size_t want = 0;
            for (const auto& b : g) want += b.size();
            std::error_code ec;
            std::size_t n = socket_.write_some(g, ec);
            if (ec && !would_block(ec)) {
                close_socket();
                asio::post(socket_.get_executor(), [self = self_ptr()] {
                    self->hub_->depart(*self, leave_reason::connection_lost, false);
                });
                return;
            }
            if (ec) n = 0;
            if (n > 0) {
                out.consume(n);
                counters::add(hub_->count().bytes_out, n);
            }
            if (n < want) {
                writing_ = true;
                socket_.async_wait(asio::socket_base::wait_write,
                                   [self = self_ptr()](std::error_code e) { self->on_writable(e); });
                return;
            }
        }
        if (closing_ && !lingering_) linger();
    }

    void on_writable(std::error_code ec) {
        optional_lock g(mutex);
        writing_ = false;
        if (closed_) return;
        if (ec) {
            close_socket();
            asio::post(socket_.get_executor(), [self = self_ptr()] {
                self->hub_->depart(*self, leave_reason::connection_lost, false);
            });
            return;
        }
        write_queued();
    }

    // ---- closing ------------------------------------------------------------

    // All output is written: send FIN, then drain input until the peer closes
    // (or the hub's deadline closes the socket).
    void linger() {
        lingering_ = true;
        std::error_code ec;
        socket_.shutdown(asio::socket_base::shutdown_send, ec);
        if (ec) {
            close_socket();
            return;
        }
        wait_readable();
    }

    void close_socket() {
        closed_ = closing_ = true;
        out.clear();
        std::error_code ec;
        socket_.close(ec);
    }

    socket_type socket_;
    std::shared_ptr<hub> hub_;
    bool read_waiting_ = false;
    bool writing_ = false;
    bool closing_ = false;
    bool lingering_ = false;
    bool closed_ = false;
};

} // namespace chatroom::detail
