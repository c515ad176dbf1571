// fake-bo: a back-office for tests and demos. It implements the webhook contract
// (docs/api/bo-webhooks.yaml) and can be told to fail, reject, conflict, be slow or go down.
// See docs/integration.md "Trying it with fake-bo".
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include "fake_bo.hpp"

namespace {

constexpr const char* usage = R"(usage: fake-bo [options]

A back-office that answers pagohub's webhooks over HTTP (or HTTPS).

  PUT  /receipts/{receiptId}      204 (or as switched); any path prefix is accepted
  PUT  /events/{eventId}          204 (or as switched)
  GET  /notices/{noticeNumber}    the position from --positions, or 404
  POST /oauth/token               OAuth2 client credentials (with --oauth-client)

control endpoint:
  POST /_control?mode=ok|500|409|400&delay_ms=N   switch behaviour
  POST /_control/down?for_ms=N                    stop listening for N ms, then listen again
  GET  /_control/received                         what was received, in order (JSON)
  POST /_control/clear                            forget it

options:
  --address A            listen address (default 127.0.0.1)
  --port P               port (default 0: any free port; the port is printed)
  --threads N            I/O threads (default 1)
  --mode M               ok | 500 | 409 | 400 (default ok)
  --delay-ms N           answer after N ms
  --positions FILE       JSON object noticeNumber -> position, for GET /notices
  --api-key VALUE        require X-API-Key: VALUE
  --basic USER:PASS      require HTTP basic
  --oauth-client ID:SECRET   issue tokens at /oauth/token and require them
  --tls-cert F --tls-key F [--client-ca F]   HTTPS (and mTLS with --client-ca)
  --no-bodies            keep counts and keys only (benchmarks)
  --record FILE          append every contract request to FILE as a JSON line
                         (default: $PAGOHUB_FAKE_BO_RECORD, when set)
On SIGINT/SIGTERM it prints what it received as JSON and exits.
)";

volatile std::sig_atomic_t stop_requested = 0;
extern "C" void on_signal(int) {
  stop_requested = 1;
}

}  // namespace

int main(int argc, char** argv) {
  pagohub::fake_bo::settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n" << usage;
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      return 0;
    } else if (a == "--address") {
      s.address = value();
    } else if (a == "--port") {
      s.port = static_cast<unsigned short>(std::stoi(value()));
    } else if (a == "--threads") {
      s.threads = std::stoi(value());
    } else if (a == "--mode") {
      if (!pagohub::fake_bo::parse_behaviour(value(), s.mode)) {
        std::cerr << "--mode: ok, 500, 409 or 400\n";
        return 2;
      }
    } else if (a == "--delay-ms") {
      s.delay_ms = std::stoi(value());
    } else if (a == "--positions") {
      s.positions_file = value();
    } else if (a == "--api-key") {
      s.require_api_key = value();
    } else if (a == "--basic") {
      s.require_basic = value();
    } else if (a == "--oauth-client") {
      s.oauth_client = value();
    } else if (a == "--tls-cert") {
      s.cert_file = value();
    } else if (a == "--tls-key") {
      s.key_file = value();
    } else if (a == "--client-ca") {
      s.client_ca_file = value();
    } else if (a == "--record") {
      s.record_file = value();
    } else if (a == "--no-bodies") {
      s.record_bodies = false;
    } else {
      std::cerr << "unknown option " << a << "\n" << usage;
      return 2;
    }
  }
  try {
    pagohub::fake_bo::server server(s);
    const auto port = server.start();
    std::cout << "fake-bo listening on " << s.address << " port=" << port << std::endl;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    while (stop_requested == 0) {
      struct timespec ts {
        0, 50'000'000
      };
      nanosleep(&ts, nullptr);
    }
    std::cout << server.log_json() << std::endl;
    server.stop();
  } catch (const std::exception& e) {
    std::cerr << "fake-bo: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
