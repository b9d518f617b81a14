#pragma once

// The Redis Streams backplane: a room log shared by every server of a
// cluster (docs/scale-out.md). In short:
// - append() turns an event into a stream entry and queues it on the
//   writer connection of the instance the room hashes to; nothing is
//   delivered then. Each instance's reader connection XREADs the streams of
//   the rooms that have local members, from the last ID it delivered, and
//   hands what it reads to the sink: every server delivers only what it read
//   back, so every member everywhere sees one order per room.
// - An entry is taken off the writer's queue when Redis acknowledges it;
//   after a lost connection the rest is sent again, in order, and readers
//   drop the entries they have seen (by writer epoch and count), so a reply
//   lost in flight never becomes a duplicate.
// - While an instance is unreachable lines are held (bounded: senders wait,
//   see accepting()); past the outage timeout the server is degraded: it
//   delivers at once to its own members and still queues for the cluster.
// - Everything read back is untrusted: each entry passes parse_entry
//   (entry.hpp), which drops what fails its checks and cleans the
//   text, on every path (live reads, history, private messages), and roster
//   names are checked before /who or /rooms shows them. What is dropped is
//   counted (stats().backplane_rejected) and reported at most once per
//   rejection_report_interval.
// - The home instance (the first) holds the nick claims, the liveness keys,
//   each server's roster and private-message stream; a control connection
//   beats the heart, refreshes the view of the other servers and announces
//   the members of a server that died (once: a lock says who does it).
//
// Threading: one mutex guards the state below; it is taken under the
// server's lock (room_log calls) or alone (handlers), never the other way
// round: handlers release it before calling the sink, which takes the
// server's lock.

#include <chatroom/redis/detail/connection.hpp>
#include <chatroom/redis/detail/entry.hpp>
#include <chatroom/redis/detail/scripts.hpp>
#include <chatroom/protocol.hpp>
#include <chatroom/renderer.hpp>
#include <chatroom/redis/options.hpp>
#include <chatroom/room_log.hpp>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chatroom::detail {

// FNV-1a: every server must put a room on the same instance.
inline std::size_t instance_of(std::string_view folded_room, std::size_t instances) noexcept {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : folded_room) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return instances ? static_cast<std::size_t>(h % instances) : 0;
}

inline std::string random_token(std::size_t length) {
    static constexpr char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device rd;
    std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
                        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::uniform_int_distribution<std::size_t> pick(0, sizeof(digits) - 2);
    std::string s;
    for (std::size_t i = 0; i < length; ++i) s += digits[pick(gen)];
    return s;
}


class redis_backplane_core : public std::enable_shared_from_this<redis_backplane_core> {
public:
    using clock = std::chrono::steady_clock;
    using connection = std::shared_ptr<redis_connection>;

    redis_backplane_core(room_event_sink& sink, redis_options o)
        : opts_(std::move(o)), sink_(&sink), ex_(asio::make_strand(sink.executor())),
          heartbeat_timer_(ex_), rejection_timer_(ex_),
          node_(opts_.node_id.empty() ? random_token(8) : opts_.node_id), epoch_(random_token(12)),
          max_line_(sink.max_line_bytes()) {
        if (opts_.instances.empty()) opts_.instances.push_back(redis_endpoint{});
        for (std::size_t i = 0; i < opts_.instances.size(); ++i) shards_.push_back(std::make_unique<shard>(ex_, i));
        node_stream_ = opts_.key_prefix + "node:" + node_;
        down_since_ = clock::now();
    }

    const std::string& node() const noexcept { return node_; }

    void start() {
        std::lock_guard<std::mutex> g(mu_);
        // The private-message stream is read from its end as it is now.
        queue_marker(*shards_[0], node_stream_, 0, {});
        for (auto& s : shards_) {
            connect_writer(*s);
            connect_reader(*s);
        }
        connect_control();
        arm_heartbeat(std::chrono::milliseconds(0));
    }

    // The owner is going: no handler touches the sink after this returns.
    // While the link is up, the cluster hears its members leave ("server
    // shutting down") and this server forgets itself in Redis, within
    // farewell_time; else the others' reaping announces them, as after a crash.
    void stop() {
        {
            std::unique_lock<std::shared_mutex> g(sink_guard_);
            sink_ = nullptr;
        }
        {
            std::lock_guard<std::mutex> g(mu_);
            if (stopping_ || stopped_) return;
            stopping_ = true;
            // A superseded process's members were announced by its successor.
            const bool linked = control_up_ && !degraded_ && !superseded_ &&
                                std::all_of(shards_.begin(), shards_.end(), [](const auto& s) { return s->writer_up; });
            if (linked) return say_farewell();
        }
        finish();
    }

private:
    static constexpr std::chrono::milliseconds farewell_time{1000};

    void say_farewell() {
        for (const auto& [folded, m] : local_) {
            if (m.room.empty()) continue;
            room_event e;
            e.kind = room_event_kind::left;
            e.nick = m.nick;
            e.room = m.room;
            e.reason = "server shutting down";
            const std::string key = room_key(e.room);
            queue_entry(shard_of_key(key), key, e, ++counts_[key]);
        }
        control_->command({"EVAL", redis_scripts::farewell, "0", opts_.key_prefix, node_, epoch_},
                          [w = weak_from_this()](std::error_code, redis_reply) {
                              if (auto self = w.lock()) {
                                  std::lock_guard<std::mutex> g(self->mu_);
                                  self->forgotten_ = true;
                                  self->farewell_check();
                              }
                          });
        farewell_timer_ = std::make_unique<asio::steady_timer>(ex_);
        farewell_timer_->expires_after(farewell_time);
        farewell_timer_->async_wait([w = weak_from_this()](std::error_code ec) {
            if (ec) return;
            if (auto self = w.lock()) self->finish();
        });
    }

    // With mu_ held: once every leave is in the streams and the server is
    // forgotten, the connections close.
    void farewell_check() {
        if (!stopping_ || stopped_ || !forgotten_) return;
        for (const auto& s : shards_)
            if (!s->queue.empty()) return;
        asio::post(ex_, [w = weak_from_this()] {
            if (auto self = w.lock()) self->finish();
        });
    }

    void finish() {
        std::vector<connection> ending;
        std::deque<waiting_claim> undecided;
        {
            std::lock_guard<std::mutex> g(mu_);
            if (stopped_) return;
            stopped_ = true;
            undecided = std::move(claims_);
            claims_.clear();
            for (auto& s : shards_) {
                ending.push_back(std::move(s->writer));
                ending.push_back(std::move(s->reader));
                s->writer_up = s->reader_up = false;
                s->retry.cancel();
            }
            ending.push_back(std::move(control_));
            control_up_ = false;
            heartbeat_timer_.cancel();
            rejection_timer_.cancel();
            if (control_retry_) control_retry_->cancel();
            if (outage_timer_) outage_timer_->cancel();
            if (farewell_timer_) farewell_timer_->cancel();
        }
        // Unlocked: closing may complete what was in flight at once, and
        // those handlers take the lock (and then find the core stopped).
        for (auto& c : ending)
            if (c) c->close();
        for (auto& c : undecided) c.done(false);
    }

public:

    // ---- room_log, under the server's lock -----------------------------------

