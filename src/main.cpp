// kubecoro: parse the command line, then hand over to the manager.
#include "kubecoro_version.h"
#include <kubecoro/manager/manager.hpp>
#include <kubecoro/manager/manifests.hpp>
#include <kubecoro/manager/options.hpp>
#include <kubecoro/manager/registry.hpp>

#include <cstdio>
#include <malloc.h>
#include <plugin.hpp>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    using namespace kubecoro;
    // Allocations of 256 KiB and more (list pages and their parse buffers) get mappings of their
    // own, returned when freed. glibc's default raises this threshold to the largest block freed,
    // so after the initial lists the heap kept tens of MB that only those lists had used.
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    std::vector<std::string> args(argv + 1, argv + argc);
    // As kubectl-kubecoro (a kubectl plugin), or `kubecoro kubectl ...`.
    if (plugin::invoked_as_plugin(argv[0]))
        return plugin::run(args);
    if (!args.empty() && args[0] == "kubectl")
        return plugin::run({args.begin() + 1, args.end()});
    auto inv = manager::parse_command_line(args);
    if (!inv) {
        std::fprintf(stderr, "kubecoro: %s\n", inv.error().message.c_str());
        return 2;
    }
    switch (inv->cmd) {
    case manager::command::help:
        std::fputs(manager::usage().c_str(), stdout);
        return 0;
    case manager::command::version:
        std::printf("kubecoro %s (commit %s, %s build)\n",
                    KUBECORO_VERSION,
                    KUBECORO_GIT_COMMIT,
                    KUBECORO_BUILD_TYPE);
        return 0;
    case manager::command::manifests: {
        auto yaml = manager::render_manifests(inv->manifests);
        if (!yaml) {
            std::fprintf(stderr, "kubecoro manifests: %s\n", yaml.error().message.c_str());
            return 2;
        }
        std::fputs(yaml->c_str(), stdout);
        return 0;
    }
    case manager::command::run:
        break;
    }
    return manager::run(inv->run, manager::registered_controllers());
}
