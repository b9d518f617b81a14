// The "tls" feature: chatroom with CHATROOM_USE_OPENSSL, OpenSSL linked.
#include <chatroom.hpp>

#include <asio/io_context.hpp>

#include <cstdio>

int main() {
    asio::io_context io(1);
    auto ctx = chatroom::make_client_tls_context();
    chatroom::basic_client<chatroom::tls<asio::ip::tcp>> client(io, {}, ctx);
    std::puts("chatroom TLS client constructed");
    return 0;
}
