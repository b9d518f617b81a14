#pragma once

#include <chatroom/core/renderer.hpp>
#include <chatroom/line/replies.hpp>

#include <cstring>
#include <string_view>

namespace chatroom {

/// The line protocol of telnet, nc and chatroom-client: each line ends in CRLF.
class line_renderer final : public renderer {
public:
    /// The hot path: a batch of chat lines, sized without a pass and copied once.
    shared_bytes render(const room_event& e) const override {
        if (e.kind != room_event_kind::chat) return renderer::render(e);
        const std::string prefix = chat_prefix(e);
        const std::size_t size = e.text.size() + e.line_count * (prefix.size() + 1);
        return shared_bytes::build(size, [&](char* out) {
            e.for_each_line([&](std::string_view l) { out = put(out, prefix, l); });
        });
    }

    std::string wording(const reply& r) const override { return text_of(r); }

    std::size_t framed_size(std::size_t n) const noexcept override { return n + 2; }
    std::string_view line_break() const noexcept override { return "\r\n"; }
    char* frame(char* out, std::string_view a, std::string_view b) const noexcept override { return put(out, a, b); }

private:
    static char* put(char* out, std::string_view a, std::string_view b) noexcept {
        if (!a.empty()) std::memcpy(out, a.data(), a.size());
        out += a.size();
        if (!b.empty()) std::memcpy(out, b.data(), b.size());
        out += b.size();
        *out++ = '\r';
        *out++ = '\n';
        return out;
    }
};

/// The one instance, so fan-out renders an event once for every line client.
inline const line_renderer& line_dialect() noexcept {
    static const line_renderer r;
    return r;
}

} // namespace chatroom
