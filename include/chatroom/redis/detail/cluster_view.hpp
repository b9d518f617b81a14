#pragma once

// This server in the cluster, through the control link to the home: its
// incarnation, its heartbeat, its roster, its nick claims, the view of the
// other servers (for /who, /rooms and /msg), and the announcing of dead ones.
//
// - Incarnations: the first command of a process registers its epoch under
//   its node id (scripts::takeover). A predecessor still registered (a node
//   restarted before anyone saw it die) is cleaned up after at once: its
//   members' leaves are appended, then its nicks are freed (reap_end); this
//   server claims nothing before that.
// - Reaping: a server missing from two views a heartbeat apart (see
//   viewed()) is reaped by one survivor (reap_begin's lock, per dead
//   incarnation): leaves first, then its nicks are freed, so a member back
//   elsewhere is never announced after it returned. The leaves are the same
//   whoever writes them (leaves.hpp), so readers drop a second copy.
// Called with mu held.

#include <chatroom/redis/detail/leaves.hpp>
#include <chatroom/redis/detail/nick_claims.hpp>
#include <chatroom/redis/detail/rejections.hpp>
#include <chatroom/redis/detail/roster_events.hpp>
#include <chatroom/redis/detail/writer.hpp>

#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chatroom::detail {

class cluster_view {
public:
    using member_at = remote_at;

    cluster_view(backplane_context& ctx, rejection_report& rejected)
        : link(ctx, 0, "control"), claims(ctx), ctx_(ctx), rejected_(rejected), heartbeat_(ctx.ex) {
        link.on_up = [this] { linked(); };
        link.on_down = [this] {
            // What was on its way is asked again on the next connection.
            claims.lost();
            asking_ = false;
            reaping_.clear();
        };
    }

    redis_link link;
    nick_claims claims;
    std::function<void(write_op)> write; // queues an entry on its instance's writer
    std::unordered_map<std::string, member_at> local;  // this server's members, by folded nick
    std::unordered_map<std::string, member_at> remote; // the others', by folded nick (the last view)

    void start() {
        link.start();
        arm(std::chrono::milliseconds(0));
    }
    void stop() { heartbeat_.cancel(); }

    // Registered, cleaned up after its predecessor, still the node's one
    // incarnation, and the link healthy.
    bool ready() const noexcept { return link.healthy() && registered_ && cleaned_ && !superseded_; }
    bool superseded() const noexcept { return superseded_; }

    void presence(std::string_view nick, const std::vector<std::string_view>& rooms) {
        std::string list = room_list_of(rooms);
        if (ready()) link.conn()->command({"HSET", ctx_.keys.roster(), nick, list}, {});
        local[protocol::fold_case(nick)] = member_at{std::string(nick), std::move(list), ctx_.node};
    }
    void gone(std::string_view nick) {
        const std::string folded = protocol::fold_case(nick);
        local.erase(folded);
        if (!ready()) return; // the roster and claims are set right once it is
        link.conn()->command({"HDEL", ctx_.keys.roster(), nick}, {});
        link.conn()->command({"EVAL", redis_scripts::release, "1", ctx_.keys.nicks(), ctx_.node, folded}, {});
    }
    void claim(const std::string& nick, nick_claims::done_handler done) {
        claims.add(protocol::fold_case(nick), std::move(done));
        if (ready()) claims.send(link);
    }

    // A member of another server joined, left or was renamed in a room (an
    // event read back, so shown to this server's members): /who and /rooms
    // follow it at once, not a heartbeat later.
    void saw(const room_event& e) { recent_.saw(e, remote, backplane_context::clock::now() + 3 * ctx_.opts.heartbeat); }

