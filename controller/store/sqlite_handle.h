#ifndef FERRY_CONTROLLER_STORE_SQLITE_HANDLE_H_
#define FERRY_CONTROLLER_STORE_SQLITE_HANDLE_H_

// Move-only owners of sqlite3 connections and prepared statements, so no
// error path leaks a handle or leaves a statement holding a read snapshot.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::controller {

class SqliteStatement;

class SqliteDb {
 public:
  // `flags` as for sqlite3_open_v2. The error names `path`.
  static absl::StatusOr<SqliteDb> Open(const std::string& path, int flags);

  SqliteDb() = default;
  SqliteDb(SqliteDb&& other) noexcept;
  SqliteDb& operator=(SqliteDb&& other) noexcept;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  ~SqliteDb();

  sqlite3* get() const { return db_; }

  // Runs statements that return no rows we need (DDL, PRAGMA, BEGIN ...).
  absl::Status Exec(const std::string& sql);
  absl::StatusOr<SqliteStatement> Prepare(absl::string_view sql);

  // An INTERNAL status carrying sqlite's message for the last failure.
  absl::Status Error(absl::string_view what) const;

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

class SqliteStatement {
 public:
  SqliteStatement() = default;
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement();

  // Parameters are 1-based, as in sqlite.
  void BindText(int index, absl::string_view text);
  void BindBlob(int index, absl::string_view bytes);
  void BindInt64(int index, int64_t value);

  // true: a row is available; false: done.
  absl::StatusOr<bool> Step();
  // Steps to completion, for statements whose rows are not wanted.
  absl::Status Run();

  int64_t ColumnInt64(int index) const;
  bool ColumnIsNull(int index) const;
  std::string ColumnText(int index) const;
  std::string ColumnBlob(int index) const;

  // Ends the statement's use and drops bindings; an unreset SELECT would
  // keep its read transaction (and so its snapshot) open.
  void Reset();

 private:
  friend class SqliteDb;
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when the scope ends.
class ScopedReset {
 public:
  explicit ScopedReset(SqliteStatement* stmt) : stmt_(stmt) {}
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;
  ~ScopedReset() { stmt_->Reset(); }

 private:
  SqliteStatement* stmt_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_STORE_SQLITE_HANDLE_H_
