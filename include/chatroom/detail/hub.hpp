#pragma once

#include <chatroom/events.hpp>
#include <chatroom/member.hpp>
#include <chatroom/message.hpp>
#include <chatroom/optional_mutex.hpp>
#include <chatroom/options.hpp>
#include <chatroom/protocol.hpp>
#include <chatroom/room.hpp>
#include <chatroom/sanitize.hpp>
#include <chatroom/stats.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chatroom::detail {

// The shared state of one server: members, rooms, nicks, counters, and the
// protocol's commands. Transport-agnostic: sessions hand it bytes, it hands
// sessions messages. Every public function takes the lock itself; user
// callbacks run after it is released.
class hub : public std::enable_shared_from_this<hub> {
public:
    hub(asio::any_io_executor ex, server_options opts)
        : opts_(std::move(opts)),
          mutex_(opts_.concurrency == threading::multi),
          ex_(std::move(ex)),
          timer_(ex_) {
        if (opts_.max_line_bytes == 0) opts_.max_line_bytes = 1;
    }

    const server_options& options() const noexcept { return opts_; }
    bool locking() const noexcept { return opts_.concurrency == threading::multi; }
    server_stats stats() const noexcept { return count_.snapshot(); }
    counters& count() noexcept { return count_; }
    const asio::any_io_executor& executor() const noexcept { return ex_; }

    void set_event_handler(event_handler h, event_mask wanted) {
        optional_lock g(mutex_);
        on_event_ = std::move(h);
        wanted_ = on_event_ ? wanted : event_mask{0};
    }

    // Admission of a new connection. Returns the refusal line to send, or
    // an empty string when the connection may stay (and then counts it).
    std::string admit(const std::string& address) {
        std::lock_guard<std::mutex> g(address_mutex_);
        if (stopping_.load(std::memory_order_relaxed)) return "! server shutting down";
        if (open_ >= opts_.max_connections) return "! server full";
        if (opts_.max_connections_per_address != 0 && !address.empty() &&
            per_address_[address] >= opts_.max_connections_per_address)
            return "! too many connections from your address";
        ++open_;
        if (opts_.max_connections_per_address != 0 && !address.empty()) ++per_address_[address];
        counters::add(count_.accepted);
        counters::add(count_.connections);
        return {};
    }

    // The other half of a successful admit(): the connection's socket is gone.
    // Takes no hub lock, so a member may be destroyed anywhere.
    void release(const std::string& address) noexcept {
        std::lock_guard<std::mutex> g(address_mutex_);
        --open_;
        counters::sub(count_.connections);
        if (opts_.max_connections_per_address != 0 && !address.empty()) {
            auto it = per_address_.find(address);
            if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
        }
    }

    void reject() noexcept { counters::add(count_.rejected); }

    // A server-side problem for the host program's log.
    void report(std::string text) {
        locked([&] {
            if (wanted_ & mask_of(event_kind::error)) events_.push_back(event{event_kind::error, {}, {}, std::move(text), {}, {}, {}});
        });
    }

    // A new connection: gets a guest nick, the welcome and the lobby.
    void attach(const std::shared_ptr<member>& m) {
        locked([&] {
            if (stopping_.load(std::memory_order_relaxed)) {
                m->close_now("! server shutting down");
                return;
            }
            const auto now = clock::now();
            m->connected_at = m->last_active = m->refilled_at = now;
            m->tokens = static_cast<double>(opts_.flood_burst);
            m->nick = next_guest_nick();
            m->nick_key = protocol::fold_case(m->nick);
            m->chat_prefix = "<" + m->nick + "> ";
            nicks_.emplace(m->nick_key, m.get());
            m->registry_slot = registry_.size();
            registry_.push_back(m);
            m->attached = true;
            emit(event_kind::connected, *m, {}, {}, {});

            std::string hello = "* welcome to ";
            sanitize_append(hello, opts_.name);
            hello += ", you are " + m->nick + "\r\n";
            std::string_view extra = opts_.welcome;
            while (!extra.empty()) {
                std::size_t nl = extra.find('\n');
                std::string_view line = extra.substr(0, nl);
                extra = nl == std::string_view::npos ? std::string_view() : extra.substr(nl + 1);
                hello += "* ";
                sanitize_append(hello, line);
                hello += "\r\n";
            }
            send(*m, std::move(hello));
            enter(*m, std::string(protocol::lobby));
            if (timeouts_enabled()) ensure_ticking();
        });
    }

