#pragma once

#include <chatroom/core/detail/hub.hpp>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/dispatch.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>

#include <memory>
#include <string>
#include <system_error>
#include <utility>

namespace chatroom::detail {

// The host's async_notice / async_say (server.hpp): the line goes through
// the server's injection strand, so it keeps its place among the host's
// other lines, and the handler gets void(std::error_code) on its associated
// executor (ex when it has none), which is kept busy meanwhile.
template <class Strand, class Executor, class Token>
auto async_inject(std::shared_ptr<hub> h, const Strand& strand, const Executor& ex, std::string room,
                  std::string from, std::string text, Token&& token) {
    auto initiation = [h = std::move(h), strand, ex](auto handler, std::string room, std::string from,
                                                     std::string text) {
        auto work = asio::make_work_guard(asio::get_associated_executor(handler, ex));
        asio::post(strand, [h, room = std::move(room), from = std::move(from), text = std::move(text),
                            handler = std::move(handler), work = std::move(work)]() mutable {
            const std::error_code ec = h->inject(room, from, text).error();
            asio::dispatch(work.get_executor(), [handler = std::move(handler), ec]() mutable { handler(ec); });
            work.reset();
        });
    };
    return asio::async_initiate<Token, void(std::error_code)>(std::move(initiation), token, std::move(room),
                                                              std::move(from), std::move(text));
}

} // namespace chatroom::detail