    void append(room_event& e) {
        std::unique_lock<std::mutex> g(mu_);
        if (stopping_ || stopped_) return;
        if (e.kind == room_event_kind::private_message) return send_private(e, g);
        const std::string key = room_key(e.room);
        shard& s = shard_of_key(key);
        const std::uint64_t count = ++counts_[key];
        if (degraded_) {
            // Local members hear it now; the cluster when the link is back,
            // and this server then drops its own copy as one it has seen.
            auto it = rooms_.find(key);
            if (it != rooms_.end()) it->second.seen[epoch_] = count;
            const bool queued = held_bytes_ < opts_.max_held_bytes;
            if (queued) queue_entry(s, key, e, count);
            g.unlock();
            e.seq = ++local_seq_;
            if (sink_) sink_->deliver(e);
            return;
        }
        queue_entry(s, key, e, count);
    }

    void room_opened(const std::string& name) {
        std::lock_guard<std::mutex> g(mu_);
        const std::string key = room_key(name);
        room_state& r = rooms_[key];
        r.name = name;
        r.open = true;
        r.readable = false;
        r.seen.clear();
        const std::uint64_t generation = r.generation = ++generations_;
        queue_marker(shard_of_key(key), key, generation, name);
    }

    void room_closed(const std::string& name) {
        std::lock_guard<std::mutex> g(mu_);
        auto it = rooms_.find(room_key(name));
        if (it == rooms_.end()) return;
        // A reply about it still on its way finds it gone, or reopened
        // under a new generation, and is ignored.
        rooms_.erase(it);
    }

    void presence(std::string_view nick, std::string_view room) {
        std::lock_guard<std::mutex> g(mu_);
        if (stopping_) return;
        local_[protocol::fold_case(nick)] = local_member{std::string(nick), std::string(room)};
        if (open_for_claims()) control_->command({"HSET", roster_key(), nick, room}, {});
    }

    void gone(std::string_view nick) {
        std::lock_guard<std::mutex> g(mu_);
        if (stopping_) return; // the farewell forgets them all
        const std::string folded = protocol::fold_case(nick);
        local_.erase(folded);
        if (!open_for_claims()) return; // the roster and claims are set right on reconnecting
        control_->command({"HDEL", roster_key(), nick}, {});
        control_->command({"EVAL", redis_scripts::release, "1", nicks_key(), node_, folded}, {});
    }

    // A claim waits for the home's control link (down, just back, or this
    // process still cleaning up after its predecessor), and for a dead
    // holder's leaves to be announced (the script answers 2), up to
    // claim_patience(); it is refused only when another server's member holds
    // the nick, or when that time passes.
    void claim_nick(const std::string& nick, std::function<void(bool)> done) {
        std::unique_lock<std::mutex> g(mu_);
        if (stopping_ || stopped_) {
            g.unlock();
            return done(false);
        }
        claims_.push_back(waiting_claim{protocol::fold_case(nick), std::move(done), clock::now() + claim_patience()});
        if (open_for_claims()) send_claims();
    }

    bool find_remote(std::string_view nick, remote_member* found) const {
        std::lock_guard<std::mutex> g(mu_);
        auto it = remote_.find(protocol::fold_case(nick));
        if (it == remote_.end()) return false;
        if (found) *found = remote_member{it->second.nick, it->second.room};
        return true;
    }

    void remote_members(std::string_view room, std::vector<std::string>& nicks) const {
        std::lock_guard<std::mutex> g(mu_);
        const std::string folded = protocol::fold_case(room);
        for (const auto& [key, m] : remote_)
            if (protocol::fold_case(m.room) == folded) nicks.push_back(m.nick);
    }

    void remote_rooms(std::vector<std::pair<std::string, std::size_t>>& counts) const {
        std::lock_guard<std::mutex> g(mu_);
        std::map<std::string, std::pair<std::string, std::size_t>> by_key;
        for (const auto& [key, m] : remote_) {
            if (m.room.empty()) continue;
            auto& slot = by_key[protocol::fold_case(m.room)];
            if (slot.first.empty()) slot.first = m.room;
            ++slot.second;
        }
        for (auto& [key, v] : by_key) counts.push_back(std::move(v));
    }

    bool accepting() const {
        std::lock_guard<std::mutex> g(mu_);
        return degraded_ || held_bytes_ < opts_.max_held_bytes;
    }

private:
    // Entries (and roster names) read from Redis and refused, with the last
    // one's where and why for the report (never the refused bytes).
    struct rejections {
        std::uint64_t count = 0;
        std::string last;

        void add(std::string what) {
            ++count;
            last = std::move(what);
        }
        void add(const std::string& key, const stream_id& id, entry_error why) {
            add(key + (id.zero() ? std::string() : " " + id.str()) + ": " + to_string(why));
        }
    };

    // Leaves announced for a dead incarnation: when Redis has taken them all,
    // its nicks may be freed.
    struct leave_job {
        std::size_t remaining = 0;
        std::function<void()> then; // called with mu_ not held, from the strand
    };

    // An entry waiting for Redis to take it: an XADD, or a marker (XREVRANGE)
    // that opens a room's reading at the stream's end as it was then.
    struct pending {
        std::vector<std::string> args;
        std::string key;
        std::size_t bytes = 0;
        bool marker = false;
        std::uint64_t generation = 0; // marker: which opening of the room
        std::shared_ptr<leave_job> job; // told when Redis took it
    };

    struct shard {
        shard(const asio::strand<asio::any_io_executor>& ex, std::size_t i) : retry(ex), index(i) {}
        connection writer;
        connection reader;
        std::uint64_t writer_generation = 0;
        std::uint64_t reader_generation = 0;
        bool writer_up = false;
        bool reader_up = false;
        bool reader_was_up = false; // a reconnect checks for trimmed gaps
        bool reading = false;       // an XREAD is in flight
        long long reader_id = -1;   // CLIENT ID, to unblock its XREAD when a room opens
        std::deque<pending> queue;
        std::size_t sent = 0; // entries of queue sent on the current writer
        unsigned failures = 0;
        asio::steady_timer retry;
        std::size_t index;
    };

    struct waiting_claim {
        std::string folded;
        std::function<void(bool)> done;
        clock::time_point deadline;
        bool in_flight = false;
        std::uint64_t id = 0;
    };

    struct room_state {
        std::string name;
        std::string cursor = "0-0"; // the last ID delivered here
        std::uint64_t generation = 0;
        bool open = false;
        bool readable = false; // cursor known
        std::unordered_map<std::string, std::uint64_t> seen; // writer epoch -> last count delivered
    };

    struct local_member {
        std::string nick;
        std::string room;
    };

    // ---- keys -----------------------------------------------------------------

    std::string room_key(std::string_view room) const { return opts_.key_prefix + "room:" + protocol::fold_case(room); }
    std::string roster_key(std::string_view node) const { return opts_.key_prefix + "roster:" + std::string(node); }
    std::string roster_key() const { return roster_key(node_); }
    std::string nicks_key() const { return opts_.key_prefix + "nicks"; }
    shard& shard_of_key(const std::string& key) {
        if (key == node_stream_ || key.rfind(opts_.key_prefix + "node:", 0) == 0) return *shards_[0];
        const std::string_view folded = std::string_view(key).substr(opts_.key_prefix.size() + 5);
        return *shards_[instance_of(folded, shards_.size())];
    }

    // ---- writing ----------------------------------------------------------------

