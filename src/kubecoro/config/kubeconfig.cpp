#include <kubecoro/config/cluster_config.hpp>
#include <kubecoro/config/detail/file.hpp>
#include <kubecoro/config/errc.hpp>
#include <kubecoro/config/exec_credential.hpp>
#include <kubecoro/core/base64.hpp>
#include <kubecoro/core/errc.hpp>

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <map>

namespace kubecoro::config {
namespace {

struct document {
    const std::string* path; // as given, for messages
    std::filesystem::path dir;
};

// One named entry of clusters/users/contexts and where it was defined.
struct entry {
    YAML::Node body; // the inner "cluster"/"user"/"context" mapping
    const document* doc = nullptr;
    std::string label; // users[0] "admin"
};
using entry_map = std::map<std::string, entry>;

// Names the file and the field in every message; never the value (it may be a secret).
struct site {
    const document& doc;
    std::string label;

    core::failure fail(std::error_code code, std::string_view what) const {
        std::string m = "kubeconfig " + *doc.path + ": ";
        if (!label.empty())
            m += label + ": ";
        m += what;
        return core::fail(code, std::move(m));
    }
    std::string resolve(const std::string& ref) const {
        const std::filesystem::path p(ref);
        return p.is_absolute() ? ref : (doc.dir / p).lexically_normal().string();
    }
};

std::string line_of(const YAML::Node& n) {
    const YAML::Mark m = n.Mark();
    return m.is_null() ? std::string{} : " (line " + std::to_string(m.line + 1) + ")";
}

bool present(const YAML::Node& n) {
    return n.IsDefined() && !n.IsNull();
}

core::result<std::string> read_string(const YAML::Node& map, const char* key, const site& at) {
    const YAML::Node n = map[key];
    if (!present(n))
        return std::string{};
    if (!n.IsScalar())
        return at.fail(errc::malformed, std::string(key) + " must be a string" + line_of(n));
    return n.Scalar();
}

core::result<bool> read_bool(const YAML::Node& map, const char* key, const site& at) {
    const YAML::Node n = map[key];
    if (!present(n))
        return false;
    bool b = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, b))
        return at.fail(errc::malformed, std::string(key) + " must be true or false" + line_of(n));
    return b;
}

core::result<std::string> read_data(const YAML::Node& map, const char* key, const site& at) {
    auto text = read_string(map, key, at);
    if (!text || text->empty())
        return text;
    auto decoded = core::base64_decode(*text);
    if (!decoded)
        return at.fail(errc::malformed, std::string(key) + " is not valid base64");
    return std::move(*decoded);
}

core::result<std::string> read_referenced_file(const std::string& ref, const char* key, const site& at) {
    auto text = detail::read_file(at.resolve(ref));
    if (!text)
        return at.fail(errc::unreadable, std::string(key) + " " + text.error().message);
    return text;
}

// A file reference (`key`) or inline base64 (`key`-data): at most one; the data wins nowhere.
core::result<std::string> read_file_or_data(const YAML::Node& map, const char* key, const site& at) {
    const std::string data_key = std::string(key) + "-data";
    auto path = read_string(map, key, at);
    if (!path)
        return path;
    auto data = read_data(map, data_key.c_str(), at);
    if (!data)
        return data;
    if (!path->empty() && !data->empty())
        return at.fail(errc::malformed, std::string(key) + " and " + data_key + " are both set");
    if (!path->empty())
        return read_referenced_file(*path, key, at);
    return data;
}

// Collects one list (clusters/users/contexts) of a document; earlier documents win by name.
core::result<void> collect(const YAML::Node& root,
                           const char* list_key,
                           const char* body_key,
                           const document& doc,
                           entry_map& into) {
    const YAML::Node list = root[list_key];
    if (!present(list))
        return {};
    const site at{doc, ""};
    if (!list.IsSequence())
        return at.fail(errc::malformed, std::string(list_key) + " must be a list" + line_of(list));
    std::size_t index = 0;
    for (const YAML::Node& item : list) {
        const site item_at{doc, std::string(list_key) + "[" + std::to_string(index++) + "]"};
        if (!item.IsMap())
            return item_at.fail(errc::malformed, "must be a mapping" + line_of(item));
        auto name = read_string(item, "name", item_at);
        if (!name)
            return core::fail(std::move(name).error());
        if (name->empty())
            return item_at.fail(errc::missing_field, "name is missing");
        // An absent key yields an invalid node, and assigning to one throws: no assignment here.
        const YAML::Node found = item[body_key];
        if (present(found) && !found.IsMap())
            return item_at.fail(errc::malformed,
                                std::string(body_key) + " must be a mapping" + line_of(found));
        YAML::Node body = present(found) ? found : YAML::Node(YAML::NodeType::Map);
        into.try_emplace(*name, entry{body, &doc, item_at.label + " \"" + *name + "\""});
    }
    return {};
}