    // The other servers' members, as the last view saw them.
    bool find(std::string_view nick, remote_member* found) const {
        auto it = remote.find(protocol::fold_case(nick));
        if (it == remote.end()) return false;
        if (found) *found = remote_member{it->second.nick, split_room_list(it->second.rooms)};
        return true;
    }
    void members_in(std::string_view room, std::vector<std::string>& nicks) const {
        for (const auto& [key, m] : remote)
            if (has_room(m.rooms, room)) nicks.push_back(m.nick);
    }
    void rooms(std::vector<std::pair<std::string, std::size_t>>& counts) const {
        std::map<std::string, std::pair<std::string, std::size_t>> by_key;
        for (const auto& [key, m] : remote)
            for (const std::string& room : split_room_list(m.rooms)) {
                auto& slot = by_key[protocol::fold_case(room)];
                if (slot.first.empty()) slot.first = room;
                ++slot.second;
            }
        for (auto& [key, v] : by_key) counts.push_back(std::move(v));
    }

    // This server forgets itself in Redis (its nicks, roster, liveness);
    // then() once Redis answered (or never, when the link is down).
    void farewell(std::function<void()> then) {
        if (!ready()) return;
        link.conn()->command({"EVAL", redis_scripts::farewell, "0", ctx_.opts.key_prefix, ctx_.node, ctx_.epoch},
                             link.handler([then = std::move(then)](std::error_code, const redis_reply&) { then(); }));
    }

private:
    std::chrono::milliseconds lock_time() const {
        return std::max<std::chrono::milliseconds>(std::chrono::milliseconds(5000), 10 * ctx_.opts.node_ttl);
    }

    void linked() {
        up_since_ = backplane_context::clock::now();
        // Registered and alive before any claim of this server's is judged
        // (commands on one connection run in order).
        if (!registered_) return takeover();
        send_beat();
        if (!cleaned_) return end_cleanup();
        open();
    }

    // Ready: this server's roster anew, its members' nicks claimed again (a
    // clash, from a claim made while it was away, is reported), and the
    // claims that waited.
    void open() {
        std::vector<std::string> roster{"EVAL", std::string(redis_scripts::publish_roster), "0", ctx_.opts.key_prefix,
                                        ctx_.node};
        for (const auto& [folded, m] : local) roster.insert(roster.end(), {m.nick, m.rooms});
        link.conn()->command(roster, {});
        const std::string guests = "guest-" + ctx_.node + "-";
        for (const auto& [folded, m] : local) {
            if (m.nick.rfind(guests, 0) == 0) continue;
            link.conn()->command({"EVAL", redis_scripts::claim, "1", ctx_.keys.nicks(), folded, ctx_.node,
                                  ctx_.opts.key_prefix},
                                 link.handler([this, nick = m.nick](std::error_code ec, const redis_reply& r) {
                                     if (!ec && r.is_integer() && r.integer == 0)
                                         ctx_.note("nick " + nick + " was claimed by another server while this one "
                                                                    "was away; both now hold it");
                                 }));
        }
        claims.send(link);
    }

    void arm(std::chrono::milliseconds after) {
        heartbeat_.expires_after(after);
        heartbeat_.async_wait(ctx_.guarded([this](std::error_code ec) {
            if (ec) return;
            arm(ctx_.opts.heartbeat);
            claims.expire();
            if (!link.up()) return;
            if (!registered_) return takeover();
            send_beat();
            if (!cleaned_) end_cleanup();
            else if (ready()) claims.send(link);
        }));
    }

    // ---- this incarnation and its predecessor ------------------------------------

    void takeover() {
        if (asking_) return;
        asking_ = true;
        link.conn()->command({"EVAL", redis_scripts::takeover, "0", ctx_.opts.key_prefix, ctx_.node, ctx_.epoch,
                              std::to_string(ctx_.opts.node_ttl.count()), std::to_string(lock_time().count())},
                             link.handler([this](std::error_code ec, const redis_reply& r) {
                                 asking_ = false;
                                 if (!ec) taken_over(r);
                             }));
    }

