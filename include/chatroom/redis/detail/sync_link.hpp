#pragma once

// Synchronous hiredis connections for a thread of its own that may block
// (the history store's query thread, history.hpp), never for an I/O thread.
//
// - sync_connection: one blocking context; connect and every command are
//   bounded by the command timeout (redisConnectWithTimeout,
//   redisSetTimeout); AUTH first when there is a password, as the
//   backplane's links do. A failed command closes it.
// - sync_instances: one connection per instance, opened when first needed
//   and again after a failure. With Sentinel (redis_options::masters) the
//   address of each master is asked of the sentinels in turn (SENTINEL
//   get-master-addr-by-name) when the connection opens, and asked again
//   after a failure or a READONLY reply (a failover moved the primary).

#include <chatroom/redis/detail/reply.hpp>
#include <chatroom/redis/options.hpp>

#include <hiredis/hiredis.h>

#include <sys/time.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chatroom::detail {

class sync_connection {
public:
    sync_connection() = default;
    sync_connection(const sync_connection&) = delete;
    sync_connection& operator=(const sync_connection&) = delete;
    ~sync_connection() { close(); }

    bool is_open() const noexcept { return c_ != nullptr; }

    // Connects (and authenticates); false with why.
    bool open(const redis_endpoint& at, const std::string& password, std::chrono::milliseconds timeout,
              std::string& why) {
        close();
        where_ = at.host + ":" + std::to_string(at.port);
        const long long ms = timeout.count() > 0 ? timeout.count() : 1;
        timeval tv{};
        tv.tv_sec = static_cast<time_t>(ms / 1000);
        tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
        redisContext* c = redisConnectWithTimeout(at.host.c_str(), at.port, tv);
        if (!c) {
            why = where_ + ": out of memory";
            return false;
        }
        if (c->err || redisSetTimeout(c, tv) != REDIS_OK) {
            why = where_ + ": " + (c->err ? std::string(c->errstr) : std::string("cannot set the timeout"));
            redisFree(c);
            return false;
        }
        c_ = c;
        if (password.empty()) return true;
        std::vector<std::string> auth{"AUTH"};
        const std::size_t space = password.find(' ');
        if (space == std::string::npos) auth.push_back(password);
        else {
            auth.push_back(password.substr(0, space));
            auth.push_back(password.substr(space + 1));
        }
        auto r = command(auth, why);
        if (r && r->is_error()) why = where_ + ": AUTH: " + r->text;
        if (!r || r->is_error()) {
            close();
            return false;
        }
        return true;
    }

    // The reply (an error reply is one), or nothing when the connection
    // failed or timed out: it is closed, and why says what happened.
    std::optional<redis_reply> command(const std::vector<std::string>& args, std::string& why) {
        if (!c_) {
            why = where_ + ": not connected";
            return std::nullopt;
        }
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (const std::string& a : args) {
            argv.push_back(a.c_str()); // never null, even when empty
            lengths.push_back(a.size());
        }
        void* raw = redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lengths.data());
        if (!raw) {
            why = where_ + ": " + (c_->err ? std::string(c_->errstr) : std::string("no reply"));
            if (c_->err == REDIS_ERR_IO && why.find("temporarily unavailable") != std::string::npos)
                why = where_ + ": no reply within the command timeout";
            close();
            return std::nullopt;
        }
        redis_reply out = redis_reply::from_hiredis(*static_cast<const redisReply*>(raw));
        freeReplyObject(raw);
        return out;
    }

    void close() noexcept {
        if (c_) redisFree(c_);
        c_ = nullptr;
    }

private:
    redisContext* c_ = nullptr;
    std::string where_;
};

class sync_instances {
public:
    explicit sync_instances(const redis_options& o)
        : opts_(o), links_(o.masters.empty() ? (o.instances.empty() ? 1 : o.instances.size()) : o.masters.size()),
          resolved_(links_.size()) {}

    std::size_t size() const noexcept { return links_.size(); }

    // Runs args on instance i: the reply, or nothing (why says) when it
    // could not be had. A connection that had been open and fails is opened
    // once more and the command sent again (Redis restarted between queries):
    // queries only read, so sending again is harmless.
    std::optional<redis_reply> command(std::size_t i, const std::vector<std::string>& args, std::string& why) {
        for (int attempt = 0; attempt < 2; ++attempt) {
            const bool was_open = links_[i].is_open();
            if (!was_open && !open(i, why)) return std::nullopt;
            auto r = links_[i].command(args, why);
            if (r && classify(*r) == reply_fault::readonly) { // a replica now: find the primary again
                why = "READONLY: " + r->text;
                forget(i);
                return std::nullopt;
            }
            if (r) return r;
            forget(i);
            if (!was_open) return std::nullopt;
        }
        return std::nullopt;
    }

    void close() noexcept {
        for (auto& l : links_) l.close();
    }

private:
    void forget(std::size_t i) {
        links_[i].close();
        if (!opts_.masters.empty()) resolved_[i].reset();
    }

    bool open(std::size_t i, std::string& why) {
        if (opts_.masters.empty()) {
            const redis_endpoint at = opts_.instances.empty() ? redis_endpoint{} : opts_.instances[i];
            return links_[i].open(at, opts_.password, opts_.command_timeout, why);
        }
        if (!resolved_[i] && !resolve(i, why)) return false;
        return links_[i].open(*resolved_[i], opts_.password, opts_.command_timeout, why);
    }

    // Asks each sentinel in turn where master i is.
    bool resolve(std::size_t i, std::string& why) {
        why = "no sentinel knows master " + opts_.masters[i];
        for (const redis_endpoint& s : opts_.sentinels) {
            sync_connection c;
            std::string failed;
            if (!c.open(s, {}, opts_.command_timeout, failed)) continue;
            auto r = c.command({"SENTINEL", "get-master-addr-by-name", opts_.masters[i]}, failed);
            if (!r || !r->is_array() || r->elements.size() != 2 || !r->elements[0].is_string()) continue;
            unsigned long port = 0;
            const std::string& text = r->elements[1].text;
            for (char ch : text) {
                if (ch < '0' || ch > '9' || port > 65535) {
                    port = 0;
                    break;
                }
                port = port * 10 + static_cast<unsigned long>(ch - '0');
            }
            if (r->elements[0].text.empty() || port == 0 || port > 65535) continue;
            resolved_[i] = redis_endpoint{r->elements[0].text, static_cast<unsigned short>(port)};
            return true;
        }
        return false;
    }

    const redis_options opts_;
    std::vector<sync_connection> links_;
    std::vector<std::optional<redis_endpoint>> resolved_;
};

} // namespace chatroom::detail
