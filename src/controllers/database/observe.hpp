// What the Database controller reads: its children from the caches, the server pod from the API
// server while it is not ready, and a pod stuck on a revision the spec no longer asks for.
#pragma once

#include "database/resources.hpp"

#include <optional>
#include <vector>

namespace kubecoro::controllers::database {

observed_state observe(const runtime::managed_context& ctx, const resources& rs);
std::vector<storage_class> storage_classes(const runtime::managed_context& ctx, const resources& rs);

// The server pod, read (not cached) only while the StatefulSet lacks ready pods.
awaitable<std::optional<observed_pod>>
read_pod(runtime::managed_context& ctx, const resources& rs, const observed_state& seen);

// A StatefulSet does not replace a pod that never became ready on a revision it no longer wants
// (kubernetes#67250): after a bad image is reverted, the operator deletes that pod. Returns
// whether it did.
awaitable<bool>
replace_stuck_pod(runtime::managed_context& ctx, const resources& rs, const observed_state& seen);

} // namespace kubecoro::controllers::database
