#pragma once

// The parts of the backplane and the state of their links (the base of
// redis_backplane_core, core.hpp): one writer and one reader per instance,
// the streams read, the cluster view on the home, the canaries; what Redis
// ran and what was read is handed on here, and the link's state decided:
//
// - Connected: every link healthy (a command round trip succeeded and no
//   error reply since), this incarnation registered and cleaned up after its
//   predecessor, every canary back.
// - Holding, from the first thing that is not: lines wait. The outage clock
//   starts then, and only a return to connected stops it.
// - Degraded, after outage_timeout, or at once for a fault that does not
//   pass by itself (health.hpp): local members hear each other at once, are
//   told, and the server heals by itself once everything is healthy again.
// Called with mu held.

#include <chatroom/redis/detail/health.hpp>
#include <chatroom/redis/detail/reader.hpp>
#include <chatroom/redis/detail/sentinel.hpp>

#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace chatroom::detail {

class backplane_links : public backplane_context {
public:
    backplane_links(room_event_sink& sink, redis_options o)
        : backplane_context(std::move(o), sink.executor(), sink.max_line_bytes()), rejected_(*this), streams_(*this),
          view_(*this, rejected_), canaries_(*this), sentinel_(*this), outage_(ex), canary_timer_(ex) {
        for (std::size_t i = 0; i < opts.instances.size(); ++i) {
            writers_.push_back(std::make_unique<stream_writer>(*this, i));
            readers_.push_back(std::make_unique<stream_reader>(*this, i, streams_));
            writers_[i]->on_done = [this, i](write_op& op, redis_reply& r) { done(i, op, r); };
            readers_[i]->on_read = [this, i](read_result& r) { read(i, r); };
        }
        view_.write = [this](write_op op) { writer_of(op.key).push(std::move(op)); };
        if (!sentinel()) return;
        // Through Sentinel: each link asks where its instance is now, and a
        // replica found there (a failover not heard of yet) asks again.
        for (std::size_t i = 0; i < writers_.size(); ++i)
            for (redis_link* l : links_of(i)) {
                l->address = [this, i] { return sentinel_.address(i); };
                l->on_replica = [this, i] { sentinel_.resolve(i); };
            }
        sentinel_.on_moved = [this](std::size_t i, const std::string& why) {
            for (redis_link* l : links_of(i)) l->restart(why);
        };
    }

protected:
    // With mu held: an entry was written (the farewell waits for the last).
    virtual void written() {}

    std::vector<redis_link*> links_of(std::size_t i) {
        std::vector<redis_link*> out{&writers_[i]->link, &readers_[i]->link};
        if (i == 0) out.push_back(&view_.link);
        return out;
    }

    // With mu held: every connection starts.
    void start_parts() {
        down_since_ = clock::now();
        arm_outage();
        if (sentinel()) sentinel_.start();
        // The private-message stream is read from its end as it is now; each
        // canary from its start (older ones are another process's).
        read_stream& private_stream = streams_.streams[keys.node_stream()];
        private_stream.what = read_stream::kind::node;
        writers_[0]->push(marker(keys.node_stream(), 0));
        for (std::size_t i = 0; i < writers_.size(); ++i) {
            read_stream& c = streams_.streams[keys.canary(i)];
            c.what = read_stream::kind::canary;
            c.instance = i;
            c.readable = true;
            writers_[i]->link.start();
            readers_[i]->link.start();
        }
        view_.start();
        arm_canary(std::chrono::milliseconds(0));
    }

    stream_writer& writer_of(const std::string& key) { return *writers_[keys.instance(key, writers_.size())]; }
    std::size_t held() const {
        std::size_t n = 0;
        for (const auto& w : writers_) n += w->held_bytes();
        return n + streams_.unread_bytes();
    }
    static write_op marker(std::string key, std::uint64_t generation) {
        write_op op;
        op.what = write_op::kind::marker;
        op.key = std::move(key);
        op.generation = generation;
        return op;
    }

    // ---- what Redis ran, and what was read -------------------------------------

    void done(std::size_t instance, write_op& op, redis_reply& r) {
        if (op.what == write_op::kind::marker) return opened(op, r);
        if (op.what == write_op::kind::canary) return canaries_.acked(instance, op.count);
        if (op.job) {
            if (--op.job->remaining == 0 && op.job->then) op.job->then();
        } else {
            streams_.keep_unread(op); // its members hear it once it is read back
        }
        written();
    }

    // A stream opened here: reading starts after its newest entry; the
    // chat before it is the joiners' history.
    void opened(const write_op& op, const redis_reply& r) {
        std::vector<room_event> history;
        rejections bad;
        const read_stream* s = streams_.opened(op.key, op.generation, r, bad, history);
        rejected_.add(std::move(bad));
        if (!s) return;
        wake(s->instance);
        if (!history.empty())
            to_sink([name = s->name, history = std::move(history)](room_event_sink& k) { k.replay(name, history); });
    }

    // A stream became readable: a reader blocked in XREAD is unblocked (from
    // the writer's connection), so it is read at once.
    void wake(std::size_t i) {
        const long long id = readers_[i]->blocked_id();
        if (id >= 0 && writers_[i]->link.up()) writers_[i]->aside({"CLIENT", "UNBLOCK", std::to_string(id)});
        else readers_[i]->read_soon();
    }

