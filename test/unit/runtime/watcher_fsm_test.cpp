#include <kubecoro/api/errc.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/runtime/watcher_fsm.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;
using namespace kubecoro::runtime;
using namespace std::chrono_literals;
using type = watcher_action::type;

namespace {

const core::backoff_config no_jitter{800ms, 30s, 2.0, 0.0, 120s};
const core::error gone{api::errc::gone, "410 Expired"};
const core::error broken{core::errc::io, "connection reset"};
const core::error idle{core::errc::timeout, "no bytes for 70000ms"};

struct fixture {
    watcher_fsm fsm{no_jitter, 1};
    watcher_fsm::clock::time_point now{};

    // Lists one page and returns the watch action that follows.
    watcher_action list_once(std::string rv) {
        auto list = fsm.next(now);
        REQUIRE(list.kind == type::list);
        CHECK(list.continue_token.empty());
        REQUIRE(fsm.on_page(std::move(rv), ""));
        return fsm.next(now);
    }
};

} // namespace

TEST_CASE_FIXTURE(fixture, "pages are listed in order, then the watch starts at the list's version") {
    CHECK(fsm.state() == watcher_state::initial);
    auto first = fsm.next(now);
    CHECK(first.kind == type::list);
    CHECK(first.continue_token.empty());
    CHECK(fsm.state() == watcher_state::listing);

    CHECK_FALSE(fsm.on_page("", "page-2"));
    CHECK_FALSE(fsm.listed());
    auto second = fsm.next(now);
    CHECK(second.kind == type::list);
    CHECK(second.continue_token == "page-2");

    CHECK(fsm.on_page("100", ""));
    CHECK(fsm.listed());
    auto watch = fsm.next(now);
    CHECK(watch.kind == type::watch);
    CHECK(watch.resource_version == "100");
    CHECK(fsm.state() == watcher_state::watching);
}

TEST_CASE_FIXTURE(fixture, "events and bookmarks move the version the next watch starts from") {
    list_once("100");
    fsm.on_event("105");
    fsm.on_event(""); // an event without a version changes nothing
    CHECK(fsm.resource_version() == "105");
    fsm.on_event("130"); // a bookmark
    fsm.on_watch_ended();
    auto again = fsm.next(now);
    CHECK(again.kind == type::watch);
    CHECK(again.resource_version == "130");
}

TEST_CASE_FIXTURE(fixture, "410 Gone while watching relists at once, from scratch") {
    list_once("100");
    fsm.on_event("120");
    fsm.on_error(gone, now);
    CHECK(fsm.state() == watcher_state::listing);
    auto relist = fsm.next(now);
    CHECK(relist.kind == type::list);
    CHECK(relist.continue_token.empty());
    CHECK(fsm.resource_version().empty());
    CHECK(fsm.on_page("200", ""));
    CHECK(fsm.next(now).resource_version == "200");
}

TEST_CASE_FIXTURE(fixture, "an expired continue token restarts the list after a backoff") {
    fsm.next(now);
    CHECK_FALSE(fsm.on_page("", "page-2"));
    fsm.next(now);
    fsm.on_error(gone, now);
    CHECK(fsm.state() == watcher_state::backoff);
    CHECK(fsm.next(now).kind == type::sleep);
    auto restart = fsm.next(now + 1s);
    CHECK(restart.kind == type::list);
    CHECK(restart.continue_token.empty());
}