    void taken_over(const redis_reply& r) {
        if (registered_) return;
        if (r.is_error()) return link.fault(classify(r), "registering: " + r.text); // asked again next heartbeat
        if (!r.is_array() || r.elements.empty()) return;
        registered_ = true;
        link.ok();
        send_beat();
        dead_epoch_ = r.elements[0].text;
        if (dead_epoch_.empty() || r.elements.size() < 2) {
            cleaned_ = true;
            ctx_.links_changed();
            return open();
        }
        ctx_.note("an earlier process of node " + ctx_.node + " did not stop cleanly: its " +
                  std::to_string(r.elements[1].elements.size() / 2) + " members leave");
        cleanup_ = announce(ctx_.node, dead_epoch_, r.elements[1], [this] { end_cleanup(); });
        if (!cleanup_) end_cleanup();
    }

    // The predecessor's leaves are in the streams: its nicks and roster go.
    void end_cleanup() {
        if (cleaned_ || asking_ || !link.up() || (cleanup_ && cleanup_->remaining > 0)) return;
        asking_ = true;
        link.conn()->command({"EVAL", redis_scripts::reap_end, "0", ctx_.opts.key_prefix, ctx_.node, dead_epoch_,
                              ctx_.node, ctx_.epoch},
                             link.handler([this](std::error_code ec, const redis_reply& r) {
                                 asking_ = false;
                                 if (ec || cleaned_) return;
                                 if (r.is_error()) return link.fault(classify(r), "cleaning up: " + r.text);
                                 cleaned_ = true;
                                 ctx_.links_changed();
                                 open();
                             }));
    }

    // ---- heartbeat and view -------------------------------------------------------

    void send_beat() {
        link.conn()->command({"EVAL", redis_scripts::beat, "0", ctx_.opts.key_prefix, ctx_.node, ctx_.epoch,
                              std::to_string(ctx_.opts.node_ttl.count())},
                             link.handler([this](std::error_code ec, const redis_reply& r) {
                                 if (!ec) viewed(r);
                             }));
    }

    // The heartbeat's answer: the other servers, alive or not, and rosters.
    void viewed(const redis_reply& r) {
        if (r.is_error()) return link.fault(classify(r), "heartbeat: " + r.text);
        if (!r.is_array() || r.elements.empty()) return;
        if (!link.healthy()) up_since_ = backplane_context::clock::now(); // answering again after LOADING, BUSY
        link.ok();
        if (r.elements[0].integer == 2) {
            if (!superseded_)
                ctx_.note("another process registered as node " + ctx_.node +
                          " (a second server with this --node-id, or this one's successor): this one leaves the "
                          "cluster");
            superseded_ = true;
            return ctx_.links_changed();
        }
        if (r.elements[0].integer == 1 && beats_ > 0) {
            ctx_.note("this server was taken for dead by the cluster (no heartbeat for " +
                      std::to_string(ctx_.opts.node_ttl.count()) + " ms); its roster is published again");
            if (ready()) open();
        }
        ++beats_;
        std::unordered_map<std::string, member_at> view;
        std::set<std::string> missing;
        // Names that /who and /rooms would show are checked like entries;
        // one that stays in Redis is counted once, not at every heartbeat.
        rejections bad;
        std::set<std::string> bad_now;
        auto refuse = [&](const std::string& id, const std::string& nick, const std::string& room, std::string why) {
            std::string key = id + '\n' + nick + '\n' + room;
            if (!bad_roster_.count(key)) bad.add(std::move(why));
            bad_now.insert(std::move(key));
        };
        for (std::size_t i = 1; i + 2 < r.elements.size(); i += 3) {
            const std::string& id = r.elements[i].text;
            const redis_reply& roster = r.elements[i + 2];
            if (!protocol::is_valid_name(id)) {
                refuse(id, {}, {}, ctx_.opts.key_prefix + "nodes: a server id that is not a valid name");
                continue;
            }
            // Without a heartbeat, its members stay until announced gone (a
            // reloaded Redis may have let every live server's key expire).
            if (r.elements[i + 1].integer != 1) missing.insert(id);
            for (std::size_t k = 0; k + 1 < roster.elements.size(); k += 2) {
                const std::string& nick = roster.elements[k].text;
                const std::string& room = roster.elements[k + 1].text;
                if (!valid_roster_entry(nick, room)) {
                    refuse(id, nick, room, ctx_.keys.roster(id) + ": a nick or room that is not a valid name");
                    continue;
                }
                view[protocol::fold_case(nick)] = member_at{nick, room, id};
            }
        }
        bad_roster_ = std::move(bad_now);
        rejected_.add(std::move(bad));
        remote = std::move(view);
        recent_.apply(remote, backplane_context::clock::now());
        // Dead: missing from two views a heartbeat apart, Redis answering this
        // server for longer than a heartbeat key lives plus the longest
        // backoff (after Redis paused or reloaded, every key may be stale at
        // once and a live server may still be waiting to reconnect).
        const bool trusted = backplane_context::clock::now() - up_since_ >
                             ctx_.opts.node_ttl + ctx_.opts.heartbeat + backplane_context::max_backoff;
        for (const std::string& id : missing)
            if (trusted && suspects_.count(id)) reap(id);
        suspects_ = std::move(missing);
    }

