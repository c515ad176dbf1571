#pragma once
// A committed transaction for test fixtures: runs f(pqxx::work&), commits, returns what f
// returns (nothing for a void f). An exception from f rolls back and fails the test.
#include <pqxx/pqxx>

#include <type_traits>

namespace pagohub::test_support {

template <class F>
auto committed(pqxx::connection& c, F f) {
  pqxx::work w(c);
  if constexpr (std::is_void_v<decltype(f(w))>) {
    f(w);
    w.commit();
  } else {
    auto result = f(w);
    w.commit();
    return result;
  }
}

}  // namespace pagohub::test_support