    void queue_entry(shard& s, const std::string& key, const room_event& e, std::uint64_t count) {
        queue_entry(s, key, e, count, node_, epoch_, nullptr);
    }

    // An entry written under another writer's name: a dead incarnation's leaves.
    void queue_entry(shard& s, const std::string& key, const room_event& e, std::uint64_t count,
                     const std::string& node, const std::string& epoch, std::shared_ptr<leave_job> job) {
        pending p;
        p.key = key;
        p.job = std::move(job);
        p.args = {"XADD", key, "MAXLEN", "~", std::to_string(opts_.stream_length), "*"};
        stream_entry entry{e, node, epoch, count, node == node_ && epoch == epoch_ ? e.origin : 0};
        entry.event.node.clear();
        append_fields(p.args, entry);
        for (const auto& a : p.args) p.bytes += a.size();
        held_bytes_ += p.bytes;
        s.queue.push_back(std::move(p));
        pump_soon(s);
    }

    void queue_marker(shard& s, const std::string& key, std::uint64_t generation, const std::string&) {
        pending p;
        p.key = key;
        p.marker = true;
        p.generation = generation;
        p.args = {"XREVRANGE", key, "+", "-", "COUNT", std::to_string(std::max<std::size_t>(1, opts_.replay_entries))};
        s.queue.push_back(std::move(p));
        pump_soon(s);
    }

    void send_private(room_event& e, std::unique_lock<std::mutex>& g) {
        const std::string target = protocol::fold_case(e.target);
        if (local_.count(target)) {
            g.unlock();
            e.seq = ++local_seq_;
            if (sink_) sink_->deliver(e);
            return;
        }
        auto it = remote_.find(target);
        if (it == remote_.end()) return; // gone meanwhile
        const std::string key = opts_.key_prefix + "node:" + it->second.node;
        queue_entry(*shards_[0], key, e, ++counts_[key]);
    }

    // Sends what is queued and unsent, on the writer's strand.
    void pump_soon(shard& s) {
        if (!s.writer_up || s.sent == s.queue.size()) return;
        asio::post(ex_, [w = weak_from_this(), i = s.index] {
            if (auto self = w.lock()) self->pump(*self->shards_[i]);
        });
    }

    void pump(shard& s) {
        std::lock_guard<std::mutex> g(mu_);
        if (stopped_ || !s.writer_up) return;
        while (s.sent < s.queue.size()) {
            const pending& p = s.queue[s.sent++];
            s.writer->command(p.args, [w = weak_from_this(), i = s.index, gen = s.writer_generation](
                                          std::error_code ec, redis_reply r) {
                if (auto self = w.lock()) self->acknowledged(*self->shards_[i], gen, ec, std::move(r));
            });
        }
    }

    void acknowledged(shard& s, std::uint64_t generation, std::error_code ec, redis_reply r) {
        std::unique_lock<std::mutex> g(mu_);
        if (stopped_ || generation != s.writer_generation || ec || s.queue.empty() || s.sent == 0) return;
        pending p = std::move(s.queue.front());
        s.queue.pop_front();
        --s.sent;
        held_bytes_ -= std::min(held_bytes_, p.bytes);
        farewell_check();
        if (r.is_error()) {
            g.unlock();
            report("Redis refused " + p.args[0] + " on " + p.key + ": " + r.text);
            return;
        }
        if (p.job && --p.job->remaining == 0 && p.job->then)
            asio::post(ex_, std::move(p.job->then));
        if (p.marker) opened(s, p, r, g);
    }

    // A room's reading starts after the stream's last entry when it opened
    // here; the entries before it are the joiners' history.
    void opened(shard& s, const pending& p, const redis_reply& r, std::unique_lock<std::mutex>& g) {
        std::vector<stream_entry> past; // newest first
        const entry_rules rules{max_line_, p.key == node_stream_ ? entry_stream::node : entry_stream::room};
        rejections bad;
        if (r.is_array())
            for (const redis_reply& item : r.elements) {
                stream_id id;
                entry_error why = entry_error::none;
                if (auto entry = parse_entry(item, id, rules, &why)) past.push_back(std::move(*entry));
                else bad.add(p.key, id, why);
            }
        rejected(std::move(bad));
        std::string newest = "0-0";
        if (r.is_array() && !r.elements.empty() && r.elements.front().is_array() &&
            !r.elements.front().elements.empty())
            newest = r.elements.front().elements[0].text;
        if (p.key == node_stream_) {
            node_cursor_ = newest;
            node_readable_ = true;
            for (const stream_entry& entry : past) {
                std::uint64_t& last = node_seen_[entry.epoch];
                last = std::max(last, entry.count);
            }
            wake_reader(s);
            return;
        }
        auto it = rooms_.find(p.key);
        if (it == rooms_.end() || it->second.generation != p.generation || !it->second.open) return;
        room_state& room = it->second;
        room.cursor = newest;
        room.readable = true;
        std::vector<room_event> history;
        for (auto rit = past.rbegin(); rit != past.rend(); ++rit) {
            stream_entry& entry = *rit;
            std::uint64_t& last = room.seen[entry.epoch];
            last = std::max(last, entry.count);
            if (entry.event.kind == room_event_kind::chat || entry.event.kind == room_event_kind::action) {
                entry.event.origin = 0;
                entry.event.room = room.name;
                history.push_back(std::move(entry.event));
            }
        }
        const std::string name = room.name;
        wake_reader(s);
        g.unlock();
        if (!history.empty()) replay(name, history);
    }

    // ---- reading ----------------------------------------------------------------

    // A room became readable: a reader blocked in XREAD is unblocked (from
    // the writer's connection), so the new stream is read at once.
    void wake_reader(shard& s) {
        if (s.reading && s.reader_id >= 0 && s.writer_up)
            s.writer->command({"CLIENT", "UNBLOCK", std::to_string(s.reader_id)}, {});
        else read_soon(s);
    }

    void read_soon(shard& s) {
        if (!s.reader_up || s.reading) return;
        asio::post(ex_, [w = weak_from_this(), i = s.index] {
            if (auto self = w.lock()) self->read(*self->shards_[i]);
        });
    }

    struct read_target {
        std::string key;
        std::uint64_t generation;
    };

    void read(shard& s) {
        std::lock_guard<std::mutex> g(mu_);
        if (stopped_ || !s.reader_up || s.reading) return;
        std::vector<std::string> args{"XREAD", "COUNT", std::to_string(opts_.read_count), "BLOCK", "1000", "STREAMS"};
        std::vector<read_target> targets;
        std::vector<std::string> ids;
        if (s.index == 0 && node_readable_) {
            targets.push_back({node_stream_, 0});
            ids.push_back(node_cursor_);
        }
        for (const auto& [key, r] : rooms_) {
            if (!r.readable || &shard_of_key(key) != &s) continue;
            targets.push_back({key, r.generation});
            ids.push_back(r.cursor);
        }
        if (targets.empty()) return; // a room opening calls again
        for (const auto& t : targets) args.push_back(t.key);
        for (auto& id : ids) args.push_back(std::move(id));
        s.reading = true;
        s.reader->command(args,
                          [w = weak_from_this(), i = s.index, gen = s.reader_generation,
                           targets = std::move(targets)](std::error_code ec, redis_reply r) {
                              if (auto self = w.lock()) self->got(*self->shards_[i], gen, targets, ec, std::move(r));
                          },
                          std::chrono::milliseconds(1000) + opts_.command_timeout);
    }

