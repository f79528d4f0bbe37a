// The client against an in-process HTTPS server that requires a client certificate.
#include "support.hpp"
#include <kubecoro/api/errc.hpp>
#include <kubecoro/client/client.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/net/errc.hpp>

#include <atomic>

using namespace kubecoro;
using namespace std::chrono_literals;
using test::https_server;
using test::run_bounded;

namespace {

const api::resource configmaps{"", "v1", "configmaps", "ConfigMap", api::scope::namespaced};
// Named options: g++ 12 corrupts aggregate temporaries (`{}`) passed to a coroutine inside co_await.
const api::watch_options all_events{};

std::string configmap_json(const std::string& name, const std::string& rv = "1") {
    return R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + name +
           R"(","namespace":"ns","resourceVersion":")" + rv + R"("},"data":{"k":"v"}})";
}

std::string status_json(int code, const std::string& reason, const std::string& message) {
    return R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":")" + message +
           R"(","reason":")" + reason + R"(","code":)" + std::to_string(code) + "}";
}

core::result<std::shared_ptr<client::client>>
make_client(asio::any_io_executor ex, config::cluster_config c, client::client_options o = {}) {
    return client::client::create(ex, std::move(c), std::move(o));
}

std::string name_of(const json::value& v) {
    auto* n = v.at("metadata", "name");
    return n ? n->string_or("") : "";
}

// Waits on the io_context without blocking it.
awaitable<void> pause(std::chrono::milliseconds d) {
    co_await sleep_for(d);
}

} // namespace

// ---------------------------------------------------------------------------------------------
// TLS

awaitable<void> tls_checks(config::cluster_config good) {
    auto ex = co_await asio::this_coro::executor;
    {
        auto c = make_client(ex, good);
        REQUIRE(c);
        auto got = co_await (*c)->get(configmaps, "ns", "cm");
        REQUIRE_MESSAGE(got, got.error().message);
        CHECK(name_of(*got) == "cm");
    }
    const auto where = good.server.substr(std::string("https://").size());
    {
        auto wrong_ca = good;
        wrong_ca.ca_pem = test::pki::get().other_ca_pem;
        auto c = make_client(ex, wrong_ca);
        REQUIRE(c);
        auto got = co_await (*c)->get(configmaps, "ns", "cm");
        REQUIRE_FALSE(got);
        CHECK(got.error().code == net::errc::tls_handshake);
        CHECK(got.error().message.find("TLS handshake with " + where +
                                       " failed: certificate verify failed") != std::string::npos);
        const bool says_why =
            got.error().message.find("unable to get local issuer certificate") != std::string::npos ||
            got.error().message.find("self-signed certificate in certificate chain") != std::string::npos;
        CHECK(says_why);
        CHECK(client::is_retryable(got.error()));
    }
    {
        auto wrong_name = good;
        wrong_name.tls_server_name = "not-the-server.example";
        auto c = make_client(ex, wrong_name);
        REQUIRE(c);
        auto got = co_await (*c)->get(configmaps, "ns", "cm");
        REQUIRE_FALSE(got);
        CHECK(got.error().code == net::errc::tls_handshake);
        CHECK(got.error().message.find("hostname mismatch") != std::string::npos);
    }
    {
        auto no_cert = good;
        no_cert.client_cert_pem.clear();
        no_cert.client_key_pem.clear();
        auto c = make_client(ex, no_cert);
        REQUIRE(c);
        auto got = co_await (*c)->get(configmaps, "ns", "cm");
        REQUIRE_FALSE(got);
        CHECK(got.error().message.find(where) != std::string::npos);
        CHECK(got.error().message.find("alert certificate required") != std::string::npos);
    }
    {
        auto bad_key = good;
        bad_key.client_key_pem = "garbage";
        auto c = make_client(ex, bad_key);
        REQUIRE_FALSE(c);
        CHECK(c.error().code == net::errc::tls_config);
        CHECK(c.error().message.find("garbage") == std::string::npos);
    }
}

TEST_CASE("TLS with a client certificate; a wrong CA or name fails with a clear error") {
    https_server server;
    std::atomic<bool> saw_client_cert{false};
    server.http.Get("/api/v1/namespaces/ns/configmaps/cm",
                    [&](const httplib::Request& req, httplib::Response& res) {
                        saw_client_cert = req.ssl && SSL_get0_peer_certificate(req.ssl) != nullptr;
                        res.set_content(configmap_json("cm"), "application/json");
                    });
    server.start();
    run_bounded(tls_checks(server.config()));
    CHECK(saw_client_cert);
}

// ---------------------------------------------------------------------------------------------
// LIST

