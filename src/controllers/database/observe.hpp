// What the Database controller reads: its children from the caches, the server pod from the API
// server while it is not ready, and a pod stuck on a revision the spec no longer asks for.
#pragma once

#include "database/replication.hpp"
#include "database/resources.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace kubecoro::controllers::database {

observed_state observe(const runtime::managed_context& ctx, const resources& rs);

// A child by kind and name (in the Database's namespace), from wherever it was read.
using child_lookup =
    std::function<std::optional<json::value>(const api::resource& r, const std::string& name)>;
// What validate_change compares the spec with: the StatefulSet, its data claims and the backup
// claim. The controller looks them up in its caches, the admission webhook asks the API server.
void observe_storage(observed_state& seen,
                     const api::object_meta& db,
                     const resources& rs,
                     const child_lookup& find);
std::vector<storage_class> storage_classes(const runtime::managed_context& ctx, const resources& rs);

// status.currentPrimary when it names an instance of this Database, else <name>-0.
std::string current_primary(const runtime::object& db);

// Every server pod of a PostgreSQL or MariaDB Database that has (or asks for) more than one instance, or
// whose `recorded` status.replication holds a switch or synchronous standbys; none otherwise. Pods are not
// cached: listed by label.
awaitable<core::result<std::vector<observed_pod>>> list_instances(runtime::managed_context& ctx,
                                                                  const resources& rs,
                                                                  const database_spec& spec,
                                                                  const observed_state& seen,
                                                                  const replication_record& recorded);

// Sets the role label where role_changes says (server-side apply of that label alone).
awaitable<core::result<void>>
label_roles(runtime::managed_context& ctx, const resources& rs, const observed_state& seen);

// The primary's pod, read (not cached) only while the StatefulSet lacks ready pods.
awaitable<std::optional<observed_pod>>
read_pod(runtime::managed_context& ctx, const resources& rs, const observed_state& seen);

// A StatefulSet does not replace a pod that never became ready on a revision it no longer wants
// (kubernetes#67250): after a bad image is reverted, the operator deletes that pod. Returns
// whether it did.
awaitable<bool>
replace_stuck_pod(runtime::managed_context& ctx, const resources& rs, const observed_state& seen);

} // namespace kubecoro::controllers::database
