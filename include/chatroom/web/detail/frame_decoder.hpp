#pragma once

#include <chatroom/web/detail/frame.hpp>
#include <chatroom/web/detail/utf8_validator.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

// What clients send, decoded without I/O (frame.hpp says more).

namespace chatroom::detail {

enum class ws_event_kind : unsigned char {
    text,  // a complete text message: valid UTF-8, unmasked, fragments joined
    ping,  // payload: what to echo in the pong
    pong,  // payload: what the peer echoed
    close, // code: the peer's (no_status when it sent none); payload: its reason
    error, // code: the close code to answer with; payload: what went wrong, for logs
};

// What the decoder hands to its handler. payload points into the decoder (or
// at a static description for errors) and is valid only during the call.
struct ws_event {
    ws_event_kind kind;
    std::string_view payload;
    std::uint16_t code = 0;
};

// Decodes the frames a client sends. The rules of RFC 6455 that a server must
// enforce are enforced here, each failing the connection with its close code:
//   1002  unmasked frame; RSV bits set (no extension is ever negotiated);
//         unknown opcode; continuation without a message to continue; a new
//         text/binary frame inside a fragmented message; control frame
//         fragmented or over 125 bytes; a length not in its minimal form or
//         with the 64-bit high bit set; a close payload of one byte or with a
//         code that may not appear on the wire;
//   1003  binary messages (a chat line is text);
//   1007  text or a close reason that is not UTF-8, detected at the first
//         bad byte, across fragment boundaries;
//   1009  a frame whose declared length would take the message past
//         max_message_bytes: refused as soon as its length is read, before
//         the mask key and the payload.
// Control frames may come between the fragments of a message. Memory is
// bounded: at most max_message_bytes of message, a 125-byte control payload
// and a 14-byte header are held, whatever arrives.
class websocket_decoder {
public:
    explicit websocket_decoder(std::size_t max_message_bytes = 4096) noexcept : max_(max_message_bytes) {}

    std::size_t max_message_bytes() const noexcept { return max_; }

    // Feeds bytes; calls on(ws_event) for each event. on returns false to
    // stop early (flow control): feed then returns how many bytes it
    // consumed, up to the end of the frame that produced the event, and the
    // caller feeds the rest later. After an error or a close event the
    // decoder is done(): the event's frame is the last thing it consumed and
    // feed returns 0 from then on. An error event is the last event; the
    // handler's answer to it does not matter.
    template <class Handler>
    std::size_t feed(const char* data, std::size_t size, Handler&& on) {
        if (done()) return 0;
        const char* p = data;
        const char* const end = data + size;
        while (p < end) {
            if (stage_ != stage::payload) {
                // Copies what may be header into the scratch buffer, then
                // consumes only the bytes the header steps turn out to use,
                // so a header in view is read in one pass.
                const auto avail = static_cast<std::size_t>(end - p);
                const std::size_t room = header_.size() - header_have_;
                const std::size_t copy = avail < room ? avail : room;
                std::memcpy(header_.data() + header_have_, p, copy);
                const std::size_t seen = header_have_ + copy;
                const char* failure = nullptr;
                while (failure == nullptr && stage_ != stage::payload && seen >= header_need_) failure = header_step();
                const std::size_t used = failure != nullptr || stage_ == stage::payload ? header_need_ : seen;
                p += used - header_have_;
                header_have_ = used;
                if (failure != nullptr) return fail(on, failure, p - data, failure_code_);
                if (stage_ != stage::payload) break; // the input ended inside the header
                if (remaining_ != 0) continue;
                // An empty payload: the frame is complete with its header.
            } else {
                const std::size_t avail = static_cast<std::size_t>(end - p);
                const std::size_t take = remaining_ < avail ? static_cast<std::size_t>(remaining_) : avail;
                if (is_control(opcode_)) {
                    unmask(control_.data() + control_size_, p, take);
                    control_size_ += take;
                } else {
                    const std::size_t old = message_.size();
                    message_.append(p, take);
                    unmask(&message_[old], &message_[old], take);
                    if (!utf8_.feed(message_.data() + old, take))
                        return fail(on, "invalid UTF-8 in a text message", p + take - data, ws_close::invalid_payload);
                }
                p += take;
                remaining_ -= take;
                if (remaining_ != 0) break;
            }
            // A frame is complete.
            const frame_outcome r = finish_frame(on);
            if (r.failure != nullptr) return fail(on, r.failure, p - data, r.code);
            if (!r.keep_going || closed_) return static_cast<std::size_t>(p - data);
        }
        return static_cast<std::size_t>(p - data);
    }

