#pragma once

// The lines of text of an entry read back from Redis, cleaned as client
// input is (entry.hpp's decode_entry): untrusted bytes in, text that is safe
// to show out, each line held to the server's max_line_bytes.

#include <chatroom/core/room_event.hpp>
#include <chatroom/core/sanitize.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

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
// one pass straight into the event: a run of printable ASCII up to the '\n'
// (the common line) is copied as it is, the rest of a line that holds
// anything else goes through sanitize_append. A line that cleans to nothing
// carries nothing; false when one is longer than max once cleaned.
inline bool add_clean_lines(room_event& e, std::string_view text, std::size_t max) {
    e.text.reserve(e.text.size() + text.size() + 1);
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* const end = p + text.size();
    while (p < end) {
        const std::size_t start = e.text.size();
        const unsigned char* eol = detail::plain_ascii_end(p, end);
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
            e.line_ends.push_back(static_cast<std::uint32_t>(e.text.size()));
            e.text += '\n';
            ++e.line_count;
        }
        if (eol == end) break;
        p = eol + 1;
    }
    return true;
}

} // namespace chatroom::detail