    // Bytes a session read. Returns true when the session should go on
    // reading; false when the member left, or flood control paused it (the
    // hub then keeps the unread rest and hands it back in resume_reading).
    bool receive(member& m, const char* data, std::size_t size) {
        bool keep_reading = true;
        locked([&] {
            if (!m.attached) {
                keep_reading = false;
                return;
            }
            const auto now = clock::now();
            m.last_active = now;
            const bool flood = opts_.flood_lines_per_second > 0;
            if (flood) refill(m, now);
            const std::size_t used = m.framer.feed(data, size, [&](frame_event ev, std::string_view raw) {
                if (ev == frame_event::too_long) {
                    flush_batch(m);
                    counters::add(count_.lines_too_long);
                    send(m, "! line too long (limit " + std::to_string(opts_.max_line_bytes) + " bytes)\r\n");
                } else {
                    on_line(m, raw);
                }
                if (!m.attached) return false;
                if (flood && (m.tokens -= 1.0) < 1.0) {
                    flush_batch(m);
                    m.throttled = true;
                    counters::add(count_.throttled);
                    throttled_.push_back(m.shared_from_this());
                    ensure_ticking();
                    return false;
                }
                return true;
            });
            flush_batch(m);
            if (!m.attached) {
                keep_reading = false;
            } else if (m.throttled) {
                // Kept under the lock, so the tick that resumes the reader
                // can never run before the rest is saved.
                m.stash.assign(data + used, size - used);
                keep_reading = false;
            }
        });
        return keep_reading;
    }

    // A member is going: it leaves its room, the nick table and the registry
    // (the room is told why), then its socket is closed, after its queued
    // output is flushed when graceful. Idempotent.
    void depart(member& m, leave_reason why, bool graceful) {
        locked([&] {
            leave_server(m, why);
            if (graceful) begin_drain(m);
            else m.close_now({});
        });
    }

    // Sends a line from the host program to everyone in a room ("* text" for
    // a notice, "<from> text" for a message). Returns false if no such room.
    bool inject(std::string_view room_name, std::string_view from, std::string_view text) {
        bool found = false;
        locked([&] {
            auto it = rooms_.find(protocol::fold_case(room_name));
            if (it == rooms_.end()) return;
            found = true;
            std::string line;
            if (from.empty()) {
                line = "* ";
                sanitize_append(line, text);
            } else {
                line = "<";
                sanitize_append(line, from);
                line += "> ";
                sanitize_append(line, text);
            }
            line += "\r\n";
            room& r = *it->second;
            if (!from.empty()) r.remember(line);
            broadcast(r, message::copy_of(line), nullptr);
            reap();
        });
        return found;
    }

    // stop(): everyone is told, nobody new gets in, output is flushed within
    // shutdown_timeout, then every socket is closed.
    void begin_shutdown() {
        locked([&] {
            if (stopping_.exchange(true)) return;
            const message bye = message::copy_of("* server shutting down\r\n");
            std::vector<std::shared_ptr<member>> all;
            all.swap(registry_);
            for (auto& m : all) {
                push(*m, bye);
                leave_server(*m, leave_reason::shutdown);
            }
            for (auto& m : all) begin_drain(*m);
            graveyard_.insert(graveyard_.end(), all.begin(), all.end());
            ensure_ticking();
        });
    }

private:
    // ---- locking discipline -------------------------------------------------

    // Runs f under the lock; then, unlocked, delivers the events f produced and
    // drops the member references f released (a member's destructor may run).
    template <class F>
    void locked(F&& f) {
        std::vector<event> events;
        std::vector<std::shared_ptr<member>> dead;
        event_handler handler;
        {
            optional_lock g(mutex_);
            f();
            // Whatever f queued may have overflowed someone: drop them now,
            // not at some later read that may never come.
            reap();
            events.swap(events_);
            dead.swap(graveyard_);
            if (!events.empty()) handler = on_event_;
        }
        if (handler)
            for (const event& e : events) handler(e);
    }

