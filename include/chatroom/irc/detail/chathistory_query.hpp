#pragma once

// IRCv3 draft/chathistory as questions to the history store: a CHATHISTORY
// command's references read (msgid=..., timestamp=..., *), planned as one
// history_query of the core's (history.hpp), and the page that answers it
// cut to what the subcommand asked (bounds excluded, the newest or oldest
// `limit` lines, or a window around a reference). Pure functions: no
// connection, no lock; tests/irc/test_chathistory.cpp checks them.
//
// The core's query takes ids for before/after and times only for between,
// and answers one page (--history-page) at most; where a subcommand has no
// exact query of its own it asks the room's latest page and cuts it
// (BEFORE timestamp=, AROUND): exact while what it asks about lies within
// the room's latest page (docs/irc.md).

#include <chatroom/core/detail/history_ring.hpp>
#include <chatroom/core/history.hpp>
#include <chatroom/core/reply.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom::irc::detail {

// A message reference: a line's msgid ("41", "41-2" for the third line of
// message 41; with Redis "MS-N" and "MS-N-2"), a timestamp, or '*'.
struct history_ref {
    enum class kind : std::uint8_t { none, id, time } is = kind::none;
    chatroom::detail::message_key key; // id: the message's
    std::uint64_t line = 0;            // id: the line within it
    std::chrono::system_clock::time_point time{};
    std::string id;                    // id: the message's id as the store reads it
};

// Milliseconds since 1970 of "YYYY-MM-DDThh:mm:ss[.sss]Z"; nullopt otherwise.
inline std::optional<std::chrono::system_clock::time_point> parse_irc_time(std::string_view s) {
    auto num = [&](std::size_t at, std::size_t n, long long& out) {
        if (at + n > s.size()) return false;
        out = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            if (s[i] < '0' || s[i] > '9') return false;
            out = out * 10 + (s[i] - '0');
        }
        return true;
    };
    long long y, mo, d, h, mi, sec, ms = 0;
    if (s.size() < 20 || s.size() > 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s.back() != 'Z')
        return std::nullopt;
    if (!num(0, 4, y) || !num(5, 2, mo) || !num(8, 2, d) || !num(11, 2, h) || !num(14, 2, mi) || !num(17, 2, sec))
        return std::nullopt;
    if (s.size() > 20) { // ".s" to ".sss"
        if (s[19] != '.' || s.size() == 21) return std::nullopt;
        const std::size_t digits = s.size() - 21;
        if (!num(20, digits, ms)) return std::nullopt;
        for (std::size_t i = digits; i < 3; ++i) ms *= 10;
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    // Days from civil (H. Hinnant's algorithm), the inverse of format_time's.
    const long long yy = mo <= 2 ? y - 1 : y;
    const long long era = yy / 400;
    const long long yoe = yy - era * 400;
    const long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const long long days = era * 146097 + doe - 719468;
    const long long total = ((days * 24 + h) * 60 + mi) * 60 + sec;
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(total * 1000 + ms));
}

// A msgid as this server writes them: 1 to 3 numbers joined by '-'. Two
// numbers are a Redis id ("MS-N") when the first is a time in milliseconds
// (from 10^11), else a message's line ("41-2"): in-process ids are counts.
inline std::optional<history_ref> parse_msgid(std::string_view s) {
    std::vector<std::uint64_t> parts;
    while (parts.size() < 4) {
        const std::size_t dash = s.find('-');
        const auto n = chatroom::detail::parse_number(s.substr(0, dash));
        if (!n) return std::nullopt;
        parts.push_back(*n);
        if (dash == std::string_view::npos) break;
        s.remove_prefix(dash + 1);
    }
    if (parts.size() > 3) return std::nullopt;
    history_ref r;
    r.is = history_ref::kind::id;
    const bool redis = parts.size() == 3 || (parts.size() == 2 && parts[0] >= 100000000000ull);
    r.key = {parts[0], redis ? parts[1] : 0};
    r.line = parts.size() == 3 ? parts[2] : (!redis && parts.size() == 2 ? parts[1] : 0);
    r.id = std::to_string(parts[0]) + (redis ? "-" + std::to_string(parts[1]) : std::string());
    return r;
}

// "*", "msgid=ID" or "timestamp=TIME"; nullopt for anything else.
inline std::optional<history_ref> parse_history_ref(std::string_view s, bool star_ok) {
    if (s == "*") return star_ok ? std::optional<history_ref>(history_ref{}) : std::nullopt;
    if (s.substr(0, 6) == "msgid=") return parse_msgid(s.substr(6));
    if (s.substr(0, 10) == "timestamp=") {
        const auto t = parse_irc_time(s.substr(10));
        if (!t) return std::nullopt;
        history_ref r;
        r.is = history_ref::kind::time;
        r.time = *t;
        return r;
    }
    return std::nullopt;
}

// What one CHATHISTORY asked, kept until its page comes back: the page is
// cut to lines after lo and before hi (either may be none), then the
// newest, the oldest or those around `around`, `limit` lines at most.
struct history_ask {
    enum class pick : std::uint8_t { newest, oldest, around } take = pick::newest;
    std::string subcommand, target; // as the client sent them, for FAIL
    std::string room;               // the room it names
    history_ref lo, hi, around;
    std::size_t limit = 0;
    bool empty = false;             // nothing can match (BETWEEN a ref and itself): no query
};

