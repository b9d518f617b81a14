// The context of a README fragment that runs inside a host program: an
// io_context `io` and server_options `options`, as in the embedding example.
#include <chatroom.hpp>
// README INCLUDES

#include <asio/io_context.hpp>

void readme_block(asio::io_context& io, chatroom::server_options options) {
// README BLOCK
}
