#pragma once

/// @file
/// The core: rooms, members, the room log, delivery and the connection
/// lifecycle, whatever the dialect or transport. It includes nothing outside
/// chatroom/core/ (a test enforces it).
#include <chatroom/core/access.hpp>
#include <chatroom/core/decoder.hpp>
#include <chatroom/core/events.hpp>
#include <chatroom/core/history.hpp>
#include <chatroom/core/host_error.hpp>
#include <chatroom/core/shared_bytes.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/options.hpp>
#include <chatroom/core/renderer.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/room_log.hpp>
#include <chatroom/core/room_options.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/core/stats.hpp>
#include <chatroom/core/transport.hpp>
