#include "session.hpp"

#include <pagohub/core/ids.hpp>
#include <pagohub/http/problem.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <type_traits>

namespace pagohub::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// X-Request-Id from the caller is kept only when it is short and plain, so it can go into logs
// and the journal verbatim.
bool usable_request_id(std::string_view v) {
  if (v.empty() || v.size() > 64) return false;
  return std::all_of(v.begin(), v.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

std::string peer_subject(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return {};
  std::string out;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    if (n > 0) out.assign(data, static_cast<std::size_t>(n));
    BIO_free(bio);
  }
  X509_free(cert);
  return out;
}

template <class Stream>
asio::awaitable<boost::system::error_code> write_message(Stream& stream, response& res) {
  auto [ec, n] = co_await beast::http::async_write(stream, res, nothrow);
  co_return ec;
}

// A streamed body (request_context::stream_body): the head, then one chunk per call of the
// generator, each write with a fresh deadline. Returns the first error; `bytes` counts the body.
template <class Stream>
asio::awaitable<boost::system::error_code> write_streamed(Stream& stream, beast::tcp_stream& lowest,
                                                          response& res, const body_stream& next,
                                                          std::chrono::milliseconds per_chunk,
                                                          std::size_t& bytes,
                                                          const std::string& request_id) {
  res.body().clear();
  const bool chunked = res.version() >= 11;
  if (chunked) {
    res.chunked(true);
  } else {
    // HTTP/1.0 has no chunks: the body ends when the connection does, and a Content-Length
    // left from the handler's response (its placeholder body) would cut it short.
    res.content_length(boost::none);
    res.keep_alive(false);
  }
  beast::http::response_serializer<beast::http::string_body> head{res};
  if (auto [ec, n] = co_await beast::http::async_write_header(stream, head, nothrow); ec)
    co_return ec;
  for (;;) {
    std::optional<std::string> chunk;
    try {
      chunk = co_await next();
    } catch (const std::exception& e) {
      spdlog::error("rid={} streamed response aborted after {} bytes: {}", request_id, bytes,
                    e.what());
      co_return asio::error::connection_aborted;
    }
    if (!chunk) break;
    if (chunk->empty()) continue;
    bytes += chunk->size();
    lowest.expires_after(per_chunk);
    if (chunked) {
      auto [ec, n] = co_await asio::async_write(
          stream, beast::http::make_chunk(asio::buffer(*chunk)), nothrow);
      if (ec) co_return ec;
    } else {
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(*chunk), nothrow);
      if (ec) co_return ec;
    }
  }
  if (chunked) {
    lowest.expires_after(per_chunk);
    auto [ec, n] = co_await asio::async_write(stream, beast::http::make_chunk_last(), nothrow);
    if (ec) co_return ec;
  }
  co_return boost::system::error_code{};
}

// A refusal before the request was read in full (oversized header or body): the rest of the
// input is not drained, so the connection closes after the answer.
template <class Stream>
asio::awaitable<void> refuse(Stream& stream, status st, std::string detail,
                             const std::string& request_id, unsigned version) {
  request dummy{verb::get, "/", version};
  dummy.keep_alive(false);
  problem p;
  p.http_status = st;
  p.detail = std::move(detail);
  p.request_id = request_id;
  auto res = make_problem(dummy, p);
  res.keep_alive(false);
  co_await write_message(stream, res);
}

// After refusing a request whose body is still arriving, closing at once would make the kernel
// answer the unread bytes with a reset, which can destroy the refusal before the client reads
// it. Read and discard for a short while (bounded in time and bytes) so the answer arrives.
template <class Stream>
asio::awaitable<void> linger_drain(Stream& stream, beast::tcp_stream& lowest) {
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    boost::system::error_code ignored;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
  lowest.expires_after(std::chrono::seconds(2));
  std::array<char, 16 * 1024> scratch{};
  std::size_t total = 0;
  while (total < 64 * 1024 * 1024) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), nothrow);
    if (ec) break;
    total += n;
  }
}

constexpr std::string_view spool_prefix = "pagohub-upload-";

// The body of a route_options::spool_body route, in a file of its own for the length of one
// request round: removed when the round ends (a handler that keeps the file renamed it).
struct spooled_file {
  std::filesystem::path path;
  std::uint64_t bytes = 0;
  spooled_file() = default;
  spooled_file(const spooled_file&) = delete;
  spooled_file& operator=(const spooled_file&) = delete;
  ~spooled_file() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove(path, ignored);
  }
};

