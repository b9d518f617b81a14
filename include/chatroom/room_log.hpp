#pragma once

// Deprecated: chatroom 3.0 moved this header (docs/migrating-to-3.0.md).
// This forwarding header goes away in 3.1.
#include <chatroom/core/room_log.hpp>
