// chatroom-pubsub-server: a chat server whose rooms span several processes
// through Redis pub/sub, the at-most-once design many chat systems use, kept
// here as the peer that bench/run's S7 compares the Redis Streams backplane
// (chatroom-server --redis) with. Not a product: bench only.
//
// It is chatroom::basic_server with its room log replaced (room_log.hpp):
// append() PUBLISHes each event, serialized, to a channel per room; every
// node (this one too) SUBSCRIBEs to the channels of the rooms it has members
// in and hands what it receives to sink.deliver_ordered(). Redis relays a
// channel's messages to every subscriber in one order, so every node
// delivers a room's events in the same order, as the streams backplane does;
// what pub/sub does not give is the rest: a message published while a node's
// subscription is down (or before it is confirmed, or dropped by Redis'
// client-output-buffer-limit for a subscriber that falls behind) is lost for
// that node, and nothing tells it. Joiners get no history across nodes.
//
//   chatroom-pubsub-server --redis HOST:PORT [--node-id ID] [--bind ADDR] [--port N]
//                          [--prefix P] [--max-in-flight N] [--threads N]
//
// Prints "listening on ADDR:PORT (tcp)" on stdout once it accepts (port 0,
// the default, picks a free one), logs problems on stderr, stops on SIGINT
// or SIGTERM with a summary line.

#include <chatroom/detail/redis_connection.hpp>
#include <chatroom/line/command.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/room_log.hpp>
#include <chatroom/server.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace {

using chatroom::room_event;
using chatroom::room_event_kind;
using chatroom::detail::redis_connection;
using chatroom::detail::redis_connection_options;
using chatroom::detail::redis_reply;

void log_line(const std::string& text) {
    std::fprintf(stderr, "chatroom-pubsub-server: %s\n", text.c_str());
    std::fflush(stderr);
}

// ---- one event as one PUBLISH payload -----------------------------------------
// "1" (format version), the kind as one digit, the origin member id in
// decimal and ';', then node, room, nick, old nick, target, text and reason,
// each as its length in decimal, ':' and its bytes (binary-safe, so a text of
// several '\n'-ended lines needs no escaping).

constexpr char format_version = '1';
constexpr int last_kind = static_cast<int>(room_event_kind::topic);

void put_field(std::string& out, std::string_view v) {
    out += std::to_string(v.size());
    out += ':';
    out.append(v.data(), v.size());
}

std::string encode(const room_event& e) {
    std::string out;
    out.reserve(32 + e.node.size() + e.room.size() + e.nick.size() + e.old_nick.size() + e.target.size() +
                e.text.size() + e.reason.size());
    out += format_version;
    out += static_cast<char>('0' + static_cast<int>(e.kind));
    out += std::to_string(e.origin);
    out += ';';
    for (const std::string* f : {&e.node, &e.room, &e.nick, &e.old_nick, &e.target, &e.text, &e.reason})
        put_field(out, *f);
    return out;
}

// Digits up to `end`, consumed with it; false for anything else or an
// overflow.
bool take_number(std::string_view& in, char end, std::uint64_t& value) {
    value = 0;
    std::size_t i = 0;
    for (; i < in.size() && in[i] >= '0' && in[i] <= '9'; ++i) {
        const auto digit = static_cast<std::uint64_t>(in[i] - '0');
        if (value > (UINT64_MAX - digit) / 10) return false;
        value = value * 10 + digit;
    }
    if (i == 0 || i >= in.size() || in[i] != end) return false;
    in.remove_prefix(i + 1);
    return true;
}

bool take_field(std::string_view& in, std::string& out) {
    std::uint64_t size = 0;
    if (!take_number(in, ':', size) || size > in.size()) return false;
    out.assign(in.data(), static_cast<std::size_t>(size));
    in.remove_prefix(static_cast<std::size_t>(size));
    return true;
}

