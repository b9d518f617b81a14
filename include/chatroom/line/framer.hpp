#pragma once

#include <chatroom/core/decoder.hpp>
#include <chatroom/line/detail/telnet.hpp>

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
#include <emmintrin.h>
#define CHATROOM_FRAMER_SSE2 1
#endif

namespace chatroom {

/// What the framer does with telnet beyond removing it from the text.
enum class telnet_mode : unsigned char {
    answer, ///< a server facing telnet clients: negotiates, answers, edits lines (docs/protocol.md, "Telnet")
    ignore, ///< IAC sequences are removed and nothing else: nothing is answered or interpreted
};

/// Splits a byte stream into lines, removing telnet IAC sequences on the way.
/// A line ends at LF (one CR right before it is dropped), and, once the peer
/// has sent a telnet command, at CR NUL too: telnet's end of line in character
/// mode (only telnet peers send it, and the others are spared a search for NUL
/// bytes). Any other CR is data. Holds at most
/// max_line_bytes + 1 bytes of an unfinished line whatever arrives, so a
/// connection's input memory is bounded.
///
/// In telnet_mode::answer the framer also speaks the server side of telnet,
/// from the peer's first telnet command on (nothing before it, so plain
/// clients never see a telnet byte): the bytes the peer must get back collect
/// in replies(), which the caller sends to that peer and clears.
class line_framer {
public:
    /// A framer for lines of at most max_line_bytes (CR and LF not counted).
    explicit line_framer(std::size_t max_line_bytes = 4096, telnet_mode mode = telnet_mode::answer)
        : max_(max_line_bytes), answer_(mode == telnet_mode::answer) {}

    std::size_t max_line_bytes() const noexcept { return max_; } ///< the limit it was made with
    /// Whether it answers telnet (telnet_mode::answer) or only strips it.
    telnet_mode mode() const noexcept { return answer_ ? telnet_mode::answer : telnet_mode::ignore; }

    /// Feeds bytes; calls on(frame_event, std::string_view) for each event.
    /// on returns false to stop early (flow control); feed then returns how many
    /// bytes it consumed, and the caller feeds the rest later.
    ///
    /// Any reply a line causes (the bare CR for a BINARY peer) is in replies()
    /// before on sees the line, so a caller may send replies() first thing in
    /// on to keep them ahead of the output the line produces. One feed adds at
    /// most detail::telnet::max_reply_bytes(size) bytes to replies().
    template <class Handler>
    std::size_t feed(const char* data, std::size_t size, Handler&& on) {
        const char* p = data;
        const char* const end = data + size;
        while (p < end) {
            if (state_ == state::data) {
                // Bulk path: everything before the next LF, IAC or NUL is plain data.
                const char* stop = next_special(p, end, telnet_peer_);
                if (discarding_) {
                    if (stop != p) {
                        last_cr_ = stop[-1] == '\r';
                        p = stop;
                    }
                } else if (stop != end && partial_.empty() &&
                           (*stop == '\n' || (*stop == '\0' && stop != p && stop[-1] == '\r'))) {
                    // A whole line in view: handed out without copying.
                    std::size_t len = static_cast<std::size_t>(stop - p);
                    if (len > 0 && p[len - 1] == '\r') --len;
                    const char* line = p;
                    p = stop + 1;
                    if (!deliver(on, std::string_view(line, len))) return static_cast<std::size_t>(p - data);
                    continue;
                } else if (stop != p) {
                    const auto take = static_cast<std::size_t>(stop - p);
                    p = stop;
                    // One byte of slack keeps a CR that may precede the LF.
                    if (partial_.size() + take > max_ + 1) {
                        discarding_ = true;
                        last_cr_ = stop[-1] == '\r';
                        partial_.clear();
                        if (!on(frame_event::too_long, std::string_view())) return static_cast<std::size_t>(p - data);
                    } else {
                        partial_.append(stop - take, take);
                    }
                }
                if (p == end) break;
            } else if (state_ == state::sub) {
                // Subnegotiation data is skipped up to its IAC, never stored.
                const auto* iac = static_cast<const char*>(std::memchr(p, '\xFF', static_cast<std::size_t>(end - p)));
                if (iac == nullptr) break;
                p = iac;
            }
            const unsigned char c = static_cast<unsigned char>(*p++);
            const step_result r = step(c);
            if (r == step_result::more) continue;
            bool keep_going = true;
            if (r == step_result::overflow) {
                // Reported as soon as it is known, not when the line finally ends.
                keep_going = on(frame_event::too_long, std::string_view());
            } else {
                keep_going = end_of_line(on);
            }
            if (!keep_going) return static_cast<std::size_t>(p - data);
        }
        return size;
    }

