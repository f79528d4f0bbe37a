#include <kubecoro/api/errc.hpp>
#include <kubecoro/api/status.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;
using api::errc;

TEST_CASE("errc_from_status") {
    CHECK(api::errc_from_status(400, "BadRequest") == errc::bad_request);
    CHECK(api::errc_from_status(401, "Unauthorized") == errc::unauthorized);
    CHECK(api::errc_from_status(403, "Forbidden") == errc::forbidden);
    CHECK(api::errc_from_status(404, "NotFound") == errc::not_found);
    CHECK(api::errc_from_status(405, "MethodNotAllowed") == errc::method_not_allowed);
    CHECK(api::errc_from_status(409, "AlreadyExists") == errc::already_exists);
    CHECK(api::errc_from_status(409, "Conflict") == errc::conflict);
    CHECK(api::errc_from_status(409, "") == errc::conflict);
    CHECK(api::errc_from_status(410, "Expired") == errc::gone);
    CHECK(api::errc_from_status(410, "Gone") == errc::gone);
    CHECK(api::errc_from_status(422, "Invalid") == errc::invalid);
    CHECK(api::errc_from_status(429, "TooManyRequests") == errc::too_many_requests);
    CHECK(api::errc_from_status(500, "InternalError") == errc::server_error);
    CHECK(api::errc_from_status(500, "ServerTimeout") == errc::server_timeout);
    CHECK(api::errc_from_status(503, "ServiceUnavailable") == errc::service_unavailable);
    CHECK(api::errc_from_status(504, "") == errc::server_timeout);
    CHECK(api::errc_from_status(504, "Timeout") == errc::server_timeout);
    CHECK(api::errc_from_status(408, "Timeout") == errc::server_timeout);
    CHECK(api::errc_from_status(418, "") == errc::unexpected_status);
    CHECK(api::errc_from_status(502, nullptr) == errc::unexpected_status);
    CHECK(api::errc_from_status(404, nullptr) == errc::not_found);
    // No HTTP status (a watch ERROR event): the reason decides.
    CHECK(api::errc_from_status(0, "Expired") == errc::gone);
    CHECK(api::errc_from_status(0, "NotFound") == errc::not_found);
    CHECK(api::errc_from_status(0, "AlreadyExists") == errc::already_exists);
    CHECK(api::errc_from_status(0, "Something") == errc::unexpected_status);
    CHECK(api::errc_from_status(0, nullptr) == errc::unexpected_status);
}

TEST_CASE("api error category") {
    std::error_code ec = errc::gone;
    CHECK(ec.category().name() == std::string("kubecoro.api"));
    CHECK(ec.message() == "gone");
    CHECK(std::error_code(errc::already_exists).message() == "already exists");
    CHECK(ec != std::error_code(errc::not_found));
}

TEST_CASE("to_error") {
    api::status s;
    s.code = 404;
    s.status = "Failure";
    s.reason = "NotFound";
    s.message = "configmaps \"x\" not found";
    auto e = api::to_error(404, s);
    CHECK(e.code == errc::not_found);
    CHECK(e.message == "404 NotFound: configmaps \"x\" not found");
    CHECK(e.http_status == 404);
    CHECK(e.retry_after == std::chrono::milliseconds(0));

    api::status busy{429, "Failure", "TooManyRequests", "slow down", "", "", {}, 3};
    auto b = api::to_error(429, busy);
    CHECK(b.code == errc::too_many_requests);
    CHECK(b.retry_after == std::chrono::seconds(3));

    api::status expired{410, "Failure", "Expired", "too old resource version: 1 (20)"};
    auto g = api::to_error(0, expired);
    CHECK(g.code == errc::gone);
    CHECK(g.http_status == 410);
    CHECK(g.message == "410 Expired: too old resource version: 1 (20)");

    auto bare = api::to_error(502, api::status{});
    CHECK(bare.code == errc::unexpected_status);
    CHECK(bare.message == "502");

    auto exists = api::to_error(409, api::status{409, "Failure", "AlreadyExists", ""});
    CHECK(exists.code == errc::already_exists);
    CHECK(exists.message == "409 AlreadyExists");
}
