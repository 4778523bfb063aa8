// Test support for the catalog tests: a fixed clock, a dataset spec with every field set, helpers
// that run one catalog call in a transaction, and plain-sqlite3 access to a catalog file (as
// another program would touch it). Not synchronized unless stated.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/model.h"
#include "core/status.h"
#include "testing/status_testing.h"

namespace edl::testing {

// A valid spec in which every field differs from its default, to prove round trips lose nothing.
DatasetSpec FullSpec(std::string name);
// A minimal dataset record.
DatasetRecord SimpleDataset(std::string name);

// Runs `fn` (returning Status or Result<T>) in a Read/Write transaction and returns its result,
// or the transaction's own error.
template <typename Fn>
auto ReadValue(Catalog& catalog, Fn fn) -> decltype(fn(std::declval<CatalogTransaction&>())) {
  using R = decltype(fn(std::declval<CatalogTransaction&>()));
  std::optional<R> out;
  Status status = catalog.Read([&](CatalogTransaction& txn) {
    out.emplace(fn(txn));
    if constexpr (std::is_same_v<R, Status>) {
      return *out;
    } else {
      return out->status();
    }
  });
  if (!status.ok() || !out) return R(status);
  return std::move(*out);
}

template <typename Fn>
auto WriteValue(Catalog& catalog, Fn fn) -> decltype(fn(std::declval<CatalogTransaction&>())) {
  using R = decltype(fn(std::declval<CatalogTransaction&>()));
  std::optional<R> out;
  Status status = catalog.Write([&](CatalogTransaction& txn) {
    out.emplace(fn(txn));
    if constexpr (std::is_same_v<R, Status>) {
      return *out;
    } else {
      return out->status();
    }
  });
  if (!status.ok() || !out) return R(status);
  return std::move(*out);
}

// Runs SQL on `file` through a plain sqlite3 connection; fails the test on error.
void RawExec(const std::filesystem::path& file, const std::string& sql);
// Runs `sql` expecting it to fail; returns SQLite's message (empty when it succeeded).
std::string RawExecError(const std::filesystem::path& file, const std::string& sql);
// The first column of the first row as text; "" for NULL or no row; fails the test on error.
std::string RawQuery(const std::filesystem::path& file, const std::string& sql);
// Names of the files in `folder`, sorted.
std::string ListFolder(const std::filesystem::path& folder);

}  // namespace edl::testing