    void got(shard& s, std::uint64_t generation, const std::vector<read_target>& targets, std::error_code ec,
             redis_reply r) {
        std::vector<room_event> events;
        {
            std::lock_guard<std::mutex> g(mu_);
            if (stopped_ || generation != s.reader_generation) return;
            s.reading = false;
            if (ec) return; // the disconnect handler reconnects
            rejections bad;
            if (r.is_array())
                for (const redis_reply& stream : r.elements) take_stream(stream, targets, events, bad);
            rejected(std::move(bad));
            read_soon(s);
        }
        deliver(events);
    }

    void take_stream(const redis_reply& stream, const std::vector<read_target>& targets, std::vector<room_event>& out,
                     rejections& bad) {
        if (!stream.is_array() || stream.elements.size() != 2 || !stream.elements[1].is_array()) return;
        const std::string& key = stream.elements[0].text;
        auto t = std::find_if(targets.begin(), targets.end(), [&](const read_target& x) { return x.key == key; });
        if (t == targets.end()) return;
        const bool private_stream = key == node_stream_;
        room_state* room = nullptr;
        auto* seen = &node_seen_;
        if (!private_stream) {
            auto it = rooms_.find(key);
            if (it == rooms_.end() || it->second.generation != t->generation || !it->second.readable) return;
            room = &it->second;
            seen = &room->seen;
        }
        const entry_rules rules{max_line_, private_stream ? entry_stream::node : entry_stream::room};
        for (const redis_reply& item : stream.elements[1].elements) {
            stream_id id;
            entry_error why = entry_error::none;
            auto entry = parse_entry(item, id, rules, &why);
            if (!id.zero()) { // reading goes on past an entry refused
                const std::string id_text = id.str();
                if (private_stream) node_cursor_ = id_text;
                else room->cursor = id_text;
            }
            if (!entry) {
                bad.add(key, id, why);
                continue;
            }
            std::uint64_t& last = (*seen)[entry->epoch];
            if (entry->count != 0 && entry->count <= last) continue; // sent twice
            last = entry->count;
            room_event& e = entry->event;
            e.origin = entry->node == node_ && entry->epoch == epoch_ ? entry->member : 0;
            if (!private_stream) e.room = room->name;
            e.seq = ++local_seq_;
            out.push_back(std::move(e));
        }
    }

    // ---- connections ------------------------------------------------------------

    redis_connection_options connection_options(std::size_t i) const {
        redis_connection_options o;
        o.host = opts_.instances[i].host;
        o.port = opts_.instances[i].port;
        o.command_timeout = opts_.command_timeout;
        o.connect_timeout = opts_.command_timeout;
        return o;
    }

    // With a password, AUTH goes first and the connection counts as up only
    // once Redis accepted it; a refusal is a failed connection (retried, and
    // reported). Called with mu_ held; then(ok) runs on the strand, unlocked.
    void authenticate(const connection& c, std::function<void(bool)> then) {
        if (opts_.password.empty()) {
            asio::post(ex_, [then = std::move(then)] { then(true); });
            return;
        }
        std::vector<std::string> args{"AUTH"};
        const std::size_t space = opts_.password.find(' ');
        if (space == std::string::npos) args.push_back(opts_.password);
        else {
            args.push_back(opts_.password.substr(0, space));
            args.push_back(opts_.password.substr(space + 1));
        }
        c->command(args, [w = weak_from_this(), then = std::move(then),
                          where = c->options().host + ":" + std::to_string(c->options().port)](std::error_code ec,
                                                                                                redis_reply r) {
            auto self = w.lock();
            if (!self) return;
            if (!ec && r.is_error()) self->report("Redis at " + where + " refused AUTH: " + r.text);
            then(!ec && !r.is_error());
        });
    }

    void connect_writer(shard& s) {
        s.writer = redis_connection::create(ex_, connection_options(s.index));
        const std::uint64_t gen = ++s.writer_generation;
        auto w = weak_from_this();
        s.writer->on_disconnect([w, i = s.index, gen](std::error_code ec) {
            if (auto self = w.lock()) self->writer_lost(*self->shards_[i], gen, ec);
        });
        s.writer->connect([w, i = s.index, gen](std::error_code ec) {
            auto self = w.lock();
            if (!self) return;
            if (ec) return self->writer_lost(*self->shards_[i], gen, ec);
            std::lock_guard<std::mutex> g(self->mu_);
            shard& sh = *self->shards_[i];
            if (self->stopped_ || gen != sh.writer_generation) return;
            self->authenticate(sh.writer, [w, i, gen](bool ok) {
                auto me = w.lock();
                if (!me) return;
                shard& s2 = *me->shards_[i];
                if (!ok) return me->refused(s2, gen, true);
                std::lock_guard<std::mutex> g2(me->mu_);
                if (me->stopped_ || gen != s2.writer_generation) return;
                s2.writer_up = true;
                s2.failures = 0;
                s2.sent = 0;
                me->pump_soon(s2);
                me->link_check();
            });
        });
    }

    // AUTH refused: closed and retried as a lost connection.
    void refused(shard& s, std::uint64_t gen, bool writer) {
        connection c;
        {
            std::lock_guard<std::mutex> g(mu_);
            c = writer ? s.writer : s.reader;
        }
        if (c) c->close();
        if (writer) writer_lost(s, gen, std::make_error_code(std::errc::permission_denied));
        else reader_lost(s, gen, std::make_error_code(std::errc::permission_denied));
    }

    void connect_reader(shard& s) {
        s.reader = redis_connection::create(ex_, connection_options(s.index));
        const std::uint64_t gen = ++s.reader_generation;
        auto w = weak_from_this();
        s.reader->on_disconnect([w, i = s.index, gen](std::error_code ec) {
            if (auto self = w.lock()) self->reader_lost(*self->shards_[i], gen, ec);
        });
        s.reader->connect([w, i = s.index, gen](std::error_code ec) {
            auto self = w.lock();
            if (!self) return;
            if (ec) return self->reader_lost(*self->shards_[i], gen, ec);
            std::lock_guard<std::mutex> g(self->mu_);
            shard& sh = *self->shards_[i];
            if (self->stopped_ || gen != sh.reader_generation) return;
            self->authenticate(sh.reader, [w, i, gen](bool ok) {
                auto me = w.lock();
                if (!me) return;
                shard& s2 = *me->shards_[i];
                if (!ok) return me->refused(s2, gen, false);
                std::lock_guard<std::mutex> g2(me->mu_);
                if (me->stopped_ || gen != s2.reader_generation || !s2.reader) return;
                s2.reader->command({"CLIENT", "ID"}, [w, i, gen](std::error_code ec2, redis_reply r) {
                    if (auto me2 = w.lock()) me2->reader_ready(*me2->shards_[i], gen, ec2, r);
                });
            });
        });
    }

