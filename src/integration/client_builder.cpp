#include <pagohub/integration/client_builder.hpp>
#include <pagohub/integration/endpoint.hpp>

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace pagohub::integration {

namespace {

std::string stamp_of(const std::string& file) {
  if (file.empty()) return "-";
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return std::string("error ") + std::strerror(errno);
  // The change time moves with the permissions and the owner too, which the modification time
  // does not: a file made readable again is worth a try.
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ctim.tv_sec) + "." +
         std::to_string(st.st_ctim.tv_nsec) + ":" + std::to_string(st.st_mode);
}

}  // namespace

std::string files_stamp(const config::integration& i) {
  return stamp_of(i.ca_file) + " " + stamp_of(i.client_cert_file) + " " +
         stamp_of(i.client_key_file);
}

std::shared_ptr<bo_client> client_builder::build(const boost::asio::any_io_executor& ex,
                                                 const config::integration& i,
                                                 const std::optional<std::string>& previous,
                                                 std::chrono::system_clock::time_point wall_now,
                                                 std::chrono::steady_clock::time_point now) {
  auto files = files_stamp(i);
  const auto it = failures_.find(i.id);
  const bool same_settings = it != failures_.end() && it->second.settings.mode == i.mode &&
                             same_endpoint(it->second.settings, i);
  if (same_settings && it->second.files == files && now - it->second.tried < retry_every_)
    return nullptr;
  try {
    auto client = std::make_shared<bo_client>(ex, endpoint_of(i));
    if (it != failures_.end()) {
      spdlog::info("{}: integration {}: its endpoint {} is in use now", words_.user, i.id,
                   i.base_url);
      failures_.erase(it);
    }
    return client;
  } catch (const std::exception& e) {
    // Once per change of the settings or of the files, and at each periodic retry: not at every
    // turn of the user. The base URL carries no credentials (the configuration refuses them
    // there).
    if (previous) {
      spdlog::error(
          "{}: integration {}: its endpoint {} cannot be used: {}; {} {} with its previous "
          "settings until it can",
          words_.user, i.id, i.base_url, e.what(), words_.kept_at, *previous);
    } else {
      spdlog::error("{}: integration {}: its endpoint {} cannot be used: {}; {}", words_.user, i.id,
                    i.base_url, e.what(), words_.none);
    }
    failure f{i, std::move(files), e.what(), same_settings ? it->second.since : wall_now, now};
    failures_.insert_or_assign(i.id, std::move(f));
    return nullptr;
  }
}

void client_builder::keep_only(const std::set<std::string, std::less<>>& failing) {
  std::erase_if(failures_, [&](const auto& f) { return !failing.contains(f.first); });
}

void client_builder::forget(std::string_view id) {
  if (const auto it = failures_.find(id); it != failures_.end()) failures_.erase(it);
}

const client_builder::failure* client_builder::find(std::string_view id) const {
  const auto it = failures_.find(id);
  return it == failures_.end() ? nullptr : &it->second;
}

}  // namespace pagohub::integration
