// `kubectl kubecoro` command lines: which command, which Database, which flags. Pure.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kubecoro::plugin {

struct command_line {
    std::string command;                      // status, connect, backup, restore, report; "" with help
    std::string database;                     // the one Database named
    std::map<std::string, std::string> flags; // by long name: namespace, kubeconfig, context, wait, ...
    std::vector<std::string> passthrough;     // connect: after "--"
    bool help = false;
    std::string error; // why the command line is refused (exit 2)
};

// Flags: --name value, --name=value, -n NS, -n=NS, -nNS; --wait and -h/--help take no value. Each
// command takes only its own flags (status/connect: the common ones; backup: --wait, --timeout;
// restore: --from, --dump; report: --dir); anything else is refused, as is an empty namespace.
command_line parse_arguments(const std::vector<std::string>& args);

// "90", "90s", "30m", "6h": a whole number of seconds, minutes or hours.
std::optional<std::chrono::seconds> parse_timeout(const std::string& text);

} // namespace kubecoro::plugin