awaitable<void> list_checks(config::cluster_config cfg) {
    auto ex = co_await asio::this_coro::executor;
    auto c = make_client(ex, cfg);
    REQUIRE(c);
    api::list_options o;
    o.label_selector = "app=demo,tier in (web)";
    o.field_selector = "metadata.name!=x";
    o.limit = 2;
    auto page = co_await (*c)->list(configmaps, "ns", o);
    REQUIRE_MESSAGE(page, page.error().message);
    CHECK(page->items.size() == 2);
    CHECK(page->continue_token == "p2");
    CHECK(page->resource_version == "100");

    auto all = co_await (*c)->list_all(configmaps, "ns", o);
    REQUIRE_MESSAGE(all, all.error().message);
    REQUIRE(all->items.size() == 5);
    for (int i = 0; i < 5; ++i)
        CHECK(name_of(all->items[i]) == "cm" + std::to_string(i));
    CHECK(all->resource_version == "100");
    CHECK(all->continue_token.empty());
}

TEST_CASE("list pages, with selectors reaching the server as query parameters") {
    https_server server;
    std::mutex m;
    std::vector<std::string> seen;
    server.http.Get(
        "/api/v1/namespaces/ns/configmaps", [&](const httplib::Request& req, httplib::Response& res) {
            {
                std::lock_guard lock(m);
                seen.push_back(req.get_param_value("labelSelector") + "|" +
                               req.get_param_value("fieldSelector") + "|" + req.get_param_value("limit") +
                               "|" + req.get_param_value("continue"));
            }
            auto token = req.get_param_value("continue");
            int first = token.empty() ? 0 : token == "p2" ? 2 : 4;
            int last = std::min(first + 2, 5);
            std::string items;
            for (int i = first; i < last; ++i) {
                if (!items.empty())
                    items += ',';
                items += configmap_json("cm" + std::to_string(i));
            }
            std::string next = last < 5 ? (last == 2 ? "p2" : "p4") : "";
            res.set_content(
                R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"100","continue":")" +
                    next + R"("},"items":[)" + items + "]}",
                "application/json");
        });
    server.start();
    run_bounded(list_checks(server.config()));
    std::lock_guard lock(m);
    REQUIRE(seen.size() == 4);
    CHECK(seen[0] == "app=demo,tier in (web)|metadata.name!=x|2|");
    CHECK(seen[1] == "app=demo,tier in (web)|metadata.name!=x|2|");
    CHECK(seen[2] == "app=demo,tier in (web)|metadata.name!=x|2|p2");
    CHECK(seen[3] == "app=demo,tier in (web)|metadata.name!=x|2|p4");
}

// ---------------------------------------------------------------------------------------------
// Writes

struct write_log {
    std::mutex m;
    std::vector<std::string> lines; // method content-type query body
    void add(const httplib::Request& req) {
        std::string query;
        for (const auto& [k, v] : req.params)
            query += k + "=" + v + ";";
        std::lock_guard lock(m);
        lines.push_back(req.method + " " + req.get_header_value("Content-Type") + " " + query + " " +
                        req.body);
    }
};

awaitable<void> write_checks(config::cluster_config cfg) {
    auto ex = co_await asio::this_coro::executor;
    auto c = make_client(ex, cfg);
    REQUIRE(c);
    json::value cm = json::object{{"apiVersion", "v1"},
                                  {"kind", "ConfigMap"},
                                  {"metadata", json::object{{"name", "cm"}, {"namespace", "ns"}}},
                                  {"data", json::object{{"k", "v"}}}};
    auto created = co_await (*c)->create(configmaps, "ns", cm);
    REQUIRE_MESSAGE(created, created.error().message);
    CHECK(created->at("metadata", "uid")->string_or("") == "uid-1");

    api::patch_options po;
    po.field_manager = "kubecoro";
    po.force = true;
    auto applied = co_await (*c)->apply(configmaps, cm, po);
    REQUIRE_MESSAGE(applied, applied.error().message);
    CHECK(name_of(*applied) == "cm");

    auto merged =
        co_await (*c)->patch(configmaps, "ns", "cm", api::patch_type::merge, R"({"data":{"k":"w"}})", po);
    REQUIRE_MESSAGE(merged, merged.error().message);

    api::delete_options stale;
    stale.precondition_resource_version = "stale";
    auto refused = co_await (*c)->remove(configmaps, "ns", "cm", stale);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == api::errc::conflict);
    CHECK(refused.error().http_status == 409);

    api::delete_options fresh;
    fresh.precondition_uid = "uid-1";
    fresh.propagation_policy = api::propagation::foreground;
    auto removed = co_await (*c)->remove(configmaps, "ns", "cm", fresh);
    CHECK_MESSAGE(removed, removed.error().message);

    json::value nameless = json::object{{"metadata", json::object{{"namespace", "ns"}}}};
    auto rejected = co_await (*c)->apply(configmaps, nameless, po);
    REQUIRE_FALSE(rejected);
    CHECK(rejected.error().code == core::errc::invalid_argument);
}

