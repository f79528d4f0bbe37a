// Finalizers: a controller that must clean up outside the cluster adds its finalizer before
// creating anything, and removes it once cleanup is done.
#pragma once

#include <kubecoro/api/object_meta.hpp>
#include <kubecoro/api/resource.hpp>
#include <kubecoro/client/client.hpp>
#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>

#include <string>
#include <string_view>

namespace kubecoro::runtime {

enum class finalizer_step {
    add,      // not being deleted, finalizer missing: add it first (then reconcile again)
    proceed,  // not being deleted, finalizer present: reconcile normally
    cleanup,  // being deleted, finalizer present: clean up, then remove the finalizer
    released, // being deleted, finalizer already gone: nothing left to do
};

finalizer_step decide_finalizer(const api::object_meta& meta, std::string_view finalizer);

// Adds `finalizer` with a JSON patch that first tests metadata.resourceVersion, so a stale view
// of the object fails (422/409) instead of overwriting. Does nothing when already present; fails
// with core::errc::invalid_argument on an object being deleted (the server forbids it).
awaitable<core::result<void>>
ensure_finalizer(client::client& c, api::resource r, api::object_meta meta, std::string finalizer);
// Removes `finalizer` with a JSON patch that tests the entry at its index before removing it.
// Does nothing when absent; an object already gone (404) counts as done.
awaitable<core::result<void>>
remove_finalizer(client::client& c, api::resource r, api::object_meta meta, std::string finalizer);

// The JSON patch bodies (exposed for tests).
std::string add_finalizer_patch(const api::object_meta& meta, std::string_view finalizer);
// Empty when `finalizer` is absent.
std::string remove_finalizer_patch(const api::object_meta& meta, std::string_view finalizer);

} // namespace kubecoro::runtime
