#pragma once

/// @file
/// The Redis Streams backplane as a room log (docs/scale-out.md): what
/// basic_server::set_room_log takes to join a cluster.
///
/// @code
///     server.set_room_log(chatroom::redis_backplane_factory(options));
/// @endcode

#include <chatroom/redis/detail/core.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/redis/options.hpp>
#include <chatroom/core/room_log.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace chatroom {

/// The room log of a server in a cluster (install it with redis_backplane_factory).
class redis_backplane final : public room_log {
public:
    /// Starts connecting to the instances on sink's executor; delivers to
    /// sink, which must outlive it. Connection failures are not thrown: the
    /// link's state is reported through the sink (stats().backplane).
    redis_backplane(room_event_sink& sink, redis_options options)
        : core_(std::make_shared<detail::redis_backplane_core>(sink, std::move(options))) {
        core_->start();
    }
    ~redis_backplane() override { core_->stop(); }
    redis_backplane(const redis_backplane&) = delete;
    redis_backplane& operator=(const redis_backplane&) = delete;

    /// This server's name in the cluster (redis_options::node_id, or the one made up).
    const std::string& node_id() const noexcept { return core_->node_id(); }

    void append(room_event& e) override { core_->append(e); }
    void room_opened(const std::string& room) override { core_->room_opened(room); }
    void room_closed(const std::string& room) override { core_->room_closed(room); }
    void presence(std::string_view nick, const std::vector<std::string_view>& rooms) override {
        core_->presence(nick, rooms);
    }
    void gone(std::string_view nick) override { core_->gone(nick); }
    bool shared() const override { return true; }
    bool claims_nicks() const override { return true; }
    void claim_nick(const std::string& nick, std::function<void(bool)> done) override {
        core_->claim_nick(nick, std::move(done));
    }
    bool find_remote(std::string_view nick, remote_member* found) const override {
        return core_->find_remote(nick, found);
    }
    void remote_members(std::string_view room, std::vector<std::string>& nicks) const override {
        core_->remote_members(room, nicks);
    }
    void remote_rooms(std::vector<std::pair<std::string, std::size_t>>& counts) const override {
        core_->remote_rooms(counts);
    }
    std::string guest_prefix() const override { return core_->guest_prefix(); }
    bool accepting() const override { return core_->accepting(); }
    void stop() override { core_->stop(); }

private:
    std::shared_ptr<detail::redis_backplane_core> core_;
};

/// What basic_server::set_room_log takes. A node id must be a valid nick
/// part (A-Z a-z 0-9 _ . -, at most 16), as guest nicks are made of it:
/// another throws std::invalid_argument.
inline std::function<std::unique_ptr<room_log>(room_event_sink&)> redis_backplane_factory(redis_options options) {
    if (!options.node_id.empty() &&
        (options.node_id.size() > 16 || !protocol::is_valid_name(options.node_id)))
        throw std::invalid_argument("redis backplane: bad node id (use 1-16 of A-Z a-z 0-9 _ . -)");
    return [options = std::move(options)](room_event_sink& sink) -> std::unique_ptr<room_log> {
        return std::make_unique<redis_backplane>(sink, options);
    };
}

} // namespace chatroom
