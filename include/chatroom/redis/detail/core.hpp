#pragma once

// The Redis Streams backplane: a room log shared by every server of a
// cluster (docs/scale-out.md). The parts, each in its own header:
// - stream_writer (writer.hpp), one per instance: appends, in order, in
//   batches Redis takes whole or up to a fault; nothing is delivered then.
// - stream_reader (reader.hpp), one per instance: reads back the streams of
//   the rooms with local members (stream_catalog, streams.hpp), so every
//   server delivers only what it read back and every member everywhere sees
//   one order per room.
// - cluster_view (cluster_view.hpp): the control link to the home, this
//   server's incarnation, heartbeat, roster and nick claims, and the other
//   servers.
// - redis_link (link.hpp) under each of them: up only after a round trip,
//   faults kept until a command succeeds.
// - backplane_links (links.hpp): those parts, and the link's state
//   (connected, holding, degraded) with the canaries (health.hpp).
// This class answers the room_log calls (under the server's lock), and says
// farewell when the server stops.

#include <chatroom/redis/detail/links.hpp>

#include <asio/steady_timer.hpp>

#include <algorithm>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chatroom::detail {

class redis_backplane_core final : public backplane_links,
                                   public std::enable_shared_from_this<redis_backplane_core> {
public:
    static constexpr std::chrono::seconds rejection_report_interval = rejection_report::interval;
    static constexpr std::chrono::milliseconds farewell_time{1000};

    redis_backplane_core(room_event_sink& sink, redis_options o)
        : backplane_links(sink, std::move(o)), sink_(&sink), farewell_timer_(ex) {}

    const std::string& node_id() const noexcept { return node; }

    void start() {
        weak_ = shared_from_this();
        std::lock_guard<std::mutex> g(mu);
        start_parts();
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
            std::lock_guard<std::mutex> g(mu);
            if (stopping_ || stopped) return;
            stopping_ = true;
            const bool linked = view_.ready() && !degraded_ &&
                                std::all_of(writers_.begin(), writers_.end(), [](const auto& w) { return w->link.up(); });
            if (linked) return say_farewell();
        }
        finish();
    }

    // ---- room_log, under the server's lock -----------------------------------

    void append(room_event& e) {
        std::unique_lock<std::mutex> g(mu);
        if (stopping_ || stopped) return;
        if (e.kind == room_event_kind::private_message) return send_private(e, g);
        const std::string key = keys.room(e.room);
        const std::uint64_t count = ++counts_[key];
        if (!degraded_) return writer_of(key).push(entry_op(key, e, count, node, epoch, e.origin));
        // Degraded: local members hear it now; the cluster when the link is
        // back (unless too much is held), and this server then skips its
        // own copy as one it delivered.
        if (held() < opts.max_held_bytes) writer_of(key).push(entry_op(key, e, count, node, epoch, e.origin));
        auto it = streams_.streams.find(key);
        if (it != streams_.streams.end()) it->second.local.insert(count);
        e.seq = ++local_seq_;
        g.unlock();
        if (sink_) sink_->deliver(e);
    }

    void room_opened(const std::string& name) {
        std::lock_guard<std::mutex> g(mu);
        const std::string key = keys.room(name);
        read_stream& s = streams_.open(key);
        s.name = name;
        s.instance = keys.instance(key, writers_.size());
        s.generation = streams_.next_generation();
        writer_of(key).push(marker(key, s.generation));
    }

    void room_closed(const std::string& name) {
        std::lock_guard<std::mutex> g(mu);
        // A reply about it still on its way finds it gone, or reopened under
        // a new generation, and is ignored.
        streams_.forget(keys.room(name));
    }

    void presence(std::string_view nick, const std::vector<std::string_view>& rooms) {
        std::lock_guard<std::mutex> g(mu);
        if (!stopping_) view_.presence(nick, rooms);
    }
    void gone(std::string_view nick) {
        std::lock_guard<std::mutex> g(mu);
        if (!stopping_) view_.gone(nick); // the farewell forgets them all
    }
    void claim_nick(const std::string& nick, std::function<void(bool)> done) {
        std::unique_lock<std::mutex> g(mu);
        if (stopping_ || stopped) {
            g.unlock();
            return done(false);
        }
        view_.claim(nick, std::move(done));
    }

    bool find_remote(std::string_view nick, remote_member* found) const {
        std::lock_guard<std::mutex> g(mu);
        return view_.find(nick, found);
    }
    void remote_members(std::string_view room, std::vector<std::string>& nicks) const {
        std::lock_guard<std::mutex> g(mu);
        view_.members_in(room, nicks);
    }
    void remote_rooms(std::vector<std::pair<std::string, std::size_t>>& counts) const {
        std::lock_guard<std::mutex> g(mu);
        view_.rooms(counts);
    }
    std::string guest_prefix() const { return "guest-" + node + "-"; }
    bool accepting() const {
        std::lock_guard<std::mutex> g(mu);
        return degraded_ || held() < opts.max_held_bytes;
    }

