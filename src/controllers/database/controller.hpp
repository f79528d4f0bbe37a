// The Database controller registers itself (manager/registry.hpp); this is what others may name.
#pragma once

#include <string_view>

namespace kubecoro::controllers::database {

inline constexpr std::string_view finalizer = "kubecoro.dev/database-cleanup";

} // namespace kubecoro::controllers::database
