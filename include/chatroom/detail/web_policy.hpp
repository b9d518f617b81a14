#pragma once

// 2.x declared web_options here. It has a public header of its own since
// chatroom 3.0, <chatroom/web/options.hpp> (include <chatroom/web.hpp> for the
// listener too); this forwarding header goes away in 3.1.
#include <chatroom/web/options.hpp>
#include <chatroom/web/detail/policy.hpp>
