#pragma once

// Deprecated: chatroom 3.0 moved and renamed this header
// (<chatroom/core/shared_bytes.hpp>, docs/migrating-to-3.0.md).
// This forwarding header goes away in 3.1.
#include <chatroom/core/shared_bytes.hpp>
