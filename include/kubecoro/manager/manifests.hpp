// `kubecoro manifests`: the install set (CRDs, namespace, RBAC, Deployment) that manifests/ holds,
// compiled into the binary, with the image and the operator's namespace substituted.
#pragma once

#include <kubecoro/core/result.hpp>
#include <kubecoro/manager/options.hpp>

#include <string>
#include <string_view>

namespace kubecoro::manager {

// What manifests/ is written with, and what render_manifests() replaces. The image is this
// release's (meson.build's version; a unit test keeps the three equal): the tag that
// build-image.sh gives the image and its archive (docker.io/library/kubecoro:<version>).
inline constexpr std::string_view default_manifests_image = "kubecoro:0.1.0";
inline constexpr std::string_view default_manifests_namespace = "kubecoro-system";

// One multi-document YAML stream in apply order (Namespace, CRDs, ServiceAccount, RBAC,
// Deployment): `kubecoro manifests | kubectl apply -f -` installs the same objects as
// `kubectl apply -k manifests/`. Fails with core::errc::invalid_argument on a namespace that is
// not a DNS label or an empty image, or one with whitespace or control characters.
core::result<std::string> render_manifests(const manifests_options& options);

} // namespace kubecoro::manager