    /// End of input: a last line without its end is handed to on like any
    /// other (so `printf '/who' | nc -N host port` gets its answer); a telnet
    /// command cut short is dropped. Feed everything before calling it; the
    /// framer is then as new, telnet state aside.
    template <class Handler>
    void finish(Handler&& on) {
        state_ = state::data;
        if (!partial_.empty()) end_of_line(on); // empty while discarding: too_long was reported
        discarding_ = false;
        last_cr_ = false;
    }

    /// Bytes the peer must be sent back (telnet_mode::answer only): option
    /// answers, the AYT reply, a bare CR after a BINARY peer's line. Empty
    /// unless the peer speaks telnet. The caller sends and clears them.
    std::string& replies() noexcept { return replies_; }
    const std::string& replies() const noexcept { return replies_; } ///< the same, read-only
    std::string take_replies() { return std::exchange(replies_, std::string()); } ///< the replies, cleared here

    /// Whether the peer sends BINARY data (its telnet said WILL BINARY).
    bool peer_binary() const noexcept { return telnet_.peer_binary(); }

    /// Bytes of an unfinished line held right now.
    std::size_t buffered() const noexcept { return partial_.size(); }

    /// Gives back the memory of an unfinished line that has been consumed,
    /// and of replies that have been sent.
    void shrink() {
        if (partial_.empty()) std::string().swap(partial_);
        if (replies_.empty()) std::string().swap(replies_);
    }

private:
    enum class state : unsigned char { data, iac, option, sub, sub_iac };
    enum class step_result : unsigned char { more, line_end, overflow };

    /// The first LF, IAC or (with_nul) NUL in [p, end), or end. With SSE2
    /// (every x86-64) one pass looks for all of them, sixteen bytes at a
    /// time, the last 16 bytes in one overlapping load; elsewhere, and below
    /// 16 bytes, each memchr stops at the previous one's find, so a line
    /// costs two or three.
    static const char* next_special(const char* p, const char* end, bool with_nul) noexcept {
#if defined(CHATROOM_FRAMER_SSE2)
        if (end - p >= 16) {
            const __m128i lf = _mm_set1_epi8('\n'), iac = _mm_set1_epi8(static_cast<char>(0xFF));
            const __m128i nul = _mm_setzero_si128();
            const char* const last = end - 16;
            while (p < end) {
                const char* base = p <= last ? p : last;
                // Opaque to the compiler: g++ -Warray-bounds otherwise flags this load in
                // code it inlines for an object under 16 bytes, where it never runs.
                __asm__("" : "+r"(base));
                const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base));
                __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, iac));
                if (with_nul) hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, nul));
                const unsigned seen = static_cast<unsigned>(p - base); // the overlap of the last load
                const unsigned found = static_cast<unsigned>(_mm_movemask_epi8(hit)) >> seen << seen;
                if (found != 0) return base + __builtin_ctz(found);
                p = base + 16;
            }
            return end;
        }