    void emit(event_kind kind, const member& m, std::string_view room_name, std::string_view text,
              std::string_view reason, std::string_view old_nick = {}) {
        if (!(wanted_ & mask_of(kind))) return;
        event e{kind, m.nick, std::string(room_name), std::string(text), std::string(reason), std::string(old_nick),
                m.address};
        events_.push_back(std::move(e));
    }

    // ---- delivery -----------------------------------------------------------

    // Queues a message for one member. A member whose queue would pass the
    // limit is marked slow and dropped by reap(); nobody waits for it.
    void push(member& r, const message& msg) {
        {
            optional_lock g(r.mutex);
            if (r.slow) return;
            if (r.out.bytes() + msg.size() > opts_.max_queue_bytes) {
                r.slow = true;
                casualties_.push_back(r.shared_from_this());
                return;
            }
            r.out.push(msg);
        }
        if (!r.queued_for_flush) {
            r.queued_for_flush = true;
            to_flush_.push_back(r.shared_from_this());
            if (!flush_posted_) {
                flush_posted_ = true;
                asio::post(ex_, [self = shared_from_this()] { self->flush_all(); });
            }
        }
    }

    void send(member& m, std::string text) { push(m, message::copy_of(text)); }

    void broadcast(room& r, const message& msg, const member* except) {
        for (member* m : r.members())
            if (m != except) push(*m, msg);
    }

    // Writes are deferred to one posted pass, so every delivery made by the
    // handlers that ran before it leaves in one gather write per member.
    void flush_all() {
        std::vector<std::shared_ptr<member>> batch;
        {
            optional_lock g(mutex_);
            batch.swap(to_flush_);
            for (auto& m : batch) m->queued_for_flush = false;
            flush_posted_ = false;
        }
        for (auto& m : batch) m->flush();
    }

    // Disconnects the members that overflowed; telling their rooms may
    // overflow others, so it repeats until none is left.
    void reap() {
        while (!casualties_.empty()) {
            std::vector<std::shared_ptr<member>> now;
            now.swap(casualties_);
            for (auto& m : now) {
                if (m->is_closed()) continue;
                counters::add(count_.slow_consumer_disconnects);
                leave_server(*m, leave_reason::too_slow); // no-op for one already leaving
                m->close_now("! disconnected: too slow");
            }
            graveyard_.insert(graveyard_.end(), now.begin(), now.end());
        }
    }

    // ---- chat batching ------------------------------------------------------

    // Consecutive chat lines of one read become one message shared by every
    // recipient; any other line flushes it first, so order is kept.
    void add_chat(member& m, std::string_view text) {
        const std::size_t start = batch_.size();
        batch_.append(m.chat_prefix);
        batch_.append(text.data(), text.size());
        batch_.append("\r\n", 2);
        ++batch_lines_;
        m.current->remember(std::string_view(batch_).substr(start));
        emit(event_kind::message, m, m.current->name(), text, {});
    }

    void flush_batch(member& m) {
        if (batch_lines_ == 0) return;
        room& r = *m.current;
        counters::add(count_.lines_in, batch_lines_);
        counters::add(count_.lines_delivered, batch_lines_ * (r.size() - 1));
        if (r.size() > 1) broadcast(r, message::copy_of(batch_), &m);
        batch_.clear();
        batch_lines_ = 0;
        reap();
    }

    // ---- the protocol -------------------------------------------------------

    void on_line(member& m, std::string_view raw) {
        std::string_view text = raw;
        if (!is_plain_text(raw)) {
            scratch_.clear();
            sanitize_append(scratch_, raw);
            text = scratch_;
        }
        if (text.empty()) return;
        m.said_something = true;
        const protocol::command cmd = protocol::parse(text);
        if (cmd.kind == protocol::command_kind::chat) {
            add_chat(m, cmd.arg);
            return;
        }
        flush_batch(m);
        run(m, cmd);
        reap();
    }

