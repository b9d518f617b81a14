#pragma once

#include <chatroom/core/detail/hub.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/send_ring.hpp>
#include <chatroom/core/decoder.hpp>
#include <chatroom/core/shared_bytes.hpp>
#include <chatroom/core/renderer.hpp>

#include <asio/dispatch.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace chatroom::detail {

// What a decoder may offer beyond feed(data, size, on): finish(on) hands
// over a last line at the end of input; replies() holds bytes it wants sent
// back to the peer (telnet negotiation, WebSocket pongs); ended() says the
// peer ended the conversation (a WebSocket close), for end_reason().
template <class D, class = void>
struct has_finish : std::false_type {};
template <class D>
struct has_finish<D, std::void_t<decltype(std::declval<D&>().finish(
                         std::declval<bool (*)(frame_event, std::string_view)>()))>> : std::true_type {};
template <class D, class = void>
struct has_ended : std::false_type {};
template <class D>
struct has_ended<D, std::void_t<decltype(std::declval<D&>().ended()), decltype(std::declval<D&>().end_reason())>>
    : std::true_type {};
template <class D, class = void>
struct has_replies : std::false_type {};
template <class D>
struct has_replies<D, std::void_t<decltype(std::declval<D&>().replies().clear())>> : std::true_type {};

// "tcp", "unix", "tls", "web": what a stream calls its transport.
template <class S, class = void>
struct has_transport_name : std::false_type {};
template <class S>
struct has_transport_name<S, std::void_t<decltype(S::transport_name())>> : std::true_type {};
template <class S>
const char* transport_name_of() {
    if constexpr (has_transport_name<S>::value) return S::transport_name();
    else return "tcp";
}
template <class S, class = void>
struct has_peer_subject : std::false_type {};
template <class S>
struct has_peer_subject<S, std::void_t<decltype(std::declval<S&>().peer_subject())>> : std::true_type {};

// The life of one connection, whatever its transport and dialect: start (a
// handshake), read and hand bytes to the hub through the decoder, write what
// the hub queued, close gracefully or at once. Stream is a transport's stream
// (the concept is in socket_stream.hpp); Decoder turns its bytes into lines
// (line_framer for the line protocol).
//
// Every member function that touches the stream runs on the stream's
// executor, which is a strand when several threads run the server and the
// executor itself when one does: so a session needs no lock of its own, and
// the hub reaches it only through the member interface, which dispatches
// there.
template <class Stream, class Decoder>
class session final : public member {
public:
    template <class... DecoderArgs>
    session(Stream stream, std::shared_ptr<hub> h, const renderer& dialect, const detail::interpreter& interpreter,
            std::string address, DecoderArgs&&... decoder_args)
        : member(h->locking(), dialect, interpreter, std::move(address), transport_name_of<Stream>()),
          stream_(std::move(stream)),
          decoder_(std::forward<DecoderArgs>(decoder_args)...),
          hub_(std::move(h)) {}

    ~session() override { hub_->gate().release(address()); }

    Stream& stream() noexcept { return stream_; }

    void start() {
        stream_.set_owner(weak_from_this());
        asio::dispatch(stream_.get_executor(), [self = self_ptr()] {
            self->stream_.async_start([self](std::error_code ec) { self->on_started(ec); });
        });
    }

    void flush() override {
        asio::dispatch(stream_.get_executor(), [self = self_ptr()] { self->write_queued(); });
    }

    // The hub calls these two with its lock held; posted, they never call
    // back into it before it is released.
    void close_gracefully(leave_reason why) override {
        asio::post(stream_.get_executor(), [self = self_ptr(), why] {
            if (self->closing_) return;
            self->closing_ = true;
            self->why_ = why;
            self->write_queued();
        });
    }

    void close_now(std::optional<reply> last_words, leave_reason why) override {
        asio::post(stream_.get_executor(), [self = self_ptr(), words = std::move(last_words), why] {
            if (self->closed_) return;
            // Best effort: a peer that does not read may never see it, and a
            // write already under way cannot be interrupted.
            if (words && !self->writing_) {
                const bool mid = self->output.mid_message();
                const std::string_view resync = self->dialect().line_break();
                if (!mid || !resync.empty()) {
                    std::string bytes = mid ? std::string(resync) : std::string();
                    self->dialect().append(bytes, *words);
                    self->stream_.write_last(bytes, why);
                }
            }
            self->close_stream();
        });
    }

    void resume_reading(std::string unread) override {
        asio::post(stream_.get_executor(), [self = self_ptr(), unread = std::move(unread)] {
            if (self->closed_) return;
            if (!unread.empty()) self->consume(unread.data(), unread.size());
            else if (!self->closing_) self->read();
        });
    }

    bool is_closed() override { return closed_.load(std::memory_order_acquire); }

    std::string certificate_subject() override {
        if constexpr (has_peer_subject<Stream>::value) return stream_.peer_subject();
        else return {};
    }

private:
    std::shared_ptr<session> self_ptr() { return std::static_pointer_cast<session>(shared_from_this()); }