std::optional<room_event> decode(std::string_view in) {
    if (in.size() < 3 || in[0] != format_version || in[1] < '0' || in[1] > '0' + last_kind) return std::nullopt;
    room_event e;
    e.kind = static_cast<room_event_kind>(in[1] - '0');
    in.remove_prefix(2);
    if (!take_number(in, ';', e.origin)) return std::nullopt;
    for (std::string* f : {&e.node, &e.room, &e.nick, &e.old_nick, &e.target, &e.text, &e.reason})
        if (!take_field(in, *f)) return std::nullopt;
    if (!in.empty()) return std::nullopt;
    if (e.kind == room_event_kind::chat) e.index_lines();
    return e;
}

// ---- the log --------------------------------------------------------------------

struct pubsub_settings {
    redis_connection_options redis;
    std::string node_id;
    std::string prefix = "chatroom-pubsub:";
    // PUBLISHes sent and not yet answered past which senders are paused
    // (room_log::accepting), so a Redis that falls behind bounds the memory
    // hiredis buffers instead of growing it.
    std::size_t max_in_flight = 4096;
};

// What the connections' handlers need, shared with them through weak
// pointers so that a handler running after the log is gone does nothing.
//
// Locks: mutex_ guards the connections; it is taken inside the server's lock
// (room_log calls) and never held while calling the sink (which takes the
// server's lock) or closing a connection (whose handlers may then run at
// once and take mutex_).
class pubsub_state : public std::enable_shared_from_this<pubsub_state> {
    using connection_ptr = std::shared_ptr<redis_connection>;
    using weak_connection = std::weak_ptr<redis_connection>;

public:
    pubsub_state(chatroom::room_event_sink& sink, pubsub_settings settings)
        : sink_(sink), settings_(std::move(settings)), executor_(sink.executor()) {}

    void start() {
        std::lock_guard<std::mutex> g(mutex_);
        open_publisher();
    }

    // Every connection closed and no retry pending: the executor runs out of
    // work once the server has stopped too. Any thread.
    void close_all() {
        std::vector<connection_ptr> doomed;
        {
            std::lock_guard<std::mutex> g(mutex_);
            closed_ = true;
            if (publisher_) doomed.push_back(std::move(publisher_));
            if (publisher_retry_) publisher_retry_->cancel();
            for (auto& [room, sub] : subscribers_) {
                if (sub.connection) doomed.push_back(std::move(sub.connection));
                if (sub.retry) sub.retry->cancel();
            }
            subscribers_.clear();
        }
        for (auto& c : doomed) c->close();
    }

    // With the server's lock held.
    void publish(room_event& e) {
        e.node = settings_.node_id;
        connection_ptr pub;
        {
            std::lock_guard<std::mutex> g(mutex_);
            pub = publisher_;
        }
        if (!pub) {
            note_lost();
            return;
        }
        // Nothing waits for the reply: at most once. A failed PUBLISH is
        // counted, and its connection's failure replaces the connection.
        pub->command({"PUBLISH", channel_of(e.room), encode(e)},
                     [weak = weak_from_this()](std::error_code ec, redis_reply r) {
                         if (ec || r.is_error())
                             if (auto self = weak.lock()) self->note_lost();
                     });
    }

    bool accepting() const {
        std::lock_guard<std::mutex> g(mutex_);
        return publisher_ && publisher_->in_flight() < settings_.max_in_flight;
    }

    // With the server's lock held: start or stop reading a room's channel.
    void room_opened(const std::string& room) {
        connection_ptr old;
        {
            std::lock_guard<std::mutex> g(mutex_);
            if (closed_) return;
            const std::string key = chatroom::protocol::fold_case(room);
            subscription& sub = subscribers_[key];
            old = std::move(sub.connection);
            open_subscriber(key, sub);
        }
        if (old) old->close();
    }

    void room_closed(const std::string& room) {
        connection_ptr old;
        {
            std::lock_guard<std::mutex> g(mutex_);
            const auto it = subscribers_.find(chatroom::protocol::fold_case(room));
            if (it == subscribers_.end()) return;
            old = std::move(it->second.connection);
            if (it->second.retry) it->second.retry->cancel();
            subscribers_.erase(it);
        }
        if (old) old->close();
    }

    const std::string& node_id() const noexcept { return settings_.node_id; }
    std::uint64_t lost() const noexcept { return lost_.load(std::memory_order_relaxed); }
    std::uint64_t received() const noexcept { return received_.load(std::memory_order_relaxed); }

private:
    struct subscription {
        connection_ptr connection; // null while waiting to subscribe again
        std::shared_ptr<asio::steady_timer> retry;
        std::uint64_t seq = 0; // numbers the room's events in the order received
    };

