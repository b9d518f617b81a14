#pragma once

/// @file
/// basic_client: the line protocol's client, on any executor and transport.
#include <chatroom/client/client.hpp>
#include <chatroom/client/errors.hpp>
#include <chatroom/client/options.hpp>
#include <chatroom/client/state.hpp>
