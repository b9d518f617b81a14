#pragma once

// The streams this server reads and where it is in each: the rooms with
// local members, its private-message stream, and a canary per instance.
// What a read brings back becomes events here, once each and in stream
// order, and what a read cannot vouch for is told as missed:
// - Dedupe: an entry carries its writer's epoch and count; a count not
//   above the last one delivered for that epoch was sent twice.
// - Gaps: each writer's counts per stream are consecutive, so a count past
//   the next one means entries that were acknowledged never reached this
//   reader (a failover to a replica that had not received them). The
//   room's members are told.
// - Lines this server delivered at once while degraded are skipped when
//   read back. Its own entries that Redis took but that are not read back
//   yet are kept (unread), so that on degrading its members hear them
//   first, in their order, before anything said after.
// - After a reconnect, the ends of each stream are checked (check_gap):
//   a stream gone, trimmed past where this server had read, or whose IDs
//   went back (a failover) is told as missed, and reading goes on from
//   what is there.
// Called with mu held.

#include <chatroom/redis/detail/context.hpp>
#include <chatroom/redis/detail/entry.hpp>
#include <chatroom/redis/detail/rejections.hpp>
#include <chatroom/redis/detail/write_op.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chatroom::detail {

struct read_stream {
    enum class kind : unsigned char { room, node, canary };
    kind what = kind::room;
    std::size_t instance = 0;
    std::string name;           // a room's display name
    std::string cursor = "0-0"; // the last ID delivered here
    std::uint64_t generation = 0;
    bool readable = false; // cursor known
    std::unordered_map<std::string, std::uint64_t> seen; // writer epoch -> last count delivered
    std::set<std::uint64_t> local; // this process's counts delivered at once, not yet read back
    std::deque<write_op> unread;   // this process's entries Redis took, not yet read back
};

// What one read (or gap check) brought.
struct read_result {
    std::vector<room_event> events;
    rejections bad;
    std::vector<std::string> missed; // rooms to tell
    std::vector<std::pair<std::size_t, std::uint64_t>> canaries; // instance, sequence read back
    bool private_gap = false;
};

class stream_catalog {
public:
    struct target {
        std::string key;
        std::string cursor;
        std::uint64_t generation;
    };

    explicit stream_catalog(backplane_context& ctx) : ctx_(ctx) {}

    std::unordered_map<std::string, read_stream> streams; // by key

    std::uint64_t next_generation() noexcept { return ++generations_; }

    // A room's stream opened anew (or closed): what it kept goes.
    read_stream& open(const std::string& key) {
        forget(key);
        return streams[key];
    }
    void forget(const std::string& key) {
        auto it = streams.find(key);
        if (it == streams.end()) return;
        drop_unread(it->second, ~std::uint64_t{0});
        streams.erase(it);
    }

    // An own entry Redis took: kept until read back, unless it was already
    // (a reader may see an entry before the writer hears Redis ran it).
    void keep_unread(write_op& op) {
        auto it = streams.find(op.key);
        if (it == streams.end() || it->second.what != read_stream::kind::room) return;
        read_stream& s = it->second;
        auto seen = s.seen.find(ctx_.epoch);
        if (seen != s.seen.end() && op.count <= seen->second) return;
        unread_bytes_ += op.bytes;
        s.unread.push_back(std::move(op));
    }
    std::size_t unread_bytes() const noexcept { return unread_bytes_; }

    // Every room's unread own entries, in order, handed over (degrading).
    std::vector<std::pair<read_stream*, write_op>> take_unread() {
        std::vector<std::pair<read_stream*, write_op>> out;
        for (auto& [key, s] : streams) {
            for (write_op& op : s.unread) out.emplace_back(&s, std::move(op));
            s.unread.clear();
        }
        unread_bytes_ = 0;
        return out;
    }

    std::vector<target> readable_on(std::size_t instance) const {
        std::vector<target> out;
        for (const auto& [key, s] : streams)
            if (s.readable && s.instance == instance) out.push_back({key, s.cursor, s.generation});
        return out;
    }