struct spool_outcome {
  boost::system::error_code ec;
  bool storage = false;  ///< the failure was ours (no room, no directory), not the peer's
};

// Reads the body into a fresh file instead of memory, so that an upload of hundreds of megabytes
// costs the daemon a read buffer, not its size. Beast lets a parser that has read only the header
// change its body type, so the header parser continues as a file-body parser. Every read gets a
// deadline of its own: a long upload that keeps moving is not cut off by the request deadline.
// The limit applies to chunked bodies as they arrive (Content-Length was checked before).
template <class Stream>
asio::awaitable<spool_outcome> read_spooled(
    Stream& stream, beast::tcp_stream& lowest, beast::flat_buffer& buffer,
    beast::http::request_parser<beast::http::string_body>& head, std::uint64_t limit,
    const server_settings& s, request& req, spooled_file& out) {
  std::error_code dir_ec;
  const std::filesystem::path dir = s.spool_dir.empty()
                                        ? std::filesystem::temp_directory_path(dir_ec)
                                        : std::filesystem::path(s.spool_dir);
  // mkstemp: a new name, created exclusively, mode 0600 (uploads carry personal data).
  std::string name = (dir / (std::string(spool_prefix) + "XXXXXX")).string();
  const int fd = ::mkstemp(name.data());
  if (fd < 0) {
    spdlog::error("cannot create a spool file in {}: {}", dir.string(), std::strerror(errno));
    co_return spool_outcome{{errno, boost::system::system_category()}, true};
  }
  out.path = name;
  beast::file file;
  file.native_handle(fd);
  beast::http::request_parser<beast::http::file_body> parser{std::move(head)};
  spool_outcome result;
  parser.get().body().reset(std::move(file), result.ec);
  if (result.ec) {
    result.storage = true;
    co_return result;
  }
  parser.body_limit(limit);
  while (!parser.is_done()) {
    lowest.expires_after(s.request_deadline);
    auto [ec, n] = co_await beast::http::async_read_some(stream, buffer, parser, nothrow);
    if (ec) {
      // The file body reports its write errors (a full disk) through the same code.
      result.ec = ec;
      const int v = ec.value();
      result.storage = ec.category() == boost::system::system_category() &&
                       (v == ENOSPC || v == EDQUOT || v == EIO || v == EFBIG || v == EROFS);
      co_return result;
    }
  }
  parser.get().body().close();
  auto msg = parser.release();
  req = request(std::move(msg.base()));
  std::error_code size_ec;
  out.bytes = std::filesystem::file_size(out.path, size_ec);
  co_return result;
}

// The method as a metrics label: Beast accepts any token as a method, and a label per token
// would let anyone grow the series without bound.
std::string_view method_label(verb v) {
  return v == verb::unknown ? std::string_view("OTHER")
                            : std::string_view(beast::http::to_string(v));
}

void log_access(const request_context& ctx, unsigned st, std::size_t bytes, double seconds) {
  static const auto access = spdlog::get("access");
  auto& logger = access ? *access : *spdlog::default_logger_raw();
  logger.info("{} {} {} {} {}B {:.1f}ms rid={} route={}", ctx.remote_address,
              std::string_view(ctx.req.method_string()), ctx.path, st, bytes, seconds * 1000.0,
              ctx.request_id, ctx.route);
}