    std::string channel_of(const std::string& room) const {
        return settings_.prefix + "room:" + chatroom::protocol::fold_case(room);
    }

    // Counted; the first loss is also reported, from the executor, as this
    // may run inside a room_log call.
    void note_lost() {
        if (lost_.fetch_add(1, std::memory_order_relaxed) == 0)
            report("pubsub: an event could not be published (at most once: it is lost)");
    }

    void report(std::string text) {
        asio::post(executor_, [weak = weak_from_this(), text = std::move(text)]() mutable {
            if (auto self = weak.lock()) self->sink_.report(std::move(text));
        });
    }

    // mutex_ held.
    void open_publisher() {
        if (closed_) return;
        publisher_ = redis_connection::create(executor_, settings_.redis);
        auto failed = [weak = weak_from_this(), which = weak_connection(publisher_)](std::error_code ec) {
            if (!ec) return;
            if (auto self = weak.lock()) self->publisher_failed(which, ec);
        };
        publisher_->on_disconnect(failed);
        publisher_->connect(failed);
    }

    void publisher_failed(const weak_connection& which, std::error_code ec) {
        {
            std::lock_guard<std::mutex> g(mutex_);
            if (closed_ || !publisher_ || which.lock() != publisher_) return;
            publisher_.reset();
            publisher_retry_ = std::make_shared<asio::steady_timer>(executor_, retry_delay);
            publisher_retry_->async_wait([weak = weak_from_this()](std::error_code wait_ec) {
                if (wait_ec) return;
                if (auto self = weak.lock()) {
                    std::lock_guard<std::mutex> g2(self->mutex_);
                    if (!self->publisher_) self->open_publisher();
                }
            });
        }
        report("pubsub: publisher connection failed: " + ec.message() + "; reconnecting");
    }

    // mutex_ held; sub.connection is null (its old one is the caller's to close).
    void open_subscriber(const std::string& key, subscription& sub) {
        if (sub.retry) sub.retry->cancel();
        sub.connection = redis_connection::create(executor_, settings_.redis);
        const weak_connection which(sub.connection);
        auto failed = [weak = weak_from_this(), key, which](std::error_code ec) {
            if (!ec) return;
            if (auto self = weak.lock()) self->subscriber_failed(key, which, ec);
        };
        sub.connection->on_disconnect(failed);
        sub.connection->connect(failed);
        sub.connection->subscribe({channel_of(key)}, failed,
                                  [weak = weak_from_this(), key, which](std::string, std::string payload) {
                                      if (auto self = weak.lock()) self->received(key, which, payload);
                                  });
    }

    void subscriber_failed(const std::string& key, const weak_connection& which, std::error_code ec) {
        {
            std::lock_guard<std::mutex> g(mutex_);
            const auto it = subscribers_.find(key);
            if (closed_ || it == subscribers_.end() || !it->second.connection ||
                which.lock() != it->second.connection)
                return; // an old connection's news, or the second of one failure (connect and subscribe)
            subscription& sub = it->second;
            sub.connection.reset();
            sub.retry = std::make_shared<asio::steady_timer>(executor_, retry_delay);
            sub.retry->async_wait([weak = weak_from_this(), key](std::error_code wait_ec) {
                if (wait_ec) return;
                if (auto self = weak.lock()) {
                    std::lock_guard<std::mutex> g2(self->mutex_);
                    const auto found = self->subscribers_.find(key);
                    if (self->closed_ || found == self->subscribers_.end() || found->second.connection) return;
                    self->open_subscriber(key, found->second);
                }
            });
        }
        report("pubsub: subscription to room " + key + " failed: " + ec.message() +
               "; subscribing again (what is published meanwhile is lost)");
    }