    void read(std::size_t, read_result& r) {
        rejected_.add(std::move(r.bad));
        for (auto& [instance, seq] : r.canaries)
            if (canaries_.heard(instance, seq)) links_changed();
        if (r.private_gap) note("private messages to this server may have been lost (its stream lost entries)");
        for (room_event& e : r.events) {
            e.seq = ++local_seq_;
            if (e.node != node) view_.saw(e); // /who follows what members are shown
        }
        if (!r.events.empty())
            to_sink([events = std::move(r.events)](room_event_sink& k) { k.deliver_ordered(events); });
        for (std::string& room : r.missed) to_sink([room = std::move(room)](room_event_sink& k) { k.missed(room); });
    }

    // ---- canaries -----------------------------------------------------------------

    void arm_canary(std::chrono::milliseconds after) {
        canary_timer_.expires_after(after);
        canary_timer_.async_wait(guarded([this](std::error_code ec) {
            if (ec) return;
            arm_canary(opts.canary_interval);
            for (std::size_t i = 0; i < writers_.size(); ++i) {
                const bool listening = writers_[i]->link.healthy() && readers_[i]->link.healthy();
                if (canaries_.lost(i, listening, opts.command_timeout + stream_reader::block)) {
                    readers_[i]->link.restart("canary not read back");
                    links_changed();
                }
                if (auto op = canaries_.next(i)) writers_[i]->push(std::move(*op));
            }
        }));
    }

    // ---- the link's state ---------------------------------------------------------

    void links_changed() override {
        if (stopped) return;
        const health h = assess(*this, writers_, readers_, view_, canaries_);
        if (h.healthy) {
            if (state_ == backplane_state::connected) return;
            const bool was_degraded = std::exchange(degraded_, false);
            outage_.cancel();
            return set_state(backplane_state::connected,
                             was_degraded ? std::string(notices::cluster_restored) : std::string(), "the cluster is back");
        }
        if (state_ == backplane_state::connected || state_ == backplane_state::none) {
            // At start, links still making their first connection are no
            // news; one that failed to connect is.
            const bool quiet = state_ == backplane_state::none && h.connecting;
            down_since_ = clock::now();
            set_state(backplane_state::holding, {}, quiet ? std::string() : h.why);
            arm_outage();
        } else if (last_why_.empty() && !h.connecting) { // a quiet start, now with news
            last_why_ = h.why;
            note("backplane: " + h.why);
        }
        if (h.lasting && !degraded_) degrade(h.why);
    }

    void arm_outage() {
        outage_.expires_at(down_since_ + opts.outage_timeout);
        outage_.async_wait(guarded([this](std::error_code ec) {
            if (!ec && state_ != backplane_state::connected && !degraded_)
                degrade(assess(*this, writers_, readers_, view_, canaries_).why);
        }));
    }

    // What local members said and did not hear yet, they hear now, in
    // order: first what Redis took but was not read back, then what waits
    // to be written; the cluster when the link is back.
    void degrade(const std::string& why) {
        degraded_ = true;
        std::vector<room_event> held_events;
        auto hand = [&](read_stream& s, stream_entry& entry) {
            if (!s.local.insert(entry.count).second) return; // heard already (degraded before)
            entry.event.origin = entry.member;
            entry.event.room = s.name;
            entry.event.seq = ++local_seq_;
            held_events.push_back(std::move(entry.event));
        };
        for (auto& [s, op] : streams_.take_unread())
            if (auto entry = own_room_entry(op, node, epoch, max_line)) hand(*s, *entry);
        for (const auto& w : writers_)
            for (stream_entry& entry : w->own_entries(node, epoch, max_line)) {
                auto s = streams_.streams.find(keys.room(entry.event.room));
                if (s != streams_.streams.end()) hand(s->second, entry);
            }
        set_state(backplane_state::degraded, std::string(notices::cluster_degraded), why);
        if (!held_events.empty())
            to_sink([events = std::move(held_events)](room_event_sink& k) { k.deliver_ordered(events); });
    }

    void set_state(backplane_state state, std::string notice, const std::string& why) {
        state_ = state;
        if (state != backplane_state::connected && !why.empty() && why != last_why_) note("backplane: " + why);
        last_why_ = state == backplane_state::connected ? std::string() : why;
        to_sink([state, notice = std::move(notice)](room_event_sink& k) mutable { k.link_changed(state, std::move(notice)); });
    }

    rejection_report rejected_;
    stream_catalog streams_;
    std::vector<std::unique_ptr<stream_writer>> writers_;
    std::vector<std::unique_ptr<stream_reader>> readers_;
    cluster_view view_;
    canary_watch canaries_;
    sentinel_watch sentinel_;
    asio::steady_timer outage_;
    asio::steady_timer canary_timer_;
    std::uint64_t local_seq_ = 0; // events handed to the server, numbered
    backplane_state state_ = backplane_state::none;
    bool degraded_ = false;
    clock::time_point down_since_{};
    std::string last_why_;
};

} // namespace chatroom::detail
