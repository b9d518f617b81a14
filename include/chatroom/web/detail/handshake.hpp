#pragma once

#include <chatroom/web/detail/http_request.hpp>
#include <chatroom/web/detail/http_response.hpp>
#include <chatroom/web/detail/sha1.hpp>

#include <optional>
#include <string>
#include <string_view>

// The WebSocket opening handshake (RFC 6455 section 4.2), without I/O: the
// checks of an upgrade request, the accept key and the answer.

namespace chatroom::detail {

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2).
inline std::string websocket_accept_key(std::string_view key) {
    sha1 h;
    h.update(key);
    h.update("258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    const sha1_digest d = h.finish();
    return base64_encode(d.data(), d.size());
}

// What check_websocket_upgrade found.
struct websocket_upgrade {
    int status = 400;          // 101: a valid upgrade; else the status to answer with (400 or 426)
    std::string_view reason;   // what is wrong, for logs (empty on success)
    std::string_view key;      // Sec-WebSocket-Key
    std::string_view host;     // Host, for the caller's policy
    std::optional<std::string_view> origin; // Origin, absent for non-browser clients
    // The subprotocol chosen from Sec-WebSocket-Protocol: json_subprotocol
    // when the client offered it, else empty (the line protocol in text frames).
    std::string_view subprotocol;
};

// The WebSocket subprotocol of the JSON dialect (docs/web-protocol.md).
inline constexpr std::string_view json_subprotocol = "chatroom.v1";

// Checks a complete request against RFC 6455 section 4.2.1. The caller
// decides the path and the Origin/Host policy (403); this decides 400 for a
// malformed handshake and 426 for a Sec-WebSocket-Version other than 13.
// A request body is refused (400): its bytes would be read as frames.
inline websocket_upgrade check_websocket_upgrade(const http_request_parser& req) {
    websocket_upgrade r;
    auto refuse = [&](int status, std::string_view why) {
        r.status = status;
        r.reason = why;
        return r;
    };
    if (req.status() != http_parse_status::complete) return refuse(400, "incomplete or malformed request");
    if (req.method() != "GET") return refuse(400, "a WebSocket upgrade must be a GET");
    if (req.version_major() != 1 || req.version_minor() < 1) return refuse(400, "a WebSocket upgrade needs HTTP/1.1");
    if (req.count("Host") != 1) return refuse(400, "no Host or more than one");
    r.host = *req.find("Host");
    if (req.count("Origin") > 1) return refuse(400, "more than one Origin");
    r.origin = req.find("Origin");
    if (req.count("Transfer-Encoding") != 0) return refuse(400, "a body on an upgrade request");
    if (req.count("Content-Length") > 1 || req.find("Content-Length").value_or("0") != "0")
        return refuse(400, "a body on an upgrade request");
    if (!req.has_token("Upgrade", "websocket")) return refuse(400, "no Upgrade: websocket");
    if (!req.has_token("Connection", "upgrade")) return refuse(400, "no Connection: Upgrade");
    if (req.count("Sec-WebSocket-Version") != 1) return refuse(400, "no Sec-WebSocket-Version or more than one");
    if (*req.find("Sec-WebSocket-Version") != "13") return refuse(426, "unsupported Sec-WebSocket-Version");
    if (req.count("Sec-WebSocket-Key") != 1) return refuse(400, "no Sec-WebSocket-Key or more than one");
    r.key = *req.find("Sec-WebSocket-Key");
    if (base64_decoded_size(r.key) != 16) return refuse(400, "Sec-WebSocket-Key is not a base64 16-byte nonce");
    if (req.has_token("Sec-WebSocket-Protocol", json_subprotocol)) r.subprotocol = json_subprotocol;
    r.status = 101;
    return r;
}

// The answer to a handshake that check_websocket_upgrade judged (or that the
// caller's policy refused with 403): the 101 with Sec-WebSocket-Accept, or an
// error that closes the connection; 426 names the protocol and version this
// server speaks (RFC 9110 section 15.5.22, RFC 6455 section 4.4).
// No extension is ever accepted; the one subprotocol, chatroom.v1, when
// the client offered it (RFC 6455 section 4.2.2: the server echoes the one
// it picked, and none when it picked none).
inline std::string render_handshake_response(const websocket_upgrade& u) {
    if (u.status == 101) {
        const std::string accept = websocket_accept_key(u.key);
        if (!u.subprotocol.empty())
            return render_response(101, {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Accept", accept},
                                         {"Sec-WebSocket-Protocol", u.subprotocol}});
        return render_response(101, {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Accept", accept}});
    }
    std::string body(http_status_reason(u.status));
    body += '\n';
    if (u.status == 426)
        return render_response(426, {{"Upgrade", "websocket"}, {"Sec-WebSocket-Version", "13"},
                                     {"Content-Type", "text/plain; charset=utf-8"}, {"Connection", "close"}},
                               body);
    return render_response(u.status, {{"Content-Type", "text/plain; charset=utf-8"}, {"Connection", "close"}}, body);
}

} // namespace chatroom::detail
