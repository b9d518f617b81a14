#pragma once

#include <chatroom/core/detail/member.hpp>
#include <chatroom/web/detail/frame_decoder.hpp>
#include <chatroom/web/detail/frame_encoder.hpp>
#include <chatroom/core/decoder.hpp>
#include <chatroom/core/renderer.hpp>
#include <chatroom/line/renderer.hpp>
#include <chatroom/line/replies.hpp>
#include <chatroom/web/detail/json_command.hpp>
#include <chatroom/web/detail/json_wording.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace chatroom::detail {

// What the decoder and the stream of one WebSocket connection tell each
// other; both live in the same session and run on its executor.
struct web_link {
    // The close code the conversation ends with, once the decoder knows it:
    // the echo of the peer's close, or the code of its protocol error. 0:
    // the stream picks one from the reason the member leaves.
    std::uint16_t close_code = 0;
    // The peer sent its close: once the server's is out, nothing more is due.
    bool peer_closed = false;
    // The member, for the size of its output queue (the decoder answers no
    // pings while its peer lets output pile up). Set before the session starts.
    member* owner = nullptr;
    // The browser asked for the JSON dialect (subprotocol chatroom.v1):
    // each text message must be a command object (json_command.hpp).
    bool json = false;
};

// Server frames are unmasked, so a line framed once is the same bytes for
// every browser: one rendered block shared by all of them, header included.
class web_renderer final : public renderer {
public:
    std::size_t framed_size(std::size_t n) const noexcept override { return text_frame_size(n); }
    char* frame(char* out, std::string_view a, std::string_view b) const noexcept override {
        return write_text_frame(out, a, b);
    }
    // Browsers read the line protocol's wording, one line per frame.
    std::string wording(const reply& r) const override { return text_of(r); }
    // A frame cut short cannot be ended: no last words after a partial write.
    std::string_view line_break() const noexcept override { return {}; }
};

// The one instance, so fan-out renders an event once for every browser.
inline const web_renderer& web_dialect() noexcept {
    static const web_renderer r;
    return r;
}

// The session's decoder for WebSocket (session.hpp): one text message is one
// line of the protocol, with CR and LF inside it turned into spaces (the
// page sends what was typed on one input line; a message is never split, so
// flow control can stop between any two lines). Pings are answered with a
// pong of the last one in each read, and not at all while the peer's output
// queue is past pong_cutoff: a peer that sends pings but never reads cannot
// grow it. The peer's close is echoed, a protocol error answered with its
// code, by the stream when the session shuts it down (web_link::close_code);
// either ends the conversation (ended()). A message over the line limit is
// refused with "! line too long" and 1009.
class web_decoder {
public:
    static constexpr std::size_t pong_cutoff = 64 * 1024;

    web_decoder(std::size_t max_message_bytes, std::shared_ptr<web_link> link)
        : ws_(max_message_bytes), link_(std::move(link)) {}

    template <class On>
    std::size_t feed(const char* data, std::size_t size, On&& on) {
        if (ended_) return size;
        bool pong_wanted = false;
        const std::size_t used = ws_.feed(data, size, [&](const ws_event& e) {
            switch (e.kind) {
            case ws_event_kind::text:
                if (!link_->json) return on(frame_event::line, one_line(e.payload));
                return json_message(e.payload, on);
            case ws_event_kind::ping:
                // The payload lives only during the call.
                ping_.assign(e.payload.data(), e.payload.size());
                pong_wanted = true;
                return true;
            case ws_event_kind::pong: return true;
            case ws_event_kind::close:
                end(e.code, leave_reason::eof);
                link_->peer_closed = true;
                return false;
            case ws_event_kind::error:
                if (e.code == ws_close::message_too_big) on(frame_event::too_long, std::string_view());
                end(e.code, leave_reason::connection_lost);
                return false;
            }
            return true;
        });
        if (pong_wanted && !ended_ && (!link_->owner || link_->owner->output.bytes() < pong_cutoff))
            replies_.append(pong_frame(ping_).view());
        if (!ws_.in_message()) ws_.shrink();
        return ended_ ? size : used;
    }

    std::string& replies() noexcept { return replies_; }
    bool ended() const noexcept { return ended_; }
    leave_reason end_reason() const noexcept { return why_; }

private:
    // A JSON dialect message: a command goes on with the line, read once,
    // for the interpreter; anything else is answered here with an error
    // object, queued in order with the answers to the messages around it
    // (the session sends replies() before the next line), and nothing more
    // happens.
    template <class On>
    bool json_message(std::string_view text, On& on) {
        browser_command command;
        const browser_command_error e = parse_browser_command(text, command);
        // The interpreter takes the command as read here (json_interpreter::decoded).
        if (!e) return on(frame_event::line, text, command);
        const std::string object = json_error(e.code, e.text);
        const ws_frame_header h = frame_header(ws_opcode::text, object.size());
        replies_.append(reinterpret_cast<const char*>(h.data()), h.size());
        replies_ += object;
        return true;
    }

    std::string_view one_line(std::string_view text) {
        if (std::memchr(text.data(), '\n', text.size()) == nullptr && std::memchr(text.data(), '\r', text.size()) == nullptr)
            return text;
        scratch_.assign(text.data(), text.size());
        for (char& c : scratch_)
            if (c == '\r' || c == '\n') c = ' ';
        return scratch_;
    }

    void end(std::uint16_t code, leave_reason why) {
        ended_ = true;
        why_ = why;
        link_->close_code = code;
    }

    websocket_decoder ws_;
    std::shared_ptr<web_link> link_;
    std::string replies_;
    std::string ping_;
    std::string scratch_;
    leave_reason why_ = leave_reason::eof;
    bool ended_ = false;
};

} // namespace chatroom::detail