    void on_started(std::error_code ec) {
        if (closed_) return;
        if (ec) {
            close_stream();
            return;
        }
        hub_->attach(shared_from_this());
        if (!closing_) read();
    }

    // ---- reading ------------------------------------------------------------

    void read() {
        if (reading_ || closed_) return;
        reading_ = true;
        stream_.async_read([self = self_ptr()](std::error_code ec, const char* data, std::size_t n) {
            self->on_read(ec, data, n);
        });
    }

    void on_read(std::error_code ec, const char* data, std::size_t n) {
        reading_ = false;
        if (closed_) return;
        if (lingering_) {
            // Closing: input is read and dropped until the peer's EOF, so the
            // close does not reset data still on its way to it.
            if (ec) close_stream();
            else read();
            return;
        }
        if (closing_) {
            if (ec) close_stream();
            return; // output still flushing; input waits
        }
        if (ec == asio::error::eof || (ec && stream_.is_clean_end(ec))) {
            finish_input();
            hub_->depart(*this, leave_reason::eof, true);
        } else if (ec) {
            hub_->depart(*this, leave_reason::connection_lost, false);
        } else {
            consume(data, n);
        }
    }

    void consume(const char* data, std::size_t size) {
        const bool go_on = hub_->receive(*this, data, size, [&](auto&& out) {
            auto on = [&](frame_event ev, std::string_view line, const auto&... decoded) {
                // What the decoder answers to a line (telnet's bare CR) goes
                // before what the server answers to it. A decoder that read
                // the line further hands that on too (core/decoder.hpp).
                answer(out);
                return out(ev, line, decoded...);
            };
            const std::size_t used = decoder_.feed(data, size, on);
            answer(out);
            return used;
        });
        if (decoder_ended()) return;
        // false: the member left, or it is paused and the hub will call resume_reading.
        if (go_on && !closing_) read();
    }

    // A decoder may end the conversation (a WebSocket close, a protocol
    // error): its last reply is queued, and the member leaves gracefully.
    bool decoder_ended() {
        if constexpr (has_ended<Decoder>::value) {
            if (!decoder_.ended()) return false;
            hub_->depart(*this, decoder_.end_reason(), true);
            return true;
        }
        return false;
    }

    // A last line without a line end still counts.
    void finish_input() {
        if constexpr (has_finish<Decoder>::value) {
            hub_->receive(*this, nullptr, 0, [&](auto&& out) {
                decoder_.finish(out);
                answer(out);
                return std::size_t{0};
            });
        }
    }

    // Hands what the decoder wants sent back to the peer to the hub, which
    // queues it within the output limits. Inline, since it runs for every
    // line and almost never has work.
    template <class Out>
    void answer(Out& out) {
        if constexpr (has_replies<Decoder>::value) {
            auto& r = decoder_.replies();
            if (r.empty()) return;
            out.reply(r);
            r.clear();
        }
    }

    // ---- writing ------------------------------------------------------------

    // Writes until the queue is empty or the stream is full.
    void write_queued() {
        if (writing_ || closed_) return;
        send_ring::gather g;
        for (;;) {
            output.fill(g);
            if (g.count == 0) break;
            std::size_t want = 0;
            for (const auto& b : g) want += b.size();
            std::error_code ec;
            const std::size_t n = stream_.write(g, ec);
            if (n > 0) {
                counters::add(hub_->count().bytes_out, n);
                if (output.consume(n, hub_->soft_limit())) hub_->drained(*this);
            }
            if (ec) return fail();
            if (n < want) {
                writing_ = true;
                output.blocked(clock::now());
                stream_.async_wait_writable([self = self_ptr()](std::error_code e) {
                    self->writing_ = false;
                    self->output.unblocked(clock::now());
                    if (self->closed_) return;
                    if (e) return self->fail();
                    self->write_queued();
                });
                return;
            }
        }
        if (closing_ && !shutting_down_) {
            shutting_down_ = true;
            stream_.async_shutdown(why_, [self = self_ptr()](std::error_code ec) {
                if (self->closed_) return;
                if (ec) return self->close_stream();
                self->lingering_ = true;
                self->read();
            });
        }
    }

    void fail() {
        close_stream();
        hub_->depart(*this, leave_reason::connection_lost, false);
    }

    // ---- closing ------------------------------------------------------------

    void close_stream() {
        if (closed_) return;
        closing_ = true;
        closed_.store(true, std::memory_order_release);
        output.clear();
        stream_.close();
    }

    Stream stream_;
    Decoder decoder_;
    std::shared_ptr<hub> hub_;
    bool reading_ = false;
    bool writing_ = false;
    bool closing_ = false;
    bool shutting_down_ = false;
    bool lingering_ = false;
    leave_reason why_ = leave_reason::eof;
    std::atomic<bool> closed_{false};
};

} // namespace chatroom::detail
