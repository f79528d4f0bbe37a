// HelloWorld: a ConfigMap of the same name whose data.message is spec.message. Pure parts of the
// controller: spec, child and status.
#pragma once

#include <kubecoro/api/object_meta.hpp>
#include <kubecoro/core/result.hpp>
#include <kubecoro/json/value.hpp>
#include <kubecoro/runtime/conditions.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::controllers::helloworld {

inline constexpr std::string_view kind = "HelloWorld";

// A ConfigMap holds at most 1 MiB of data (Kubernetes' MaxSecretSize, counted in bytes; the CRD's
// maxLength counts characters, so a message of multi-byte characters can pass it and still not fit).
inline constexpr std::size_t max_message_bytes = 1024 * 1024;

// spec.message; fails (naming the field) when absent, not a string, or too large for a ConfigMap.
core::result<std::string> parse_message(const json::value& hello);

// ConfigMap <name>: data.message, labels, and the HelloWorld as controller owner.
json::value render_configmap(const api::object_meta& hello, std::string_view message);

// The status body after a reconcile: Ready True (ConfigMapApplied) when `outcome` succeeded,
// else False with reason InvalidSpec (parse_message failed) or ApplyFailed and the error message.
enum class outcome_kind { applied, invalid_spec, apply_failed };
struct outcome {
    outcome_kind kind = outcome_kind::applied;
    std::string message;
};
json::value render_status(const api::object_meta& hello,
                          std::vector<runtime::condition> conditions,
                          const outcome& result,
                          std::string_view now);

} // namespace kubecoro::controllers::helloworld
