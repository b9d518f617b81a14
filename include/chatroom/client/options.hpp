#pragma once

#include <cstddef>

namespace chatroom {

struct client_options {
    // Longest line accepted from the server; longer ones are cut.
    std::size_t max_line_bytes = 64 * 1024;
    // send() beyond this much unsent output fails the connection.
    std::size_t max_queue_bytes = 4 * 1024 * 1024;
};

} // namespace chatroom
