#pragma once

#include <chatroom/core/detail/admission.hpp>
#include <chatroom/core/detail/commands.hpp>
#include <chatroom/core/detail/fanout.hpp>
#include <chatroom/core/detail/history_service.hpp>
#include <chatroom/core/detail/host_events.hpp>
#include <chatroom/core/detail/host_jobs.hpp>
#include <chatroom/core/detail/housekeeping.hpp>
#include <chatroom/core/detail/line_intake.hpp>
#include <chatroom/core/detail/log_sink.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/moderation.hpp>
#include <chatroom/core/detail/optional_mutex.hpp>
#include <chatroom/core/detail/registry.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/detail/room_delivery.hpp>
#include <chatroom/core/access.hpp>
#include <chatroom/core/events.hpp>
#include <chatroom/core/decoder.hpp>
#include <chatroom/core/host_error.hpp>
#include <chatroom/core/options.hpp>
#include <chatroom/core/renderer.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/room_log.hpp>
#include <chatroom/core/room_options.hpp>
#include <chatroom/core/stats.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/post.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace chatroom::detail {

// The shared state of one server: its rooms, members and nicks, however many
// listeners feed it. Threading, once for the whole server:
// - everything here and every member's member_state is guarded by the hub's
//   lock, an optional_mutex that threading::single switches off;
// - a member's output queue has its own lock (member.hpp), so the hub fills
//   it while the session writes;
// - each session's stream is touched only on the session's executor (a strand
//   when several threads run the server), see session.hpp.
// Every public function takes the lock itself; the host's event handlers run
// after it is released, by one thread at a time (host_events.hpp), and so do
// the destructors of members that left and the host's jobs (host_jobs.hpp).
class hub final : public std::enable_shared_from_this<hub>, private log_sink<hub> {
    friend class log_sink<hub>;
    friend struct host_jobs;
    friend struct history_service;

public:
    hub(asio::any_io_executor ex, server_options opts)
        : opts_(sanitized(std::move(opts))),
          mutex_(opts_.concurrency == threading::multi),
          ex_(std::move(ex)),
          admission_(opts_, count_),
          rooms_(opts_.history_lines),
          out_(opts_, mutex_, ex_),
          house_(opts_, ex_),
          commands_({opts_, count_, members_, rooms_, out_, house_, events_, mod_, graveyard_}),
          local_log_(*this),
          log_(&local_log_) {
        commands_.set_log(*log_);
        house_.set_log_gate([this] { return log_->accepting(); });
    }

    // Wires the parts that keep the hub alive in posted work; called once,
    // right after make_shared.
    void start() {
        out_.set_owner(weak_from_this());
        house_.set_tick([this] { tick(); }, weak_from_this());
    }

    const server_options& options() const noexcept { return opts_; }
    std::size_t soft_limit() const noexcept { return out_.soft_limit(); }
    bool locking() const noexcept { return opts_.concurrency == threading::multi; }
    server_stats stats() const noexcept { return count_.snapshot(); }
    counters& count() noexcept { return count_; }
    admission& gate() noexcept { return admission_; }

    event_subscription subscribe(event_handler h, event_mask wanted) {
        optional_lock g(mutex_);
        return events_.subscribe(std::move(h), wanted);
    }
    host_gate& host() noexcept { return events_.gate(); }
    // f runs once no host event is pending or being delivered.
    void when_events_idle(std::function<void()> f) {
        bool now = false;
        locked([&] { now = events_.when_idle(f); });
        if (now) f();
    }

    // Replaces the in-process log (a backplane), made by make(sink): the log
    // delivers to sink with the hub's lock held. Before the first listener.
    void set_log(const std::function<std::unique_ptr<room_log>(room_event_sink&)>& make) {
        optional_lock g(mutex_);
        own_log_ = make(*this);
        log_ = own_log_ ? own_log_.get() : &local_log_;
        commands_.set_log(*log_);
        members_.set_guest_prefix(log_->guest_prefix());
        intake_.set_log(*log_);
    }

    // The host's history store (history.hpp); before the first listener.
    // The in-process log numbers its events after the store's last id.
    void set_history(std::unique_ptr<history_store> store) {
        optional_lock g(mutex_);
        if (store) local_log_.continue_after(store->last_seq());
        history_.store = std::move(store);
    }