    void run(member& m, const protocol::command& cmd) {
        using protocol::command_kind;
        switch (cmd.kind) {
        case command_kind::chat: break;
        case command_kind::nick: rename(m, cmd.arg); break;
        case command_kind::join:
            if (!protocol::is_valid_name(cmd.arg)) {
                send(m, "! bad room name: use 1-32 of A-Z a-z 0-9 _ . -\r\n");
            } else if (protocol::fold_case(cmd.arg) == protocol::fold_case(m.current->name())) {
                send(m, "* you are already in " + m.current->name() + "\r\n");
            } else {
                leave_room(m, {});
                enter(m, std::string(cmd.arg));
            }
            break;
        case command_kind::who: {
            std::vector<const std::string*> names;
            for (member* x : m.current->members()) names.push_back(&x->nick);
            std::sort(names.begin(), names.end(), [](const std::string* a, const std::string* b) {
                return protocol::fold_case(*a) < protocol::fold_case(*b);
            });
            std::string line = "* in " + m.current->name() + ":";
            for (std::size_t i = 0; i < names.size(); ++i) (line += i ? ", " : " ") += *names[i];
            send(m, line + "\r\n");
            break;
        }
        case command_kind::rooms: {
            std::vector<const room*> list;
            for (auto& kv : rooms_) list.push_back(kv.second.get());
            std::sort(list.begin(), list.end(), [](const room* a, const room* b) { return a->name() < b->name(); });
            std::string line = "* rooms:";
            for (std::size_t i = 0; i < list.size(); ++i)
                (line += i ? ", " : " ") += list[i]->name() + " (" + std::to_string(list[i]->size()) + ")";
            send(m, line + "\r\n");
            break;
        }
        case command_kind::me: {
            if (cmd.arg.empty()) {
                send(m, "! usage: /me ACTION\r\n");
                break;
            }
            std::string line = "* " + m.nick + " " + std::string(cmd.arg) + "\r\n";
            m.current->remember(line);
            counters::add(count_.lines_in);
            counters::add(count_.lines_delivered, m.current->size() - 1);
            broadcast(*m.current, message::copy_of(line), &m);
            emit(event_kind::message, m, m.current->name(), "/me " + std::string(cmd.arg), {});
            break;
        }
        case command_kind::msg: {
            if (cmd.arg.empty() || cmd.text.empty()) {
                send(m, "! usage: /msg NICK TEXT\r\n");
                break;
            }
            auto it = nicks_.find(protocol::fold_case(cmd.arg));
            if (it == nicks_.end()) {
                send(m, "! no such nick: " + std::string(cmd.arg) + "\r\n");
                break;
            }
            send(*it->second, "*" + m.nick + "* " + std::string(cmd.text) + "\r\n");
            break;
        }
        case command_kind::quit:
            leave_server(m, leave_reason::quit, cmd.arg);
            begin_drain(m);
            break;
        case command_kind::help: {
            std::string text;
            for (std::string_view line : protocol::help_text) (text += line) += "\r\n";
            send(m, std::move(text));
            break;
        }
        case command_kind::unknown:
            send(m, "! unknown command: /" + std::string(cmd.name) + " (try /help)\r\n");
            break;
        }
    }

    void rename(member& m, std::string_view name) {
        if (!protocol::is_valid_name(name)) {
            send(m, "! bad nick: use 1-32 of A-Z a-z 0-9 _ . -\r\n");
            return;
        }
        std::string key = protocol::fold_case(name);
        auto it = nicks_.find(key);
        if (it != nicks_.end() && it->second != &m) {
            send(m, "! nick taken: " + std::string(name) + "\r\n");
            return;
        }
        if (m.nick == name) return;
        std::string old = std::move(m.nick);
        nicks_.erase(m.nick_key);
        m.nick = std::string(name);
        m.nick_key = std::move(key);
        m.chat_prefix = "<" + m.nick + "> ";
        nicks_.emplace(m.nick_key, &m);
        broadcast(*m.current, message::copy_of("* " + old + " is now known as " + m.nick + "\r\n"), nullptr);
        emit(event_kind::nick_changed, m, m.current->name(), {}, {}, old);
    }