std::string names_of(const entry_map& m) {
    std::string out;
    for (const auto& [name, e] : m) {
        if (!out.empty())
            out += ", ";
        out += name;
    }
    return out.empty() ? "none" : out;
}

core::result<void> read_cluster(const entry& e, cluster_config& out) {
    const site at{*e.doc, e.label};
    const YAML::Node& c = e.body;
    auto server = read_string(c, "server", at);
    if (!server)
        return core::fail(std::move(server).error());
    if (server->empty())
        return at.fail(errc::missing_field, "server is missing");
    while (server->size() > 1 && server->back() == '/')
        server->pop_back();
    out.server = server->find("://") == std::string::npos ? "https://" + *server : *server;

    auto proxy = read_string(c, "proxy-url", at);
    if (!proxy)
        return core::fail(std::move(proxy).error());
    if (!proxy->empty())
        return at.fail(core::errc::not_supported, "proxy-url is not supported");

    auto ca = read_file_or_data(c, "certificate-authority", at);
    if (!ca)
        return core::fail(std::move(ca).error());
    out.ca_pem = std::move(*ca);
    auto insecure = read_bool(c, "insecure-skip-tls-verify", at);
    if (!insecure)
        return core::fail(std::move(insecure).error());
    out.insecure_skip_tls_verify = *insecure;
    if (out.insecure_skip_tls_verify && !out.ca_pem.empty())
        return at.fail(errc::malformed,
                       "insecure-skip-tls-verify cannot be combined with a certificate authority");
    auto server_name = read_string(c, "tls-server-name", at);
    if (!server_name)
        return core::fail(std::move(server_name).error());
    out.tls_server_name = std::move(*server_name);
    return {};
}

core::result<exec_config> read_exec(const YAML::Node& node, const site& user_at) {
    const site at{user_at.doc, user_at.label + ": exec"};
    if (!node.IsMap())
        return at.fail(errc::malformed, "must be a mapping" + line_of(node));
    exec_config exec;
    auto api_version = read_string(node, "apiVersion", at);
    if (!api_version)
        return core::fail(std::move(api_version).error());
    if (api_version->empty())
        return at.fail(errc::missing_field, "apiVersion is missing");
    if (*api_version != exec_api_v1 && *api_version != exec_api_v1beta1)
        return at.fail(core::errc::not_supported,
                       "apiVersion \"" + *api_version + "\" is not supported (use " +
                           std::string(exec_api_v1) + " or " + std::string(exec_api_v1beta1) + ")");
    exec.api_version = std::move(*api_version);

    auto command = read_string(node, "command", at);
    if (!command)
        return core::fail(std::move(command).error());
    if (command->empty())
        return at.fail(errc::missing_field, "command is missing");
    // Like kubectl: a command with a slash is a path relative to the kubeconfig; a bare name uses $PATH.
    exec.command = command->find('/') == std::string::npos ? *command : at.resolve(*command);

    const YAML::Node args = node["args"];
    if (present(args)) {
        if (!args.IsSequence())
            return at.fail(errc::malformed, "args must be a list" + line_of(args));
        for (const YAML::Node& a : args) {
            if (!a.IsScalar())
                return at.fail(errc::malformed, "args must be strings" + line_of(a));
            exec.args.push_back(a.Scalar());
        }
    }
    const YAML::Node env = node["env"];
    if (present(env)) {
        if (!env.IsSequence())
            return at.fail(errc::malformed, "env must be a list" + line_of(env));
        std::size_t index = 0;
        for (const YAML::Node& var : env) {
            const site var_at{at.doc, at.label + ": env[" + std::to_string(index++) + "]"};
            if (!var.IsMap())
                return var_at.fail(errc::malformed, "must be a mapping with name and value" + line_of(var));
            auto name = read_string(var, "name", var_at);
            if (!name)
                return core::fail(std::move(name).error());
            if (name->empty())
                return var_at.fail(errc::missing_field, "name is missing");
            auto value = read_string(var, "value", var_at);
            if (!value)
                return core::fail(std::move(value).error());
            exec.env.emplace_back(std::move(*name), std::move(*value));
        }
    }
    auto hint = read_string(node, "installHint", at);
    if (!hint)
        return core::fail(std::move(hint).error());
    exec.install_hint = std::move(*hint);
    auto provide = read_bool(node, "provideClusterInfo", at);
    if (!provide)
        return core::fail(std::move(provide).error());
    exec.provide_cluster_info = *provide;
    auto interactive = read_string(node, "interactiveMode", at);
    if (!interactive)
        return core::fail(std::move(interactive).error());
    if (*interactive == "Always")
        return at.fail(core::errc::not_supported,
                       "interactiveMode Always is not supported (an operator has no terminal)");
    return exec;
}

