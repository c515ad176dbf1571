#pragma once
// File mode: one JSON file per message in <directory>/<entity fiscal code>/, written so that a
// back-office polling the directory never reads a partial file: a temporary name (dot-prefixed,
// which pickers skip), write, fsync, rename over the final name, fsync the directory.
#include <pagohub/core/error.hpp>

#include <string>
#include <string_view>

namespace pagohub::integration::detail {

/// "<kind>_<key>.json"; when the kind or key has characters outside [A-Za-z0-9._-], those are
/// replaced by '_' and "~" with 16 hexadecimal digits of the key's SHA-256 is added before
/// ".json", so that two keys never share a name.
std::string file_name_for(std::string_view kind, std::string_view key);

/// Writes `content` atomically as <directory>/<entity_fc>/<name> (creating the entity's
/// directory). Rewriting the same message replaces the file whole. Blocking: call it off the
/// I/O threads. errc::unavailable with the system's reason on failure.
core::result<void> write_file_atomically(const std::string& directory, std::string_view entity_fc,
                                         const std::string& name, std::string_view content);

}  // namespace pagohub::integration::detail
