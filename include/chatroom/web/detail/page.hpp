#pragma once

#include <chatroom/web/detail/page/markup.hpp>
#include <chatroom/web/detail/page/script_base.hpp>
#include <chatroom/web/detail/page/script_connection.hpp>
#include <chatroom/web/detail/page/script_panes.hpp>
#include <chatroom/web/detail/page/script_protocol.hpp>
#include <chatroom/web/detail/page/script_rooms.hpp>
#include <chatroom/web/detail/page/style.hpp>
#include <chatroom/web/detail/sha1.hpp>
#include <chatroom/web/detail/sha256.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

// The chat page the web listener serves at GET /: one self-contained HTML
// document (inline style and script, no external resources) that speaks the
// JSON dialect (subprotocol chatroom.v1, docs/web-protocol.md) over a
// WebSocket at /ws. It keeps several rooms joined at once (a room list with
// unread counts and a mention marker, a member list per room, private
// conversations as their own entries), asks for a nick on the first visit,
// remembers nick and rooms in localStorage and rejoins them after a reload or
// a reconnect, and turns typed /commands into JSON commands. History: "Load
// older" pages back with `history` `before` the oldest id shown; after a
// reconnect the page asks `history` `after` the last id it has in each room,
// places what comes by id, and shows no event twice (keyed by id and time);
// `some_missing` becomes a visible marker. The page asks for its own lines
// back (`echo`) and draws each one when the server sends it, with its id and
// time, in the room's order: never a guess of which event a line became.
// A pane keeps at most MAX_LINES rows: past that, TRIM rows at once go from
// the end farther from what is being read (the oldest while reading the
// newest; the newest after "Load older", which then offers "Show newest
// messages"), and the view stays where it was. Notifications (mentions, private
// messages, while the tab is in the background) only after a click on Notify.
// A paste of several lines asks "Send N lines?" and goes as lines; a line
// sent as the connection drops, with no echo back, is marked not sent and
// put back in the input. Once the server asks for a login (login_first,
// nick_registered) the nick form has a password field and logs in with it.
//
// The document is joined at compile time from the parts in web/detail/page/
// (markup, style, and the script in five parts by concern, which make one
// <script> element: one function, one hash). web_page_csp() is the
// Content-Security-Policy it is sent with: it allows exactly that inline
// <style> and <script> by their SHA-256 hashes, computed here once from the
// bytes served, so an edit of a part needs no hash updated by hand.
// tests/web/test_web_page.py compiles this header, checks the policy against
// hashes of its own of what GET / returns, and prints the policy with
// --print-csp.
namespace chatroom::detail {

// The parts, one after the other, as one NUL-terminated array.
template <std::size_t... N>
constexpr std::array<char, (N + ... + 1) - sizeof...(N)> join_page(const char (&... parts)[N]) {
    std::array<char, (N + ... + 1) - sizeof...(N)> out{};
    std::size_t at = 0;
    const auto put = [&](const char* s, std::size_t n) {
        for (std::size_t i = 0; i + 1 < n; ++i) out[at++] = s[i];
    };
    (put(parts, N), ...);
    return out;
}

inline constexpr auto web_page_text =
    join_page(page_text::head, "<style>\n", page_text::style, "</style>\n", page_text::body, "<script>\n",
              page_text::script_base, page_text::script_panes, page_text::script_rooms, page_text::script_protocol,
              page_text::script_connection, "</script>\n</body>\n</html>\n");

inline constexpr std::string_view web_page_html(web_page_text.data(), web_page_text.size() - 1);

// The text of the page's one inline <tag> element, as the browser hashes it.
inline std::string_view web_page_block(std::string_view tag) {
    const std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
    const std::size_t from = web_page_html.find(open) + open.size();
    return web_page_html.substr(from, web_page_html.find(close, from) - from);
}

inline const std::string& web_page_csp() {
    static const std::string csp = [] {
        const auto hash = [](std::string_view tag) {
            const sha256_digest d = sha256_of(web_page_block(tag));
            return "'sha256-" + base64_encode(d.data(), d.size()) + "'";
        };
        return "default-src 'none'; connect-src 'self'; img-src 'self' data:; style-src " + hash("style") +
               "; script-src " + hash("script") + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    }();
    return csp;
}

} // namespace chatroom::detail