private:
    void send_private(room_event& e, std::unique_lock<std::mutex>& g) {
        const std::string target = protocol::fold_case(e.target);
        if (view_.local.count(target)) {
            e.seq = ++local_seq_;
            g.unlock();
            if (sink_) sink_->deliver(e);
            return;
        }
        auto it = view_.remote.find(target);
        if (it == view_.remote.end()) return; // gone meanwhile
        const std::string key = keys.node_stream(it->second.node);
        writers_[0]->push(entry_op(key, e, ++counts_[key], node, epoch, e.origin));
    }

    // ---- stopping -------------------------------------------------------------------

    void say_farewell() {
        for (const auto& entry : view_.local) {
            const remote_at& m = entry.second; // a structured binding cannot be captured in C++17
            for_each_room(m.rooms, [&](std::string_view room) {
                room_event e;
                e.kind = room_event_kind::left;
                e.nick = m.nick;
                e.room = std::string(room);
                e.reason = "server shutting down";
                e.left_server = true;
                const std::string key = keys.room(e.room);
                writer_of(key).push(entry_op(key, e, ++counts_[key], node, epoch, 0));
                return true;
            });
        }
        view_.farewell([this] {
            forgotten_ = true;
            farewell_check();
        });
        farewell_timer_.expires_after(farewell_time);
        farewell_timer_.async_wait([w = weak_from_this()](std::error_code ec) {
            if (auto self = w.lock(); self && !ec) self->finish();
        });
    }

    // With mu held: once every leave is in the streams and the server is
    // forgotten, the connections close.
    void written() override {
        if (stopping_) farewell_check();
    }

    void farewell_check() {
        if (!forgotten_) return;
        for (const auto& w : writers_)
            if (!w->idle()) return;
        asio::post(ex, [w = weak_from_this()] {
            if (auto self = w.lock()) self->finish();
        });
    }

    void finish() {
        std::vector<redis_link::connection> ending;
        {
            std::lock_guard<std::mutex> g(mu);
            if (stopped) return;
            stopped = true;
            for (std::size_t i = 0; i < writers_.size(); ++i) {
                ending.push_back(writers_[i]->link.stop());
                ending.push_back(readers_[i]->link.stop());
                writers_[i]->stop();
                readers_[i]->stop();
            }
            ending.push_back(view_.link.stop());
            view_.stop();
            sentinel_.stop();
            view_.claims.refuse_all();
            rejected_.cancel();
            outage_.cancel();
            canary_timer_.cancel();
            farewell_timer_.cancel();
        }
        // Unlocked: closing may complete what was in flight at once, and
        // those handlers take the lock (and then find the core stopped).
        for (auto& c : ending)
            if (c) c->close();
    }

    void with_sink(const std::function<void(room_event_sink&)>& f) override {
        std::shared_lock<std::shared_mutex> g(sink_guard_);
        if (sink_) f(*sink_);
    }

    std::shared_mutex sink_guard_;
    room_event_sink* sink_;
    std::unordered_map<std::string, std::uint64_t> counts_; // this process's entries, per stream key
    asio::steady_timer farewell_timer_;
    bool stopping_ = false;  // saying farewell
    bool forgotten_ = false; // the farewell script ran
};

} // namespace chatroom::detail