    void reader_ready(shard& s, std::uint64_t gen, std::error_code ec, const redis_reply& r) {
        std::unique_lock<std::mutex> g(mu_);
        if (stopped_ || gen != s.reader_generation || ec) return;
        s.reader_id = r.is_integer() ? r.integer : -1;
        const bool resumed = s.reader_was_up;
        s.reader_up = s.reader_was_up = true;
        s.failures = 0;
        if (!resumed) {
            read_soon(s);
            link_check();
            return;
        }
        // Back after a lost connection: a stream trimmed past where this
        // server had read lost events for its members, who are told.
        std::vector<std::pair<std::string, std::string>> check; // key, cursor
        for (const auto& [key, room] : rooms_)
            if (room.readable && &shard_of_key(key) == &s && room.cursor != "0-0") check.emplace_back(key, room.cursor);
        s.reading = true; // the XRANGEs go first, then reading resumes
        auto remaining = std::make_shared<std::size_t>(check.size());
        auto finish = [w = weak_from_this(), i = s.index, gen] {
            if (auto self = w.lock()) {
                std::lock_guard<std::mutex> g2(self->mu_);
                shard& sh = *self->shards_[i];
                if (gen != sh.reader_generation) return;
                sh.reading = false;
                self->read_soon(sh);
            }
        };
        if (check.empty()) {
            s.reading = false;
            read_soon(s);
        }
        for (auto& [key, cursor] : check) {
            s.reader->command({"XRANGE", key, "-", "+", "COUNT", "1"},
                              [w = weak_from_this(), key = key, cursor = cursor, remaining, finish](std::error_code e2,
                                                                                                  redis_reply first) {
                                  auto self = w.lock();
                                  if (!self) return;
                                  if (!e2) self->check_gap(key, cursor, first);
                                  if (--*remaining == 0) finish();
                              });
        }
        link_check();
    }

    void check_gap(const std::string& key, const std::string& cursor, const redis_reply& first) {
        std::string room_name;
        {
            std::lock_guard<std::mutex> g(mu_);
            auto it = rooms_.find(key);
            if (it == rooms_.end() || !it->second.readable || it->second.cursor != cursor) return;
            const auto at = stream_id::parse(cursor);
            std::optional<stream_id> oldest;
            if (first.is_array() && !first.elements.empty() && first.elements[0].is_array() &&
                !first.elements[0].elements.empty())
                oldest = stream_id::parse(first.elements[0].elements[0].text);
            // Gone entirely (a Redis without persistence restarted), or its
            // oldest entry is past the next one this server would read.
            const bool gap = at && (!oldest || *at < *oldest);
            if (!gap) return;
            room_name = it->second.name;
            // Reading goes on from what is there now.
            if (oldest) {
                stream_id before = *oldest;
                if (before.seq > 0) --before.seq;
                else if (before.ms > 0) {
                    --before.ms;
                    before.seq = ~std::uint64_t{0};
                }
                it->second.cursor = before.str();
            } else {
                it->second.cursor = "0-0";
            }
        }
        std::shared_lock<std::shared_mutex> g(sink_guard_);
        if (sink_) sink_->missed(room_name);
    }

    void writer_lost(shard& s, std::uint64_t gen, std::error_code ec) {
        std::lock_guard<std::mutex> g(mu_);
        if (stopped_ || gen != s.writer_generation) return;
        if (s.writer_up) note("lost the Redis connection to " + where(s) + ": " + describe(ec, s.writer));
        s.writer_up = false;
        s.sent = 0;
        s.writer.reset();
        link_check();
        retry_later(s);
    }

    void reader_lost(shard& s, std::uint64_t gen, std::error_code ec) {
        std::lock_guard<std::mutex> g(mu_);
        if (stopped_ || gen != s.reader_generation) return;
        (void)ec;
        s.reader_up = false;
        s.reading = false;
        s.reader.reset();
        link_check();
        retry_later(s);
    }

    // Reconnects with exponential backoff (100 ms doubling to 2 s) and jitter,
    // so a cluster coming back does not reconnect in lockstep.
    void retry_later(shard& s) {
        ++s.failures;
        const auto base = std::min<long long>(2000, 100LL << std::min(s.failures - 1, 5u));
        std::uniform_int_distribution<long long> jitter(base / 2, base);
        s.retry.expires_after(std::chrono::milliseconds(jitter(rng_)));
        s.retry.async_wait([w = weak_from_this(), i = s.index](std::error_code ec) {
            if (ec) return;
            auto self = w.lock();
            if (!self) return;
            std::lock_guard<std::mutex> g(self->mu_);
            shard& sh = *self->shards_[i];
            if (self->stopped_) return;
            if (!sh.writer) self->connect_writer(sh);
            if (!sh.reader) self->connect_reader(sh);
        });
    }

    // ---- the link's state -------------------------------------------------------

    // Called with mu_ held whenever a connection comes or goes.
    void link_check() {
        const bool all_up = !superseded_ && std::all_of(shards_.begin(), shards_.end(),
                                                        [](const auto& s) { return s->writer_up && s->reader_up; });
        const auto now = clock::now();
        if (all_up) {
            if (state_ == backplane_state::connected) return;
            const bool was_degraded = degraded_;
            degraded_ = false;
            outage_timer_.reset();
            set_state(backplane_state::connected, was_degraded ? std::string(replies::cluster_restored) : std::string());
            return;
        }
        if (state_ == backplane_state::connected || state_ == backplane_state::none) {
            down_since_ = now;
            set_state(backplane_state::holding, {});
        }
        if (!degraded_ && !outage_timer_) {
            outage_timer_ = std::make_unique<asio::steady_timer>(ex_);
            outage_timer_->expires_at(down_since_ + opts_.outage_timeout);
            outage_timer_->async_wait([w = weak_from_this()](std::error_code ec) {
                if (ec) return;
                if (auto self = w.lock()) self->outage_expired();
            });
        }
    }

    void outage_expired() {
        std::vector<room_event> held;
        {
            std::lock_guard<std::mutex> g(mu_);
            if (stopped_ || state_ == backplane_state::connected || degraded_) return;
            degraded_ = true;
            // What local members said while it was held, they hear now; the
            // cluster hears it when the link is back.
            for (auto& s : shards_)
                for (const pending& p : s->queue) {
                    if (p.marker || p.key == node_stream_ || p.key.rfind(opts_.key_prefix + "node:", 0) == 0) continue;
                    auto room = rooms_.find(p.key);
                    std::vector<entry_field> fields;
                    for (std::size_t i = 7; i < p.args.size(); i += 2) fields.emplace_back(p.args[i - 1], p.args[i]);
                    // As a reader would get it (what fails here fails there too).
                    auto entry = decode_entry(fields, entry_rules{max_line_, entry_stream::room});
                    if (!entry || room == rooms_.end() || !room->second.open) continue;
                    room->second.seen[epoch_] = std::max(room->second.seen[epoch_], entry->count);
                    entry->event.origin = entry->member;
                    entry->event.seq = ++local_seq_;
                    held.push_back(std::move(entry->event));
                }
            set_state(backplane_state::degraded, std::string(replies::cluster_degraded));
        }
        deliver(held);
    }

    // With mu_ held; the sink is told from the strand, unlocked.
    void set_state(backplane_state state, std::string notice) {
        state_ = state;
        asio::post(ex_, [w = weak_from_this(), state, notice = std::move(notice)]() mutable {
            auto self = w.lock();
            if (!self) return;
            std::shared_lock<std::shared_mutex> g(self->sink_guard_);
            if (self->sink_) self->sink_->link_changed(state, std::move(notice));
        });
    }

    // ---- the control connection: heartbeat, view, reaping ------------------------