    // The room log's entry points (log_sink.hpp); a backplane's reader
    // hands over the events its log ordered.
    using log_sink<hub>::deliver_ordered, log_sink<hub>::replay, log_sink<hub>::link_changed, log_sink<hub>::missed,
        log_sink<hub>::report, log_sink<hub>::max_line_bytes, log_sink<hub>::rejected_entries, log_sink<hub>::executor;

    // A new connection: gets a guest nick, the welcome and the lobby.
    void attach(const std::shared_ptr<member>& m) {
        locked([&] {
            if (admission_.closed()) {
                m->close_now(reply::of(reply_kind::refused_stopping), leave_reason::shutdown);
                return;
            }
            if (std::optional<reply> refusal = commands_.admission_refusal(*m)) {
                admission_.reject();
                m->close_now(std::move(refusal), leave_reason::kicked);
                return;
            }
            member_state& s = m->state;
            s.connected_at = s.last_active = s.refilled_at = clock::now();
            s.tokens = static_cast<double>(opts_.flood_burst);
            members_.add(m);
            events_.emit(server_event_kind::connected, *m, {});
            commands_.greet(*m);
            if (house_.timeouts_enabled()) house_.ensure_ticking();
        });
    }

    // Bytes a session read, handed to its decoder: feed(on) calls
    // on(frame_event, line[, decoded]) for each line and on.reply(bytes) for what the
    // decoder answers the peer (telnet negotiation, WebSocket pongs), and
    // returns how many bytes it used (on returning false stops it early).
    // Returns true when the session should go on reading; false when the
    // member left or is paused (flood control, or a recipient past the soft
    // mark): the hub then keeps the unread rest and hands it back through
    // resume_reading.
    template <class Feed>
    bool receive(member& m, const char* data, std::size_t size, Feed&& feed) {
        bool keep_reading = true;
        locked([&] { keep_reading = intake_.take(m, data, size, feed); });
        return keep_reading;
    }

    // The session's queue went back under the soft mark.
    void drained(member& m) {
        housekeeping::decisions d;
        locked([&] {
            out_.relieved(m);
            if (!out_.holding(clock::now())) house_.release_held(d);
        });
        for (auto& [r, unread] : d.resume) r->resume_reading(std::move(unread));
    }

    // A member is going: it leaves its room, the nick table and the registry
    // (the room is told why), then its connection is closed, after its queued
    // output is flushed when graceful. detail says more of why to the rooms
    // (connection_lost: "connection lost: <detail>"). Idempotent.
    void depart(member& m, leave_reason why, bool graceful, std::string_view detail = {}) {
        locked([&] {
            commands_.leave_server(m, why, detail);
            if (graceful) house_.begin_drain(m, why);
            else m.close_now({}, why);
        });
    }

    // Sends a line from the host program to everyone in a room ("* text" for
    // a notice, "<from> text" for a message): host_errc::no_such_room if none.
    control_result inject(std::string_view room_name, std::string_view from, std::string_view text) {
        control_result r;
        locked([&] { r = commands_.controls().inject(room_name, from, text); });
        return r;
    }

    // stop(): everyone is told, nobody new gets in, output is flushed within
    // shutdown_timeout, then every connection is closed.
    void begin_shutdown() {
        // First, and unlocked (a log stopping waits for its handlers, which
        // may be waiting for the lock): a shared log's view of this server's
        // members then stays as it was, and the other servers announce
        // their leaving as they would after a crash.
        log_->stop();
        locked([&] {
            if (admission_.closed()) return;
            admission_.close();
            commands_.set_stopping();
            std::vector<std::shared_ptr<member>> all = members_.take_all();
            for (auto& m : all) {
                out_.send(*m, reply::of(reply_kind::shutting_down));
                commands_.leave_server(*m, leave_reason::shutdown);
            }
            for (auto& m : all) house_.begin_drain(*m, leave_reason::shutdown);
            graveyard_.insert(graveyard_.end(), all.begin(), all.end());
            house_.ensure_ticking();
        });
        // What was said is written before the server says it has stopped.
        if (history_.store) history_.store->stop();
    }

    // ---- access and the host's controls ---------------------------------------

