#pragma once

/// @file
/// Opt-in: durable room history in one SQLite file (docs/history.md,
/// "SQLite"). Needs SQLite 3 (link chatroom::sqlite, or -lsqlite3); the
/// rest of chatroom does not.
///
/// @code
///     chatroom::sqlite_history_options o;
///     o.path = "chat.db";
///     auto store = std::make_shared<chatroom::sqlite_history>(o);
/// @endcode
///
/// The SQLite folder: sqlite/history.hpp (sqlite_history_options,
/// sqlite_history); its internals are in sqlite/detail/ (the handles, the
/// schema, the writer thread, retention, the query thread). It includes
/// nothing of chatroom but the core and itself.

#include <chatroom/sqlite/history.hpp>
