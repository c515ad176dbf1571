#pragma once
// A throwaway CA, made with the openssl command in a directory of its own, and a server
// certificate it signed for 127.0.0.1 and localhost: a back-office on https (fake-bo) and an
// integration trusting the CA through a ca_file the test can break and repair.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

namespace pagohub::test {

class throwaway_ca {
 public:
  /// Makes the directory and the files; false when the openssl command failed.
  bool make(const std::string& prefix) {
    dir_ = std::filesystem::temp_directory_path() /
           (prefix + "-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    const std::string script =
        "cd " + dir_.string() +
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout ca.key -out good-ca.pem -days 2 -subj /CN=test-ca 2>/dev/null"
        " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null"
        " && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext"
        " && openssl x509 -req -in server.csr -CA good-ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile san.ext 2>/dev/null";
    return std::system(script.c_str()) == 0;
  }
  ~throwaway_ca() {
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  const std::filesystem::path& dir() const { return dir_; }
  /// The CA file an integration names (ca_file), as break_ca() and repair_ca() leave it.
  std::string ca_file() const { return (dir_ / "ca.pem").string(); }
  std::string server_cert() const { return (dir_ / "server.pem").string(); }
  std::string server_key() const { return (dir_ / "server.key").string(); }

  // The CA file, replaced at once (written aside, then renamed).
  void replace_ca(const std::string& text) {
    {
      std::ofstream out(dir_ / "ca.pem.new", std::ios::trunc);
      out << text;
    }
    std::filesystem::rename(dir_ / "ca.pem.new", dir_ / "ca.pem");
  }
  void break_ca() { replace_ca("-----BEGIN CERTIFICATE-----\nnot a certificate\n"); }
  void repair_ca() {
    std::ifstream in(dir_ / "good-ca.pem");
    replace_ca(std::string(std::istreambuf_iterator<char>(in), {}));
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace pagohub::test