    void set_access(access_hooks hooks) {
        optional_lock g(mutex_);
        commands_.set_access(std::move(hooks));
    }

    void set_motd(std::string text) {
        optional_lock g(mutex_);
        commands_.set_motd(std::move(text));
    }

    std::error_code add_command(std::string name, std::string help, command_handler handler, bool replace) {
        optional_lock g(mutex_);
        return commands_.add_command(std::move(name), std::move(help), std::move(handler), replace);
    }

    std::vector<room_info> room_snapshot() {
        std::vector<room_info> list;
        optional_lock g(mutex_);
        for (const room* r : rooms_.sorted()) list.push_back(room_info{r->name(), r->size(), r->topic()});
        return list;
    }

    std::vector<member_info> member_snapshot(std::string_view room_name) {
        std::vector<member_info> list;
        optional_lock g(mutex_);
        if (room* r = rooms_.find(room_name))
            for (member* m : r->members()) list.push_back(info_of(*m));
        return list;
    }

    // The host's controls (server.hpp): f(host_controls&) runs locked, and
    // its result is returned.
    template <class F>
    auto control(F&& f) {
        std::optional<decltype(f(commands_.controls()))> r;
        locked([&] { r.emplace(f(commands_.controls())); });
        return std::move(*r);
    }

private:
    static server_options sanitized(server_options o) {
        if (o.max_line_bytes == 0) o.max_line_bytes = 1;
        if (o.history_page == 0) o.history_page = 1;
        return o;
    }

    // Runs f under the lock; then, unlocked, hands the host the events f
    // produced and drops the member references f released.
    template <class F>
    void locked(F&& f) {
        host_events::batch news;
        std::vector<std::shared_ptr<member>> dead;
        host_jobs jobs;
        bool deliver = false;
        {
            optional_lock g(mutex_);
            f();
            // Whatever f queued may have overflowed someone: drop them now,
            // not at some later read that may never come.
            reap();
            deliver = events_.take(news);
            dead.swap(graveyard_);
            jobs.take(commands_);
        }
        if (deliver) events_.hand_over(news, mutex_);
        jobs.run(*this);
    }

    // A login's (or a claim's) answer, locked; the member's held lines then
    // resume once nothing is left undecided.
    template <class F>
    void decide_login(member& m, F&& f) {
        housekeeping::decisions d;
        locked([&] {
            f();
            house_.release_login(m, d);
        });
        for (auto& [r, unread] : d.resume) r->resume_reading(std::move(unread));
    }

    // Disconnects the members that overflowed; telling their rooms may
    // overflow others, so it repeats until none is left.
    void reap() {
        while (out_.has_casualties()) {
            for (auto& m : out_.take_casualties()) {
                if (m->is_closed()) continue;
                counters::add(count_.slow_consumer_disconnects);
                commands_.leave_server(*m, leave_reason::too_slow); // no-op for one already leaving
                m->close_now(reply::of(reply_kind::dropped_too_slow), leave_reason::too_slow);
                graveyard_.push_back(std::move(m));
            }
        }
    }

    void tick() {
        housekeeping::decisions d;
        locked([&] {
            house_.tick(clock::now(), out_, members_, d, graveyard_);
            for (auto& [m, why] : d.expired) {
                counters::add(count_.timeouts);
                commands_.leave_server(*m, why);
                m->close_now(reply::of(why == leave_reason::idle_timeout ? reply_kind::dropped_idle : reply_kind::dropped_no_first_line),
                             why);
                graveyard_.push_back(m);
            }
        });
        for (auto& [m, unread] : d.resume) m->resume_reading(std::move(unread));
    }

    server_options opts_;
    mutable optional_mutex mutex_;
    asio::any_io_executor ex_;
    counters count_;
    admission admission_;
    registry members_;
    room_directory rooms_;
    fanout out_;
    housekeeping house_;
    host_events events_;
    moderation mod_;
    std::vector<std::shared_ptr<member>> graveyard_;
    commands commands_;
    local_room_log local_log_;
    std::unique_ptr<room_log> own_log_;
    room_log* log_;
    history_service history_;
    line_intake intake_{count_, out_, house_, commands_};
    room_delivery delivery_{count_, members_, rooms_, out_, events_, history_};
};

} // namespace chatroom::detail
