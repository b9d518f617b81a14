#pragma once

// The lines of text of an entry read back from Redis, cleaned as client
// input is (entry.hpp's decode_entry): untrusted bytes in, text that is safe
// to show out, each line held to the server's max_line_bytes.

#include <chatroom/core/room_event.hpp>
#include <chatroom/core/sanitize.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace chatroom::detail {

// One line of text, cleaned as client input is, appended to out; false
// when what it adds is longer than max.
inline bool append_clean_line(std::string& out, std::string_view raw, std::size_t max) {
    const std::size_t before = out.size();
    sanitize_append(out, raw);
    return out.size() - before <= max;
}

// The '\n'-ended lines of text added to a chat event, each cleaned on its
// own as client input is (a bare CR is dropped with the other controls), in
// one pass straight into the event. A line that is clean as it stands
// (printable ASCII or TAB up to its '\n', found sixteen bytes at a time by
// the sanitizer's own detail::plain_ascii_end, not empty, within max) is
// not copied on its own: the run of such lines goes in with one append, their
// '\n's with them, and only their ends are noted. Any other line ends the
// run and goes through sanitize_append. A line that cleans to nothing
// carries nothing; false when one is longer than max once cleaned.
// owner, when given, is the string text views and may be taken: when every
// line is clean as it stands and the event has no text yet, the string is
// moved into the event instead of copied (the text is then what it was).
inline bool add_clean_lines(room_event& e, std::string_view text, std::size_t max, std::string* owner = nullptr) {
    const auto* const begin = reinterpret_cast<const unsigned char*>(text.data());
    const auto* p = begin;
    const auto* const end = p + text.size();
    const unsigned char* run = p; // the clean lines not yet appended start here
    bool reserved = false;
    bool ends_reserved = false;
    // The line ends' room, once, guessed from the first line's length (the
    // lines of one entry are often alike): at most one end per 8 bytes of
    // text, so a guess from a short line costs at most half the text's size.
    auto reserve_ends = [&](std::size_t line) {
        if (ends_reserved) return;
        ends_reserved = true;
        const std::size_t guess = std::min(text.size() / (line + 1), text.size() / 8) + 1;
        e.line_ends.reserve(e.line_ends.size() + guess);
    };
    while (p < end) {
        const unsigned char* eol = detail::plain_ascii_end(p, end);
        if (eol != end && *eol == '\n' && eol != p && static_cast<std::size_t>(eol - p) <= max) {
            // Clean as it stands: it ends where the run's bytes up to it will.
            reserve_ends(static_cast<std::size_t>(eol - p));
            e.line_ends.push_back(static_cast<std::uint32_t>(e.text.size() + static_cast<std::size_t>(eol - run)));
            ++e.line_count;
            p = eol + 1;
            continue;
        }
        if (!reserved) {
            e.text.reserve(e.text.size() + text.size() + 1);
            reserved = true;
        }
        e.text.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
        const std::size_t start = e.text.size();
        e.text.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(eol - p));
        if (eol != end && *eol != '\n') {
            const auto* nl = static_cast<const unsigned char*>(std::memchr(eol, '\n', static_cast<std::size_t>(end - eol)));
            const unsigned char* rest = eol;
            eol = nl ? nl : end;
            sanitize_append(e.text, std::string_view(reinterpret_cast<const char*>(rest), static_cast<std::size_t>(eol - rest)));
        }
        const std::size_t added = e.text.size() - start;
        if (added > max) return false;
        if (added > 0) {
            reserve_ends(added);
            e.line_ends.push_back(static_cast<std::uint32_t>(e.text.size()));
            e.text += '\n';
            ++e.line_count;
        }
        p = eol == end ? end : eol + 1;
        run = p;
    }
    if (run == begin && e.text.empty() && owner && owner->data() == text.data() && owner->size() == text.size()) {
        e.text = std::move(*owner); // every line as it stands, each with its '\n'
        return true;
    }
    e.text.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    return true;
}

} // namespace chatroom::detail
