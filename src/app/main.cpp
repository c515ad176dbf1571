#include <pagohub/app/cli.hpp>

int main(int argc, char** argv) {
  return pagohub::app::main(argc, argv);
}