TEST_CASE("create, apply, patch and delete send what the API server expects") {
    https_server server;
    write_log log;
    server.http.Post("/api/v1/namespaces/ns/configmaps",
                     [&](const httplib::Request& req, httplib::Response& res) {
                         log.add(req);
                         res.status = 201;
                         res.set_content(R"({"metadata":{"name":"cm","namespace":"ns","uid":"uid-1"}})",
                                         "application/json");
                     });
    server.http.Patch("/api/v1/namespaces/ns/configmaps/cm",
                      [&](const httplib::Request& req, httplib::Response& res) {
                          log.add(req);
                          res.set_content(configmap_json("cm", "2"), "application/json");
                      });
    server.http.Delete(
        "/api/v1/namespaces/ns/configmaps/cm", [&](const httplib::Request& req, httplib::Response& res) {
            log.add(req);
            if (req.body.find("\"stale\"") != std::string::npos) {
                res.status = 409;
                res.set_content(status_json(409, "Conflict", "Precondition failed: resourceVersion"),
                                "application/json");
                return;
            }
            res.set_content(R"({"kind":"Status","status":"Success"})", "application/json");
        });
    server.start();
    run_bounded(write_checks(server.config()));
    std::lock_guard lock(log.m);
    REQUIRE(log.lines.size() == 5);
    CHECK(
        log.lines[0] ==
        R"(POST application/json  {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"ns"},"data":{"k":"v"}})");
    CHECK(
        log.lines[1] ==
        R"(PATCH application/apply-patch+yaml fieldManager=kubecoro;force=true; {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"ns"},"data":{"k":"v"}})");
    // force is for server-side apply only.
    CHECK(log.lines[2] == R"(PATCH application/merge-patch+json fieldManager=kubecoro; {"data":{"k":"w"}})");
    CHECK(log.lines[3].find(R"("preconditions":{"resourceVersion":"stale"})") != std::string::npos);
    CHECK(log.lines[4].find("propagationPolicy=Foreground;") != std::string::npos);
    // In the body too: the API server ignores the query's options when there is a body.
    CHECK(log.lines[4].find(R"("propagationPolicy":"Foreground")") != std::string::npos);
    CHECK(log.lines[4].find(R"("preconditions":{"uid":"uid-1"})") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Errors

awaitable<void> status_checks(config::cluster_config cfg) {
    auto ex = co_await asio::this_coro::executor;
    auto c = make_client(ex, cfg);
    REQUIRE(c);
    struct expectation {
        const char* name;
        api::errc code;
        int http_status;
        const char* text;
        bool retryable;
        std::chrono::milliseconds retry_after;
    };
    const std::vector<expectation> cases = {
        {"missing", api::errc::not_found, 404, "configmaps \"missing\" not found", false, 0ms},
        {"exists", api::errc::already_exists, 409, "already exists", false, 0ms},
        {"conflict", api::errc::conflict, 409, "the object has been modified", true, 0ms},
        {"gone", api::errc::gone, 410, "too old resource version", false, 0ms},
        {"invalid", api::errc::invalid, 422, "spec.replicas: Invalid value", false, 0ms},
        {"busy", api::errc::too_many_requests, 429, "slow down", true, 3000ms},
        {"broken", api::errc::server_error, 500, "oops, not a Status", true, 0ms},
    };
    for (const auto& e : cases) {
        CAPTURE(e.name);
        auto got = co_await (*c)->get(configmaps, "ns", e.name);
        REQUIRE_FALSE(got);
        CHECK(got.error().code == e.code);
        CHECK(got.error().http_status == e.http_status);
        CHECK(got.error().retry_after == e.retry_after);
        CHECK(client::is_retryable(got.error()) == e.retryable);
        CHECK(got.error().message.find(e.text) != std::string::npos);
        CHECK(got.error().message.find("GET /api/v1/namespaces/ns/configmaps/") == 0);
    }
}

TEST_CASE("answers >= 400 become errors decoded from Status") {
    https_server server;
    server.http.Get(
        R"(/api/v1/namespaces/ns/configmaps/(\w+))", [](const httplib::Request& req, httplib::Response& res) {
            auto name = req.matches[1].str();
            auto status = [&](int code, const char* reason, const std::string& message) {
                res.status = code;
                res.set_content(status_json(code, reason, message), "application/json");
            };
            if (name == "missing")
                status(404, "NotFound", R"(configmaps \"missing\" not found)");
            else if (name == "exists")
                status(409, "AlreadyExists", R"(configmaps \"exists\" already exists)");
            else if (name == "conflict")
                status(409,
                       "Conflict",
                       "the object has been modified; please apply your changes to the latest version");
            else if (name == "gone")
                status(410, "Expired", "too old resource version: 1 (50)");
            else if (name == "invalid")
                status(
                    422, "Invalid", "ConfigMap \\\"invalid\\\" is invalid: spec.replicas: Invalid value: -1");
            else if (name == "busy") {
                status(429, "TooManyRequests", "slow down");
                res.set_header("Retry-After", "3");
            } else {
                res.status = 500;
                res.set_content("oops, not a Status", "text/plain");
            }
        });
    server.start();
    run_bounded(status_checks(server.config()));
}

// ---------------------------------------------------------------------------------------------
// Connections

awaitable<void> keep_alive_checks(config::cluster_config cfg, https_server* server, std::vector<int>* codes) {
    client::client_options o;
    o.on_request = [codes](std::string_view method, int code) {
        CHECK(method == "GET");
        codes->push_back(code);
    };
    auto ex = co_await asio::this_coro::executor;
    auto c = make_client(ex, cfg, o);
    REQUIRE(c);
    for (int i = 0; i < 5; ++i) {
        auto got = co_await (*c)->get(configmaps, "ns", "cm");
        REQUIRE_MESSAGE(got, got.error().message);
    }
    CHECK(server->connections() == 1);
    // The server drops idle connections after a second: the pool must notice and reconnect.
    co_await pause(1500ms);
    auto got = co_await (*c)->get(configmaps, "ns", "cm");
    REQUIRE_MESSAGE(got, got.error().message);
    CHECK(server->connections() == 2);
}

TEST_CASE("keep-alive connections are reused, and ones the server closed are replaced") {
    https_server server;
    server.http.set_keep_alive_timeout(1);
    server.http.Get("/api/v1/namespaces/ns/configmaps/cm",
                    [](const httplib::Request&, httplib::Response& res) {
                        res.set_content(configmap_json("cm"), "application/json");
                    });
    server.start();
    std::vector<int> codes;
    run_bounded(keep_alive_checks(server.config(), &server, &codes));
    CHECK(codes == std::vector<int>(6, 200));
}

awaitable<void> timeout_checks(config::cluster_config cfg) {
    client::client_options o;
    o.request_timeout = 200ms;
    auto ex = co_await asio::this_coro::executor;
    auto c = make_client(ex, cfg, o);
    REQUIRE(c);
    auto start = std::chrono::steady_clock::now();
    auto got = co_await (*c)->get(configmaps, "ns", "slow");
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(got);
    CHECK(got.error().code == core::errc::timeout);
    CHECK(got.error().message == "GET /api/v1/namespaces/ns/configmaps/slow timed out after 200ms");
    CHECK(took >= 200ms);
    CHECK(took < 1500ms);
    CHECK(client::is_retryable(got.error()));
}

awaitable<void> write_gate_checks(config::cluster_config cfg, std::atomic<int>* patches) {
    bool open = false;
    client::client_options o;
    o.write_gate = [&open] { return open; };
    auto ex = co_await asio::this_coro::executor;
    auto c = make_client(ex, cfg, o);
    REQUIRE(c);
    auto read = co_await (*c)->get(configmaps, "ns", "cm");
    CHECK_MESSAGE(read, read.error().message); // reads are never fenced
    api::patch_options po;
    auto fenced = co_await (*c)->patch(configmaps, "ns", "cm", api::patch_type::merge, R"({"data":{}})", po);
    REQUIRE_FALSE(fenced);
    CHECK(fenced.error().code == core::errc::fenced);
    CHECK(fenced.error().message.find("PATCH /api/v1/namespaces/ns/configmaps/cm: not sent") == 0);
    CHECK(client::is_retryable(fenced.error()));
    CHECK(patches->load() == 0); // nothing reached the server
    open = true;
    auto sent = co_await (*c)->patch(configmaps, "ns", "cm", api::patch_type::merge, R"({"data":{}})", po);
    CHECK_MESSAGE(sent, sent.error().message);
    CHECK(patches->load() == 1);
}

TEST_CASE("a closed write gate keeps writes from the server, not reads") {
    https_server server;
    std::atomic<int> patches{0};
    server.http.Get("/api/v1/namespaces/ns/configmaps/cm",
                    [](const httplib::Request&, httplib::Response& res) {
                        res.set_content(configmap_json("cm"), "application/json");
                    });
    server.http.Patch("/api/v1/namespaces/ns/configmaps/cm",
                      [&](const httplib::Request&, httplib::Response& res) {
                          ++patches;
                          res.set_content(configmap_json("cm", "2"), "application/json");
                      });
    server.start();
    run_bounded(write_gate_checks(server.config(), &patches));
}

TEST_CASE("a slow server hits the request timeout") {
    https_server server;
    server.http.Get("/api/v1/namespaces/ns/configmaps/slow",
                    [&](const httplib::Request&, httplib::Response& res) {
                        server.wait(3s);
                        res.set_content(configmap_json("slow"), "application/json");
                    });
    server.start();
    run_bounded(timeout_checks(server.config()));
}

awaitable<void> rate_limit_checks(config::cluster_config cfg) {
    client::client_options o;
    o.qps = 20;
    o.burst = 1;
    auto ex = co_await asio::this_coro::executor;
    auto c = make_client(ex, cfg, o);
    REQUIRE(c);
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 4; ++i) {
        auto got = co_await (*c)->get(configmaps, "ns", "cm");
        REQUIRE(got);
    }
    // One token at once, then one each 50ms.
    CHECK(std::chrono::steady_clock::now() - start >= 150ms);
}

TEST_CASE("requests are rate limited") {
    https_server server;
    server.http.Get("/api/v1/namespaces/ns/configmaps/cm",
                    [](const httplib::Request&, httplib::Response& res) {
                        res.set_content(configmap_json("cm"), "application/json");
                    });
    server.start();
    run_bounded(rate_limit_checks(server.config()));
}

awaitable<void> cancelled_wait_checks(config::cluster_config cfg, std::atomic<int>* gets) {
    client::client_options o;
    o.qps = 2; // after the first request, the next token is 500 ms away
    o.burst = 1;
    auto ex = co_await asio::this_coro::executor;
    auto c = make_client(ex, cfg, o);
    REQUIRE(c);
    REQUIRE(co_await (*c)->get(configmaps, "ns", "cm"));
    // The second caller gives up while it waits for its token: it gets an error saying so.
    asio::cancellation_signal give_up;
    std::optional<core::result<json::value>> second;
    bool threw = false;
    auto second_get = [](std::shared_ptr<client::client> c,
                         std::optional<core::result<json::value>>* out) -> awaitable<void> {
        out->emplace(co_await c->get(configmaps, "ns", "cm"));
    };
    asio::co_spawn(
        ex, second_get(*c, &second), asio::bind_cancellation_slot(give_up.slot(), [&](std::exception_ptr e) {
            threw = e != nullptr;
        }));
    co_await sleep_for(100ms);
    give_up.emit(asio::cancellation_type::terminal);
    // Past the moment its token would have come: it was never sent.
    co_await sleep_for(700ms);
    CHECK_FALSE(threw);
    REQUIRE(second);
    REQUIRE_FALSE(*second);
    CHECK(second->error().code == core::errc::cancelled);
    CHECK(second->error().message.find("rate limiter") != std::string::npos);
    CHECK(gets->load() == 1);
}

TEST_CASE("a request cancelled while it waits for the rate limiter is not sent") {
    https_server server;
    std::atomic<int> gets{0};
    server.http.Get("/api/v1/namespaces/ns/configmaps/cm",
                    [&](const httplib::Request&, httplib::Response& res) {
                        ++gets;
                        res.set_content(configmap_json("cm"), "application/json");
                    });
    server.start();
    run_bounded(cancelled_wait_checks(server.config(), &gets));
}

// ---------------------------------------------------------------------------------------------
// Authentication

struct token_server_state {
    std::mutex m;
    std::string accepted = "Bearer old-token";
    std::vector<std::string> seen;
};

awaitable<void>
token_file_checks(config::cluster_config cfg, std::string token_path, token_server_state* st) {
    auto ex = co_await asio::this_coro::executor;
    auto c = make_client(ex, cfg);
    REQUIRE(c);
    auto first = co_await (*c)->get(configmaps, "ns", "cm");
    REQUIRE_MESSAGE(first, first.error().message);
    // The token rotates: the server takes only the new one; the client has the old one cached.
    test::write_file(token_path, "new-token\n");
    {
        std::lock_guard lock(st->m);
        st->accepted = "Bearer new-token";
    }
    auto second = co_await (*c)->get(configmaps, "ns", "cm");
    REQUIRE_MESSAGE(second, second.error().message);
    // Refused even after a refresh: the error comes back, after exactly one retry.
    {
        std::lock_guard lock(st->m);
        st->accepted = "Bearer nobody";
    }
    auto third = co_await (*c)->get(configmaps, "ns", "cm");
    REQUIRE_FALSE(third);
    CHECK(third.error().code == api::errc::unauthorized);
    CHECK_FALSE(client::is_retryable(third.error()));
}

TEST_CASE("a 401 re-reads a rewritten token file and retries once") {
    https_server server;
    const std::string token_path = test::pki::get().path("token");
    test::write_file(token_path, "old-token\n");
    token_server_state st;
    server.http.Get(
        "/api/v1/namespaces/ns/configmaps/cm", [&st](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard lock(st.m);
            auto auth = req.get_header_value("Authorization");
            st.seen.push_back(auth);
            if (auth != st.accepted) {
                res.status = 401;
                res.set_content(status_json(401, "Unauthorized", "Unauthorized"), "application/json");
                return;
            }
            res.set_content(configmap_json("cm"), "application/json");
        });
    server.start();
    auto cfg = server.config();
    cfg.token_file = token_path;
    run_bounded(token_file_checks(cfg, token_path, &st));
    std::lock_guard lock(st.m);
    CHECK(st.seen == std::vector<std::string>{"Bearer old-token",
                                              "Bearer old-token",
                                              "Bearer new-token",
                                              "Bearer new-token",
                                              "Bearer new-token"});
}

// ---------------------------------------------------------------------------------------------
// Watches

std::string event(const char* type, const std::string& object) {
    return std::string(R"({"type":")") + type + R"(","object":)" + object + "}\n";
}

awaitable<void> watch_checks(config::cluster_config cfg) {
    auto ex = co_await asio::this_coro::executor;
    auto c = make_client(ex, cfg);
    REQUIRE(c);
    api::watch_options o;
    o.resource_version = "5";
    o.label_selector = "app=demo";
    auto w = co_await (*c)->watch(configmaps, "ns", o);
    REQUIRE_MESSAGE(w, w.error().message);
    std::vector<std::pair<json::event_type, std::string>> got;
    for (;;) {
        auto ev = co_await w->next();
        if (!ev) {
            CHECK(ev.error().code == api::errc::gone);
            CHECK(ev.error().http_status == 410);
            CHECK(ev.error().message.find("too old resource version") != std::string::npos);
            CHECK_FALSE(client::is_retryable(ev.error()));
            break;
        }
        REQUIRE(*ev);
        auto rv = (*ev)->object.at("metadata", "resourceVersion");
        got.emplace_back((*ev)->type, rv ? rv->string_or("") : "");
    }
    using json::event_type;
    CHECK(got == std::vector<std::pair<event_type, std::string>>{{event_type::added, "6"},
                                                                 {event_type::modified, "7"},
                                                                 {event_type::bookmark, "8"},
                                                                 {event_type::deleted, "9"}});
    // After the error the stream stays failed.
    auto again = co_await w->next();
    REQUIRE_FALSE(again);
    CHECK(again.error().code == api::errc::gone);

    // A stream the server ends cleanly (timeoutSeconds) ends with nullopt.
    o.timeout_seconds = 1;
    auto w2 = co_await (*c)->watch(configmaps, "ns", o);
    REQUIRE_MESSAGE(w2, w2.error().message);
    auto first = co_await w2->next();
    REQUIRE(first);
    REQUIRE(*first);
    auto end = co_await w2->next();
    REQUIRE_MESSAGE(end, end.error().message);
    CHECK_FALSE(*end);
}

TEST_CASE("a chunked watch streams events, bookmarks, and a 410 ERROR") {
    https_server server;
    std::mutex m;
    std::vector<std::string> queries;
    server.http.Get(
        "/api/v1/namespaces/ns/configmaps", [&](const httplib::Request& req, httplib::Response& res) {
            {
                std::lock_guard lock(m);
                queries.push_back(
                    req.get_param_value("watch") + "|" + req.get_param_value("resourceVersion") + "|" +
                    req.get_param_value("allowWatchBookmarks") + "|" + req.get_param_value("labelSelector") +
                    "|" + req.get_param_value("timeoutSeconds"));
            }
            bool ends_cleanly = req.has_param("timeoutSeconds");
            res.set_chunked_content_provider(
                "application/json", [ends_cleanly](size_t, httplib::DataSink& sink) {
                    if (ends_cleanly) {
                        auto e = event("ADDED", configmap_json("a", "6"));
                        sink.write(e.data(), e.size());
                        sink.done();
                        return true;
                    }
                    std::string all =
                        event("ADDED", configmap_json("a", "6")) +
                        event("MODIFIED", configmap_json("a", "7")) +
                        event("BOOKMARK", R"({"kind":"ConfigMap","metadata":{"resourceVersion":"8"}})") +
                        event("DELETED", configmap_json("a", "9")) +
                        event("ERROR", status_json(410, "Expired", "too old resource version: 5 (9)"));
                    // Chunk boundaries in the middle of lines.
                    for (std::size_t at = 0; at < all.size(); at += 37) {
                        auto piece = all.substr(at, 37);
                        if (!sink.write(piece.data(), piece.size()))
                            return false;
                    }
                    sink.done();
                    return true;
                });
        });
    server.start();
    run_bounded(watch_checks(server.config()));
    std::lock_guard lock(m);
    REQUIRE(queries.size() == 2);
    CHECK(queries[0] == "1|5|true|app=demo|");
    CHECK(queries[1] == "1|5|true|app=demo|1");
}

awaitable<void> dropped_watch_checks(config::cluster_config cfg) {
    auto ex = co_await asio::this_coro::executor;
    auto c = make_client(ex, cfg);
    REQUIRE(c);
    auto w = co_await (*c)->watch(configmaps, "ns", all_events);
    REQUIRE_MESSAGE(w, w.error().message);
    auto first = co_await w->next();
    REQUIRE_MESSAGE(first, first.error().message);
    REQUIRE(*first);
    auto broken = co_await w->next();
    REQUIRE_FALSE(broken);
    MESSAGE(broken.error().message);
    CHECK(broken.error().message.find("watch /api/v1/namespaces/ns/configmaps") == 0);
    CHECK(client::is_retryable(broken.error()));

    auto refused = co_await (*c)->watch(configmaps, "locked", all_events);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == api::errc::forbidden);
    CHECK(refused.error().message.find("configmaps is forbidden") != std::string::npos);
}

TEST_CASE("a watch connection dropped mid-stream is an error, not a hang") {
    https_server server;
    server.http.Get(
        "/api/v1/namespaces/locked/configmaps", [](const httplib::Request&, httplib::Response& res) {
            res.status = 403;
            res.set_content(status_json(403, "Forbidden", "configmaps is forbidden"), "application/json");
        });
    server.http.Get("/api/v1/namespaces/ns/configmaps", [](const httplib::Request&, httplib::Response& res) {
        res.set_chunked_content_provider("application/json", [](size_t, httplib::DataSink& sink) {
            auto e = event("ADDED", configmap_json("a", "6")) + R"({"type":"MODIF)";
            sink.write(e.data(), e.size());
            return false; // httplib closes the connection without the last chunk
        });
    });
    server.start();
    run_bounded(dropped_watch_checks(server.config()));
}

