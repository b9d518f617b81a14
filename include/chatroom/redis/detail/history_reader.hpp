#pragma once

// How the Redis history store (history.hpp) answers a query from a room's
// stream, on its query thread:
// - latest: XREVRANGE key + - ; before id: XREVRANGE key (id - ;
//   after id: XRANGE key (id + ; between ids: XRANGE key id until ;
//   between times: XRANGE key SINCEms-0 UNTILms-18446744073709551615.
// - Only chat and /me entries are history; joins, leaves and the rest in
//   the stream are read past. Reading goes on in batches until the page
//   and one entry more (which sets `more`) are found, or the range ends.
// - Every entry passes parse_entry (entry.hpp), as live reads do: what
//   fails its checks is skipped and counted. An entry written twice (a
//   writer's epoch and count seen already in this page: a command sent
//   again after a reconnect) is shown once, as the older copy.
// - after, before: XINFO STREAM, read after the range, says whether the
//   stream was trimmed past the id (its first entry is newer, and fewer
//   entries are left than were added): the page is then `unavailable`, and
//   for after holds the latest messages instead. A stream that does not
//   exist holds nothing: unavailable too.
// Ids are checked (parse_message_id) before anything is sent to Redis.

#include <chatroom/redis/detail/entry.hpp>
#include <chatroom/redis/detail/keys.hpp>
#include <chatroom/redis/detail/sync_link.hpp>
#include <chatroom/core/detail/history_ring.hpp>
#include <chatroom/core/history.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <map>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace chatroom::detail {

// A query checked, as the range it reads.
struct history_plan {
    bool reverse = false; // newest first (latest, before)
    std::string high;     // XREVRANGE's first bound / XRANGE's second
    std::string low;
    std::optional<stream_id> asked; // after, before: the id, for the trim check
    std::size_t limit = 0;
};

inline std::string id_text(const message_key& k) { return std::to_string(k.major) + "-" + std::to_string(k.minor); }

inline std::uint64_t ms_of(std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    return ms > 0 ? static_cast<std::uint64_t>(ms) : 0;
}

// bad_query for an id that is not one, or bounds out of order.
inline std::error_code plan_history(const history_query& q, std::size_t max_page, history_plan& p) {
    p = {};
    p.limit = std::min(q.limit, max_page);
    std::optional<message_key> from, to;
    const bool by_time = q.range == history_range::between && q.id.empty();
    if (q.range != history_range::latest && !by_time) {
        from = parse_message_id(q.id);
        if (!from) return make_error_code(history_errc::bad_query);
    }
    if (q.range == history_range::between && !by_time) {
        to = parse_message_id(q.until_id);
        if (!to || *to < *from) return make_error_code(history_errc::bad_query);
    }
    if (by_time && q.until < q.since) return make_error_code(history_errc::bad_query);
    switch (q.range) {
    case history_range::latest:
        p.reverse = true;
        p.high = "+";
        p.low = "-";
        break;
    case history_range::before:
        p.reverse = true;
        p.high = "(" + id_text(*from);
        p.low = "-";
        p.asked = stream_id{from->major, from->minor};
        break;
    case history_range::after:
        p.low = "(" + id_text(*from);
        p.high = "+";
        p.asked = stream_id{from->major, from->minor};
        break;
    case history_range::between:
        if (by_time) {
            p.low = std::to_string(ms_of(q.since)) + "-0";
            p.high = std::to_string(ms_of(q.until)) + "-18446744073709551615";
        } else {
            p.low = id_text(*from);
            p.high = id_text(*to);
        }
        break;
    }
    return {};
}

// The chat and action entries of a range's replies, in reading order. Of
// an entry written twice the older copy is kept (the one live readers
// delivered), whichever way the range is read.
class page_builder {
public:
    page_builder(std::string room, std::size_t limit, std::size_t max_line, bool reverse)
        : room_(std::move(room)), limit_(limit), max_line_(max_line), reverse_(reverse) {}

    bool full() const noexcept { return live_ > limit_; }
    std::size_t skipped() const noexcept { return skipped_; }

    // One entry of an XRANGE/XREVRANGE reply; its id, when it held a valid one.
    std::optional<stream_id> take(const redis_reply& item) {
        stream_id id;
        entry_error why = entry_error::none;
        auto entry = parse_entry(item, id, entry_rules{max_line_, entry_stream::room}, &why);
        std::optional<stream_id> at;
        if (!id.zero()) at = id;
        if (!entry) {
            ++skipped_;
            return at;
        }
        room_event& e = entry->event;
        if (full() || (e.kind != room_event_kind::chat && e.kind != room_event_kind::action)) return at;
        if (entry->count != 0) {
            const auto [it, fresh] = taken_.emplace(entry->epoch + "/" + std::to_string(entry->count), events_.size());
            if (!fresh) {
                if (!reverse_) return at; // the older copy is taken already
                dead_[it->second] = true; // this copy is older than the one taken
                --live_;
                it->second = events_.size();
            }
        }
        e.origin = 0;
        if (e.room.empty()) e.room = room_;
        e.log_id = id.str();
        e.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(id.ms));
        events_.push_back(std::move(e));
        dead_.push_back(false);
        ++live_;
        return at;
    }

    // The page, oldest first; more when an entry beyond it was found.
    history_page finish() {
        history_page page;
        for (std::size_t i = 0; i < events_.size(); ++i)
            if (!dead_[i]) page.events.push_back(std::move(events_[i]));
        page.more = page.events.size() > limit_;
        if (page.more) page.events.resize(limit_);
        if (reverse_) std::reverse(page.events.begin(), page.events.end());
        return page;
    }

