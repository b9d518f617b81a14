#pragma once

/// @file
/// TLS (OpenSSL): tls<Protocol> for servers and clients. Opt-in: link OpenSSL.
#include <chatroom/tls/tls.hpp>