    // A stream of XREAD's reply: [key, [entry...]]; entries' text is moved
    // out of it (parse_entry of an rvalue).
    void take(redis_reply& stream, const std::vector<target>& targets, read_result& out) {
        if (!stream.is_array() || stream.elements.size() != 2 || !stream.elements[1].is_array()) return;
        const std::string& key = stream.elements[0].text;
        auto t = std::find_if(targets.begin(), targets.end(), [&](const target& x) { return x.key == key; });
        auto it = streams.find(key);
        if (t == targets.end() || it == streams.end() || it->second.generation != t->generation || !it->second.readable)
            return;
        read_stream& s = it->second;
        if (s.what == read_stream::kind::canary) return take_canary(s, stream.elements[1], out);
        const entry_rules rules{ctx_.max_line, s.what == read_stream::kind::node ? entry_stream::node : entry_stream::room};
        bool gap = false;
        stream_id last; // reading goes on past an entry refused
        for (redis_reply& item : stream.elements[1].elements) {
            stream_id id;
            entry_error why = entry_error::none;
            auto entry = parse_entry(std::move(item), id, rules, &why);
            if (!id.zero()) last = id;
            if (!entry) {
                out.bad.add(key, id, why);
                continue;
            }
            if (!fresh(s, *entry, gap)) continue;
            room_event& e = entry->event;
            e.origin = entry->node == ctx_.node && entry->epoch == ctx_.epoch ? entry->member : 0;
            if (s.what == read_stream::kind::room) e.room = s.name;
            // The entry's id and time, the same on every server (the host's events quote them).
            e.log_id = id.str();
            e.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(id.ms));
            out.events.push_back(std::move(e));
        }
        if (!last.zero()) s.cursor = last.str();
        if (gap) told(s, out);
    }

    // After a reconnect: the stream's oldest and newest entries (XRANGE and
    // XREVRANGE COUNT 1) against where this server is.
    void check_gap(const target& t, const redis_reply& oldest, const redis_reply& newest, read_result& out) {
        auto it = streams.find(t.key);
        if (it == streams.end() || it->second.generation != t.generation || it->second.cursor != t.cursor) return;
        read_stream& s = it->second;
        const auto at = stream_id::parse(s.cursor);
        if (!at || at->zero()) return; // nothing read yet: reading from the start misses nothing
        const auto first = first_id(oldest), last = first_id(newest);
        if (!last) {
            s.cursor = "0-0"; // gone (a Redis without its data): read what comes
        } else if (*last < *at) {
            s.cursor = last->str(); // IDs went back (a failover): entries read here are gone
        } else if (first && *at < *first) {
            stream_id before = *first; // trimmed past: go on from the oldest there
            if (before.seq > 0) --before.seq;
            else {
                --before.ms;
                before.seq = ~std::uint64_t{0};
            }
            s.cursor = before.str();
        } else {
            return;
        }
        if (s.what != read_stream::kind::canary) told(s, out);
    }

    // A stream opened here (the marker's reply: its newest entries, newest
    // first): reading starts after the newest; the counts in them are
    // primed; the chat and action lines among them are a room's history.
    // Nothing when the stream closed or reopened since.
    const read_stream* opened(const std::string& key, std::uint64_t generation, const redis_reply& r,
                              rejections& bad, std::vector<room_event>& history) {
        auto it = streams.find(key);
        if (it == streams.end() || it->second.generation != generation) return nullptr;
        read_stream& s = it->second;
        const bool room = s.what == read_stream::kind::room;
        const entry_rules rules{ctx_.max_line, room ? entry_stream::room : entry_stream::node};
        std::vector<stream_entry> past; // newest first
        for (const redis_reply& item : r.elements) {
            stream_id id;
            entry_error why = entry_error::none;
            if (auto entry = parse_entry(item, id, rules, &why)) past.push_back(std::move(*entry));
            else bad.add(key, id, why);
        }
        s.cursor = "0-0";
        if (!r.elements.empty() && r.elements.front().is_array() && !r.elements.front().elements.empty())
            s.cursor = r.elements.front().elements[0].text;
        s.readable = true;
        for (auto rit = past.rbegin(); rit != past.rend(); ++rit) {
            std::uint64_t& last = s.seen[rit->epoch];
            last = std::max(last, rit->count);
            if (room && (rit->event.kind == room_event_kind::chat || rit->event.kind == room_event_kind::action)) {
                rit->event.origin = 0;
                rit->event.room = s.name;
                history.push_back(std::move(rit->event));
            }
        }
        return &s;
    }

private:
    static std::optional<stream_id> first_id(const redis_reply& r) {
        if (!r.is_array() || r.elements.empty() || !r.elements[0].is_array() || r.elements[0].elements.empty())
            return std::nullopt;
        return stream_id::parse(r.elements[0].elements[0].text);
    }

    // Whether an entry is new here, noting a gap in its writer's counts.
    bool fresh(read_stream& s, const stream_entry& entry, bool& gap) {
        if (entry.count == 0) return true; // not ours to dedupe (no writer count)
        std::uint64_t& last = s.seen[entry.epoch];
        if (entry.count <= last) return false; // sent twice
        const bool own = entry.node == ctx_.node && entry.epoch == ctx_.epoch;
        std::uint64_t between = entry.count - last - 1; // counts skipped
        bool delivered = false;
        if (own) {
            // Those delivered at once here (degraded) were not missed.
            auto from = s.local.upper_bound(last), to = s.local.lower_bound(entry.count);
            between -= std::min<std::uint64_t>(between, static_cast<std::uint64_t>(std::distance(from, to)));
            delivered = s.local.count(entry.count) > 0;
            s.local.erase(s.local.begin(), s.local.upper_bound(entry.count));
            drop_unread(s, entry.count);
        }
        if (last > 0 && between > 0) gap = true;
        last = entry.count;
        return !delivered;
    }

    void take_canary(read_stream& s, const redis_reply& entries, read_result& out) {
        for (const redis_reply& item : entries.elements) {
            if (!item.is_array() || item.elements.size() != 2 || !item.elements[1].is_array()) continue;
            if (auto id = stream_id::parse(item.elements[0].text)) s.cursor = id->str();
            const auto& f = item.elements[1].elements;
            std::string epoch;
            std::uint64_t seq = 0;
            for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
                if (f[i].text == "e") epoch = f[i + 1].text;
                if (f[i].text == "q") parse_decimal(f[i + 1].text, seq);
            }
            if (epoch == ctx_.epoch) out.canaries.emplace_back(s.instance, seq);
        }
    }

    void told(const read_stream& s, read_result& out) {
        if (s.what == read_stream::kind::node) out.private_gap = true;
        else if (std::find(out.missed.begin(), out.missed.end(), s.name) == out.missed.end())
            out.missed.push_back(s.name);
    }

    void drop_unread(read_stream& s, std::uint64_t upto) {
        while (!s.unread.empty() && s.unread.front().count <= upto) {
            unread_bytes_ -= std::min(unread_bytes_, s.unread.front().bytes);
            s.unread.pop_front();
        }
    }

    backplane_context& ctx_;
    std::uint64_t generations_ = 0;
    std::size_t unread_bytes_ = 0;
};

} // namespace chatroom::detail
