// Drift detection: does a child in the cache already hold every field a controller would apply?
// When it does, the apply would change nothing and is not sent, so a resync where nothing
// drifted costs no write.
#pragma once

#include <kubecoro/json/value.hpp>
#include <kubecoro/runtime/object.hpp>

namespace kubecoro::runtime {

// True when every field of `desired` is present in `actual` with an equal value: objects
// recursively (extra fields in `actual` are defaults or other managers' and do not count), arrays
// element by element with equal length, and strings that are both Kubernetes quantities by value
// ("1Gi" equals "1024Mi").
bool contains(const json::value& actual, const json::value& desired);

// contains() for an apply configuration against a cached object: metadata labels, annotations
// and ownerReferences, and everything outside metadata. The cache's projection must keep the
// fields the controller applies.
bool is_applied(const json::value& desired, const object* cached);
// The same with the cached object's body already decoded (`body`: cached.tree()).
bool is_applied(const json::value& desired, const object& cached, const json::value& body);

} // namespace kubecoro::runtime