    // Puts a member in a room, creating the room, and greets it.
    void enter(member& m, std::string name) {
        std::string key = protocol::fold_case(name);
        auto it = rooms_.find(key);
        if (it == rooms_.end()) {
            it = rooms_.emplace(std::move(key), std::make_unique<room>(std::move(name), opts_.history_lines)).first;
            counters::add(count_.rooms);
        }
        room& r = *it->second;
        if (announces(r)) broadcast(r, message::copy_of("* " + m.nick + " joined\r\n"), nullptr);
        r.add(m);
        std::string hello = "* joined " + r.name() + " (" + std::to_string(r.size()) +
                            (r.size() == 1 ? " member)\r\n" : " members)\r\n");
        for (const std::string& line : r.history()) hello += line;
        send(m, std::move(hello));
        emit(event_kind::joined, m, r.name(), {}, {});
    }

    // Joins and leaves are announced in rooms smaller than quiet_room_size.
    bool announces(const room& r) const noexcept {
        return opts_.quiet_room_size == 0 || r.size() < opts_.quiet_room_size;
    }

    void leave_room(member& m, std::string_view reason) {
        room* r = m.current;
        if (!r) return;
        r->remove(m);
        std::string line = "* " + m.nick + " left";
        if (!reason.empty()) line += " (" + std::string(reason) + ")";
        if (!r->empty() && !stopping_.load(std::memory_order_relaxed) && announces(*r))
            broadcast(*r, message::copy_of(line + "\r\n"), nullptr);
        emit(event_kind::left, m, r->name(), {}, reason);
        if (r->empty()) {
            rooms_.erase(protocol::fold_case(r->name()));
            counters::sub(count_.rooms);
        }
    }

    void leave_server(member& m, leave_reason why, std::string_view detail = {}) {
        if (!m.attached) return;
        m.attached = false;
        std::string reason;
        switch (why) {
        case leave_reason::eof: break;
        case leave_reason::quit: reason = detail.empty() ? "quit" : "quit: " + std::string(detail); break;
        case leave_reason::connection_lost: reason = "connection lost"; break;
        case leave_reason::too_slow: reason = "too slow"; break;
        case leave_reason::idle_timeout: reason = "idle timeout"; break;
        case leave_reason::first_line_timeout: reason = "no first line"; break;
        case leave_reason::shutdown: reason = "server shutting down"; break;
        }
        leave_room(m, reason);
        nicks_.erase(m.nick_key);
        emit(event_kind::disconnected, m, {}, {}, reason);
        // Registry removal swaps in the last member; the reference itself is
        // dropped after the lock is released.
        if (m.registry_slot < registry_.size() && registry_[m.registry_slot].get() == &m) {
            std::size_t slot = m.registry_slot;
            graveyard_.push_back(std::move(registry_[slot]));
            if (slot + 1 != registry_.size()) {
                registry_[slot] = std::move(registry_.back());
                registry_[slot]->registry_slot = slot;
            }
            registry_.pop_back();
        }
    }

    // Closing with a final flush, which must end by the deadline.
    void begin_drain(member& m) {
        if (m.draining) return;
        m.draining = true;
        m.deadline = clock::now() + opts_.shutdown_timeout;
        draining_.push_back(m.shared_from_this());
        ensure_ticking();
        m.close_gracefully();
    }

    std::string next_guest_nick() {
        for (;;) {
            std::string nick = "guest-" + std::to_string(++guest_counter_);
            if (nicks_.find(nick) == nicks_.end()) return nick;
        }
    }

    // ---- time: flood buckets, timeouts, closing deadlines -------------------

    bool timeouts_enabled() const noexcept {
        return opts_.idle_timeout.count() > 0 || opts_.first_line_timeout.count() > 0;
    }

    void refill(member& m, clock::time_point now) {
        const double elapsed = std::chrono::duration<double>(now - m.refilled_at).count();
        m.refilled_at = now;
        m.tokens = std::min(static_cast<double>(opts_.flood_burst) + 1.0,
                            m.tokens + elapsed * opts_.flood_lines_per_second);
    }

