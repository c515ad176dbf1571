#include <pagohub/http/client_connection.hpp>

#include <boost/asio/as_tuple.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <stdexcept>

namespace pagohub::http::outbound {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using asio::experimental::awaitable_operators::operator||;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

core::error io_error(const boost::system::error_code& ec, std::string_view what) {
  if (ec == beast::error::timeout || ec == asio::error::timed_out) {
    return {core::errc::timeout, std::string(what) + ": deadline passed", {}};
  }
  return {core::errc::unavailable, std::string(what) + ": " + ec.message(), {}};
}

}  // namespace

std::shared_ptr<ssl::context> make_client_tls(const std::string& ca_file,
                                              const std::string& cert_file,
                                              const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) throw std::invalid_argument("cannot load the system trust store: " + ec.message());
  } else {
    ctx->load_verify_file(ca_file, ec);
    if (ec) throw std::invalid_argument("cannot load CA file " + ca_file + ": " + ec.message());
  }
  ctx->set_verify_mode(ssl::verify_peer);
  if (!cert_file.empty()) {
    ctx->use_certificate_chain_file(cert_file, ec);
    if (ec) {
      throw std::invalid_argument("cannot load client certificate " + cert_file + ": " +
                                  ec.message());
    }
    ctx->use_private_key_file(key_file, ssl::context::pem, ec);
    if (ec) throw std::invalid_argument("cannot load client key " + key_file + ": " + ec.message());
  }
  return ctx;
}

connection::connection(asio::any_io_executor ex, const parsed_url& url,
                       std::shared_ptr<ssl::context> tls)
    : ex_(std::move(ex)), url_(url), tls_ctx_(std::move(tls)) {}

beast::tcp_stream& connection::tcp() {
  return tls_ ? beast::get_lowest_layer(*tls_) : *plain_;
}

void connection::close() {
  connected_ = false;
  boost::system::error_code ignored;
  if (plain_) plain_->socket().close(ignored);
  if (tls_) beast::get_lowest_layer(*tls_).socket().close(ignored);
  plain_.reset();
  tls_.reset();
  buffer_.clear();
}

asio::awaitable<core::result<void>> connection::connect(
    std::chrono::steady_clock::time_point deadline) {
  close();
  tcp::resolver resolver(ex_);
  asio::steady_timer timer(ex_, deadline);
  // The resolver has no deadline of its own: race it against the timer.
  auto raced = co_await (resolver.async_resolve(url_.host, url_.port, use_nothrow) ||
                         timer.async_wait(use_nothrow));
  if (raced.index() == 1) co_return core::fail(core::errc::timeout, "resolve: deadline passed");
  auto [rec, results] = std::get<0>(std::move(raced));
  if (rec) co_return std::unexpected(io_error(rec, "resolve " + url_.host));

  if (url_.tls) {
    tls_.emplace(ex_, *tls_ctx_);
  } else {
    plain_.emplace(ex_);
  }
  tcp().expires_at(deadline);
  auto [cec, ep] = co_await tcp().async_connect(results, use_nothrow);
  if (cec) {
    close();
    co_return std::unexpected(io_error(cec, "connect " + url_.host_header));
  }
  {
    // A connection to a local port nothing listens on can connect to itself (TCP simultaneous
    // open, when the kernel picks that same port as the source): that is "not listening".
    boost::system::error_code lec, rec2;
    if (tcp().socket().local_endpoint(lec) == tcp().socket().remote_endpoint(rec2) && !lec &&
        !rec2) {
      close();
      co_return core::fail(core::errc::unavailable, "connect " + url_.host_header + ": refused");
    }
  }
  tcp().socket().set_option(tcp::no_delay(true));
  if (tls_) {
    // SNI, and the certificate must name the host (RFC 6125), not just chain to a trusted CA.
    // (SSL_set_tlsext_host_name is a macro over SSL_ctrl with a C cast.)
    if (SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 static_cast<void*>(const_cast<char*>(url_.host.c_str()))) != 1) {
      close();
      co_return core::fail(core::errc::unavailable, "TLS: cannot set the server name");
    }
    tls_->set_verify_callback(ssl::host_name_verification(url_.host));
    auto [hec] = co_await tls_->async_handshake(ssl::stream_base::client, use_nothrow);
    if (hec) {
      close();
      co_return std::unexpected(io_error(hec, "TLS handshake with " + url_.host_header));
    }
  }
  connected_ = true;
  co_return core::result<void>{};
}

asio::awaitable<exchange_result> connection::exchange(
    request& req, std::chrono::steady_clock::time_point deadline, std::size_t max_body) {
  exchange_result out;
  if (!connected_) {
    auto c = co_await connect(deadline);
    if (!c) {
      out.err = std::move(c).error();
      co_return out;
    }
  }
  tcp().expires_at(deadline);
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await beast::http::async_write(*tls_, req, use_nothrow);
  } else {
    std::tie(ec, std::ignore) = co_await beast::http::async_write(*plain_, req, use_nothrow);
  }
  if (ec) {
    out.err = io_error(ec, "send to " + url_.host_header);
    out.nothing_read = true;
    close();
    co_return out;
  }
  beast::http::response_parser<beast::http::string_body> parser;
  parser.body_limit(max_body);
  const auto before = buffer_.size();
  std::size_t read = 0;
  if (tls_) {
    std::tie(ec, read) = co_await beast::http::async_read(*tls_, buffer_, parser, use_nothrow);
  } else {
    std::tie(ec, read) = co_await beast::http::async_read(*plain_, buffer_, parser, use_nothrow);
  }
  if (ec) {
    out.err = io_error(ec, "read from " + url_.host_header);
    out.nothing_read = read == 0 && before == 0 &&
                       (ec == beast::http::error::end_of_stream || ec == asio::error::eof ||
                        ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
                        ec == ssl::error::stream_truncated);
    close();
    co_return out;
  }
  out.res = parser.release();
  last_used_ = std::chrono::steady_clock::now();
  if (!out.res->keep_alive()) close();
  co_return out;
}

}  // namespace pagohub::http::outbound