template <class Stream>
asio::awaitable<void> serve(Stream& stream, beast::tcp_stream& lowest, session_args args,
                            std::string remote, std::string subject) {
  const auto& s = args.settings;
  // Bounded: Beast applies neither the header nor the body limit to a chunk-size line, its
  // extensions or the trailer, so a peer sending one without end would grow an unbounded
  // buffer. Body bytes leave the buffer as they are parsed; a header fits by its own limit.
  beast::flat_buffer buffer(s.max_header_bytes + 64 * 1024);
  for (;;) {
    beast::http::request_parser<beast::http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(s.max_header_bytes));
    // The body limit depends on the route, known only once the header is in; until then none,
    // else Beast fails the header read on a large Content-Length before we can answer 413.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    args.slot.idle.store(true);
    if (args.owner.draining()) break;
    lowest.expires_after(s.idle_timeout);
    // Waiting for the next request is idle time; once its first bytes are in, the rest of its
    // head has the request deadline, so that a peer trickling a header a byte at a time holds
    // the connection for that long at most, not for the idle timeout.
    if (buffer.size() == 0) {
      auto [wec, got] = co_await stream.async_read_some(
          buffer.prepare(std::min<std::size_t>(buffer.max_size(), 16 * 1024)), nothrow);
      if (wec) break;
      buffer.commit(got);
    }
    args.slot.idle.store(false);
    lowest.expires_after(s.request_deadline);
    auto [ec, n] = co_await beast::http::async_read_header(stream, buffer, parser, nothrow);
    if (ec) {
      if (ec == beast::http::error::header_limit) {
        co_await refuse(
            stream, status::request_header_fields_too_large,
            "request header larger than " + std::to_string(s.max_header_bytes) + " bytes",
            core::new_request_id(), 11);
        co_await linger_drain(stream, lowest);
      }
      break;
    }
    const auto started = std::chrono::steady_clock::now();
    lowest.expires_after(s.request_deadline);

    const auto& head = parser.get();
    std::string request_id = usable_request_id(head["X-Request-Id"])
                                 ? std::string(head["X-Request-Id"])
                                 : core::new_request_id();
    std::string target(head.target());
    auto qpos = target.find('?');
    std::string_view path = std::string_view(target).substr(0, qpos);
    std::string_view query =
        qpos == std::string::npos ? std::string_view{} : std::string_view(target).substr(qpos + 1);
    auto match = args.routes.match(head.method(), path);
    std::size_t limit = s.max_body_bytes;
    if (match.found && match.found->options.max_body_bytes)
      limit = match.found->options.max_body_bytes;

    if (auto len = parser.content_length(); len && *len > limit) {
      co_await refuse(stream, status::payload_too_large,
                      "request body larger than " + std::to_string(limit) + " bytes", request_id,
                      head.version());
      co_await linger_drain(stream, lowest);
      break;
    }
    parser.body_limit(limit);
    const unsigned version = head.version();
    if (match.found && match.found->options.before_body) {
      const request head_only(head.base());
      request_context pre{head_only, match.params, request_id,
                          remote,    subject,      {},
                          path,      query,        started + s.request_deadline};
      pre.route = match.found->pattern;
      pre.received = started;
      std::optional<response> refused;
      try {
        refused = match.found->options.before_body(pre);
      } catch (const std::exception& e) {
        spdlog::error("rid={} {} {}: unhandled before the body: {}", request_id,
                      std::string_view(head_only.method_string()), path, e.what());
        refused = make_problem(pre, status::internal_server_error,
                               "internal error; quote request id " + request_id);
      }
      if (refused) {
        response res = *std::move(refused);
        res.set("X-Request-Id", request_id);
        res.keep_alive(false);
        res.prepare_payload();
        const std::size_t bytes = res.body().size();
        co_await write_message(stream, res);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        args.metrics.observe_request(pre.route, method_label(head_only.method()), res.result_int(),
                                     seconds);
        if (s.access_log) log_access(pre, res.result_int(), bytes, seconds);
        co_await linger_drain(stream, lowest);
        break;
      }
    }
    if (beast::iequals(head[beast::http::field::expect], "100-continue")) {
      beast::http::response<beast::http::empty_body> cont{status::continue_, version};
      auto [wec, wn] = co_await beast::http::async_write(stream, cont, nothrow);
      if (wec) break;
    }
    const bool spool = match.found && match.found->options.spool_body;
    spooled_file spooled;
    request req;
    boost::system::error_code rec;
    bool storage_failed = false;
    if (spool) {
      auto outcome = co_await read_spooled(stream, lowest, buffer, parser, limit, s, req, spooled);
      rec = outcome.ec;
      storage_failed = outcome.storage;
    } else {
      auto [body_ec, rn] = co_await beast::http::async_read(stream, buffer, parser, nothrow);
      rec = body_ec;
      if (!rec) req = parser.release();
    }
    if (rec) {
      if (rec == beast::http::error::body_limit) {
        co_await refuse(stream, status::payload_too_large,
                        "request body larger than " + std::to_string(limit) + " bytes", request_id,
                        version);
        co_await linger_drain(stream, lowest);
      } else if (storage_failed) {
        co_await refuse(stream, status::service_unavailable,
                        "the upload could not be stored; nothing was accepted", request_id,
                        version);
        co_await linger_drain(stream, lowest);
      }
      break;
    }

    request_context ctx{req,   std::move(match.params),     request_id, remote, subject, {}, path,
                        query, started + s.request_deadline};
    if (spool) {
      // The upload may have taken long: the handler and the answer get a full deadline.
      ctx.body_file = spooled.path;
      ctx.body_file_bytes = spooled.bytes;
      ctx.deadline = std::chrono::steady_clock::now() + s.request_deadline;
      lowest.expires_after(s.request_deadline);
    }
    ctx.route =
        match.found ? std::string_view(match.found->pattern) : std::string_view("unmatched");
    ctx.received = started;

    response res;
    args.metrics.inflight_add(1);
    try {
      if (match.found) {
        res = co_await match.found->fn(ctx);
      } else if (match.path_known) {
        res = make_problem(ctx, status::method_not_allowed,
                           "method " + std::string(req.method_string()) + " not allowed here");
        std::string allow;
        for (auto v : match.allowed) {
          if (!allow.empty()) allow += ", ";
          allow += std::string(beast::http::to_string(v));
        }
        res.set(beast::http::field::allow, allow);
      } else {
        res = make_problem(ctx, status::not_found, "no such resource");
      }
    } catch (const std::exception& e) {
      // ARCHITECTURE §6: the handler boundary catches everything; the caller gets the request id,
      // never the exception text.
      spdlog::error("rid={} {} {}: unhandled: {}", request_id,
                    std::string_view(req.method_string()), path, e.what());
      res = make_problem(ctx, status::internal_server_error,
                         "internal error; quote request id " + request_id);
      ctx.stream_body = nullptr;
    }
    args.metrics.inflight_add(-1);
    // A handler of a spooled upload may take long to store it: the answer gets its own deadline.
    if (spool) lowest.expires_after(s.request_deadline);

    res.set("X-Request-Id", request_id);
    res.keep_alive(req.keep_alive() && !args.owner.draining());
    if (req.method() == verb::head) {
      res.body().clear();
      ctx.stream_body = nullptr;
    }
    std::size_t body_bytes = 0;
    boost::system::error_code wec;
    if (ctx.stream_body) {
      wec = co_await write_streamed(stream, lowest, res, ctx.stream_body, s.request_deadline,
                                    body_bytes, request_id);
    } else {
      res.prepare_payload();
      body_bytes = res.body().size();
      wec = co_await write_message(stream, res);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const unsigned code = res.result_int();
    args.metrics.observe_request(ctx.route, method_label(req.method()), code, seconds);
    if (s.access_log) log_access(ctx, code, body_bytes, seconds);
    if (wec || !res.keep_alive()) break;
  }
}

}  // namespace