awaitable<void> idle_watch_checks(config::cluster_config cfg) {
    client::client_options o;
    o.watch_idle_timeout = 300ms;
    auto ex = co_await asio::this_coro::executor;
    auto c = make_client(ex, cfg, o);
    REQUIRE(c);
    auto w = co_await (*c)->watch(configmaps, "ns", all_events);
    REQUIRE_MESSAGE(w, w.error().message);
    auto first = co_await w->next();
    REQUIRE_MESSAGE(first, first.error().message);
    auto start = std::chrono::steady_clock::now();
    auto idle = co_await w->next();
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(idle);
    CHECK(idle.error().code == core::errc::timeout);
    CHECK(idle.error().message == "watch /api/v1/namespaces/ns/configmaps: no bytes for 300ms");
    CHECK(took >= 300ms);
    CHECK(took < 2s);
}

awaitable<void> next_into(client::watch_stream* w,
                          std::optional<core::result<std::optional<json::watch_event>>>* out) {
    out->emplace(co_await w->next());
}

awaitable<void> close_later(client::watch_stream* w) {
    co_await pause(100ms);
    w->close();
}

awaitable<void> destroy_later(std::unique_ptr<client::watch_stream> w) {
    co_await pause(100ms);
    w.reset();
}

awaitable<void> closing_watch_checks(config::cluster_config cfg) {
    using namespace awaitable_operators;
    auto ex = co_await asio::this_coro::executor;
    auto c = make_client(ex, cfg);
    REQUIRE(c);
    {
        auto w = co_await (*c)->watch(configmaps, "ns", all_events);
        REQUIRE_MESSAGE(w, w.error().message);
        auto first = co_await w->next();
        REQUIRE(first);
        std::optional<core::result<std::optional<json::watch_event>>> pending;
        auto start = std::chrono::steady_clock::now();
        co_await (next_into(&*w, &pending) && close_later(&*w));
        CHECK(std::chrono::steady_clock::now() - start < 1s);
        REQUIRE(pending);
        REQUIRE_FALSE(*pending);
        CHECK(pending->error().code == core::errc::cancelled);
    }
    {
        auto w = co_await (*c)->watch(configmaps, "ns", all_events);
        REQUIRE_MESSAGE(w, w.error().message);
        auto owned = std::make_unique<client::watch_stream>(std::move(*w));
        std::optional<core::result<std::optional<json::watch_event>>> pending;
        auto start = std::chrono::steady_clock::now();
        auto* raw = owned.get();
        co_await (next_into(raw, &pending) && destroy_later(std::move(owned)));
        CHECK(std::chrono::steady_clock::now() - start < 1s);
        REQUIRE(pending);
        // The first event may already be there; otherwise the destruction cancelled the wait.
        if (!*pending)
            CHECK(pending->error().code == core::errc::cancelled);
    }
}