    void connect_control() {
        control_ = redis_connection::create(ex_, connection_options(0));
        const std::uint64_t gen = ++control_generation_;
        auto w = weak_from_this();
        control_->on_disconnect([w, gen](std::error_code) {
            if (auto self = w.lock()) self->control_lost(gen);
        });
        control_->connect([w, gen](std::error_code ec) {
            auto self = w.lock();
            if (!self) return;
            if (ec) return self->control_lost(gen);
            std::lock_guard<std::mutex> g(self->mu_);
            if (self->stopped_ || gen != self->control_generation_) return;
            self->authenticate(self->control_, [w, gen](bool ok) {
                auto me = w.lock();
                if (!me) return;
                std::unique_lock<std::mutex> g2(me->mu_);
                if (me->stopped_ || gen != me->control_generation_ || !me->control_) return;
                if (!ok) {
                    connection c = me->control_;
                    g2.unlock();
                    c->close();
                    return me->control_lost(gen);
                }
                me->control_up_ = true;
                me->control_up_since_ = clock::now();
                // Registered and alive before any claim of this server's is
                // judged (commands on one connection run in order): a claim
                // against a server not yet alive would steal its nicks.
                if (!me->registered_) return me->send_takeover();
                me->send_beat();
                if (!me->cleanup_.done) return me->end_cleanup();
                me->republish();
                me->send_claims();
            });
        });
    }

    void control_lost(std::uint64_t gen) {
        std::lock_guard<std::mutex> g(mu_);
        if (stopped_ || gen != control_generation_) return;
        control_up_ = false;
        control_.reset();
        // Claims in flight on it are asked again on the next connection.
        for (auto& c : claims_) c.in_flight = false;
        control_retry_ = std::make_unique<asio::steady_timer>(ex_);
        std::uniform_int_distribution<int> jitter(100, 500);
        control_retry_->expires_after(std::chrono::milliseconds(jitter(rng_)));
        control_retry_->async_wait([w = weak_from_this()](std::error_code ec) {
            if (ec) return;
            if (auto self = w.lock()) {
                std::lock_guard<std::mutex> g2(self->mu_);
                if (!self->stopped_ && !self->control_) self->connect_control();
            }
        });
    }

    // After (re)connecting, or being taken for dead: this server's roster
    // anew, and its members' nicks claimed again (a clash, from a claim made
    // while this server was away, is reported).
    void republish() {
        std::vector<std::string> roster{"EVAL", std::string(redis_scripts::publish_roster), "0", opts_.key_prefix, node_};
        for (const auto& [folded, m] : local_) {
            roster.push_back(m.nick);
            roster.push_back(m.room);
        }
        control_->command(roster, {});
        for (const auto& [folded, m] : local_) {
            if (m.nick.rfind(guest_prefix(), 0) == 0) continue;
            control_->command({"EVAL", redis_scripts::claim, "1", nicks_key(), folded, node_, opts_.key_prefix},
                              [w = weak_from_this(), nick = m.nick](std::error_code ec, redis_reply r) {
                                  if (ec || !r.is_integer() || r.integer == 1) return;
                                  if (auto self = w.lock())
                                      self->report("nick " + nick + " was claimed by another server while this one "
                                                                    "was away; both now hold it");
                              });
        }
    }

public:
    std::string guest_prefix() const { return "guest-" + node_ + "-"; }

private:
    void arm_heartbeat(std::chrono::milliseconds after) {
        heartbeat_timer_.expires_after(after);
        heartbeat_timer_.async_wait([w = weak_from_this()](std::error_code ec) {
            if (ec) return;
            if (auto self = w.lock()) self->beat();
        });
    }

    void beat() {
        std::vector<std::function<void(bool)>> refused;
        {
            std::lock_guard<std::mutex> g(mu_);
            if (stopped_) return;
            arm_heartbeat(opts_.heartbeat);
            if (control_up_ && registered_) send_beat();
            // Claims past their patience are refused; the others asked again.
            const auto now = clock::now();
            for (auto it = claims_.begin(); it != claims_.end();) {
                if (!it->in_flight && now >= it->deadline) {
                    refused.push_back(std::move(it->done));
                    it = claims_.erase(it);
                } else {
                    ++it;
                }
            }
            if (open_for_claims()) send_claims();
        }
        for (auto& done : refused) done(false);
    }

    // ---- this process's incarnation and its predecessor's members ------------------

    bool open_for_claims() const noexcept { return control_up_ && registered_ && cleanup_.done && !superseded_; }

    std::chrono::milliseconds claim_patience() const {
        return std::max(opts_.outage_timeout, opts_.node_ttl + 4 * opts_.heartbeat);
    }
    std::chrono::milliseconds reap_lock_time() const {
        return std::max<std::chrono::milliseconds>(std::chrono::milliseconds(5000), 10 * opts_.node_ttl);
    }

    // With mu_ held, the control link up and open: every waiting claim not
    // already on its way is asked.
    void send_claims() {
        for (auto& c : claims_) {
            if (c.in_flight) continue;
            c.in_flight = true;
            control_->command({"EVAL", redis_scripts::claim, "1", nicks_key(), c.folded, node_, opts_.key_prefix},
                              [w = weak_from_this(), id = c.id = ++claim_ids_](std::error_code ec, redis_reply r) {
                                  if (auto self = w.lock()) self->claim_answered(id, ec, r);
                              });
        }
    }

    void claim_answered(std::uint64_t id, std::error_code ec, const redis_reply& r) {
        std::function<void(bool)> done;
        bool won = false;
        {
            std::lock_guard<std::mutex> g(mu_);
            auto it = std::find_if(claims_.begin(), claims_.end(), [id](const waiting_claim& c) { return c.id == id; });
            if (it == claims_.end()) return;
            it->in_flight = false;
            // No answer, an error reply, or "not yet": asked again at the next
            // heartbeat (or connection), until its patience runs out.
            if (ec || !r.is_integer() || r.integer == 2) return;
            won = r.integer == 1;
            done = std::move(it->done);
            claims_.erase(it);
        }
        done(won);
    }

    // The first command on the control link: this incarnation registers, and
    // learns whether an earlier one of its node id left members behind.
    void send_takeover() {
        control_->command({"EVAL", redis_scripts::takeover, "0", opts_.key_prefix, node_, epoch_,
                           std::to_string(opts_.node_ttl.count()), std::to_string(reap_lock_time().count())},
                          [w = weak_from_this(), gen = control_generation_](std::error_code ec, redis_reply r) {
                              if (auto self = w.lock()) self->taken_over(gen, ec, r);
                          });
    }

    void taken_over(std::uint64_t gen, std::error_code ec, const redis_reply& r) {
        std::lock_guard<std::mutex> g(mu_);
        if (stopped_ || gen != control_generation_ || registered_) return;
        if (ec || !r.is_array() || r.elements.empty() || !r.elements[0].is_string()) {
            if (!ec) report("Redis refused this server's registration: " + r.text);
            return; // asked again on the next connection
        }
        registered_ = true;
        send_beat();
        const std::string old_epoch = r.elements[0].text;
        if (old_epoch.empty() || r.elements.size() < 2) {
            cleanup_.done = true;
            republish();
            send_claims();
            return;
        }
        note("an earlier process of node " + node_ + " did not stop cleanly: its " +
             std::to_string(r.elements[1].elements.size() / 2) + " members leave");
        cleanup_.dead_epoch = old_epoch;
        cleanup_.job = announce_leaves(node_, old_epoch, r.elements[1], [w = weak_from_this()] {
            if (auto self = w.lock()) self->end_cleanup_locked();
        });
        if (!cleanup_.job) end_cleanup();
    }

