#include <kubecoro/admission/certificates.hpp>
#include <kubecoro/api/errc.hpp>
#include <kubecoro/core/base64.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/core/time.hpp>
#include <kubecoro/net/x509.hpp>

#include <algorithm>
#include <optional>

namespace kubecoro::admission {
namespace {

using namespace std::chrono_literals;

const api::resource secrets{"", "v1", "secrets", "Secret"};
const api::resource validating{"admissionregistration.k8s.io",
                               "v1",
                               "validatingwebhookconfigurations",
                               "ValidatingWebhookConfiguration",
                               api::scope::cluster};

struct material {
    std::string cert, key, ca, ca_key;
};

std::string data_field(const json::value& secret, std::string_view key) {
    const json::value* v = secret.at("data", key);
    if (!v || !v->if_string())
        return {};
    return core::base64_decode(*v->if_string()).value_or("");
}

material read_material(const json::value& secret) {
    return {data_field(secret, "tls.crt"),
            data_field(secret, "tls.key"),
            data_field(secret, "ca.crt"),
            data_field(secret, "ca.key")};
}

bool usable(const material& m) {
    return !m.cert.empty() && !m.key.empty() && !m.ca.empty() && net::verifies(m.cert, m.ca) &&
           net::tls_server_context::create(m.cert, m.key).has_value();
}

// Issued here and not since taken over: cert-manager keeps other annotations on a Secret it
// writes, but never our CA key.
bool ours(const json::value& secret) {
    const json::value* by = secret.at("metadata", "annotations", issued_by_annotation);
    if (!by || by->string_or("") != "kubecoro")
        return false;
    if (const json::value* annotations = secret.at("metadata", "annotations");
        annotations && annotations->if_object())
        for (const auto& [key, value] : *annotations->if_object())
            if (key.starts_with("cert-manager.io/"))
                return false;
    return true;
}

std::chrono::system_clock::duration remaining(const std::string& pem) {
    auto certs = net::read_certificates(pem);
    if (!certs)
        return {};
    return certs->front().not_after - std::chrono::system_clock::now();
}

} // namespace

std::chrono::milliseconds check_interval(std::chrono::seconds validity) {
    auto tenth = std::chrono::duration_cast<std::chrono::milliseconds>(validity) / 10;
    return std::clamp<std::chrono::milliseconds>(tenth, 1s, 1min);
}

certificate_keeper::certificate_keeper(std::shared_ptr<client::client> c,
                                       certificate_options o,
                                       log::logger log)
    : client_(std::move(c))
    , opts_(std::move(o))
    , log_(std::move(log)) {}

awaitable<core::result<void>> certificate_keeper::start() {
    co_return co_await check();
}

awaitable<void> certificate_keeper::run() {
    for (;;) {
        // Sooner while something is missing (a configuration not yet applied, a failed check).
        auto wait = check_interval(opts_.validity);
        if (trouble_)
            wait = std::min<std::chrono::milliseconds>(wait, 5s);
        if (!co_await sleep_for(wait))
            co_return;
        if (auto r = co_await check(); !r) {
            trouble_ = true;
            log_.warn("webhook certificate check failed; retrying", {{"error", r.error()}});
        }
    }
}

awaitable<core::result<void>> certificate_keeper::check() {
    trouble_ = false;
    const auto& ns = opts_.namespace_;
    auto secret = co_await client_->get(secrets, ns, opts_.secret_name);
    // The names the API server may use: a Service reference is called as <svc>.<ns>.svc.
    const std::string& svc = opts_.service_name;
    std::vector<std::string> names{
        svc + "." + ns + ".svc.cluster.local", svc + "." + ns + ".svc", svc + "." + ns, svc};
    names.insert(names.end(), opts_.extra_dns_names.begin(), opts_.extra_dns_names.end());
    auto new_ca = [&]() -> core::result<net::issued_certificate> {
        net::certificate_request ca_request{"kubecoro-webhook-ca", {}, {}, opts_.validity * 10, true};
        return net::issue_certificate(ca_request);
    };
    // A serving certificate signed by the first CA of `ca` (and that CA), or by a new CA.
    auto issue = [&](const material* keep_ca) -> core::result<material> {
        material m;
        if (keep_ca) {
            m.ca = keep_ca->ca;
            m.ca_key = keep_ca->ca_key;
        } else {
            auto ca = new_ca();
            if (!ca)
                return core::fail(ca.error());
            m.ca = ca->certificate_pem;
            m.ca_key = ca->key_pem;
        }
        net::certificate_request leaf_request{
            svc + "." + ns + ".svc", names, opts_.extra_ip_addresses, opts_.validity};
        const net::issued_certificate signer{m.ca, m.ca_key};
        auto leaf = net::issue_certificate(leaf_request, &signer);
        if (!leaf)
            return core::fail(leaf.error());
        m.cert = leaf->certificate_pem;
        m.key = leaf->key_pem;
        return m;
    };
    auto secret_object = [&](const material& m, const std::string& ca_bundle, std::string resource_version) {
        json::object meta{{"name", opts_.secret_name},
                          {"namespace", ns},
                          {"labels", json::object{{"app.kubernetes.io/name", "kubecoro"}}},
                          {"annotations", json::object{{std::string(issued_by_annotation), "kubecoro"}}}};
        if (!resource_version.empty()) // a precondition: two replicas never both renew
            meta.set("resourceVersion", std::move(resource_version));
        return json::object{{"apiVersion", "v1"},
                            {"kind", "Secret"},
                            {"metadata", std::move(meta)},
                            {"type", "kubernetes.io/tls"},
                            {"data",
                             json::object{{"tls.crt", core::base64_encode(m.cert)},
                                          {"tls.key", core::base64_encode(m.key)},
                                          {"ca.crt", core::base64_encode(ca_bundle)},
                                          {"ca.key", core::base64_encode(m.ca_key)}}}};
    };

    if (!secret && secret.error().code == api::errc::not_found) {
        auto m = issue(nullptr);
        if (!m)
            co_return core::fail(m.error());
        json::value body = secret_object(*m, m->ca, "");
        auto created = co_await client_->create(secrets, ns, std::move(body));
        if (!created && created.error().code == api::errc::already_exists)
            created = co_await client_->get(secrets, ns, opts_.secret_name); // another replica won
        if (!created)
            co_return core::fail(created.error());
        if (created->at("metadata", "annotations", issued_by_annotation))
            log_.info("issued a webhook certificate", {{"object", "Secret " + ns + "/" + opts_.secret_name}});
        secret = std::move(created);
    }
    if (!secret)
        co_return core::fail(secret.error());

    material m = read_material(*secret);
    const bool issued_here = ours(*secret) && !m.ca_key.empty();
    if (issued_here) {
        const auto leaf_validity =
            std::chrono::duration_cast<std::chrono::system_clock::duration>(opts_.validity);
        const bool broken = !usable(m);
        const bool ca_due = !broken && remaining(m.ca) < 2 * leaf_validity;
        const bool leaf_due = !broken && remaining(m.cert) < leaf_validity / 3;
        if (broken || ca_due || leaf_due) {
            std::optional<material> renewed;
            std::string bundle;
            if (broken) { // nothing worth serving: everything new at once
                auto fresh = issue(nullptr);
                if (!fresh)
                    co_return core::fail(fresh.error());
                renewed = *fresh;
                bundle = fresh->ca;
            } else if (ca_due) {
                // A new CA joins the bundle first; the certificate it signs comes with the next
                // renewal, once the API server trusts it. The old CA stays until it expires.
                auto ca = new_ca();
                if (!ca)
                    co_return core::fail(ca.error());
                renewed = m;
                renewed->ca_key = ca->key_pem;
                bundle = ca->certificate_pem + net::unexpired_certificates(m.ca);
            } else {
                auto leaf = issue(&m); // signed by the bundle's first (newest) CA
                if (!leaf)
                    co_return core::fail(leaf.error());
                renewed = *leaf;
                bundle = net::unexpired_certificates(m.ca);
            }
            const json::value* version = secret->at("metadata", "resourceVersion");
            json::value body = secret_object(*renewed, bundle, version ? version->string_or("") : "");
            api::patch_options apply_opts{opts_.field_manager, true, {}};
            auto written = co_await client_->apply(secrets, std::move(body), apply_opts);
            if (!written)
                co_return core::fail(written.error()); // a conflict: another replica renewed it
            log_.info(ca_due ? "added a new CA to the webhook's trust bundle"
                             : "renewed the webhook certificate",
                      {{"object", "Secret " + ns + "/" + opts_.secret_name}});
            m = read_material(*written);
        }
    }
    if (!usable(m))
        co_return core::fail(
            core::errc::invalid_argument,
            "Secret " + ns + "/" + opts_.secret_name +
                " holds no usable webhook certificate (tls.crt and tls.key, signed by a CA in "
                "ca.crt)");
    if (m.cert != served_cert_) {
        auto ctx = net::tls_server_context::create(m.cert, m.key);
        if (!ctx)
            co_return core::fail(ctx.error());
        auto info = net::read_certificates(m.cert);
        current_ = *ctx;
        served_cert_ = m.cert;
        log_.info("serving the webhook certificate",
                  {{"object", "Secret " + ns + "/" + opts_.secret_name},
                   {"serial", info ? info->front().serial : std::string()},
                   {"not_after", info ? core::format_rfc3339(info->front().not_after) : std::string()},
                   {"issued_by", issued_here ? "kubecoro" : "another issuer"}});
    }
    ca_ = m.ca;
    co_await publish_ca_bundle();
    co_return core::result<void>{};
}

awaitable<void> certificate_keeper::publish_ca_bundle() {
    const std::string bundle = core::base64_encode(ca_);
    auto keep = [&](const api::resource& r, const std::string& name) -> awaitable<void> {
        auto current = co_await client_->get(r, "", name);
        if (!current) {
            trouble_ = true;
            // Said once until it changes: a local run may have no configuration at all.
            if (unreadable_.insert(name + ": " + current.error().message).second)
                log_.warn("cannot read the webhook configuration to set its caBundle; looking again every 5s",
                          {{"kind", r.kind}, {"name", name}, {"error", current.error()}});
            co_return;
        }
        json::array webhooks;
        bool stale = false;
        if (const json::value* list = current->at("webhooks"); list && list->if_array())
            for (const json::value& w : *list->if_array()) {
                const json::value* ca = w.at("clientConfig", "caBundle");
                stale = stale || !ca || ca->string_or("") != bundle;
                webhooks.emplace_back(json::object{{"name", w.at("name") ? *w.at("name") : json::value()},
                                                   {"clientConfig", json::object{{"caBundle", bundle}}}});
            }
        if (!stale)
            co_return;
        json::value body = json::object{{"apiVersion", r.api_version()},
                                        {"kind", r.kind},
                                        {"metadata", json::object{{"name", name}}},
                                        {"webhooks", std::move(webhooks)}};
        api::patch_options apply_opts{opts_.field_manager, true, {}};
        auto written = co_await client_->apply(r, std::move(body), apply_opts);
        trouble_ = trouble_ || !written;
        if (!written)
            log_.warn("cannot set the caBundle of the webhook configuration",
                      {{"kind", r.kind}, {"name", name}, {"error", written.error()}});
        else
            log_.info("set the caBundle of the webhook configuration", {{"kind", r.kind}, {"name", name}});
    };
    for (const auto& name : opts_.validating_configurations)
        co_await keep(validating, name);
}

} // namespace kubecoro::admission