private:
    std::string room_;
    std::size_t limit_;
    std::size_t max_line_;
    bool reverse_;
    std::size_t skipped_ = 0;
    std::size_t live_ = 0;
    std::vector<room_event> events_;
    std::vector<bool> dead_;                   // events_ replaced by an older copy
    std::map<std::string, std::size_t> taken_; // writer epoch/count -> index in events_
};

// What XINFO STREAM says of the stream's start; nothing when it failed.
struct stream_start {
    bool exists = false;
    std::optional<stream_id> first;
    bool trimmed = true; // entries were removed (assumed when Redis does not say)
};

inline std::optional<stream_start> read_stream_start(const redis_reply& r) {
    stream_start s;
    if (r.is_error()) {
        if (r.text.find("no such key") != std::string::npos) return s;
        return std::nullopt;
    }
    if (!r.is_array() || r.elements.size() % 2 != 0) return std::nullopt;
    s.exists = true;
    std::optional<long long> length, added;
    for (std::size_t i = 0; i < r.elements.size(); i += 2) {
        const std::string& name = r.elements[i].text;
        const redis_reply& v = r.elements[i + 1];
        if (name == "length" && v.is_integer()) length = v.integer;
        else if (name == "entries-added" && v.is_integer()) added = v.integer;
        else if (name == "first-entry" && v.is_array() && !v.elements.empty() && v.elements[0].is_string())
            s.first = stream_id::parse(v.elements[0].text);
    }
    if (length && added) s.trimmed = *added > *length;
    return s;
}

// Reads pages for the store: one per call, on one thread.
class history_reader {
public:
    history_reader(const redis_options& o, std::size_t max_line, std::size_t max_page)
        : keys_{o.key_prefix, {}}, links_(o), max_line_(max_line), max_page_(max_page) {}

    struct result {
        std::error_code ec;
        history_page page;
        std::string failure; // store_failed: why, for the host's log
        std::size_t skipped = 0; // entries that failed the checks
    };

    result read(const history_query& q) {
        result out;
        history_plan p;
        if ((out.ec = plan_history(q, max_page_, p))) return out;
        if (p.limit == 0) return out;
        const std::string key = keys_.room(q.room);
        const std::size_t instance = keys_.instance(key, links_.size());
        auto fail = [&](std::string reason) {
            out.ec = make_error_code(history_errc::store_failed);
            out.failure = key + ": " + std::move(reason);
            out.page = {};
            return std::move(out);
        };
        std::string why;
        page_builder b(q.room, p.limit, max_line_, p.reverse);
        if (!scan(instance, key, p, b, why)) return fail(why);
        out.page = b.finish();
        if (p.asked) {
            auto info = links_.command(instance, {"XINFO", "STREAM", key}, why);
            if (!info) return fail(why);
            const auto start = read_stream_start(*info);
            if (!start) return fail("XINFO STREAM: " + (info->is_error() ? info->text : std::string("not a stream")));
            out.page.unavailable = !start->exists || (start->trimmed && start->first && *p.asked < *start->first);
            if (out.page.unavailable && q.range == history_range::after) { // the latest instead
                history_plan latest = p;
                latest.reverse = true;
                latest.high = "+";
                latest.low = "-";
                page_builder l(q.room, p.limit, max_line_, true);
                if (!scan(instance, key, latest, l, why)) return fail(why);
                out.page = l.finish();
                out.page.unavailable = true;
                out.skipped += l.skipped();
            }
        }
        out.skipped += b.skipped();
        return out;
    }

    void close() noexcept { links_.close(); }

private:
    // Reads the plan's range in batches until the builder is full or the
    // range ends; false (why) when Redis could not be read.
    bool scan(std::size_t instance, const std::string& key, const history_plan& p, page_builder& b, std::string& why) {
        const std::size_t batch = std::max<std::size_t>(p.limit + 1, 64);
        std::string high = p.high, low = p.low;
        while (!b.full()) {
            std::vector<std::string> args;
            if (p.reverse) args = {"XREVRANGE", key, high, low, "COUNT", std::to_string(batch)};
            else args = {"XRANGE", key, low, high, "COUNT", std::to_string(batch)};
            auto r = links_.command(instance, args, why);
            if (!r) return false;
            if (!r->is_array()) {
                why = args[0] + ": " + (r->is_error() ? r->text : std::string("not an array"));
                return false;
            }
            std::optional<stream_id> last; // the last entry's: where the next batch starts
            for (const redis_reply& item : r->elements) last = b.take(item);
            if (r->elements.size() < batch || !last) return true; // the range's end (or nothing to go on from)
            (p.reverse ? high : low) = "(" + last->str();
        }
        return true;
    }

    const redis_keys keys_;
    sync_instances links_;
    std::size_t max_line_;
    std::size_t max_page_;
};

} // namespace chatroom::detail
