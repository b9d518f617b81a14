#pragma once

// One connection of the backplane and its lifecycle (the writer's, the
// reader's and the control connection each are one).
//
// A link is up only once a command round trip succeeded: AUTH when there
// is a password, then PING (refused with LOADING while Redis reads its data
// back, BUSY while a script runs), then ROLE, which must say "master" (a
// replica cannot take entries). An open socket is not enough: a Redis that
// is stopped (SIGSTOP) still accepts connections. Until then, and after a
// lost connection, the link is down and tries again with backoff.
//
// Its owner reports what its commands meet: an error reply is a fault
// (reply.hpp), kept with its text until a command succeeds again (ok()).
// Transient faults keep the connection (the owner asks again with
// backoff); authentication faults and a read-only replica restart it, the
// latter after asking the address again (Sentinel).

#include <chatroom/redis/detail/connection.hpp>
#include <chatroom/redis/detail/context.hpp>

#include <asio/steady_timer.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chatroom::detail {

class redis_link {
public:
    using connection = std::shared_ptr<redis_connection>;
    // Where the instance is now: its address, or nothing while Sentinel has
    // not said (then the link asks again later).
    using address_source = std::function<std::optional<redis_endpoint>()>;

    redis_link(backplane_context& ctx, std::size_t instance, std::string name)
        : ctx_(ctx), instance_(instance), name_(std::move(name)), retry_(ctx.ex) {}

    // Set before start(); each is called with mu held.
    std::function<void()> on_up;               // up: a round trip succeeded
    std::function<void()> on_down;             // was up, is not
    std::function<void()> on_replica;          // the address was a replica: ask Sentinel again
    address_source address;

    // With mu held.
    void start() { connect(); }

    // With mu held: ends the link; the connection is returned to be closed
    // unlocked (closing completes what was in flight, whose handlers lock).
    connection stop() {
        retry_.cancel();
        up_ = false;
        ++generation_;
        return std::exchange(conn_, nullptr);
    }

    // With mu held: drops the connection and connects again after backoff
    // (an authentication fault, a replica, the address moved, a deaf reader).
    void restart(std::string why) {
        if (!conn_ && !up_) return; // already waiting to reconnect
        if (!why.empty()) ctx_.note("the " + name_ + " connection to " + ctx_.where(instance_) + " restarts: " + why);
        if (connection c = std::exchange(conn_, nullptr)) asio::post(ctx_.ex, [c] { c->close(); });
        lost();
    }

    // With mu held: an error reply to one of the owner's commands.
    void fault(reply_fault f, std::string text) {
        const bool changed = f != fault_ || text != fault_text_;
        fault_ = f;
        fault_text_ = std::move(text);
        if (changed) {
            ctx_.note("Redis at " + ctx_.where(instance_) + " refused the " + name_ + " (" + to_string(f) +
                      "): " + fault_text_);
            ctx_.links_changed();
        }
        if (f == reply_fault::readonly && on_replica) on_replica();
        if (f == reply_fault::readonly || f == reply_fault::auth) restart({});
    }
    // With mu held: a command succeeded; a fault is over.
    void ok() {
        failures_ = 0;
        if (fault_ == reply_fault::none) return;
        fault_ = reply_fault::none;
        fault_text_.clear();
        ctx_.links_changed();
    }

    bool up() const noexcept { return up_; }
    bool healthy() const noexcept { return up_ && fault_ == reply_fault::none; }
    reply_fault fault() const noexcept { return fault_; }
    const std::string& fault_text() const noexcept { return fault_text_; }
    const connection& conn() const noexcept { return conn_; }
    std::uint64_t generation() const noexcept { return generation_; }
    std::size_t instance() const noexcept { return instance_; }
    // Consecutive failures, for the owner's own backoff.
    unsigned failures() const noexcept { return failures_; }
    void failed() noexcept { ++failures_; }

