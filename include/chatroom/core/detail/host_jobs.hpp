#pragma once

#include <chatroom/core/detail/commands.hpp>
#include <chatroom/core/detail/history_service.hpp>
#include <chatroom/core/access.hpp>

#include <asio/post.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace chatroom::detail {

// What one pass under the hub's lock leaves to run once it is released: the
// host's code (a login verifier, custom commands' handlers), each through
// the host gate (host_gate.hpp) with what it throws caught, and nick claims
// across servers. Hub is the hub (hub.hpp), which makes this its friend.
struct host_jobs {
    std::vector<commands::login_job> logins;
    std::vector<commands::command_job> calls;
    std::vector<commands::nick_job> claims;
    std::vector<commands::history_job> histories;
    std::vector<std::string> opened; // rooms that opened here
    login_verifier verify;

    // Under the hub's lock.
    void take(commands& c) {
        logins = c.take_logins();
        calls = c.take_calls();
        claims = c.take_claims();
        histories = c.take_histories();
        opened = c.take_opened();
        if (!logins.empty()) verify = c.access().verify;
    }

    // With the lock released.
    template <class Hub>
    void run(Hub& h) {
        for (auto& job : logins) start_login(h, std::move(job));
        for (auto& job : calls) run_command(h, std::move(job));
        for (auto& job : claims) start_claim(h, std::move(job));
        for (auto& room : opened) history_service::room_opened(h, room);
        for (auto& job : histories) answer_history(h, std::move(job));
    }

private:
    // A member's /history: the answer goes to it, if it is still here.
    template <class Hub>
    static void answer_history(Hub& h, commands::history_job job) {
        std::string room = job.query.room;
        const std::size_t lines = job.query.limit;
        const history_range range = job.query.range;
        history_service::ask(h, std::move(job.query),
                             [self = h.shared_from_this(), who = job.who, room, lines, range](std::error_code ec,
                                                                                             history_page page) {
                                 self->locked([&] {
                                     if (auto m = who.lock(); m && !m->is_closed())
                                         self->out_.send(*m, history_service::answer_of(room, ec, page, lines, range));
                                 });
                             });
    }

    // The verifier; its answer (the first, if it gives several) comes back
    // on the executor. Thrown (an error event) or detached: "! server error",
    // not counted as a failed login.
    template <class Hub>
    void start_login(Hub& h, commands::login_job job) {
        auto done = [self = h.shared_from_this(), who = job.who, name = job.request.name,
                     once = std::make_shared<std::atomic<bool>>(false)](login_result r) {
            if (once->exchange(true)) return;
            asio::post(self->ex_, [self, who, name, r = std::move(r)] {
                if (auto m = who.lock()) self->decide_login(*m, [&] { self->commands_.finish_login(*m, name, r); });
            });
        };
        std::string threw;
        if (h.events_.run([&] { verify(std::move(job.request), done); }, threw, "access hook verify") && threw.empty())
            return;
        if (!threw.empty()) h.locked([&] { h.events_.error(std::move(threw)); });
        done(login_result{false, false, "server error", {}, false});
    }

    // A custom command's handler; what it asked for goes out locked. Thrown:
    // the caller gets "! command failed", and the host an error event.
    template <class Hub>
    void run_command(Hub& h, commands::command_job job) {
        std::string threw;
        if (!h.events_.run([&] { job.handler(job.call); }, threw, "command /" + job.name)) return;
        auto m = job.who.lock();
        const bool failed = !threw.empty();
        h.locked([&] {
            if (failed) h.events_.error(std::move(threw), job.call.caller().nick);
            if (m) h.commands_.finish_call(*m, job.call, failed);
        });
    }

    // A nick claimed across servers (room_log::claims_nicks); the answer
    // comes back on the executor.
    template <class Hub>
    static void start_claim(Hub& h, commands::nick_job job) {
        h.log_->claim_nick(job.nick, [self = h.shared_from_this(), job](bool won) {
            asio::post(self->ex_, [self, job, won] {
                if (auto m = job.who.lock()) self->decide_login(*m, [&] { self->commands_.finish_claim(*m, job, won); });
            });
        });
    }
};

} // namespace chatroom::detail
