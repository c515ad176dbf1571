#pragma once

namespace pagohub::app {

/// The whole `pagohubd` command line: `run` (default), `migrate`, `check-config`, `--version`,
/// `--help`. Returns the process exit code.
int main(int argc, char** argv);

}  // namespace pagohub::app