core::result<void> read_user(const entry& e, cluster_config& out) {
    const site at{*e.doc, e.label};
    const YAML::Node& u = e.body;

    const YAML::Node provider = u["auth-provider"];
    if (present(provider)) {
        std::string name = provider.IsMap() && provider["name"].IsScalar() ? provider["name"].Scalar() : "";
        return at.fail(core::errc::not_supported,
                       "auth-provider \"" + name +
                           "\" is not supported; use the provider's exec credential plugin "
                           "(e.g. gke-gcloud-auth-plugin, kubelogin)");
    }
    for (const char* key : {"username", "password"})
        if (present(u[key]))
            return at.fail(core::errc::not_supported,
                           "basic authentication (username/password) is not supported");
    for (const char* key : {"as", "as-uid", "as-groups", "as-user-extra"})
        if (present(u[key]))
            return at.fail(core::errc::not_supported,
                           "impersonation (" + std::string(key) + ") is not supported");

    auto cert = read_file_or_data(u, "client-certificate", at);
    if (!cert)
        return core::fail(std::move(cert).error());
    auto key = read_file_or_data(u, "client-key", at);
    if (!key)
        return core::fail(std::move(key).error());
    if (!cert->empty() && key->empty())
        return at.fail(errc::missing_field, "client-certificate is set but client-key is missing");
    if (cert->empty() && !key->empty())
        return at.fail(errc::missing_field, "client-key is set but client-certificate is missing");
    out.client_cert_pem = std::move(*cert);
    out.client_key_pem = std::move(*key);

    auto token = read_string(u, "token", at);
    if (!token)
        return core::fail(std::move(token).error());
    out.token = std::move(*token);
    auto token_file = read_string(u, "tokenFile", at);
    if (!token_file)
        return core::fail(std::move(token_file).error());
    if (!token_file->empty())
        out.token_file = at.resolve(*token_file);

    const YAML::Node exec = u["exec"];
    if (present(exec)) {
        auto parsed = read_exec(exec, at);
        if (!parsed)
            return core::fail(std::move(parsed).error());
        out.exec = std::move(*parsed);
    }
    return {};
}

} // namespace