void quiet_watch_route(https_server& server) {
    server.http.Get("/api/v1/namespaces/ns/configmaps",
                    [&server](const httplib::Request&, httplib::Response& res) {
                        res.set_chunked_content_provider(
                            "application/json", [&server](size_t offset, httplib::DataSink& sink) {
                                if (offset == 0) {
                                    auto e = event("ADDED", configmap_json("a", "6"));
                                    return sink.write(e.data(), e.size());
                                }
                                server.wait(5s); // then nothing: a silent watch
                                return false;
                            });
                    });
}

TEST_CASE("a silent watch hits the idle timeout") {
    https_server server;
    quiet_watch_route(server);
    server.start();
    run_bounded(idle_watch_checks(server.config()));
}

TEST_CASE("closing or destroying a watch completes a pending next() at once") {
    https_server server;
    quiet_watch_route(server);
    server.start();
    run_bounded(closing_watch_checks(server.config()));
}

// ---------------------------------------------------------------------------------------------
// Discovery

awaitable<void> discovery_checks(config::cluster_config cfg) {
    auto ex = co_await asio::this_coro::executor;
    auto c = make_client(ex, cfg);
    REQUIRE(c);
    // (Versions named outside the co_await: g++ 12 cannot keep an initializer_list across it.)
    const std::vector<std::string> batch_versions{"v1", "v1beta1"};
    const std::vector<std::string> core_versions{"v1"};
    const std::vector<std::string> example_versions{"v1", "v2"};
    auto cron = co_await (*c)->discover("batch", batch_versions, "cronjobs");
    REQUIRE_MESSAGE(cron, cron.error().message);
    CHECK(*cron == api::resource{"batch", "v1beta1", "cronjobs", "CronJob", api::scope::namespaced});

    auto jobs = co_await (*c)->discover("batch", batch_versions, "jobs");
    REQUIRE_MESSAGE(jobs, jobs.error().message);
    CHECK(*jobs == api::resource{"batch", "v1", "jobs", "Job", api::scope::namespaced});

    auto ns = co_await (*c)->discover("", core_versions, "namespaces");
    REQUIRE_MESSAGE(ns, ns.error().message);
    CHECK(*ns == api::resource{"", "v1", "namespaces", "Namespace", api::scope::cluster});

    auto none = co_await (*c)->discover("example.com", example_versions, "widgets");
    REQUIRE_FALSE(none);
    CHECK(none.error().code == api::errc::not_found);
    CHECK(none.error().message.find("example.com/v1, example.com/v2") != std::string::npos);
}

