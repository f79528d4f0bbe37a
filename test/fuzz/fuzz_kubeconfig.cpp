// Any bytes as kubeconfig YAML (a NUL byte splits them into two files, merged like $KUBECONFIG): no
// crash, no exception escapes, failures name the kubeconfig or the context, and a success names
// where it came from. File references resolve under a directory that does not exist.
#include "fuzz_support.hpp"
#include <kubecoro/config/cluster_config.hpp>

#include <utility>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto in = fuzz::as_view(data, size);
    std::vector<std::pair<std::string, std::string>> files;
    auto nul = in.find('\0');
    files.emplace_back("/nonexistent-kubecoro-fuzz/a/config", std::string(in.substr(0, nul)));
    if (nul != std::string_view::npos)
        files.emplace_back("/nonexistent-kubecoro-fuzz/b/config", std::string(in.substr(nul + 1)));
    for (const std::string context : {"", "main"}) {
        auto r = kubecoro::config::from_kubeconfig(files, context);
        if (!r) {
            const std::string& m = r.error().message;
            fuzz::check(r.error().code && (m.rfind("kubeconfig ", 0) == 0 || m.rfind("context \"", 0) == 0));
            continue;
        }
        fuzz::check(r->origin.rfind("kubeconfig /nonexistent-kubecoro-fuzz/", 0) == 0);
        if (!context.empty())
            fuzz::check(r->origin.ends_with(", context main"));
    }
    return 0;
}
