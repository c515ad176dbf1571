#pragma once
// An io_context run by a thread of its own for as long as a test needs it.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>

namespace pagohub::test_support {

struct io_thread {
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{
      ioc.get_executor()};
  std::thread thread{[this] { ioc.run(); }};
  ~io_thread() {
    guard.reset();
    thread.join();
  }
};

}  // namespace pagohub::test_support