TEST_CASE("discovery picks the first served version and caches the answers") {
    https_server server;
    std::atomic<int> batch_v1{0};
    server.http.Get("/apis/batch/v1", [&](const httplib::Request&, httplib::Response& res) {
        ++batch_v1;
        res.set_content(
            R"({"kind":"APIResourceList","groupVersion":"batch/v1","resources":[
                {"name":"jobs","singularName":"","namespaced":true,"kind":"Job","verbs":["get"]},
                {"name":"jobs/status","singularName":"","namespaced":true,"kind":"Job","verbs":["get"]}]})",
            "application/json");
    });
    server.http.Get("/apis/batch/v1beta1", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(
            R"({"kind":"APIResourceList","groupVersion":"batch/v1beta1","resources":[
                {"name":"cronjobs","singularName":"","namespaced":true,"kind":"CronJob","verbs":["get"]}]})",
            "application/json");
    });
    server.http.Get("/api/v1", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(
            R"({"kind":"APIResourceList","groupVersion":"v1","resources":[
                {"name":"namespaces","namespaced":false,"kind":"Namespace","verbs":["get"]}]})",
            "application/json");
    });
    server.http.Get(R"(/apis/example\.com/.*)", [](const httplib::Request&, httplib::Response& res) {
        res.status = 404;
        res.set_content("404 page not found", "text/plain");
    });
    server.start();
    run_bounded(discovery_checks(server.config()));
    CHECK(batch_v1 == 1);
}

