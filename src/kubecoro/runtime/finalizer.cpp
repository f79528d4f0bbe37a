#include <kubecoro/api/errc.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/finalizer.hpp>

#include <algorithm>

namespace kubecoro::runtime {

finalizer_step decide_finalizer(const api::object_meta& meta, std::string_view finalizer) {
    bool present =
        std::find(meta.finalizers.begin(), meta.finalizers.end(), finalizer) != meta.finalizers.end();
    if (meta.deletion_timestamp)
        return present ? finalizer_step::cleanup : finalizer_step::released;
    return present ? finalizer_step::proceed : finalizer_step::add;
}

std::string add_finalizer_patch(const api::object_meta& meta, std::string_view finalizer) {
    json::array ops;
    ops.push_back(json::object{
        {"op", "test"},
        {"path", "/metadata/resourceVersion"},
        {"value", meta.resource_version},
    });
    if (meta.finalizers.empty())
        ops.push_back(json::object{
            {"op", "add"},
            {"path", "/metadata/finalizers"},
            {"value", json::array{json::value(finalizer)}},
        });
    else
        ops.push_back(json::object{
            {"op", "add"},
            {"path", "/metadata/finalizers/-"},
            {"value", finalizer},
        });
    return json::write(ops);
}

std::string remove_finalizer_patch(const api::object_meta& meta, std::string_view finalizer) {
    auto it = std::find(meta.finalizers.begin(), meta.finalizers.end(), finalizer);
    if (it == meta.finalizers.end())
        return {};
    std::string path = "/metadata/finalizers/" + std::to_string(it - meta.finalizers.begin());
    return json::write(json::array{
        json::object{{"op", "test"}, {"path", path}, {"value", finalizer}},
        json::object{{"op", "remove"}, {"path", path}},
    });
}

awaitable<core::result<void>>
ensure_finalizer(client::client& c, api::resource r, api::object_meta meta, std::string finalizer) {
    if (meta.deletion_timestamp)
        co_return core::fail(core::errc::invalid_argument,
                             "cannot add finalizer " + finalizer + " to " + meta.name +
                                 ": it is being deleted");
    if (meta.has_finalizer(finalizer))
        co_return core::result<void>();
    // Named, not braced in the co_await: see core/asio.hpp on g++ 12.
    std::string body = add_finalizer_patch(meta, finalizer);
    api::patch_options options;
    auto patched = co_await c.patch(
        std::move(r), meta.namespace_, meta.name, api::patch_type::json, std::move(body), std::move(options));
    if (!patched)
        co_return core::fail(std::move(patched).error());
    co_return core::result<void>();
}

awaitable<core::result<void>>
remove_finalizer(client::client& c, api::resource r, api::object_meta meta, std::string finalizer) {
    std::string body = remove_finalizer_patch(meta, finalizer);
    if (body.empty())
        co_return core::result<void>();
    api::patch_options options;
    auto patched = co_await c.patch(
        std::move(r), meta.namespace_, meta.name, api::patch_type::json, std::move(body), std::move(options));
    if (!patched && patched.error().code != api::errc::not_found)
        co_return core::fail(std::move(patched).error());
    co_return core::result<void>();
}

} // namespace kubecoro::runtime
