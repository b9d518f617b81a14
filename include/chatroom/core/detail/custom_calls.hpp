#pragma once

#include <chatroom/core/detail/access_checks.hpp>
#include <chatroom/core/detail/custom_commands.hpp>
#include <chatroom/core/detail/fanout.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/membership.hpp>
#include <chatroom/core/access.hpp>
#include <chatroom/core/command.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/room_log.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/core/stats.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::detail {

// Calls of the host's commands (custom_commands.hpp): a member's /name ARGS
// becomes a job the hub runs with its lock released (host_jobs.hpp); what
// the handler asked for comes back here, locked, and goes out. Guarded by
// the hub's lock.
class custom_calls {
public:
    struct job {
        std::weak_ptr<member> who;
        command_handler handler;
        command_call call;
        std::string name; // as registered
    };

    custom_calls(counters& count, fanout& out) : count_(count), out_(out) {}

    void set_log(room_log& log) noexcept { log_ = &log; }

    void queue(member& m, const custom_commands::entry& c, std::string_view rest) {
        std::string args;
        sanitize_append(args, rest);
        jobs_.push_back(job{m.shared_from_this(), c.handler, command_call(info_of(m), args), c.name});
    }

    std::vector<job> take() { return std::exchange(jobs_, {}); }

    // A custom command's handler ran; what it asked for goes out now. One
    // that threw (failed) sent nothing: the caller hears so.
    void finish(member& m, const command_call& call, bool failed) {
        if (!m.state.attached) return;
        if (failed) return out_.send(m, reply::refused("command failed"));
        if (!call.refusal().empty()) return out_.send(m, reply::refused(call.refusal()));
        for (const std::string& text : call.replies()) {
            std::string line;
            sanitize_append(line, text);
            out_.send(m, reply::notice(line));
        }
        room* r = m.state.current(); // a custom command speaks in the room the member is using
        if (!r) return;
        for (const std::string& text : call.says()) {
            std::string line;
            sanitize_append(line, text);
            if (line.empty()) continue;
            room_event e = membership::event_of(room_event_kind::chat, m, r);
            e.add_line(line);
            counters::add(count_.lines_in);
            log_->append(e);
        }
    }

private:
    counters& count_;
    fanout& out_;
    room_log* log_ = nullptr;
    std::vector<job> jobs_;
};

} // namespace chatroom::detail
