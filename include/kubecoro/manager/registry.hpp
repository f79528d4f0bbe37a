// The controllers linked into the binary. Each adds itself from its own folder, at static
// initialisation, so the manager names none of them:
//   const bool registered = manager::register_controller("helloworld", make_controller);
#pragma once

#include <kubecoro/manager/manager.hpp>

#include <map>
#include <string>

namespace kubecoro::manager {

// Returns true (for the static initialiser it runs in).
bool register_controller(std::string name, controller_factory factory);
const std::map<std::string, controller_factory>& registered_controllers();

} // namespace kubecoro::manager
