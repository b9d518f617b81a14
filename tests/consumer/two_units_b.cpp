#include <chatroom.hpp>

#include <asio/io_context.hpp>

#include <string>

std::string greeting_from_b() {
    asio::io_context io;
    chatroom::server server(io); // instantiates the server in this unit too
    return chatroom::replies::welcome("b", "guest-2");
}