    // On a subscriber's strand: one message of a room's channel.
    void received(const std::string& key, const weak_connection& which, const std::string& payload) {
        std::optional<room_event> e = decode(payload);
        {
            std::lock_guard<std::mutex> g(mutex_);
            const auto it = subscribers_.find(key);
            if (closed_ || it == subscribers_.end() || !it->second.connection ||
                which.lock() != it->second.connection)
                return;
            if (e) e->seq = ++it->second.seq;
        }
        if (!e) {
            sink_.report("pubsub: undecodable message on room " + key);
            return;
        }
        // A member id means something only on the server that made it: on
        // this one it keeps the sender from its own echo; from elsewhere it
        // would exclude an unrelated local member.
        if (e->node != settings_.node_id) e->origin = 0;
        received_.fetch_add(1, std::memory_order_relaxed);
        batch_.clear();
        batch_.push_back(std::move(*e));
        sink_.deliver_ordered(batch_);
    }

    static constexpr std::chrono::milliseconds retry_delay{200};

    chatroom::room_event_sink& sink_;
    const pubsub_settings settings_;
    asio::any_io_executor executor_;
    mutable std::mutex mutex_; // publisher_, publisher_retry_, subscribers_, closed_
    connection_ptr publisher_;
    std::shared_ptr<asio::steady_timer> publisher_retry_;
    std::map<std::string, subscription> subscribers_;
    bool closed_ = false;
    std::atomic<std::uint64_t> lost_{0};
    std::atomic<std::uint64_t> received_{0};
    // One event at a time, in a vector kept for its capacity. Handlers of
    // one subscriber run on its strand, but two rooms' subscribers may run
    // at once with several threads: thread_local keeps them apart.
    static thread_local std::vector<room_event> batch_;
};

thread_local std::vector<room_event> pubsub_state::batch_;

class pubsub_log final : public chatroom::room_log {
public:
    pubsub_log(chatroom::room_event_sink& sink, std::shared_ptr<pubsub_state> state)
        : sink_(sink), state_(std::move(state)) {}

    ~pubsub_log() override { state_->close_all(); }

    void append(room_event& e) override {
        if (e.kind == room_event_kind::private_message || e.room.empty()) {
            // No cluster-wide directory of nicks here: private messages stay
            // on this server, delivered at once as the in-process log does.
            e.seq = ++local_seq_;
            sink_.deliver(e);
            return;
        }
        state_->publish(e);
    }

    void room_opened(const std::string& room) override { state_->room_opened(room); }
    void room_closed(const std::string& room) override { state_->room_closed(room); }
    std::string guest_prefix() const override { return "guest-" + state_->node_id() + "-"; }
    bool accepting() const override { return state_->accepting(); }

private:
    chatroom::room_event_sink& sink_;
    std::shared_ptr<pubsub_state> state_;
    std::uint64_t local_seq_ = 0;
};

// ---- command line -----------------------------------------------------------------

struct settings {
    pubsub_settings pubsub;
    std::string bind = "127.0.0.1";
    unsigned short port = 0;
    unsigned threads = 1;
    bool have_redis = false;
};

[[noreturn]] void usage(int status) {
    std::fprintf(status ? stderr : stdout,
                 "usage: chatroom-pubsub-server --redis HOST:PORT [options]\n"
                 "  --redis HOST:PORT   the Redis instance every node publishes and subscribes through\n"
                 "  --node-id ID        this node's name (default: 8 random [a-z0-9])\n"
                 "  --bind ADDR         address to listen on (default 127.0.0.1)\n"
                 "  --port N            TCP port (default 0: a free one, printed on stdout)\n"
                 "  --prefix P          prefix of the channels (default chatroom-pubsub:)\n"
                 "  --max-in-flight N   unanswered PUBLISHes past which senders pause (default 4096)\n"
                 "  --threads N         threads running the server (default 1)\n");
    std::exit(status);
}

unsigned long parse_number(const char* name, const std::string& v, unsigned long lo, unsigned long hi) {
    char* end = nullptr;
    errno = 0;
    const unsigned long x = std::strtoul(v.c_str(), &end, 10);
    if (v.empty() || v[0] == '-' || errno != 0 || *end != '\0' || x < lo || x > hi) {
        std::fprintf(stderr, "chatroom-pubsub-server: bad value for %s: '%s'\n", name, v.c_str());
        usage(2);
    }
    return x;
}

