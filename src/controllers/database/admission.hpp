// The Database validating webhook: refuses at `kubectl apply` what the controller would refuse
// later (InvalidSpec, ChangeRefused), with the same functions and so the same messages, and a
// deletion while spec.deletionPolicy is DoNotTerminate.
#pragma once

#include <kubecoro/admission/webhook.hpp>
#include <kubecoro/client/client.hpp>

#include <memory>

namespace kubecoro::controllers::database {

inline constexpr std::string_view webhook_path = "/validate-kubecoro-dev-v1alpha1-database";

// The children are read from the API server (the StatefulSet by name, the claims by instance
// label), through `c`, on each CREATE and UPDATE that changes the spec. When they cannot be read
// the change is allowed with a warning: the controller still refuses it.
awaitable<admission::verdict> admit(client::client& c, const admission::request& request);

} // namespace kubecoro::controllers::database