    static constexpr std::chrono::milliseconds tick_interval{100};

    void ensure_ticking() {
        if (ticking_) return;
        ticking_ = true;
        timer_.expires_after(tick_interval);
        timer_.async_wait([self = shared_from_this()](std::error_code ec) {
            if (!ec) self->tick();
        });
    }

    void tick() {
        std::vector<std::pair<std::shared_ptr<member>, std::string>> resume;
        locked([&] {
            ticking_ = false;
            const auto now = clock::now();

            for (std::size_t i = 0; i < throttled_.size();) {
                member& m = *throttled_[i];
                if (m.attached) refill(m, now);
                if (!m.attached || m.tokens >= 2.0) {
                    m.throttled = false;
                    if (m.attached) resume.emplace_back(std::move(throttled_[i]), std::move(m.stash));
                    else graveyard_.push_back(std::move(throttled_[i]));
                    m.stash.clear();
                    throttled_[i] = std::move(throttled_.back());
                    throttled_.pop_back();
                } else {
                    ++i;
                }
            }

            for (std::size_t i = 0; i < draining_.size();) {
                member& m = *draining_[i];
                if (m.is_closed() || m.deadline <= now) {
                    if (!m.is_closed()) m.close_now({});
                    graveyard_.push_back(std::move(draining_[i]));
                    draining_[i] = std::move(draining_.back());
                    draining_.pop_back();
                } else {
                    ++i;
                }
            }

            if (timeouts_enabled() && ++tick_count_ % 10 == 0) expire_silent(now);

            if (!throttled_.empty() || !draining_.empty() || (timeouts_enabled() && !registry_.empty()))
                ensure_ticking();
        });
        for (auto& [m, unread] : resume) m->resume_reading(std::move(unread));
    }

    void expire_silent(clock::time_point now) {
        std::vector<std::pair<std::shared_ptr<member>, leave_reason>> expired;
        for (auto& m : registry_) {
            if (opts_.first_line_timeout.count() > 0 && !m->said_something &&
                now - m->connected_at >= opts_.first_line_timeout)
                expired.emplace_back(m, leave_reason::first_line_timeout);
            else if (opts_.idle_timeout.count() > 0 && now - m->last_active >= opts_.idle_timeout)
                expired.emplace_back(m, leave_reason::idle_timeout);
        }
        for (auto& [m, why] : expired) {
            counters::add(count_.timeouts);
            leave_server(*m, why);
            m->close_now(why == leave_reason::idle_timeout ? "! disconnected: idle timeout"
                                                           : "! disconnected: no line received in time");
            graveyard_.push_back(m);
        }
    }

    server_options opts_;
    mutable optional_mutex mutex_;
    asio::any_io_executor ex_;
    asio::steady_timer timer_;
    counters count_;
    event_handler on_event_;
    event_mask wanted_ = 0;

    std::unordered_map<std::string, std::unique_ptr<room>> rooms_; // by folded name
    std::unordered_map<std::string, member*> nicks_;               // by folded nick
    std::vector<std::shared_ptr<member>> registry_;                // every attached member
    std::vector<std::shared_ptr<member>> to_flush_;
    std::vector<std::shared_ptr<member>> casualties_;
    std::vector<std::shared_ptr<member>> throttled_;
    std::vector<std::shared_ptr<member>> draining_;
    std::vector<std::shared_ptr<member>> graveyard_; // released after unlocking
    std::vector<event> events_;
    std::string batch_;
    std::size_t batch_lines_ = 0;
    std::string scratch_;
    std::uint64_t guest_counter_ = 0;
    std::uint64_t tick_count_ = 0;
    bool flush_posted_ = false;
    bool ticking_ = false;
    std::atomic<bool> stopping_{false};

    // Connection accounting has its own lock: release() runs in destructors,
    // which may happen while the hub's lock is held.
    std::mutex address_mutex_;
    std::size_t open_ = 0;
    std::unordered_map<std::string, std::size_t> per_address_;
};

} // namespace chatroom::detail