    // True after an error or a close frame: the decoder consumes nothing more.
    bool done() const noexcept { return error_code_ != 0 || closed_; }
    bool closed() const noexcept { return closed_; }
    // The close code of the error that stopped the decoder, or 0.
    std::uint16_t error_code() const noexcept { return error_code_; }
    // Inside a fragmented message (its first frame seen, not its last).
    bool in_message() const noexcept { return in_message_; }
    // Bytes held: the message assembled so far plus a partial control frame.
    std::size_t buffered() const noexcept { return message_.size() + control_size_ + header_have_; }

    // Gives back the message buffer's memory when no message is in progress.
    void shrink() {
        if (message_.empty()) std::string().swap(message_);
    }

private:
    enum class stage : unsigned char { start, length, mask, payload };

    struct frame_outcome {
        bool keep_going = true;
        const char* failure = nullptr;
        std::uint16_t code = ws_close::protocol_error;
    };

    template <class Handler>
    std::size_t fail(Handler& on, const char* what, std::ptrdiff_t consumed,
                     std::uint16_t code = ws_close::protocol_error) {
        error_code_ = code;
        message_.clear();
        control_size_ = 0;
        header_have_ = 0;
        on(ws_event{ws_event_kind::error, std::string_view(what), code});
        return static_cast<std::size_t>(consumed);
    }

    // Called when header_need_ bytes of the header are in; checks what they
    // tell and sets how many more are needed. Returns what is wrong, or
    // nullptr; failure_code_ then says which close code it calls for.
    const char* header_step() {
        const auto b0 = static_cast<unsigned char>(header_[0]);
        const auto b1 = static_cast<unsigned char>(header_[1]);
        switch (stage_) {
        case stage::start: {
            failure_code_ = ws_close::protocol_error;
            fin_ = (b0 & 0x80) != 0;
            const unsigned op = b0 & 0x0F;
            if ((b0 & 0x70) != 0) return "RSV bits set without a negotiated extension";
            if (op > 0xA || (op > 0x2 && op < 0x8)) return "unknown opcode";
            opcode_ = static_cast<ws_opcode>(op);
            if ((b1 & 0x80) == 0) return "unmasked client frame";
            const unsigned len7 = b1 & 0x7F;
            if (is_control(opcode_)) {
                if (!fin_) return "fragmented control frame";
                if (len7 > 125) return "control frame over 125 bytes";
            } else if (opcode_ == ws_opcode::continuation) {
                if (!in_message_) return "continuation frame without a message to continue";
            } else {
                if (in_message_) return "new data frame inside a fragmented message";
                if (opcode_ == ws_opcode::binary) {
                    failure_code_ = ws_close::unsupported_data;
                    return "binary messages are not accepted";
                }
            }
            if (len7 < 126) {
                remaining_ = len7;
                if (!is_control(opcode_) && !fits(remaining_)) return too_big();
                stage_ = stage::mask;
                header_need_ = 6;
            } else {
                stage_ = stage::length;
                header_need_ = len7 == 126 ? 4 : 10;
            }
            return nullptr;
        }
        case stage::length: {
            std::uint64_t len = 0;
            for (std::size_t i = 2; i < header_need_; ++i) len = len << 8 | static_cast<unsigned char>(header_[i]);
            if (header_need_ == 4) {
                if (len < 126) return "16-bit length not in its minimal form";
            } else {
                if (len >> 63) return "64-bit length with the high bit set";
                if (len <= 0xFFFF) return "64-bit length not in its minimal form";
            }
            remaining_ = len;
            if (!fits(remaining_)) return too_big();
            stage_ = stage::mask;
            header_need_ += 4;
            return nullptr;
        }
        case stage::mask:
            std::memcpy(mask_.data(), header_.data() + header_need_ - 4, 4);
            mask_phase_ = 0;
            stage_ = stage::payload;
            if (!is_control(opcode_) && message_.capacity() - message_.size() < remaining_)
                message_.reserve(message_.size() + static_cast<std::size_t>(remaining_));
            return nullptr;
        case stage::payload:
            break;
        }
        return nullptr;
    }