core::result<cluster_config>
from_kubeconfig(const std::vector<std::pair<std::string, std::string>>& path_and_text,
                const std::string& context) {
    if (path_and_text.empty())
        return core::fail(errc::no_configuration, "no kubeconfig files given");
    std::vector<document> docs;
    docs.reserve(path_and_text.size()); // entries point into it
    std::string all_paths;
    for (const auto& [path, text] : path_and_text) {
        std::error_code ec;
        auto abs = std::filesystem::absolute(path, ec);
        docs.push_back(document{&path, (ec ? std::filesystem::path(path) : abs).parent_path()});
        all_paths += (all_paths.empty() ? "" : ":") + path;
    }

    entry_map clusters, users, contexts;
    std::string current_context;
    for (std::size_t i = 0; i < docs.size(); ++i) {
        const document& doc = docs[i];
        const site at{doc, ""};
        YAML::Node root;
        try {
            root = YAML::Load(path_and_text[i].second);
        } catch (const YAML::Exception& e) {
            return at.fail(errc::malformed,
                           "malformed YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                               std::to_string(e.mark.column + 1) + ": " + e.msg);
        }
        if (!present(root))
            continue; // an empty file is an empty configuration, as in kubectl
        if (!root.IsMap())
            return at.fail(errc::malformed, "the top level must be a mapping");
        for (auto [list, body, into] : {std::tuple{"clusters", "cluster", &clusters},
                                        std::tuple{"users", "user", &users},
                                        std::tuple{"contexts", "context", &contexts}}) {
            if (auto r = collect(root, list, body, doc, *into); !r)
                return core::fail(std::move(r).error());
        }
        if (current_context.empty()) {
            auto cc = read_string(root, "current-context", at);
            if (!cc)
                return core::fail(std::move(cc).error());
            current_context = std::move(*cc);
        }
    }

    const std::string& name = context.empty() ? current_context : context;
    if (name.empty())
        return core::fail(errc::unknown_context,
                          "kubeconfig " + all_paths +
                              ": current-context is not set and no context was given (contexts: " +
                              names_of(contexts) + ")");
    const auto ctx = contexts.find(name);
    if (ctx == contexts.end())
        return core::fail(errc::unknown_context,
                          "context \"" + name + "\" not found in kubeconfig " + all_paths +
                              " (contexts: " + names_of(contexts) + ")");
    const site ctx_at{*ctx->second.doc, ctx->second.label};
    auto cluster_name = read_string(ctx->second.body, "cluster", ctx_at);
    if (!cluster_name)
        return core::fail(std::move(cluster_name).error());
    auto user_name = read_string(ctx->second.body, "user", ctx_at);
    if (!user_name)
        return core::fail(std::move(user_name).error());
    auto ns = read_string(ctx->second.body, "namespace", ctx_at);
    if (!ns)
        return core::fail(std::move(ns).error());

    cluster_config out;
    out.namespace_ = std::move(*ns);
    out.origin = "kubeconfig " + *ctx->second.doc->path + ", context " + name;

    if (cluster_name->empty())
        return ctx_at.fail(errc::missing_field, "cluster is missing");
    const auto cluster = clusters.find(*cluster_name);
    if (cluster == clusters.end())
        return ctx_at.fail(errc::missing_field,
                           "cluster \"" + *cluster_name + "\" not found (clusters: " + names_of(clusters) +
                               ")");
    if (auto r = read_cluster(cluster->second, out); !r)
        return core::fail(std::move(r).error());

    // No user is anonymous access; a named user that does not exist is a mistake.
    if (!user_name->empty()) {
        const auto user = users.find(*user_name);
        if (user == users.end())
            return ctx_at.fail(errc::missing_field,
                               "user \"" + *user_name + "\" not found (users: " + names_of(users) + ")");
        if (auto r = read_user(user->second, out); !r)
            return core::fail(std::move(r).error());
    }
    return out;
}

core::result<cluster_config> load(const load_options& options) {
    auto read_kubeconfig = [](const std::string& path) -> core::result<std::pair<std::string, std::string>> {
        auto text = detail::read_file(path);
        if (!text) {
            auto e = std::move(text).error();
            return core::failure{core::error{e.code, "kubeconfig " + e.message}};
        }
        return std::pair{path, std::move(*text)};
    };
    auto unreadable = [](core::error e) { return core::fail(errc::unreadable, std::move(e.message)); };

    if (!options.kubeconfig.empty()) {
        auto doc = read_kubeconfig(options.kubeconfig);
        if (!doc)
            return unreadable(std::move(doc).error());
        return from_kubeconfig({std::move(*doc)}, options.context);
    }

    const char* env_list = std::getenv("KUBECONFIG");
    const bool have_env_list = env_list && *env_list;
    if (have_env_list) {
        std::vector<std::pair<std::string, std::string>> docs;
        std::string_view rest = env_list;
        while (!rest.empty()) {
            const auto colon = rest.find(':');
            const std::string path(rest.substr(0, colon));
            rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
            bool seen = path.empty();
            for (const auto& d : docs)
                seen = seen || d.first == path;
            if (seen)
                continue;
            auto doc = read_kubeconfig(path);
            if (doc)
                docs.push_back(std::move(*doc));
            else if (doc.error().code != std::errc::no_such_file_or_directory)
                return unreadable(std::move(doc).error()); // missing files are skipped, broken ones are not
        }
        if (!docs.empty())
            return from_kubeconfig(docs, options.context);
    }

    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (host && *host && port && *port)
        return in_cluster();
    if (have_env_list)
        return core::fail(errc::no_configuration,
                          std::string("no configuration: none of the files in $KUBECONFIG (") + env_list +
                              ") exist and KUBERNETES_SERVICE_HOST is not set");

    const char* home = std::getenv("HOME");
    if (!home || !*home)
        return core::fail(errc::no_configuration,
                          "no configuration: no --kubeconfig, $KUBECONFIG, KUBERNETES_SERVICE_HOST or $HOME");
    auto doc = read_kubeconfig(std::string(home) + "/.kube/config");
    if (!doc) {
        if (doc.error().code == std::errc::no_such_file_or_directory)
            return core::fail(
                errc::no_configuration,
                "no configuration: no --kubeconfig, $KUBECONFIG or KUBERNETES_SERVICE_HOST, and " +
                    std::move(doc).error().message);
        return unreadable(std::move(doc).error());
    }
    return from_kubeconfig({std::move(*doc)}, options.context);
}

} // namespace kubecoro::config
