// The context of the README's coroutine fragment: a client, a reconnect
// policy, a host and a port, inside a coroutine. Compiled where Asio has
// co_await (the C++20 configurations); a C++17 build sees an empty file.
#include <chatroom.hpp>
// README INCLUDES

#include <asio/awaitable.hpp>
#include <asio/use_awaitable.hpp>

#include <string>

#if defined(ASIO_HAS_CO_AWAIT)
asio::awaitable<void> readme_block(chatroom::client& client, chatroom::reconnect_policy policy, std::string host,
                                   std::string port) {
// README BLOCK
}
#endif
