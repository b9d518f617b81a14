#pragma once

// Redis Sentinel: where each instance named by its master is now.
//
// - The sentinels are asked in turn (SENTINEL get-master-addr-by-name) when
//   the backplane starts, when a link finds no address, and when a link
//   finds a replica where the primary was (READONLY, or ROLE says "slave"):
//   a failover it has not heard of yet.
// - One connection to a sentinel listens for +switch-master; a failover
//   moves the instance's links to the new primary at once. When that
//   connection is lost, the next sentinel is listened to and every master
//   asked again (a switch may have been missed meanwhile).
// What a failover can lose (entries the old primary took but never passed
// on) is found by the readers (streams.hpp) and told to members as missed.
// Called with mu held.

#include <chatroom/redis/detail/connection.hpp>
#include <chatroom/redis/detail/context.hpp>

#include <asio/steady_timer.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace chatroom::detail {

class sentinel_watch {
public:
    using connection = std::shared_ptr<redis_connection>;

    explicit sentinel_watch(backplane_context& ctx)
        : ctx_(ctx), masters_(ctx.opts.masters.size()), listen_retry_(ctx.ex) {
        for (auto& m : masters_) m.retry = std::make_unique<asio::steady_timer>(ctx.ex);
    }

    // The instance moved: its links connect again (to the new address).
    std::function<void(std::size_t instance, const std::string& why)> on_moved;

    void start() {
        for (std::size_t i = 0; i < masters_.size(); ++i) resolve(i);
        listen();
    }
    void stop() {
        listen_retry_.cancel();
        for (auto& m : masters_) m.retry->cancel();
        if (subscriber_) asio::post(ctx_.ex, [c = std::move(subscriber_)] { c->close(); });
    }

    // Where instance i is, if a sentinel has said; else it is asked.
    std::optional<redis_endpoint> address(std::size_t i) {
        if (!masters_[i].at) resolve(i);
        return masters_[i].at;
    }

    // Asks the sentinels where instance i is now (once at a time).
    void resolve(std::size_t i) {
        if (masters_[i].asking) return;
        masters_[i].asking = true;
        ask(i, 0);
    }

private:
    struct master {
        std::optional<redis_endpoint> at;
        bool asking = false;
        unsigned failures = 0;
        std::unique_ptr<asio::steady_timer> retry;
    };

    connection open(std::size_t sentinel) {
        redis_connection_options o;
        o.host = ctx_.opts.sentinels[sentinel].host;
        o.port = ctx_.opts.sentinels[sentinel].port;
        o.command_timeout = ctx_.opts.command_timeout;
        o.connect_timeout = ctx_.opts.command_timeout;
        return redis_connection::create(ctx_.ex.get_inner_executor(), o);
    }

    void ask(std::size_t i, std::size_t sentinel) {
        master& m = masters_[i];
        if (sentinel >= ctx_.opts.sentinels.size()) { // none knew: again after backoff
            m.retry->expires_after(ctx_.backoff(++m.failures));
            m.retry->async_wait(ctx_.guarded([this, i](std::error_code ec) {
                if (ec) return;
                masters_[i].asking = false;
                resolve(i);
            }));
            return;
        }
        connection c = open(sentinel);
        c->connect(ctx_.guarded([this, c, i, sentinel](std::error_code ec) {
            if (ec) return ask(i, sentinel + 1);
            c->command({"SENTINEL", "get-master-addr-by-name", ctx_.opts.masters[i]},
                       ctx_.guarded([this, c, i, sentinel](std::error_code e, const redis_reply& r) {
                           c->close();
                           if (e || !r.is_array() || r.elements.size() != 2) return ask(i, sentinel + 1);
                           masters_[i].asking = false;
                           masters_[i].failures = 0;
                           found(i, r.elements[0].text, r.elements[1].text);
                       }));
        }));
    }

    void found(std::size_t i, const std::string& host, const std::string& port_text) {
        unsigned long port = 0;
        for (char ch : port_text) {
            if (ch < '0' || ch > '9' || port > 65535) return;
            port = port * 10 + static_cast<unsigned long>(ch - '0');
        }
        if (host.empty() || port == 0 || port > 65535) return;
        master& m = masters_[i];
        const bool moved = m.at && (m.at->host != host || m.at->port != port);
        m.at = redis_endpoint{host, static_cast<unsigned short>(port)};
        if (!moved) return;
        const std::string why = "the primary of " + ctx_.opts.masters[i] + " is now " + host + ":" + port_text;
        ctx_.note("Sentinel: " + why);
        if (on_moved) on_moved(i, why);
    }

    // Listens for failovers on one sentinel; on losing it, on the next.
    void listen() {
        if (ctx_.opts.sentinels.empty()) return;
        const std::size_t sentinel = listening_++ % ctx_.opts.sentinels.size();
        const unsigned gen = ++listen_gen_;
        subscriber_ = open(sentinel);
        subscriber_->on_disconnect(ctx_.guarded([this, gen](std::error_code) { relisten(gen); }));
        subscriber_->connect(ctx_.guarded([this, gen](std::error_code ec) {
            if (gen != listen_gen_) return;
            if (ec) return relisten(gen);
            subscriber_->subscribe({"+switch-master"}, ctx_.guarded([this, gen](std::error_code e) {
                if (e) return relisten(gen);
                if (gen == listen_gen_) listen_failures_ = 0;
            }),
                                   ctx_.guarded([this](const std::string&, const std::string& payload) {
                                       switched(payload);
                                   }));
        }));
    }

    void relisten(unsigned gen) {
        if (gen != listen_gen_) return;
        ++listen_gen_;
        if (subscriber_) asio::post(ctx_.ex, [c = std::move(subscriber_)] { c->close(); });
        listen_retry_.expires_after(ctx_.backoff(++listen_failures_));
        listen_retry_.async_wait(ctx_.guarded([this](std::error_code ec) {
            if (ec) return;
            for (std::size_t i = 0; i < masters_.size(); ++i) resolve(i); // a switch may have been missed
            listen();
        }));
    }

    // "<name> <old ip> <old port> <new ip> <new port>"
    void switched(const std::string& payload) {
        std::istringstream in(payload);
        std::string name, old_host, old_port, host, port;
        if (!(in >> name >> old_host >> old_port >> host >> port)) return;
        for (std::size_t i = 0; i < masters_.size(); ++i)
            if (ctx_.opts.masters[i] == name) found(i, host, port);
    }

    backplane_context& ctx_;
    std::vector<master> masters_;
    connection subscriber_;
    asio::steady_timer listen_retry_;
    std::size_t listening_ = 0;
    unsigned listen_gen_ = 0;
    unsigned listen_failures_ = 0;
};

} // namespace chatroom::detail
