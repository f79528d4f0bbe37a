#include "helloworld/helloworld.hpp"

#include "common/meta.hpp"
#include <kubecoro/core/errc.hpp>
#include <kubecoro/json/json.hpp>

namespace kubecoro::controllers::helloworld {

core::result<std::string> parse_message(const json::value& hello) {
    const json::value* message = hello.at("spec", "message");
    if (!message || message->is_null())
        return core::fail(core::errc::invalid_argument, "spec.message: required");
    if (const std::string* s = message->if_string()) {
        if (s->size() > max_message_bytes)
            return core::fail(core::errc::invalid_argument,
                              "spec.message: " + std::to_string(s->size()) +
                                  " bytes do not fit a ConfigMap (at most " +
                                  std::to_string(max_message_bytes) + " bytes)");
        return *s;
    }
    return core::fail(core::errc::invalid_argument, "spec.message: must be a string");
}

json::value render_configmap(const api::object_meta& hello, std::string_view message) {
    label_map labels{
        {"app.kubernetes.io/instance", hello.name},
        {"app.kubernetes.io/managed-by", std::string(managed_by)},
        {"app.kubernetes.io/name", "helloworld"},
    };
    json::object o = object_header("v1", "ConfigMap", child_metadata(hello.name, hello, labels, kind));
    o.set("data", json::object{{"message", message}});
    return o;
}

json::value render_status(const api::object_meta& hello,
                          std::vector<runtime::condition> conditions,
                          const outcome& result,
                          std::string_view now) {
    runtime::condition ready{.type = "Ready", .observed_generation = hello.generation};
    switch (result.kind) {
    case outcome_kind::applied:
        ready.status = "True";
        ready.reason = "ConfigMapApplied";
        ready.message = "ConfigMap " + hello.name + " holds the message";
        break;
    case outcome_kind::invalid_spec:
        ready.status = "False";
        ready.reason = "InvalidSpec";
        ready.message = clip_message(result.message);
        break;
    case outcome_kind::apply_failed:
        ready.status = "False";
        ready.reason = "ApplyFailed";
        ready.message = clip_message(result.message);
        break;
    }
    runtime::set_condition(conditions, std::move(ready), std::string(now));

    api::object_meta meta;
    meta.name = hello.name;
    meta.namespace_ = hello.namespace_;
    json::object o = object_header(group_version, kind, json::encode_meta(meta));
    o.set("status",
          json::object{
              {"observedGeneration", hello.generation},
              {"conditions", runtime::to_json(conditions)},
          });
    return o;
}

} // namespace kubecoro::controllers::helloworld