// ---------------------------------------------------------------------------------------------
// A keep-alive connection that the server drops just as the next request arrives (the race the
// idle check cannot see): the client retries once on a fresh connection. Plain http:// here,
// with a scripted server on the same io_context.

namespace {

awaitable<std::string> read_head(asio::ip::tcp::socket& s) {
    std::string in;
    std::array<char, 1024> buf;
    while (in.find("\r\n\r\n") == std::string::npos) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
        if (ec)
            co_return in;
        in.append(buf.data(), n);
    }
    co_return in;
}

std::string first_line(const std::string& head) {
    return head.substr(0, head.find("\r\n"));
}

awaitable<void> answer(asio::ip::tcp::socket& s, std::string body) {
    auto out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
    co_await asio::async_write(s, asio::buffer(out), use_tuple);
}

// Connection 1 answers one request, then reads the next and closes without answering.
// Connection 2 answers.
awaitable<void> scripted_server(asio::ip::tcp::acceptor* acceptor, std::vector<std::string>* log) {
    auto [ec1, first] = co_await acceptor->async_accept(use_tuple);
    REQUIRE_FALSE(ec1);
    log->push_back("1: " + first_line(co_await read_head(first)));
    co_await answer(first, configmap_json("a"));
    log->push_back("1: " + first_line(co_await read_head(first)));
    first.close();
    auto [ec2, second] = co_await acceptor->async_accept(use_tuple);
    REQUIRE_FALSE(ec2);
    log->push_back("2: " + first_line(co_await read_head(second)));
    co_await answer(second, configmap_json("b"));
    auto rest = co_await read_head(second); // until the client closes
    CHECK(rest.empty());
}