    void end_cleanup_locked() {
        std::lock_guard<std::mutex> g(mu_);
        end_cleanup();
    }

    // With mu_ held: the predecessor's leaves are in the streams; its nicks
    // and roster go, then this server's own roster and claims.
    void end_cleanup() {
        if (stopped_ || cleanup_.done || !control_up_ || (cleanup_.job && cleanup_.job->remaining > 0)) return;
        control_->command({"EVAL", redis_scripts::reap_end, "0", opts_.key_prefix, node_, cleanup_.dead_epoch, node_,
                           epoch_},
                          [w = weak_from_this(), gen = control_generation_](std::error_code ec, redis_reply) {
                              auto self = w.lock();
                              if (!self) return;
                              std::lock_guard<std::mutex> g(self->mu_);
                              if (self->stopped_ || gen != self->control_generation_ || ec || self->cleanup_.done) return;
                              self->cleanup_.done = true;
                              self->republish();
                              self->send_claims();
                          });
    }

    // Queues one "left (server lost)" entry per member of a dead incarnation
    // that was in a room, with the given roster (nick, room, ...). The
    // entries are the same whoever writes them (the dead epoch, marked, and
    // a count per room by folded nick), so when a survivor and the node's
    // successor both announce, readers drop the second copy. Returns the job
    // whose acknowledgements call then(), or nothing when no room hears of it.
    std::shared_ptr<leave_job> announce_leaves(const std::string& dead, const std::string& dead_epoch,
                                               const redis_reply& roster, std::function<void()> then) {
        std::map<std::string, std::map<std::string, std::pair<std::string, std::string>>> by_room; // key -> folded -> nick, room
        for (std::size_t k = 0; k + 1 < roster.elements.size(); k += 2) {
            const std::string& nick = roster.elements[k].text;
            const std::string& room = roster.elements[k + 1].text;
            // Names that fail the checks were refused (and counted) in the view.
            if (!valid_roster_entry(nick, room)) continue;
            remote_.erase(protocol::fold_case(nick));
            if (room.empty()) continue;
            by_room[room_key(room)][protocol::fold_case(nick)] = {nick, room};
        }
        if (by_room.empty()) return nullptr;
        auto job = std::make_shared<leave_job>();
        job->then = std::move(then);
        const std::string epoch = leave_epoch(dead_epoch);
        for (const auto& [key, members] : by_room) {
            std::uint64_t count = 0;
            for (const auto& [folded, who] : members) {
                room_event e;
                e.kind = room_event_kind::left;
                e.nick = who.first;
                e.room = who.second;
                e.reason = "server lost";
                ++job->remaining;
                queue_entry(shard_of_key(key), key, e, ++count, dead, epoch, job);
            }
        }
        return job;
    }

    // The epoch the leaves of a dead incarnation are written under.
    static std::string leave_epoch(const std::string& dead_epoch) { return dead_epoch + ".gone"; }

    void send_beat() {
        control_->command({"EVAL", redis_scripts::beat, "0", opts_.key_prefix, node_, epoch_,
                           std::to_string(opts_.node_ttl.count())},
                          [w = weak_from_this(), gen = control_generation_](std::error_code ec, redis_reply r) {
                              if (auto self = w.lock()) self->viewed(gen, ec, r);
                          });
    }

    // The heartbeat's answer: the other servers, alive or not, and rosters.
    void viewed(std::uint64_t gen, std::error_code ec, const redis_reply& r) {
        std::lock_guard<std::mutex> g(mu_);
        if (stopped_ || gen != control_generation_ || ec || !r.is_array() || r.elements.empty()) return;
        const auto now = clock::now();
        if (r.elements[0].integer == 2) {
            if (!superseded_)
                report("another process registered as node " + node_ +
                       " (a second server with this --node-id, or this one's successor): this one leaves the cluster");
            superseded_ = true;
            link_check();
            return;
        }
        if (r.elements[0].integer == 1 && beats_ > 0) {
            note("this server was taken for dead by the cluster (no heartbeat for " +
                 std::to_string(opts_.node_ttl.count()) + " ms); its roster is published again");
            republish();
        }
        ++beats_;
        std::unordered_map<std::string, remote_entry> view;
        std::set<std::string> missing;
        // Names that /who and /rooms would show are checked like entries;
        // one that stays in Redis is counted once, not at every heartbeat.
        rejections bad;
        std::set<std::string> bad_now;
        auto refuse = [&](const std::string& id, const std::string& nick, const std::string& room, std::string why) {
            std::string key = id + '\n' + nick + '\n' + room;
            if (!bad_roster_.count(key)) bad.add(std::move(why));
            bad_now.insert(std::move(key));
        };
        for (std::size_t i = 1; i + 2 < r.elements.size(); i += 3) {
            const std::string& id = r.elements[i].text;
            const bool alive = r.elements[i + 1].integer == 1;
            const redis_reply& roster = r.elements[i + 2];
            if (!protocol::is_valid_name(id)) {
                refuse(id, {}, {}, opts_.key_prefix + "nodes: a server id that is not a valid name");
                continue;
            }
            if (!alive) {
                missing.insert(id);
                continue;
            }
            for (std::size_t k = 0; k + 1 < roster.elements.size(); k += 2) {
                const std::string& nick = roster.elements[k].text;
                const std::string& room = roster.elements[k + 1].text;
                if (!valid_roster_entry(nick, room)) {
                    refuse(id, nick, room, roster_key(id) + ": a nick or room that is not a valid name");
                    continue;
                }
                view[protocol::fold_case(nick)] = remote_entry{nick, room, id};
            }
        }
        bad_roster_ = std::move(bad_now);
        rejected(std::move(bad));
        remote_ = std::move(view);
        // Dead: missing from two views a heartbeat apart, with this server's
        // own link up for longer than a heartbeat key lives (after Redis
        // itself paused, every key may be stale at once).
        const bool trusted = now - control_up_since_ > opts_.node_ttl + opts_.heartbeat;
        for (const std::string& id : missing)
            if (trusted && suspects_.count(id)) reap(id);
        suspects_ = std::move(missing);
    }

    void reap(const std::string& dead) {
        if (reaping_.count(dead)) return; // this server is at it
        reaping_.insert(dead);
        control_->command({"EVAL", redis_scripts::reap_begin, "0", opts_.key_prefix, dead, node_, epoch_,
                           std::to_string(reap_lock_time().count())},
                          [w = weak_from_this(), dead](std::error_code ec, redis_reply r) {
                              auto self = w.lock();
                              if (!self) return;
                              if (ec || !r.is_array() || r.elements.size() < 2 || !r.elements[0].is_string()) {
                                  std::lock_guard<std::mutex> g(self->mu_);
                                  self->reaping_.erase(dead);
                                  return;
                              }
                              self->reaped(dead, r.elements[0].text, r.elements[1]);
                          });
    }

