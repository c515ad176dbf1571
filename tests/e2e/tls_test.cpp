// TLS and client-certificate listeners through the real daemon: the certificates are made by the
// test (a CA, the server's, two clients' and a stranger's signed by another CA), so the test
// needs nothing outside the build.
#include "daemon_process.hpp"

#include <support/pg_database.hpp>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace pagohub::test {
namespace {

namespace fs = std::filesystem;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

using key_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using cert_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

struct issued {
  key_ptr key{nullptr, &EVP_PKEY_free};
  cert_ptr cert{nullptr, &X509_free};
};

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL: ") + what);
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

/// A certificate for `entries` (C, O, CN in this order; RFC 2253 prints them reversed), signed
/// by `issuer` or by itself when `issuer` is null.
issued make_cert(const std::vector<std::pair<const char*, const char*>>& entries, bool is_ca,
                 const issued* issuer, long serial) {
  issued out;
  out.key.reset(EVP_EC_gen("P-256"));
  check(out.key != nullptr, "key");
  out.cert.reset(X509_new());
  X509* x = out.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, out.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  for (const auto& [field, value] : entries)
    X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(value), -1, -1, 0);
  X509* signer = issuer ? issuer->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(signer));
  add_extension(x, signer, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (!is_ca) add_extension(x, signer, NID_subject_alt_name, "IP:127.0.0.1");
  check(X509_sign(x, issuer ? issuer->key.get() : out.key.get(), EVP_sha256()) > 0, "sign");
  return out;
}

