#pragma once

#include <chatroom/core/room_event.hpp>
#include <chatroom/core/room_log.hpp>
#include <chatroom/core/stats.hpp>

#include <asio/any_io_executor.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace chatroom::detail {

// The hub as the room log's sink (room_log.hpp): what a log ordered, and its
// other news, reach this server's members through the hub's room_delivery.
// deliver() runs inside the log's append(), with the hub's lock held; every
// other entry point is called by a log that orders elsewhere (a backplane)
// and takes the lock itself. Hub is the hub (hub.hpp), which derives from
// this and makes it its friend.
template <class Hub>
class log_sink : public room_event_sink {
public:
    // A backplane's reader hands over an event its log ordered.
    void deliver_ordered(const room_event& e) {
        hub().locked([&] { hub().delivery_.deliver(e); });
    }
    void deliver_ordered(const std::vector<room_event>& events) override {
        hub().locked([&] {
            for (const room_event& e : events) hub().delivery_.deliver(e);
        });
    }
    void replay(const std::string& room_name, const std::vector<room_event>& past) override {
        hub().locked([&] { hub().delivery_.replay(room_name, past); });
    }
    void link_changed(backplane_state state, std::string notice) override {
        hub().locked([&] { hub().delivery_.link_changed(state, std::move(notice)); });
    }
    void missed(const std::string& room_name) override {
        hub().locked([&] { hub().delivery_.missed(room_name); });
    }
    void report(std::string text) override {
        hub().locked([&] { hub().events_.error(std::move(text)); });
    }

    std::size_t max_line_bytes() const override { return hub().opts_.max_line_bytes; }
    void rejected_entries(std::uint64_t n) override { counters::add(hub().count_.backplane_rejected, n); }

    asio::any_io_executor executor() const override { return hub().ex_; }

private:
    // The sink of the room log: every event reaches local members here, once.
    void deliver(const room_event& e) override { hub().delivery_.deliver(e); }

    Hub& hub() noexcept { return static_cast<Hub&>(*this); }
    const Hub& hub() const noexcept { return static_cast<const Hub&>(*this); }
};

} // namespace chatroom::detail
