#include "arguments.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace kubecoro::plugin {
namespace {

const std::set<std::string> common{"namespace", "kubeconfig", "context"};
const std::map<std::string, std::set<std::string>> own{
    {"status", {}},
    {"connect", {}},
    {"backup", {"wait", "timeout"}},
    {"restore", {"from", "dump"}},
    {"report", {"dir"}},
};
const std::set<std::string> switches{"wait"};

} // namespace

command_line parse_arguments(const std::vector<std::string>& args) {
    command_line c;
    std::vector<std::string> positional;
    std::vector<std::string> seen; // flags as given, to check against the command once it is known
    bool after_dashes = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (after_dashes) {
            c.passthrough.push_back(a);
            continue;
        }
        if (a == "--") {
            after_dashes = true;
            continue;
        }
        if (a == "-h" || a == "--help") {
            c.help = true;
            continue;
        }
        std::string name, value;
        bool has_value = false;
        if (a.rfind("--", 0) == 0) {
            name = a.substr(2);
        } else if (a.rfind("-n", 0) == 0) {
            name = "namespace";
            if (a.size() > 2) { // -nNS or -n=NS
                value = a.substr(a[2] == '=' ? 3 : 2);
                has_value = true;
            }
        } else if (a.size() > 1 && a[0] == '-') {
            c.error = "unknown flag " + a;
            return c;
        } else {
            positional.push_back(a);
            continue;
        }
        if (auto eq = name.find('='); !has_value && eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
            has_value = true;
        }
        if (!has_value && switches.contains(name)) {
            value = "true";
            has_value = true;
        }
        if (!has_value) {
            if (i + 1 >= args.size()) {
                c.error = "flag " + a + " needs a value";
                return c;
            }
            value = args[++i];
        }
        seen.push_back(name);
        c.flags[name] = value;
    }
    if (c.help && positional.empty())
        return c;
    if (positional.empty()) {
        c.error = "name a command: status, connect, backup, restore, report";
        return c;
    }
    c.command = positional.front();
    auto allowed = own.find(c.command);
    if (allowed == own.end()) {
        c.error = "unknown command \"" + c.command + "\" (status, connect, backup, restore, report)";
        return c;
    }
    if (c.help)
        return c;
    for (const std::string& f : seen)
        if (!common.contains(f) && !allowed->second.contains(f)) {
            c.error = c.command + ": unknown flag --" + f;
            return c;
        }
    if (!c.passthrough.empty() && c.command != "connect") {
        c.error = c.command + ": arguments after -- are for connect only";
        return c;
    }
    if (positional.size() != 2) {
        c.error = c.command + ": name one Database";
        return c;
    }
    c.database = positional[1];
    if (auto ns = c.flags.find("namespace"); ns != c.flags.end() && ns->second.empty()) {
        c.error = "an empty namespace (leave -n out for the kubeconfig's)";
        return c;
    }
    if (c.command == "restore" && c.flags["from"].empty()) {
        c.error = "restore NEW --from SOURCE [--dump NAME]: --from is required";
        return c;
    }
    if (auto t = c.flags.find("timeout"); t != c.flags.end() && !parse_timeout(t->second)) {
        c.error =
            "--timeout " + t->second + ": want a whole number of seconds, minutes or hours (90s, 30m, 6h)";
        return c;
    }
    return c;
}

std::optional<std::chrono::seconds> parse_timeout(const std::string& text) {
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
        ++digits;
    if (digits == 0 || digits > 6)
        return std::nullopt;
    long n = std::stol(text.substr(0, digits));
    std::string unit = text.substr(digits);
    if (unit.empty() || unit == "s")
        return std::chrono::seconds(n);
    if (unit == "m")
        return std::chrono::minutes(n);
    if (unit == "h")
        return std::chrono::hours(n);
    return std::nullopt;
}

} // namespace kubecoro::plugin