asio::awaitable<void> run_session(tcp::socket socket, session_args args) {
  boost::system::error_code ec;
  auto remote_ep = socket.remote_endpoint(ec);
  std::string remote = ec ? std::string("?") : remote_ep.address().to_string();
  socket.set_option(tcp::no_delay(true), ec);

  if (!args.listener.tls) {
    beast::tcp_stream stream(std::move(socket));
    args.slot.close_now = [&stream] { stream.close(); };
    co_await serve(stream, stream, args, remote, {});
    args.slot.close_now = nullptr;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    co_return;
  }

  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)),
                                              *args.listener.tls);
  auto& lowest = beast::get_lowest_layer(stream);
  args.slot.close_now = [&lowest] { lowest.close(); };
  lowest.expires_after(args.settings.request_deadline);
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, nothrow);
  if (hec) {
    spdlog::debug("TLS handshake from {} failed: {}", remote, hec.message());
    args.slot.close_now = nullptr;
    co_return;
  }
  std::string subject = peer_subject(stream.native_handle());
  const auto& allowed = args.listener.allowed_subjects;
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), subject) == allowed.end()) {
    spdlog::warn("listener '{}': client certificate '{}' from {} is not in the allow-list",
                 args.listener.name, subject, remote);
    args.slot.close_now = nullptr;
    co_return;
  }
  co_await serve(stream, lowest, args, remote, subject);
  lowest.expires_after(std::chrono::seconds(2));
  co_await stream.async_shutdown(nothrow);
  args.slot.close_now = nullptr;
}

std::size_t sweep_spool(const std::string& dir, std::chrono::seconds older_than) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path where = dir.empty() ? fs::temp_directory_path(ec) : fs::path(dir);
  if (ec) return 0;
  const auto before = fs::file_time_type::clock::now() - older_than;
  std::size_t removed = 0;
  for (fs::directory_iterator it(where, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    if (!it->path().filename().string().starts_with(spool_prefix) || !it->is_regular_file(entry_ec))
      continue;
    const auto written = fs::last_write_time(it->path(), entry_ec);
    if (entry_ec || written >= before) continue;
    if (fs::remove(it->path(), entry_ec)) ++removed;
  }
  return removed;
}

}  // namespace pagohub::http
