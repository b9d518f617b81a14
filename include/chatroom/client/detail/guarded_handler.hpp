#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

namespace chatroom::detail {

// A handler of the client's own I/O. Handlers of an earlier connection find
// a newer generation in Impl and do nothing. Each keeps the stream it was
// started on alive, since a TLS stream's pending operation still uses it
// while it completes.
template <class Impl, class Stream, class F>
struct guarded_handler {
    std::shared_ptr<Impl> self;
    std::uint64_t gen;
    std::shared_ptr<Stream> keep;
    F f;

    // Constrained, so that Asio's checks of which signature a handler
    // takes (async_connect has two) see a plain "no".
    template <class... Args, class = std::enable_if_t<std::is_invocable_v<F&, Impl&, Args&&...>>>
    void operator()(Args&&... args) {
        if (self->done || gen != self->generation) return;
        f(*self, std::forward<Args>(args)...);
    }
};

} // namespace chatroom::detail
