// The HelloWorld controller: spec.message becomes ConfigMap <name>.data.message.
#pragma once

#include <kubecoro/manager/manager.hpp>

namespace kubecoro::controllers::helloworld {

awaitable<core::result<std::shared_ptr<runtime::controller>>> make_controller(manager::controller_env env);

} // namespace kubecoro::controllers::helloworld