TEST_CASE_FIXTURE(fixture, "other errors back off exponentially and resume where they were") {
    list_once("100");
    fsm.on_event("110");

    fsm.on_error(broken, now);
    CHECK(fsm.state() == watcher_state::backoff);
    CHECK(fsm.last_delay() == 800ms);
    auto sleep = fsm.next(now);
    CHECK(sleep.kind == type::sleep);
    CHECK(sleep.until == now + 800ms);
    // Not before the deadline.
    CHECK(fsm.next(now + 799ms).kind == type::sleep);

    now += 800ms;
    auto resume = fsm.next(now);
    CHECK(resume.kind == type::watch);
    CHECK(resume.resource_version == "110");

    fsm.on_error(broken, now);
    CHECK(fsm.last_delay() == 1600ms);
    now += 1600ms;
    fsm.next(now);
    fsm.on_error(broken, now);
    CHECK(fsm.last_delay() == 3200ms);

    SUBCASE("the delay is capped") {
        for (int i = 0; i < 10; ++i) {
            now += fsm.last_delay();
            fsm.next(now);
            fsm.on_error(broken, now);
        }
        CHECK(fsm.last_delay() == 30s);
    }
    SUBCASE("two quiet minutes reset it") {
        now += 3200ms;
        CHECK(fsm.next(now).kind == type::watch);
        now += 2min;
        fsm.on_error(broken, now);
        CHECK(fsm.last_delay() == 800ms);
    }
    SUBCASE("a shorter quiet period does not") {
        now += 3200ms + 1min;
        fsm.next(now);
        fsm.on_error(broken, now);
        CHECK(fsm.last_delay() == 6400ms);
    }
}

TEST_CASE_FIXTURE(fixture, "an event starts the backoff over") {
    list_once("100");
    for (int i = 0; i < 3; ++i) {
        fsm.on_error(broken, now);
        now += fsm.last_delay();
        CHECK(fsm.next(now).kind == type::watch);
    }
    CHECK(fsm.last_delay() == 3200ms);
    fsm.on_event("120"); // the watch that followed delivered an event
    fsm.on_error(broken, now);
    CHECK(fsm.last_delay() == 800ms);
}

TEST_CASE_FIXTURE(fixture,
                  "a silent watch (idle timeout) is watched again at once, a silent list backs off") {
    list_once("100");
    fsm.on_error(broken, now);
    now += 800ms;
    CHECK(fsm.next(now).kind == type::watch);
    fsm.on_error(idle, now);
    CHECK(fsm.state() == watcher_state::watching);
    auto again = fsm.next(now);
    CHECK(again.kind == type::watch);
    CHECK(again.resource_version == "100");
    fsm.on_error(broken, now); // the idle timeout neither reset nor grew the backoff
    CHECK(fsm.last_delay() == 1600ms);

    watcher_fsm listing{no_jitter, 1};
    CHECK(listing.next(now).kind == type::list);
    listing.on_error(idle, now);
    CHECK(listing.state() == watcher_state::backoff);
}

TEST_CASE_FIXTURE(fixture, "a failed first list is retried as a list") {
    fsm.next(now);
    fsm.on_error(broken, now);
    CHECK(fsm.next(now).kind == type::sleep);
    auto retry = fsm.next(now + 800ms);
    CHECK(retry.kind == type::list);
    CHECK(retry.continue_token.empty());
    CHECK_FALSE(fsm.listed());
}

TEST_CASE_FIXTURE(fixture, "a mid-list failure resumes at the same page") {
    fsm.next(now);
    CHECK_FALSE(fsm.on_page("", "page-2"));
    fsm.next(now);
    fsm.on_error(broken, now);
    auto retry = fsm.next(now + 800ms);
    CHECK(retry.kind == type::list);
    CHECK(retry.continue_token == "page-2");
}

TEST_CASE_FIXTURE(fixture, "Retry-After lengthens the backoff") {
    core::error throttled{api::errc::too_many_requests, "429", 429, 5s};
    fsm.next(now);
    fsm.on_error(throttled, now);
    CHECK(fsm.last_delay() == 5s);
    CHECK(fsm.next(now + 4s).kind == type::sleep);
}

TEST_CASE("jitter keeps the backoff within [delay / 2, delay]") {
    watcher_fsm fsm(core::watcher_backoff, 42);
    watcher_fsm::clock::time_point now{};
    fsm.next(now);
    for (int i = 0; i < 5; ++i) {
        fsm.on_error(broken, now);
        auto full = core::exponential_delay(core::watcher_backoff, static_cast<unsigned>(i));
        CHECK(fsm.last_delay() <= full);
        CHECK(fsm.last_delay() >= full / 2);
        now += fsm.last_delay();
        fsm.next(now);
    }
}
