#pragma once

// A room log for tests (core/room_log.hpp): it orders and delivers as the
// in-process log does (at once, one counter), and records what the core
// tells a log: every event appended, the rooms opened and closed, who holds
// which nick where. Install it with hub::set_log(), or
// basic_server::set_room_log().

#include <chatroom.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chatroom::test {

class recording_log final : public room_log {
public:
    explicit recording_log(room_event_sink& sink) : sink_(sink) {}

    void append(room_event& e) override {
        e.seq = ++last_seq_;
        appended.push_back(e);
        sink_.deliver(e);
    }
    void room_opened(const std::string& room) override { opened.push_back(room); }
    void room_closed(const std::string& room) override { closed.push_back(room); }
    void presence(std::string_view nick, const std::vector<std::string_view>& rooms) override {
        std::string where;
        for (std::string_view r : rooms) where += (where.empty() ? "" : ",") + std::string(r);
        presences.push_back(std::string(nick) + "@" + where);
    }
    void gone(std::string_view nick) override { gone_nicks.emplace_back(nick); }
    bool wants_presence() const override { return true; }

    std::vector<room_event> appended;
    std::vector<std::string> opened, closed;
    std::vector<std::string> presences; // "nick@room,room" ("nick@" before a room)
    std::vector<std::string> gone_nicks;

private:
    room_event_sink& sink_;
    std::uint64_t last_seq_ = 0;
};

} // namespace chatroom::test
