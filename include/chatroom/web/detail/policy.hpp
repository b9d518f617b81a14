#pragma once

#include <chatroom/web/detail/http_request.hpp>
#include <chatroom/web/options.hpp>
#include <chatroom/core/stats.hpp>
#include <chatroom/core/transport.hpp>

#include <asio/ip/address.hpp>
#include <asio/ip/host_name.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace chatroom {

namespace detail {

inline bool is_trusted_proxy(const web_options& o, const asio::ip::address& a) {
    for (const auto& p : o.trusted_proxies)
        if (auto t = parse_address(p); t && *t == a) return true;
    return false;
}

// The client's address: the peer's, unless the peer is a trusted proxy; then
// X-Forwarded-For (all its fields, in order) is read from the right, past
// the hops that are trusted proxies themselves, to the first one that is
// not. A hop that is not an address ends the walk: what lies left of it
// cannot be trusted, so the nearest hop vouched for is the answer. Always
// in the canonical form (chatroom::canonical_address): a proxy may name an
// IPv4 client as ::ffff:a.b.c.d.
inline std::string client_address(const web_options& o, const std::string& peer, const http_request_parser& req) {
    auto here = parse_address(peer);
    if (!here) return peer;
    if (!is_trusted_proxy(o, *here) || req.count("X-Forwarded-For") == 0) return here->to_string();
    std::vector<std::string_view> hops;
    for (std::size_t i = 0; i < req.field_count(); ++i) {
        const http_field f = req.field(i);
        if (!ascii_iequals(f.name, "X-Forwarded-For")) continue;
        for (std::string_view v = f.value; !v.empty();) hops.push_back(next_list_member(v));
    }
    asio::ip::address best = *here;
    for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
        auto a = parse_address(*it);
        if (!a) break;
        best = *a;
        if (!is_trusted_proxy(o, *a)) break;
    }
    return best.to_string();
}

// "host:port" as a Host header names it, IPv6 in brackets.
inline std::string host_port(const asio::ip::address& a, unsigned short port) {
    const std::string h = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
    return h + ":" + std::to_string(port);
}

// Whether the Host header names this server (web_options::allowed_hosts).
inline bool host_allowed(const web_options& o, std::string_view host, const asio::ip::tcp::endpoint& local, bool tls) {
    if (!o.allowed_hosts.empty()) {
        for (const auto& h : o.allowed_hosts)
            if (ascii_iequals(h, host)) return true;
        return false;
    }
    const unsigned short port = local.port();
    const bool default_port = port == (tls ? 443 : 80);
    auto local_address = parse_address(local.address().to_string());
    const std::string port_text = ":" + std::to_string(port);
    for (std::string_view name : {std::string_view("localhost"), std::string_view("127.0.0.1"), std::string_view("[::1]")}) {
        if (ascii_iequals(host, std::string(name) + port_text)) return true;
        if (default_port && ascii_iequals(host, name)) return true;
    }
    // The machine's own name, so http://NAME:PORT/ works on a LAN as is.
    std::error_code ec;
    const std::string own_name = asio::ip::host_name(ec);
    if (!ec && !own_name.empty()) {
        if (ascii_iequals(host, own_name + port_text)) return true;
        if (default_port && ascii_iequals(host, own_name)) return true;
    }
    if (local_address) {
        const std::string hp = host_port(*local_address, port);
        if (ascii_iequals(host, hp)) return true;
        if (default_port && ascii_iequals(host, hp.substr(0, hp.size() - port_text.size()))) return true;
    }
    return false;
}

// Whether a page of this Origin may open the WebSocket (absent: yes).
inline bool origin_allowed(const web_options& o, std::optional<std::string_view> origin, std::string_view host, bool tls) {
    if (!origin) return true;
    if (o.allowed_origins.empty()) return ascii_iequals(*origin, std::string(tls ? "https://" : "http://") + std::string(host));
    for (const auto& a : o.allowed_origins)
        if (ascii_iequals(a, *origin)) return true;
    return false;
}

// The server's stats in the Prometheus text exposition format (0.0.4).
inline std::string metrics_text(const server_stats& s) {
    std::string out;
    auto metric = [&](const char* name, const char* type, const char* help, std::uint64_t value) {
        out += "# HELP chatroom_";
        out += name;
        out += ' ';
        out += help;
        out += "\n# TYPE chatroom_";
        out += name;
        out += ' ';
        out += type;
        out += "\nchatroom_";
        out += name;
        out += ' ';
        out += std::to_string(value);
        out += '\n';
    };
    metric("connections", "gauge", "Connections open now, web requests included.", s.connections);
    metric("rooms", "gauge", "Rooms existing now.", s.rooms);
    metric("accepted_total", "counter", "Connections accepted.", s.accepted);
    metric("rejected_total", "counter", "Connections refused: server full or too many from one address.", s.rejected);
    metric("lines_in_total", "counter", "Chat lines received.", s.lines_in);
    metric("lines_delivered_total", "counter", "Chat lines queued to recipients.", s.lines_delivered);
    metric("bytes_out_total", "counter", "Bytes written to connections.", s.bytes_out);
    metric("slow_consumer_disconnects_total", "counter", "Members dropped as too slow.", s.slow_consumer_disconnects);
    metric("lines_too_long_total", "counter", "Lines refused for their length.", s.lines_too_long);
    metric("throttled_total", "counter", "Times flood control paused a reader.", s.throttled);
    metric("timeouts_total", "counter", "Idle and first-line timeouts.", s.timeouts);
    metric("accept_errors_total", "counter", "Failed accepts.", s.accept_errors);
    metric("failed_logins_total", "counter", "Wrong secrets, and logins refused by the rate limit.", s.failed_logins);
    metric("backplane_state", "gauge", "The shared room log's link: 0 none, 1 connected, 2 holding, 3 degraded.",
           static_cast<std::uint64_t>(s.backplane));
    metric("backplane_outages_total", "counter", "Times the shared room log became unreachable.", s.backplane_outages);
    metric("missed_gaps_total", "counter", "Times a room was told it missed events of a trimmed stream.",
           s.missed_gaps);
    metric("backplane_rejected_total", "counter", "Entries read from the shared room log dropped as invalid.",
           s.backplane_rejected);
    return out;
}

} // namespace detail
} // namespace chatroom