awaitable<void> stale_client(config::cluster_config cfg) {
    auto ex = co_await asio::this_coro::executor;
    auto c = make_client(ex, cfg);
    REQUIRE(c);
    auto a = co_await (*c)->get(configmaps, "ns", "a");
    REQUIRE_MESSAGE(a, a.error().message);
    auto b = co_await (*c)->get(configmaps, "ns", "b");
    REQUIRE_MESSAGE(b, b.error().message);
    CHECK(name_of(*b) == "b");
}

awaitable<void> stale_connection_checks(std::vector<std::string>* log) {
    using namespace awaitable_operators;
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::acceptor acceptor(ex, {asio::ip::make_address("127.0.0.1"), 0});
    config::cluster_config cfg;
    cfg.server = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
    co_await (scripted_server(&acceptor, log) && stale_client(cfg));
}

} // namespace

TEST_CASE("a reused connection that fails before any response byte is retried once on a new one") {
    std::vector<std::string> log;
    run_bounded(stale_connection_checks(&log));
    CHECK(log == std::vector<std::string>{"1: GET /api/v1/namespaces/ns/configmaps/a HTTP/1.1",
                                          "1: GET /api/v1/namespaces/ns/configmaps/b HTTP/1.1",
                                          "2: GET /api/v1/namespaces/ns/configmaps/b HTTP/1.1"});
}