void write_pem(const fs::path& cert_file, const fs::path& key_file, const issued& c) {
  FILE* f = std::fopen(cert_file.c_str(), "w");
  check(f && PEM_write_X509(f, c.cert.get()) == 1, "write certificate");
  std::fclose(f);
  f = std::fopen(key_file.c_str(), "w");
  check(f && PEM_write_PrivateKey(f, c.key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "write key");
  std::fclose(f);
}

/// The files of one test run: a CA, the server, an allowed client, a client of the same CA
/// whose subject is not allowed, and a client of another CA.
class pki {
 public:
  pki() : dir_(fs::temp_directory_path() / ("pagohub-tls-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
    const auto ca =
        make_cert({{"C", "IT"}, {"O", "Test CA"}, {"CN", "pagohub test CA"}}, true, nullptr, 1);
    const auto other_ca =
        make_cert({{"C", "IT"}, {"O", "Other CA"}, {"CN", "someone else's CA"}}, true, nullptr, 2);
    write_pem(path("ca.pem"), path("ca.key"), ca);
    write_pem(path("server.pem"), path("server.key"),
              make_cert({{"C", "IT"}, {"O", "pagohub"}, {"CN", "127.0.0.1"}}, false, &ca, 3));
    write_pem(path("nodo.pem"), path("nodo.key"),
              make_cert({{"C", "IT"}, {"O", "Example S.p.A."}, {"CN", "nodo.example.it"}}, false,
                        &ca, 4));
    write_pem(
        path("intruder.pem"), path("intruder.key"),
        make_cert({{"C", "IT"}, {"O", "Nobody"}, {"CN", "intruder.example.it"}}, false, &ca, 5));
    write_pem(path("stranger.pem"), path("stranger.key"),
              make_cert({{"C", "IT"}, {"O", "Example S.p.A."}, {"CN", "nodo.example.it"}}, false,
                        &other_ca, 6));
  }
  ~pki() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  pki(const pki&) = delete;
  pki& operator=(const pki&) = delete;

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
};

/// A client context trusting the test CA, presenting `client` (a name in the pki) when set.
ssl::context client_context(const pki& p, const std::string& client) {
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(p.path("ca.pem"));
  ctx.set_verify_mode(ssl::verify_peer);
  if (!client.empty()) {
    ctx.use_certificate_chain_file(p.path(client + ".pem"));
    ctx.use_private_key_file(p.path(client + ".key"), ssl::context::pem);
  }
  return ctx;
}

/// GET `target` over TLS, trusting the test CA; presents `client` (a name in the pki) when set.
/// Returns the status, or nullopt when the handshake or the exchange failed (refused, closed).
std::optional<unsigned> https_get(const pki& p, unsigned short port, const std::string& target,
                                  const std::string& client = {}) {
  boost::asio::io_context ioc;
  ssl::context ctx = client_context(p, client);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(stream).connect(
      tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  beast::error_code ec;
  stream.handshake(ssl::stream_base::client, ec);
  if (ec) return std::nullopt;
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req, ec);
  if (ec) return std::nullopt;
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  // With TLS 1.3 a refused client certificate surfaces at the first read, not the handshake.
  http::read(stream, buffer, res, ec);
  if (ec) return std::nullopt;
  return res.result_int();
}

/// Two GETs of /healthz on two connections presenting `client`, the second resuming the first's
/// TLS session, as gateways keeping many connections do.
struct resumption {
  std::optional<unsigned> first, second;
  bool resumed = false;
};

resumption https_get_resuming(const pki& p, unsigned short port, const std::string& client,
                              bool tls12) {
  ssl::context ctx = client_context(p, client);
  // TLS 1.2 resumes by session id, TLS 1.3 by ticket: both must work.
  if (tls12) SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  SSL_SESSION* session = nullptr;
  resumption out;
  for (int i = 0; i < 2; ++i) {
    boost::asio::io_context ioc;
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    if (session != nullptr) SSL_set_session(stream.native_handle(), session);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(stream).connect(
        tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    beast::error_code ec;
    stream.handshake(ssl::stream_base::client, ec);
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "127.0.0.1");
    if (!ec) http::write(stream, req, ec);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    if (!ec) http::read(stream, buffer, res, ec);
    const std::optional<unsigned> status =
        ec ? std::nullopt : std::optional<unsigned>(res.result_int());
    if (i == 0) {
      out.first = status;
      // Read after the answer: a TLS 1.3 ticket comes after the handshake.
      session = SSL_get1_session(stream.native_handle());
    } else {
      out.second = status;
      out.resumed = SSL_session_reused(stream.native_handle()) == 1;
    }
    // A connection closed without close_notify makes OpenSSL mark its session not resumable.
    stream.shutdown(ec);
  }
  if (session != nullptr) SSL_SESSION_free(session);
  return out;
}

/// A plain-text HTTP request to a TLS port: it must not be answered as HTTP.
bool plain_http_answered(unsigned short port) {
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
  req.set(http::field::host, "127.0.0.1");
  beast::error_code ec;
  http::write(stream, req, ec);
  if (ec) return false;
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  return !ec && res.result_int() == 200;
}

std::string toml_path(const std::string& p) {
  return "\"" + p + "\"";
}

TEST(e2e_tls, tls_listener_serves_https_only) {
  pki p;
  test_support::test_database db;
  daemon_options o{db.conninfo()};
  o.listener_toml = "tls_cert_file = " + toml_path(p.path("server.pem")) +
                    "\ntls_key_file = " + toml_path(p.path("server.key"));
  daemon_process d(o);
  ASSERT_TRUE(d.start()) << d.log();
  EXPECT_NE(d.log().find("listening on https://"), std::string::npos) << d.log();
  EXPECT_EQ(https_get(p, d.port(), "/healthz"), std::optional<unsigned>(200));
  // A client certificate is not asked for, and one offered anyway does no harm.
  EXPECT_EQ(https_get(p, d.port(), "/healthz", "stranger"), std::optional<unsigned>(200));
  EXPECT_FALSE(plain_http_answered(d.port()));
  // Sessions are resumed (TLS 1.2 by session id, TLS 1.3 by ticket).
  for (const bool tls12 : {true, false}) {
    const auto r = https_get_resuming(p, d.port(), "stranger", tls12);
    EXPECT_EQ(r.second, std::optional<unsigned>(200)) << "TLS 1.2 only: " << tls12;
    EXPECT_TRUE(r.resumed) << "TLS 1.2 only: " << tls12;
  }
}

TEST(e2e_tls, mtls_listener_admits_only_certificates_of_its_ca_with_allowed_subjects) {
  pki p;
  test_support::test_database db;
  daemon_options o{db.conninfo()};
  o.listener_toml = "tls_cert_file = " + toml_path(p.path("server.pem")) +
                    "\ntls_key_file = " + toml_path(p.path("server.key")) +
                    "\ntls_client_ca_file = " + toml_path(p.path("ca.pem")) +
                    "\ntls_allowed_subjects = [\"CN=nodo.example.it,O=Example S.p.A.,C=IT\"]";
  daemon_process d(o);
  ASSERT_TRUE(d.start()) << d.log();

  EXPECT_EQ(https_get(p, d.port(), "/healthz", "nodo"), std::optional<unsigned>(200));
  // No certificate, a certificate of another CA (same subject), a subject not on the list.
  EXPECT_EQ(https_get(p, d.port(), "/healthz"), std::nullopt);
  EXPECT_EQ(https_get(p, d.port(), "/healthz", "stranger"), std::nullopt);
  EXPECT_EQ(https_get(p, d.port(), "/healthz", "intruder"), std::nullopt);
  EXPECT_FALSE(plain_http_answered(d.port()));
  // The refused subject is named in the log, so an operator can see who knocked.
  EXPECT_NE(d.log().find("CN=intruder.example.it,O=Nobody,C=IT"), std::string::npos) << d.log();
  // Still serving the allowed client after the refusals.
  EXPECT_EQ(https_get(p, d.port(), "/healthz", "nodo"), std::optional<unsigned>(200));
  // A client resuming its session is served (OpenSSL fails the handshake of a resumption on a
  // listener that verifies peers without a session id context).
  for (const bool tls12 : {true, false}) {
    const auto r = https_get_resuming(p, d.port(), "nodo", tls12);
    EXPECT_EQ(r.first, std::optional<unsigned>(200)) << "TLS 1.2 only: " << tls12;
    EXPECT_EQ(r.second, std::optional<unsigned>(200)) << "TLS 1.2 only: " << tls12;
    EXPECT_TRUE(r.resumed) << "TLS 1.2 only: " << tls12;
  }
}

}  // namespace
}  // namespace pagohub::test
