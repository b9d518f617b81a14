#pragma once

// Deprecated: chatroom 3.0 renamed the shared block of outgoing bytes
// chatroom::shared_bytes, in <chatroom/core/shared_bytes.hpp>
// (docs/migrating-to-3.0.md). This forwarding header goes away in 3.1.
#include <chatroom/core/shared_bytes.hpp>
