#pragma once

// Moved in chatroom 3.0 to <chatroom/redis/detail/connection.hpp>; this
// forwarding header goes away in 3.1.
#include <chatroom/redis/detail/connection.hpp>