    // A handler for a command on this link's current connection: runs
    // f(ec, reply) with mu held, unless the link moved on since.
    template <class F>
    redis_connection::command_handler handler(F f) {
        return ctx_.guarded([this, gen = generation_, f = std::move(f)](std::error_code ec, redis_reply r) mutable {
            if (gen == generation_) f(ec, std::move(r));
        });
    }

private:
    void connect() {
        std::optional<redis_endpoint> at = address ? address() : std::optional<redis_endpoint>(ctx_.opts.instances[instance_]);
        if (!at) return lost(); // Sentinel has not said yet
        redis_connection_options o;
        o.host = at->host;
        o.port = at->port;
        o.command_timeout = ctx_.opts.command_timeout;
        o.connect_timeout = ctx_.opts.command_timeout;
        conn_ = redis_connection::create(ctx_.ex.get_inner_executor(), o);
        const std::uint64_t gen = ++generation_;
        auto on_lost = ctx_.guarded([this, gen](std::error_code) {
            if (gen == generation_) lost();
        });
        conn_->on_disconnect(on_lost);
        conn_->connect(ctx_.guarded([this, gen](std::error_code ec) {
            if (gen != generation_) return;
            if (ec) return lost();
            probe();
        }));
    }

    // AUTH (if any), PING, ROLE, in order on the new connection.
    void probe() {
        if (!ctx_.opts.password.empty()) {
            std::vector<std::string> args{"AUTH"};
            const std::string& p = ctx_.opts.password;
            const std::size_t space = p.find(' ');
            if (space == std::string::npos) args.push_back(p);
            else {
                args.push_back(p.substr(0, space));
                args.push_back(p.substr(space + 1));
            }
            conn_->command(args, handler([this](std::error_code ec, const redis_reply& r) {
                if (!ec && r.is_error()) fault(reply_fault::auth, "AUTH: " + r.text);
            }));
        }
        auto pinged = std::make_shared<bool>(false);
        conn_->command({"PING"}, handler([this, pinged](std::error_code ec, const redis_reply& r) {
            if (ec) return;
            if (!r.is_error()) return void(*pinged = true);
            const reply_fault f = classify(r);
            if (f == reply_fault::transient) { // loading: ask again on this connection
                fault(f, "PING: " + r.text);
                failed();
                retry_.expires_after(ctx_.backoff(failures_));
                retry_.async_wait(ctx_.guarded([this, gen = generation_](std::error_code e) {
                    if (!e && gen == generation_ && conn_) probe();
                }));
                return;
            }
            fault(f, "PING: " + r.text);
            restart({}); // refused (ERR max clients...): a new connection, after backoff
        }));
        conn_->command({"ROLE"}, handler([this, pinged](std::error_code ec, const redis_reply& r) {
            if (ec || !*pinged || !conn_) return; // PING refused: asked again, or the link restarts
            if (r.is_error()) {
                fault(classify(r), "ROLE: " + r.text);
                return restart({});
            }
            const bool primary = r.is_array() && !r.elements.empty() && r.elements[0].text == "master";
            if (!primary) return fault(reply_fault::readonly, "the address is a replica, not the primary");
            became_up();
        }));
    }

    void became_up() {
        up_ = true;
        failures_ = 0;
        if (fault_ != reply_fault::none) {
            fault_ = reply_fault::none;
            fault_text_.clear();
        }
        if (on_up) on_up();
        ctx_.links_changed();
    }

    // With mu held: down; the owner hears it once, and a new connection is
    // tried after backoff.
    void lost() {
        const bool was = up_;
        up_ = false;
        ++generation_;
        conn_.reset();
        if (was && on_down) on_down();
        // A link that was up, or a first attempt that failed: the owner
        // judges the state (a Redis never reached holds lines too).
        const bool first_failure = failures_++ == 0;
        if (was || first_failure) ctx_.links_changed();
        retry_.expires_after(ctx_.backoff(failures_));
        retry_.async_wait(ctx_.guarded([this, gen = generation_](std::error_code ec) {
            if (!ec && gen == generation_ && !conn_) connect();
        }));
    }

    backplane_context& ctx_;
    const std::size_t instance_;
    const std::string name_;
    asio::steady_timer retry_;
    connection conn_;
    std::uint64_t generation_ = 0;
    unsigned failures_ = 0;
    bool up_ = false;
    reply_fault fault_ = reply_fault::none;
    std::string fault_text_;
};

} // namespace chatroom::detail