std::string random_node_id() {
    static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device rd;
    std::string id;
    for (int i = 0; i < 8; ++i) id += alphabet[rd() % (sizeof alphabet - 1)];
    return id;
}

settings parse(int argc, char** argv) {
    settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "-h" || arg == "--help") usage(0);
        if (i + 1 >= argc) {
            std::fprintf(stderr, "chatroom-pubsub-server: %s needs a value\n", arg.c_str());
            usage(2);
        }
        const std::string v = argv[++i];
        if (arg == "--redis") {
            const std::size_t colon = v.rfind(':');
            if (colon == std::string::npos || colon == 0) {
                std::fprintf(stderr, "chatroom-pubsub-server: --redis wants HOST:PORT\n");
                usage(2);
            }
            s.pubsub.redis.host = v.substr(0, colon);
            s.pubsub.redis.port = static_cast<unsigned short>(parse_number("--redis", v.substr(colon + 1), 1, 65535));
            s.have_redis = true;
        } else if (arg == "--node-id") {
            s.pubsub.node_id = v;
        } else if (arg == "--bind") {
            s.bind = v;
        } else if (arg == "--port") {
            s.port = static_cast<unsigned short>(parse_number("--port", v, 0, 65535));
        } else if (arg == "--prefix") {
            s.pubsub.prefix = v;
        } else if (arg == "--max-in-flight") {
            s.pubsub.max_in_flight = parse_number("--max-in-flight", v, 1, 1u << 24);
        } else if (arg == "--threads") {
            s.threads = static_cast<unsigned>(parse_number("--threads", v, 1, 256));
        } else {
            std::fprintf(stderr, "chatroom-pubsub-server: unknown option '%s'\n", arg.c_str());
            usage(2);
        }
    }
    if (!s.have_redis) {
        std::fprintf(stderr, "chatroom-pubsub-server: --redis is required\n");
        usage(2);
    }
    if (s.pubsub.node_id.empty()) s.pubsub.node_id = random_node_id();
    for (const char c : s.pubsub.node_id) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            std::fprintf(stderr, "chatroom-pubsub-server: --node-id takes [a-z0-9-] only\n");
            usage(2);
        }
    }
    return s;
}

} // namespace

int main(int argc, char** argv) {
    settings s = parse(argc, argv);
    asio::io_context io(static_cast<int>(s.threads));
    chatroom::server_options options;
    options.max_connections = 20000;
    options.concurrency = s.threads == 1 ? chatroom::threading::single : chatroom::threading::multi;

    std::shared_ptr<pubsub_state> state;
    chatroom::server server(io, options);
    server.on_event(
        [](const chatroom::server_event& e) {
            if (e.kind == chatroom::server_event_kind::error) log_line(e.text);
        },
        chatroom::mask_of(chatroom::server_event_kind::error));
    server.set_room_log([&](chatroom::room_event_sink& sink) {
        state = std::make_shared<pubsub_state>(sink, s.pubsub);
        state->start();
        return std::make_unique<pubsub_log>(sink, state);
    });
    asio::ip::tcp::endpoint bound;
    try {
        bound = server.listen_tcp({asio::ip::make_address(s.bind), s.port});
    } catch (const std::exception& e) {
        log_line(std::string("cannot listen: ") + e.what());
        return 1;
    }
    std::printf("listening on %s:%u (tcp), node %s, redis %s:%u\n", bound.address().to_string().c_str(),
                static_cast<unsigned>(bound.port()), s.pubsub.node_id.c_str(), s.pubsub.redis.host.c_str(),
                static_cast<unsigned>(s.pubsub.redis.port));
    std::fflush(stdout);

    // The Redis connections keep the executor busy: closed with the server,
    // so that run() returns once the clients are gone.
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code ec, int) {
        if (ec) return;
        server.stop();
        state->close_all();
    });
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < s.threads; ++i) pool.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : pool) t.join();
    const auto st = server.stats();
    log_line("stopped: " + std::to_string(st.accepted) + " connections, " + std::to_string(st.lines_in) +
             " lines in, " + std::to_string(st.lines_delivered) + " delivered, " + std::to_string(state->received()) +
             " events received from redis, " + std::to_string(state->lost()) + " not published");
    return 0;
}