    // ---- the dead -------------------------------------------------------------------
    void reap(const std::string& dead) {
        if (!reaping_.insert(dead).second) return; // this server is at it
        link.conn()->command({"EVAL", redis_scripts::reap_begin, "0", ctx_.opts.key_prefix, dead, ctx_.node,
                              ctx_.epoch, std::to_string(lock_time().count())},
                             link.handler([this, dead](std::error_code ec, const redis_reply& r) {
                                 if (ec || !r.is_array() || r.elements.size() < 2) return void(reaping_.erase(dead));
                                 // This server won the lock: leaves first, then the nicks.
                                 const std::string epoch = r.elements[0].text;
                                 ctx_.note("server " + dead + " is gone: its " +
                                           std::to_string(r.elements[1].elements.size() / 2) + " members leave");
                                 auto end = [this, dead, epoch] { end_reap(dead, epoch); };
                                 if (!announce(dead, epoch, r.elements[1], end)) end_reap(dead, epoch);
                             }));
    }

    // When the link is down now, the lock runs out and the dead server is
    // reaped again (its leaves then dropped as seen).
    void end_reap(const std::string& dead, const std::string& epoch) {
        reaping_.erase(dead);
        if (!link.up()) return;
        link.conn()->command(
            {"EVAL", redis_scripts::reap_end, "0", ctx_.opts.key_prefix, dead, epoch, ctx_.node, ctx_.epoch}, {});
    }

    // Leaves first; then() once Redis has them all (nothing when no room
    // hears of it). The dead members leave the view too.
    std::shared_ptr<leave_job> announce(const std::string& dead, const std::string& dead_epoch,
                                        const redis_reply& roster, std::function<void()> then) {
        for (std::size_t k = 0; k < roster.elements.size(); k += 2) remote.erase(protocol::fold_case(roster.elements[k].text));
        return announce_leaves(ctx_.keys, dead, dead_epoch, roster, std::move(then), write);
    }

    backplane_context& ctx_;
    rejection_report& rejected_;
    roster_events recent_;
    asio::steady_timer heartbeat_;
    backplane_context::clock::time_point up_since_{};
    std::set<std::string> suspects_; // servers missing from the last view
    std::set<std::string> reaping_;  // dead servers this one is announcing
    std::set<std::string> bad_roster_;
    std::shared_ptr<leave_job> cleanup_;
    std::string dead_epoch_; // the predecessor's
    std::uint64_t beats_ = 0;
    bool registered_ = false; // the takeover script ran: this incarnation is the node's
    bool cleaned_ = false;    // the predecessor's leaves are in, its nicks freed
    bool superseded_ = false; // another incarnation registered under this node id since
    bool asking_ = false;     // a takeover or cleanup command is on its way
};

} // namespace chatroom::detail
