#include <pagohub/http/server.hpp>

#include <boost/asio/ssl/context.hpp>

#include <stdexcept>

namespace pagohub::http {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_server_tls(const tls_files& files) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  // TLS 1.2 is the floor pagoPA's connectivity rules accept; older versions are refused.
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  auto load = [&](const std::string& what, const std::string& file, auto&& fn) {
    boost::system::error_code ec;
    fn(ec);
    if (ec) throw std::runtime_error(what + " '" + file + "': " + ec.message());
  };
  load("TLS certificate", files.cert_file,
       [&](auto& ec) { ctx->use_certificate_chain_file(files.cert_file, ec); });
  load("TLS private key", files.key_file,
       [&](auto& ec) { ctx->use_private_key_file(files.key_file, ssl::context::pem, ec); });
  if (!files.client_ca_file.empty()) {
    load("TLS client CA", files.client_ca_file,
         [&](auto& ec) { ctx->load_verify_file(files.client_ca_file, ec); });
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    // A server that verifies its peers must name the context its sessions belong to: without
    // one, OpenSSL fails the handshake of any client that resumes a session ("session id
    // context uninitialized"), so a gateway that reuses TLS sessions would see every other
    // connection refused. Sessions live in this context's cache and its ticket keys only, so
    // one fixed name cannot carry a session to another listener or another run.
    static constexpr unsigned char session_context[] = "pagohub-mtls";
    if (SSL_CTX_set_session_id_context(ctx->native_handle(), session_context,
                                       sizeof(session_context) - 1) != 1)
      throw std::runtime_error("TLS: cannot set the session id context");
  }
  return ctx;
}

}  // namespace pagohub::http
