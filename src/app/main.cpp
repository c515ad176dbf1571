#include <mimalloc.h>

#include <pagohub/app/cli.hpp>

// pagohubd allocates through mimalloc: linked ahead of the C library, its malloc and free
// replace glibc's for the whole process (operator new, libpq, gSOAP, OpenSSL included). Every
// request builds and drops many small objects on several threads (JSON trees, strings, SOAP
// structures, journal events), and glibc's allocator took about a quarter of the daemon's CPU
// time on single REST creates; with mimalloc the daemon spends about 17% less CPU per create
// (bench/rest-creates, docs/operations.md "Memory").
int main(int argc, char** argv) {
  // A reference to the library, so that a linker that drops unused libraries keeps it.
  static_cast<void>(mi_version());
  return pagohub::app::main(argc, argv);
}