    // This server won the lock: it tells every room of the dead server that
    // its members left, through the rooms' streams, so everyone hears it once;
    // once those leaves are in Redis, the dead server's nicks are freed.
    void reaped(const std::string& dead, const std::string& dead_epoch, const redis_reply& roster) {
        std::lock_guard<std::mutex> g(mu_);
        if (stopped_) return;
        note("server " + dead + " is gone: its " + std::to_string(roster.elements.size() / 2) + " members leave");
        auto end = [w = weak_from_this(), dead, dead_epoch] {
            auto self = w.lock();
            if (!self) return;
            std::lock_guard<std::mutex> g2(self->mu_);
            self->end_reap(dead, dead_epoch);
        };
        if (!announce_leaves(dead, dead_epoch, roster, end)) end_reap(dead, dead_epoch);
    }

    // With mu_ held. When the control link is down now, the lock runs out
    // and the dead server is reaped again (its leaves are then dropped as
    // seen).
    void end_reap(const std::string& dead, const std::string& dead_epoch) {
        reaping_.erase(dead);
        if (stopped_ || !control_up_) return;
        control_->command({"EVAL", redis_scripts::reap_end, "0", opts_.key_prefix, dead, dead_epoch, node_, epoch_},
                          {});
    }

    // ---- what fails the checks -------------------------------------------------------

    // With mu_ held or not: counted in the server's stats, and reported
    // from the strand, unlocked.
    void rejected(rejections r) {
        if (r.count == 0) return;
        asio::post(ex_, [w = weak_from_this(), r = std::move(r)]() mutable {
            if (auto self = w.lock()) self->count_rejected(std::move(r));
        });
    }

    // The first refusal is reported at once; the ones after it, together,
    // one rejection_report_interval after the last report.
    void count_rejected(rejections r) {
        {
            std::shared_lock<std::shared_mutex> g(sink_guard_);
            if (sink_) sink_->rejected_entries(r.count);
        }
        std::string text;
        {
            std::lock_guard<std::mutex> g(mu_);
            if (stopped_) return;
            unreported_rejections_ += r.count;
            last_rejection_ = std::move(r.last);
            if (rejection_timer_armed_) return;
            const auto now = clock::now();
            if (now < next_rejection_report_) {
                rejection_timer_armed_ = true;
                rejection_timer_.expires_at(next_rejection_report_);
                rejection_timer_.async_wait([w = weak_from_this()](std::error_code ec) {
                    if (ec) return;
                    if (auto self = w.lock()) self->report_rejections();
                });
                return;
            }
            text = take_rejection_report(now);
        }
        report(std::move(text));
    }

    void report_rejections() {
        std::string text;
        {
            std::lock_guard<std::mutex> g(mu_);
            rejection_timer_armed_ = false;
            if (stopped_ || unreported_rejections_ == 0) return;
            text = take_rejection_report(clock::now());
        }
        report(std::move(text));
    }

    // With mu_ held.
    std::string take_rejection_report(clock::time_point now) {
        const std::uint64_t n = std::exchange(unreported_rejections_, 0);
        std::string text = "dropped " + std::to_string(n) + (n == 1 ? " entry" : " entries") +
                           " read from Redis that failed validation" +
                           (reported_rejections_ ? " since the last report" : "") + " (the last: " + last_rejection_ +
                           ")";
        reported_rejections_ = true;
        next_rejection_report_ = now + rejection_report_interval;
        return text;
    }

    // ---- to the sink ------------------------------------------------------------

    void deliver(const std::vector<room_event>& events) {
        if (events.empty()) return;
        std::shared_lock<std::shared_mutex> g(sink_guard_);
        if (sink_) sink_->deliver_ordered(events);
    }

    void replay(const std::string& room, const std::vector<room_event>& past) {
        std::shared_lock<std::shared_mutex> g(sink_guard_);
        if (sink_) sink_->replay(room, past);
    }

    // Called with mu_ held: the report goes out from the strand.
    void note(std::string text) {
        asio::post(ex_, [w = weak_from_this(), text = std::move(text)]() mutable {
            if (auto self = w.lock()) self->report(std::move(text));
        });
    }

    void report(std::string text) {
        std::shared_lock<std::shared_mutex> g(sink_guard_);
        if (sink_) sink_->report(std::move(text));
    }

    static std::string describe(std::error_code ec, const connection& c) {
        std::string text = ec.message();
        if (c && !c->error_message().empty() && c->error_message() != text) text += " (" + c->error_message() + ")";
        return text;
    }
    std::string where(const shard& s) const {
        return opts_.instances[s.index].host + ":" + std::to_string(opts_.instances[s.index].port);
    }

    struct remote_entry {
        std::string nick;
        std::string room;
        std::string node;
    };

public:
    static constexpr std::chrono::seconds rejection_report_interval{10};

private:
    redis_options opts_;
    mutable std::mutex mu_;
    std::shared_mutex sink_guard_;
    room_event_sink* sink_;
    asio::strand<asio::any_io_executor> ex_;
    asio::steady_timer heartbeat_timer_;
    asio::steady_timer rejection_timer_;
    std::unique_ptr<asio::steady_timer> outage_timer_;
    std::unique_ptr<asio::steady_timer> control_retry_;
    const std::string node_;
    const std::string epoch_;
    const std::size_t max_line_; // the server's: no line read back is longer
    std::string node_stream_;
    std::string node_cursor_ = "0-0";
    bool node_readable_ = false;
    std::vector<std::unique_ptr<shard>> shards_;
    std::unordered_map<std::string, room_state> rooms_;           // open here, by stream key
    std::uint64_t generations_ = 0;                                // openings of rooms, numbered
    std::unordered_map<std::string, std::uint64_t> node_seen_;    // private stream: epoch -> last count
    std::unordered_map<std::string, std::uint64_t> counts_;       // this epoch's entries, per stream key
    std::unordered_map<std::string, local_member> local_;         // by folded nick
    std::unordered_map<std::string, remote_entry> remote_;        // by folded nick
    std::set<std::string> suspects_;                              // servers missing from the last view
    std::set<std::string> reaping_;                               // dead servers this one is announcing
    std::deque<waiting_claim> claims_;                            // nick claims not yet decided
    std::uint64_t claim_ids_ = 0;
    bool registered_ = false;  // the takeover script ran: this incarnation is the node's
    bool superseded_ = false;  // another incarnation registered under this node id since
    struct {
        bool done = false;            // the predecessor's leaves are in, its nicks freed
        std::string dead_epoch;
        std::shared_ptr<leave_job> job;
    } cleanup_;
    std::set<std::string> bad_roster_;                            // refused in the last view: counted once
    std::uint64_t unreported_rejections_ = 0;
    std::string last_rejection_;
    bool reported_rejections_ = false;
    bool rejection_timer_armed_ = false;
    clock::time_point next_rejection_report_{};
    connection control_;
    std::uint64_t control_generation_ = 0;
    bool control_up_ = false;
    clock::time_point control_up_since_{};
    std::uint64_t beats_ = 0;
    std::size_t held_bytes_ = 0;
    std::uint64_t local_seq_ = 0;
    backplane_state state_ = backplane_state::none;
    bool degraded_ = false;
    clock::time_point down_since_{};
    bool stopping_ = false;  // saying farewell
    bool forgotten_ = false; // the farewell script ran
    bool stopped_ = false;   // connections closed
    std::unique_ptr<asio::steady_timer> farewell_timer_;
    std::mt19937 rng_{std::random_device{}()};
};

} // namespace chatroom::detail
