// The context of a README fragment with TLS: CHATROOM_USE_OPENSSL defined
// before chatroom.hpp, an io_context `io` and server_options `options`.
#define CHATROOM_USE_OPENSSL
#include <chatroom.hpp>
// README INCLUDES

#include <asio/io_context.hpp>

void readme_block(asio::io_context& io, chatroom::server_options options) {
// README BLOCK
}
