# Every dependency comes from Debian 12 packages (scripts/install-deps installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
# Boost 1.81 from the libboost1.81-dev family: 1.74 lacks Boost.JSON and Boost.URL.
find_package(Boost 1.81.0 EXACT REQUIRED CONFIG COMPONENTS system json url)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(tomlplusplus REQUIRED)
# pagohubd's allocator (libmimalloc-dev; see src/app/main.cpp).
find_package(mimalloc 2.0 REQUIRED)
# libpqxx 6.4 ships only a pkg-config file.
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
if(PAGOHUB_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()

# ccache, when installed, makes rebuilds across presets cheap; it is optional.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()
