// The controllers (and their admission webhooks) linked into the binary. Each adds itself from its
// own folder, at static initialisation, so the manager names none of them:
//   const bool registered = manager::register_controller("helloworld", make_controller);
//   const bool validated = manager::register_admission("helloworld", make_webhook);
#pragma once

#include <kubecoro/admission/webhook.hpp>
#include <kubecoro/manager/manager.hpp>

#include <map>
#include <string>

namespace kubecoro::manager {

// Returns true (for the static initialiser it runs in).
bool register_controller(std::string name, controller_factory factory);
const std::map<std::string, controller_factory>& registered_controllers();

// What a webhook factory gets: the API client (not fenced: standbys answer admissions too).
struct admission_env {
    std::shared_ptr<client::client> client;
    log::logger log;
};
using admission_factory = std::function<admission::route(admission_env env)>;

bool register_admission(std::string name, admission_factory factory);
const std::map<std::string, admission_factory>& registered_admissions();

} // namespace kubecoro::manager