#endif
        const char* stop = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        if (stop == nullptr) stop = end;
        if (const auto* iac = static_cast<const char*>(std::memchr(p, '\xFF', static_cast<std::size_t>(stop - p))))
            stop = iac;
        if (!with_nul) return stop;
        if (const auto* nul = static_cast<const char*>(std::memchr(p, '\0', static_cast<std::size_t>(stop - p))))
            stop = nul;
        return stop;
    }

    /// A line's end: the reply that goes with it, then the line to on.
    template <class Handler>
    bool deliver(Handler& on, std::string_view line) {
        if (telnet_.peer_binary()) replies_ += '\r';
        return line.size() > max_ ? on(frame_event::too_long, std::string_view())
                                  : on(frame_event::line, line);
    }

    /// The end of the line held in partial_ (or of the one being discarded).
    template <class Handler>
    bool end_of_line(Handler& on) {
        if (discarding_) {
            discarding_ = false;
            last_cr_ = false;
            if (telnet_.peer_binary()) replies_ += '\r';
            return true;
        }
        std::size_t len = partial_.size();
        if (len > 0 && partial_[len - 1] == '\r') --len;
        const bool keep_going = deliver(on, std::string_view(partial_.data(), len));
        partial_.clear();
        return keep_going;
    }

    bool ends_with_cr() const noexcept {
        return discarding_ ? last_cr_ : !partial_.empty() && partial_.back() == '\r';
    }

    /// Consumes one byte of the slow path.
    step_result step(unsigned char c) {
        namespace t = detail::telnet;
        switch (state_) {
        case state::data:
            if (c == t::iac) {
                state_ = state::iac;
                return step_result::more;
            }
            if (c == '\n' || (c == '\0' && telnet_peer_ && ends_with_cr())) return step_result::line_end;
            return append(c);
        case state::iac:
            state_ = state::data;
            if (c == t::iac) return append(c); // IAC IAC is a literal 0xFF data byte
            telnet_peer_ = true;
            if (answer_) telnet_.begin(replies_);
            if (c >= t::will && c <= t::dont) {
                verb_ = c;
                state_ = state::option;
            } else if (c == t::sb) {
                state_ = state::sub;
            } else if (answer_) {
                return command(c);
            }
            return step_result::more;
        case state::option:
            state_ = state::data;
            if (answer_) telnet_.receive(verb_, c, replies_);
            return step_result::more;
        case state::sub: // consumed without being stored, so bounded whatever its length
            if (c == t::iac) state_ = state::sub_iac;
            return step_result::more;
        case state::sub_iac:
            state_ = c == t::se ? state::data : state::sub;
            return step_result::more;
        }
        return step_result::more;
    }

    /// A two-byte command from a telnet peer (telnet_mode::answer).
    step_result command(unsigned char c) {
        namespace t = detail::telnet;
        switch (c) {
        case t::ayt:
            replies_.append(t::ayt_reply.data(), t::ayt_reply.size());
            return step_result::more;
        case t::ec:
            if (!discarding_) partial_.resize(partial_.size() - t::last_character_bytes(partial_));
            return step_result::more;
        case t::el:
            if (!discarding_) partial_.clear();
            return step_result::more;
        default:
            // A control key inetutils telnet thought it saw inside a UTF-8
            // character: the byte it stands for goes back in its place.
            if (const unsigned char b = t::mistaken_byte(c);
                b != 0 && !discarding_ && !telnet_.peer_binary() && t::ends_inside_utf8(partial_))
                return append(b);
            return step_result::more; // NOP, GA, DM, IP, ... : consumed
        }
    }

    step_result append(unsigned char c) {
        if (discarding_) {
            last_cr_ = c == '\r';
            return step_result::more;
        }
        // One byte of slack keeps a CR that may precede the LF.
        if (partial_.size() > max_) {
            discarding_ = true;
            last_cr_ = c == '\r';
            partial_.clear();
            return step_result::overflow;
        }
        partial_.push_back(static_cast<char>(c));
        return step_result::more;
    }

    std::string partial_;
    std::string replies_;
    std::size_t max_;
    detail::telnet::negotiation telnet_;
    state state_ = state::data;
    unsigned char verb_ = 0;       ///< WILL, WONT, DO or DONT, while its option byte is awaited
    bool answer_;
    bool telnet_peer_ = false;     ///< the peer has sent a telnet command (IAC IAC is data, not one)
    bool discarding_ = false;      ///< the line passed the limit; dropped up to its end
    bool last_cr_ = false;         ///< while discarding: the last data byte was a CR
};

} // namespace chatroom
