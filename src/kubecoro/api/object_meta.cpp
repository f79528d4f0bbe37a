#include <kubecoro/api/object_meta.hpp>

#include <algorithm>

namespace kubecoro::api {

const owner_reference* object_meta::controller_ref() const {
    auto it = std::find_if(
        owner_references.begin(), owner_references.end(), [](const auto& o) { return o.controller; });
    return it == owner_references.end() ? nullptr : &*it;
}

bool object_meta::has_finalizer(const std::string& f) const {
    return std::find(finalizers.begin(), finalizers.end(), f) != finalizers.end();
}

} // namespace kubecoro::api
