// The Database controller: a Database becomes credentials, Services, a StatefulSet, a PDB and a
// backup CronJob, with honest status and a finalizer that keeps data unless told otherwise.
#pragma once

#include <kubecoro/manager/manager.hpp>

namespace kubecoro::controllers::database {

inline constexpr std::string_view finalizer = "kubecoro.dev/database-cleanup";

awaitable<core::result<std::shared_ptr<runtime::controller>>> make_controller(manager::controller_env env);

} // namespace kubecoro::controllers::database
