// Test support for the catalog tests: a fixed clock, a dataset spec with every field set, helpers
// that run one catalog call in a transaction, and plain-sqlite3 access to a catalog file (as
// another program would touch it). Not synchronized unless stated.
#pragma once

#include <atomic>
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

#ifndef ASSERT_OK
#define ASSERT_OK(expr)                                                    \
  do {                                                                     \
    const ::edl::Status& edl_assert_status_ = (expr);                      \
    ASSERT_TRUE(edl_assert_status_.ok()) << edl_assert_status_.ToString(); \
  } while (0)
#endif
#ifndef EXPECT_OK
#define EXPECT_OK(expr)                                                    \
  do {                                                                     \
    const ::edl::Status& edl_expect_status_ = (expr);                      \
    EXPECT_TRUE(edl_expect_status_.ok()) << edl_expect_status_.ToString(); \
  } while (0)
#endif

namespace edl::testing {

// Starts at 2026-01-02T03:04:05.678Z and moves only when told. Thread-safe.
class FixedClock final : public Clock {
 public:
  FixedClock();
  std::chrono::system_clock::time_point Now() const override { return now_.load(); }
  void Advance(std::chrono::milliseconds step) { now_.store(now_.load() + step); }
  std::string NowText() const { return FormatTimestamp(Now()); }

 private:
  std::atomic<std::chrono::system_clock::time_point> now_;
};

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
// The first column of the first row as text; "" for NULL or no row; fails the test on error.
std::string RawQuery(const std::filesystem::path& file, const std::string& sql);
// Names of the files in `folder`, sorted.
std::string ListFolder(const std::filesystem::path& folder);

}  // namespace edl::testing
