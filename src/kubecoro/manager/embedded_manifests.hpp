// The manifests/ files compiled into the binary (embedded_manifests.cpp is generated at build time
// by embed_manifests.py), in apply order.
#pragma once

#include <span>
#include <string_view>

namespace kubecoro::manager::detail {

struct embedded_manifest {
    std::string_view name; // relative to manifests/, e.g. "crds/kubecoro.dev_databases.yaml"
    std::string_view text; // the file's content, ending in a newline
};

std::span<const embedded_manifest> embedded_manifests();

} // namespace kubecoro::manager::detail
