#include "client_impl.hpp"
#include <kubecoro/api/errc.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/net/errc.hpp>

#include <cstdint>

namespace kubecoro::client {
namespace {

http::request
make_request(std::string method, std::string target, std::string content_type = {}, std::string body = {}) {
    http::request r;
    r.method = std::move(method);
    r.target = std::move(target);
    if (!content_type.empty())
        r.fields.push_back({"Content-Type", std::move(content_type)});
    r.body = std::move(body);
    return r;
}

// Sends and turns answers >= 400 into errors.
awaitable<core::result<response>> call(std::shared_ptr<client_impl> impl, http::request request) {
    auto r = co_await send_request(impl, request);
    if (r && r->status >= 400)
        co_return core::fail(status_error(request, r->status, r->fields, r->body));
    co_return r;
}

awaitable<core::result<json::value>> call_for_object(std::shared_ptr<client_impl> impl,
                                                     http::request request) {
    auto r = co_await call(impl, std::move(request));
    if (!r)
        co_return core::fail(std::move(r).error());
    auto v = json::parse(r->body);
    if (!v)
        co_return core::fail(api::errc::decode, "undecodable answer: " + v.error().message);
    co_return std::move(*v);
}

std::string delete_body(const api::delete_options& o) {
    // The API server reads the query's options only when there is no body: with a body (always
    // sent, for preconditions) they must be in it too, or a Job's pods are orphaned.
    json::object body{{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
    if (o.propagation_policy != api::propagation::unset)
        body.set("propagationPolicy", api::to_string(o.propagation_policy));
    if (o.grace_period_seconds)
        body.set("gracePeriodSeconds", static_cast<std::int64_t>(*o.grace_period_seconds));
    if (o.precondition_uid || o.precondition_resource_version) {
        json::object pre;
        if (o.precondition_uid)
            pre.set("uid", *o.precondition_uid);
        if (o.precondition_resource_version)
            pre.set("resourceVersion", *o.precondition_resource_version);
        body.set("preconditions", std::move(pre));
    }
    return json::write(body);
}

std::string group_version_path(const std::string& group, const std::string& version) {
    return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
}

core::result<std::vector<served_resource>> decode_resource_list(const std::string& body) {
    auto v = json::parse(body);
    if (!v)
        return core::fail(api::errc::decode, "undecodable APIResourceList: " + v.error().message);
    std::vector<served_resource> out;
    const json::value* resources = v->at("resources");
    const json::array* items = resources ? resources->if_array() : nullptr;
    if (!items)
        return core::fail(api::errc::decode, "APIResourceList without resources");
    for (const auto& item : *items) {
        served_resource r;
        r.name = item.at("name") ? item.at("name")->string_or("") : "";
        r.kind = item.at("kind") ? item.at("kind")->string_or("") : "";
        r.namespaced = item.at("namespaced") ? item.at("namespaced")->bool_or(true) : true;
        out.push_back(std::move(r));
    }
    return out;
}

awaitable<core::result<json::object_list>> list_page(std::shared_ptr<client_impl> impl,
                                                     api::resource r,
                                                     std::string ns,
                                                     api::list_options o,
                                                     std::function<json::value(json::value)> reduce = {}) {
    auto resp = co_await call(impl, make_request("GET", api::path(r, ns) + api::query(o)));
    if (!resp)
        co_return core::fail(std::move(resp).error());
    auto list = json::decode_list(resp->body, reduce);
    if (!list)
        co_return core::fail(api::errc::decode,
                             "undecodable list of " + r.plural + ": " + list.error().message);
    co_return std::move(*list);
}

awaitable<core::result<json::object_list>>
list_pages(std::shared_ptr<client_impl> impl, api::resource r, std::string ns, api::list_options o) {
    json::object_list all;
    for (;;) {
        auto page = co_await list_page(impl, r, ns, o);
        if (!page)
            co_return core::fail(std::move(page).error());
        if (all.resource_version.empty())
            all.resource_version = page->resource_version;
        for (auto& item : page->items)
            all.items.push_back(std::move(item));
        if (page->continue_token.empty())
            break;
        o.continue_token = std::move(page->continue_token);
    }
    co_return all;
}

awaitable<core::result<json::value>>
apply_object(std::shared_ptr<client_impl> impl, api::resource r, json::value object, api::patch_options o) {
    auto meta = json::decode_meta(object);
    if (meta.name.empty())
        co_return core::fail(core::errc::invalid_argument, "apply " + r.kind + ": metadata.name is not set");
    if (r.scope == api::scope::namespaced && meta.namespace_.empty())
        co_return core::fail(core::errc::invalid_argument,
                             "apply " + r.kind + " " + meta.name + ": metadata.namespace is not set");
    auto ns = r.scope == api::scope::namespaced ? meta.namespace_ : std::string();
    auto target = api::path(r, ns, meta.name, o.subresource) + api::query(o, api::patch_type::apply);
    co_return co_await call_for_object(
        impl, make_request("PATCH", target, api::content_type(api::patch_type::apply), json::write(object)));
}

awaitable<core::result<void>> remove_object(std::shared_ptr<client_impl> impl,
                                            api::resource r,
                                            std::string ns,
                                            std::string name,
                                            api::delete_options o) {
    auto resp = co_await call(
        impl,
        make_request("DELETE", api::path(r, ns, name) + api::query(o), "application/json", delete_body(o)));
    if (!resp)
        co_return core::fail(std::move(resp).error());
    co_return core::result<void>{};
}

awaitable<core::result<api::resource>> discover_resource(std::shared_ptr<client_impl> impl,
                                                         std::string group,
                                                         std::vector<std::string> versions,
                                                         std::string plural) {
    for (const auto& version : versions) {
        auto gv = group_version_path(group, version);
        auto cached = impl->discovery.find(gv);
        if (cached == impl->discovery.end()) {
            auto resp = co_await call(impl, make_request("GET", gv));
            if (!resp) {
                // Not served: try the next version (and ask again next time: CRDs come and go).
                if (resp.error().code == api::errc::not_found)
                    continue;
                co_return core::fail(std::move(resp).error());
            }
            auto list = decode_resource_list(resp->body);
            if (!list)
                co_return core::fail(std::move(list).error());
            cached = impl->discovery.insert_or_assign(gv, std::move(*list)).first;
        }
        for (const auto& served : cached->second) {
            if (served.name == plural)
                co_return api::resource{group,
                                        version,
                                        plural,
                                        served.kind,
                                        served.namespaced ? api::scope::namespaced : api::scope::cluster};
        }
    }
    std::string tried;
    for (const auto& v : versions)
        tried += (tried.empty() ? "" : ", ") + (group.empty() ? v : group + "/" + v);
    co_return core::fail(api::errc::not_found, "the server serves " + plural + " in none of: " + tried);
}

} // namespace

core::result<std::shared_ptr<client>>
client::create(asio::any_io_executor executor, config::cluster_config config, client_options options) {
    auto url = net::parse_server_url(config.server);
    if (!url) {
        auto e = std::move(url).error();
        e.message = config.origin.empty() ? e.message : config.origin + ": " + e.message;
        return core::fail(std::move(e));
    }
    std::shared_ptr<const net::tls_context> tls;
    if (url->scheme == net::scheme::https) {
        net::tls_config tc;
        tc.ca_pem = config.ca_pem;
        tc.insecure_skip_verify = config.insecure_skip_tls_verify;
        tc.server_name = config.tls_server_name;
        tc.client_cert_pem = config.client_cert_pem;
        tc.client_key_pem = config.client_key_pem;
        auto ctx = net::tls_context::create(std::move(tc));
        if (!ctx) {
            auto e = std::move(ctx).error();
            e.message = config.origin.empty() ? e.message : config.origin + ": " + e.message;
            return core::fail(std::move(e));
        }
        tls = std::move(*ctx);
    }
    auto impl =
        std::make_shared<client_impl>(executor, std::move(config), std::move(options), std::move(*url));
    impl->tls = std::move(tls);
    return std::shared_ptr<client>(new client(std::move(impl)));
}

client::client(std::shared_ptr<client_impl> impl)
    : impl_(std::move(impl)) {}

client::~client() {
    impl_->pool.clear();
}

const config::cluster_config& client::config() const {
    return impl_->config;
}
const client_options& client::options() const {
    return impl_->options;
}

awaitable<core::result<response>> client::send(http::request request) {
    return call(impl_, std::move(request));
}

awaitable<core::result<json::value>> client::get(api::resource r, std::string ns, std::string name) {
    return call_for_object(impl_, make_request("GET", api::path(r, ns, name)));
}

awaitable<core::result<json::object_list>> client::list(api::resource r,
                                                        std::string ns,
                                                        api::list_options o,
                                                        std::function<json::value(json::value)> reduce) {
    return list_page(impl_, std::move(r), std::move(ns), std::move(o), std::move(reduce));
}

awaitable<core::result<json::object_list>>
client::list_all(api::resource r, std::string ns, api::list_options o) {
    return list_pages(impl_, std::move(r), std::move(ns), std::move(o));
}

awaitable<core::result<json::value>> client::create(api::resource r, std::string ns, json::value object) {
    return call_for_object(impl_,
                           make_request("POST", api::path(r, ns), "application/json", json::write(object)));
}

awaitable<core::result<json::value>>
client::replace(api::resource r, std::string ns, std::string name, json::value object) {
    return call_for_object(
        impl_, make_request("PUT", api::path(r, ns, name), "application/json", json::write(object)));
}

awaitable<core::result<json::value>> client::patch(api::resource r,
                                                   std::string ns,
                                                   std::string name,
                                                   api::patch_type type,
                                                   std::string body,
                                                   api::patch_options o) {
    return call_for_object(impl_,
                           make_request("PATCH",
                                        api::path(r, ns, name, o.subresource) + api::query(o, type),
                                        api::content_type(type),
                                        std::move(body)));
}

awaitable<core::result<json::value>>
client::apply(api::resource r, json::value object, api::patch_options o) {
    return apply_object(impl_, std::move(r), std::move(object), std::move(o));
}

awaitable<core::result<void>>
client::remove(api::resource r, std::string ns, std::string name, api::delete_options o) {
    return remove_object(impl_, std::move(r), std::move(ns), std::move(name), std::move(o));
}

awaitable<core::result<api::resource>>
client::discover(std::string group, std::vector<std::string> versions, std::string plural) {
    return discover_resource(impl_, std::move(group), std::move(versions), std::move(plural));
}

} // namespace kubecoro::client