// Whether a line (its message's key, its line within it, its time) lies
// after (sign > 0) or before (sign < 0) the reference; a '*' bounds nothing.
inline bool beyond(const history_ref& r, const chatroom::detail::message_key& key, std::uint64_t line,
                   std::chrono::system_clock::time_point t, int sign) {
    using chatroom::detail::message_key;
    if (r.is == history_ref::kind::none) return true;
    if (r.is == history_ref::kind::time) return sign > 0 ? r.time < t : t < r.time;
    if (key < r.key || r.key < key) return sign > 0 ? r.key < key : key < r.key;
    return sign > 0 ? r.line < line : line < r.line;
}

// The later of two references of one kind; refs of different kinds are not compared.
inline bool later(const history_ref& a, const history_ref& b) {
    if (a.is == history_ref::kind::time) return b.time < a.time;
    if (a.key < b.key || b.key < a.key) return b.key < a.key;
    return b.line < a.line;
}

// The store's id just after a message's: the exclusive bound of "before"
// that keeps all of the message's lines.
inline std::string next_id(const history_ref& r) {
    if (r.id.find('-') == std::string::npos) return std::to_string(r.key.major + 1);
    return std::to_string(r.key.major) + "-" + std::to_string(r.key.minor + 1);
}

// Plans the subcommand's query. A page is asked for (the client's limit
// is applied to what is left once the bounds are cut).
inline history_query plan_history(history_ask& a, const history_ref& first, const history_ref* second,
                                  std::size_t page) {
    using kind = history_ref::kind;
    using namespace std::chrono;
    history_query q;
    q.room = a.room;
    q.limit = page;
    const std::string& sub = a.subcommand;
    if (sub == "LATEST") {
        a.lo = first; // newer than the reference, the newest of them
    } else if (sub == "BEFORE") {
        a.hi = first;
        if (first.is == kind::id) q.range = history_range::before, q.id = next_id(first);
    } else if (sub == "AFTER") {
        a.lo = first;
        a.take = history_ask::pick::oldest;
        if (first.is == kind::id) q.range = history_range::after, q.id = first.id;
        else q.range = history_range::between, q.since = first.time + milliseconds(1), q.until = first.time + hours(24 * 366 * 100);
    } else if (sub == "AROUND") {
        a.around = first;
        a.take = history_ask::pick::around;
    } else if (second) { // BETWEEN: the lines nearest the first reference
        const bool backwards = later(first, *second);
        a.lo = backwards ? *second : first;
        a.hi = backwards ? first : *second;
        a.take = backwards ? history_ask::pick::newest : history_ask::pick::oldest;
        if (first.is == kind::id) {
            q.range = backwards ? history_range::before : history_range::after;
            q.id = backwards ? next_id(first) : first.id;
        } else if (a.hi.time - a.lo.time <= milliseconds(1)) {
            a.empty = true; // nothing lies strictly between
        } else {
            q.range = history_range::between;
            q.since = a.lo.time + milliseconds(1);
            q.until = a.hi.time - milliseconds(1);
        }
        if (first.is == kind::id && !later(a.hi, a.lo)) a.empty = true;
    }
    return q;
}

// The page's lines that answer the ask, oldest first, each with its line
// number within its message (for its msgid's "-N"). A message's lines
// share its id and come together.
struct history_line {
    const past_line* line;
    std::uint64_t index;
};

inline std::vector<history_line> select_history(const history_ask& a, const std::vector<past_line>& past) {
    std::vector<history_line> kept;
    std::uint64_t index = 0;
    std::size_t pivot = static_cast<std::size_t>(-1); // around: the first line at or after the reference
    for (std::size_t i = 0; i < past.size(); ++i) {
        const past_line& p = past[i];
        index = (i > 0 && past[i - 1].id == p.id) ? index + 1 : 0;
        const auto key = chatroom::detail::parse_message_id(p.id).value_or(chatroom::detail::message_key{});
        if (!beyond(a.lo, key, index, p.time, +1) || !beyond(a.hi, key, index, p.time, -1)) continue;
        if (a.take == history_ask::pick::around && pivot == static_cast<std::size_t>(-1) &&
            !beyond(a.around, key, index, p.time, -1))
            pivot = kept.size();
        kept.push_back({&p, index});
    }
    if (kept.size() <= a.limit && a.take != history_ask::pick::around) return kept;
    std::size_t from = 0;
    if (a.take == history_ask::pick::newest) from = kept.size() - a.limit;
    if (a.take == history_ask::pick::around) {
        if (pivot == static_cast<std::size_t>(-1)) pivot = kept.size(); // all older: the newest of them
        const std::size_t half = (a.limit - 1) / 2;
        from = pivot > half ? pivot - half : 0;
        if (kept.size() >= a.limit && from > kept.size() - a.limit) from = kept.size() - a.limit;
        if (kept.size() < a.limit) from = 0;
    }
    const std::size_t to = from + a.limit < kept.size() ? from + a.limit : kept.size();
    return std::vector<history_line>(kept.begin() + static_cast<std::ptrdiff_t>(from),
                                     kept.begin() + static_cast<std::ptrdiff_t>(to));
}

} // namespace chatroom::irc::detail
