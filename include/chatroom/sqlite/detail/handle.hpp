#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

/// @file
/// RAII for SQLite's two handles: a connection (sqlite3*) and a prepared
/// statement (sqlite3_stmt*), with the few calls the history store makes.
/// Errors become std::runtime_error carrying SQLite's own message.
namespace chatroom::detail {

/// An error from SQLite, with what was being done and SQLite's message.
class sqlite_error : public std::runtime_error {
public:
    sqlite_error(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
    int code() const noexcept { return code_; }

private:
    int code_;
};

/// One connection; closed on destruction (after its statements, which the
/// owner destroys first).
class sqlite_db {
public:
    sqlite_db() = default;
    /// Opens path with SQLITE_OPEN_* flags; throws sqlite_error naming the file.
    sqlite_db(const std::string& path, int flags) {
        sqlite3* raw = nullptr;
        const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
        db_ = raw;
        if (rc != SQLITE_OK) {
            const std::string why = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
            close();
            throw sqlite_error("cannot open the history database '" + path + "': " + why, rc);
        }
        sqlite3_extended_result_codes(db_, 1);
    }
    sqlite_db(const sqlite_db&) = delete;
    sqlite_db& operator=(const sqlite_db&) = delete;
    sqlite_db(sqlite_db&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
    sqlite_db& operator=(sqlite_db&& other) noexcept {
        if (this != &other) {
            close();
            db_ = std::exchange(other.db_, nullptr);
        }
        return *this;
    }
    ~sqlite_db() { close(); }

    sqlite3* get() const noexcept { return db_; }
    explicit operator bool() const noexcept { return db_ != nullptr; }

    /// Runs SQL that returns no rows (pragmas, schema, BEGIN/COMMIT); throws.
    void exec(const char* sql) {
        char* message = nullptr;
        const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
        if (rc != SQLITE_OK) {
            std::string why = message ? message : sqlite3_errstr(rc);
            sqlite3_free(message);
            throw sqlite_error(std::string(sql) + ": " + why, rc);
        }
    }

    /// Rows the last INSERT, UPDATE or DELETE changed.
    std::int64_t changes() const noexcept { return sqlite3_changes(db_); }

    /// SQLite's message for the last error on this connection.
    std::string message() const { return db_ ? sqlite3_errmsg(db_) : "no database"; }

    void close() noexcept {
        if (db_) sqlite3_close_v2(db_);
        db_ = nullptr;
    }

private:
    sqlite3* db_ = nullptr;
};

/// One prepared statement, reused: bind, step, read columns, reset.
class sqlite_stmt {
public:
    sqlite_stmt() = default;
    /// Prepares sql on db (persistent: it is reused); throws sqlite_error.
    sqlite_stmt(sqlite_db& db, std::string_view sql) : db_(db.get()) {
        const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                          &stmt_, nullptr);
        if (rc != SQLITE_OK) throw sqlite_error("cannot prepare '" + std::string(sql) + "': " + db.message(), rc);
    }
    sqlite_stmt(const sqlite_stmt&) = delete;
    sqlite_stmt& operator=(const sqlite_stmt&) = delete;
    sqlite_stmt(sqlite_stmt&& other) noexcept
        : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}
    sqlite_stmt& operator=(sqlite_stmt&& other) noexcept {
        if (this != &other) {
            sqlite3_finalize(stmt_);
            db_ = std::exchange(other.db_, nullptr);
            stmt_ = std::exchange(other.stmt_, nullptr);
        }
        return *this;
    }
    ~sqlite_stmt() { sqlite3_finalize(stmt_); }

    /// Binds parameter i (1-based). Text is copied by SQLite (SQLITE_TRANSIENT)
    /// unless `stable` says it outlives the step.
    sqlite_stmt& bind(int i, std::int64_t value) {
        check(sqlite3_bind_int64(stmt_, i, value));
        return *this;
    }
    sqlite_stmt& bind(int i, std::string_view text, bool stable = false) {
        check(sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()),
                                stable ? SQLITE_STATIC : SQLITE_TRANSIENT));
        return *this;
    }

    /// One step: true when a row is ready, false when done; throws on error
    /// (after a reset, so the statement can be used again).
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        const std::string why = sqlite3_errmsg(db_);
        sqlite3_reset(stmt_);
        throw sqlite_error(std::string(sqlite3_sql(stmt_)) + ": " + why, rc);
    }

    /// Steps to the end (a statement that returns no rows) and resets.
    void run() {
        while (step()) {
        }
        reset();
    }

    /// Ready for new bindings; the old ones are cleared.
    void reset() noexcept {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }

    bool is_null(int column) const noexcept { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
    std::int64_t integer(int column) const noexcept { return sqlite3_column_int64(stmt_, column); }
    std::string text(int column) const {
        const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
        const int size = sqlite3_column_bytes(stmt_, column);
        return data ? std::string(data, static_cast<std::size_t>(size)) : std::string();
    }

    /// The column's text in SQLite's own memory: valid until the next step or reset.
    std::string_view view(int column) const noexcept {
        const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
        const int size = sqlite3_column_bytes(stmt_, column);
        return data ? std::string_view(data, static_cast<std::size_t>(size)) : std::string_view();
    }

    explicit operator bool() const noexcept { return stmt_ != nullptr; }

private:
    void check(int rc) {
        if (rc != SQLITE_OK) throw sqlite_error(std::string("bind: ") + sqlite3_errmsg(db_), rc);
    }

    sqlite3* db_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
};

/// Resets a statement when a scope ends, however it ends.
class sqlite_reset_guard {
public:
    explicit sqlite_reset_guard(sqlite_stmt& s) noexcept : s_(s) {}
    sqlite_reset_guard(const sqlite_reset_guard&) = delete;
    sqlite_reset_guard& operator=(const sqlite_reset_guard&) = delete;
    ~sqlite_reset_guard() { s_.reset(); }

private:
    sqlite_stmt& s_;
};

} // namespace chatroom::detail