    bool fits(std::uint64_t frame_len) const noexcept {
        return frame_len <= max_ && message_.size() <= max_ - static_cast<std::size_t>(frame_len);
    }

    const char* too_big() noexcept {
        failure_code_ = ws_close::message_too_big;
        return "message over the size limit";
    }

    template <class Handler>
    frame_outcome finish_frame(Handler& on) {
        frame_outcome r;
        stage_ = stage::start;
        header_have_ = 0;
        header_need_ = 2;
        switch (opcode_) {
        case ws_opcode::continuation:
        case ws_opcode::text:
        case ws_opcode::binary:
            if (!fin_) {
                in_message_ = true;
                return r;
            }
            in_message_ = false;
            if (!utf8_.complete()) {
                r.failure = "text message ends inside a UTF-8 sequence";
                r.code = ws_close::invalid_payload;
                return r;
            }
            r.keep_going = on(ws_event{ws_event_kind::text, std::string_view(message_), 0});
            message_.clear();
            utf8_.reset();
            return r;
        case ws_opcode::ping:
        case ws_opcode::pong: {
            const auto kind = opcode_ == ws_opcode::ping ? ws_event_kind::ping : ws_event_kind::pong;
            const std::string_view payload(control_.data(), control_size_);
            control_size_ = 0;
            r.keep_going = on(ws_event{kind, payload, 0});
            return r;
        }
        case ws_opcode::close: {
            const std::size_t n = control_size_;
            control_size_ = 0;
            std::uint16_t code = ws_close::no_status;
            std::string_view reason;
            if (n == 1) {
                r.failure = "close frame with a one-byte payload";
                return r;
            }
            if (n >= 2) {
                code = static_cast<std::uint16_t>(static_cast<unsigned char>(control_[0]) << 8 |
                                                  static_cast<unsigned char>(control_[1]));
                if (!is_wire_close_code(code)) {
                    r.failure = "close frame with a code not allowed on the wire";
                    return r;
                }
                reason = std::string_view(control_.data() + 2, n - 2);
                if (!utf8_validator::valid(reason)) {
                    r.failure = "close reason is not UTF-8";
                    r.code = ws_close::invalid_payload;
                    return r;
                }
            }
            closed_ = true;
            message_.clear();
            r.keep_going = on(ws_event{ws_event_kind::close, reason, code});
            return r;
        }
        }
        return r;
    }

    // XORs n bytes of masked payload into dst (which may be src), eight at a
    // time where it can.
    void unmask(char* dst, const char* src, std::size_t n) noexcept {
        unsigned char m8[8];
        for (std::size_t i = 0; i < 8; ++i) m8[i] = mask_[(mask_phase_ + i) & 3];
        std::uint64_t m;
        std::memcpy(&m, m8, 8);
        std::size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            std::uint64_t v;
            std::memcpy(&v, src + i, 8);
            v ^= m;
            std::memcpy(dst + i, &v, 8);
        }
        for (; i < n; ++i) dst[i] = static_cast<char>(static_cast<unsigned char>(src[i]) ^ m8[i & 7]);
        mask_phase_ = (mask_phase_ + n) & 3;
    }

    std::string message_;                // the text message assembled so far
    utf8_validator utf8_;                // over message_, as it grows
    std::array<char, 125> control_{};    // the payload of the control frame being read
    std::size_t control_size_ = 0;
    std::array<char, 14> header_{};      // the frame header being read
    std::size_t header_have_ = 0;
    std::size_t header_need_ = 2;
    std::uint64_t remaining_ = 0;        // payload bytes of the current frame still to come
    std::array<unsigned char, 4> mask_{};
    std::size_t mask_phase_ = 0;
    std::size_t max_;
    ws_opcode opcode_ = ws_opcode::continuation;
    stage stage_ = stage::start;
    bool fin_ = false;
    bool in_message_ = false;
    bool closed_ = false;
    std::uint16_t error_code_ = 0;
    std::uint16_t failure_code_ = ws_close::protocol_error;
};

} // namespace chatroom::detail
