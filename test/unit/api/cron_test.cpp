#include <kubecoro/api/cron.hpp>
#include <kubecoro/core/errc.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace kubecoro;

namespace {
// The error message, or "" when the schedule is valid.
std::string problem(std::string_view schedule) {
    auto r = api::validate_cron(schedule);
    if (r)
        return "";
    CHECK(r.error().code == core::errc::invalid_argument);
    return r.error().message;
}
bool mentions(std::string_view schedule, std::string_view text) {
    auto p = problem(schedule);
    INFO(p);
    return p.find(text) != std::string::npos;
}
} // namespace

TEST_CASE("valid schedules") {
    for (std::string_view s : {"* * * * *",
                               "*/5 * * * *",
                               "0 0 * * *",
                               "0 9-17 * * MON-FRI",
                               "30 2 1,15 * *",
                               "0 0 1 jan,Jul *",
                               "0 0-23/2 * * *",
                               "5/15 * * * *",
                               "0 0 ? * ?",
                               "59 23 31 12 6",
                               "0 0 * DEC SAT",
                               "0 0 * * sun",
                               "0 0 1-31/7 1-12/3 0-6/2",
                               "00 05 * * *",
                               "  0   0\t* *  *  ",
                               "@yearly",
                               "@annually",
                               "@monthly",
                               "@weekly",
                               "@daily",
                               "@midnight",
                               "@hourly",
                               "@every 1h30m",
                               "@every 90s",
                               "@every 1.5h",
                               "@every 500ms",
                               "@every 0"}) {
        CAPTURE(s);
        CHECK(problem(s) == "");
    }
}

TEST_CASE("field counts") {
    CHECK(mentions("", "empty schedule"));
    CHECK(mentions("   ", "found 0"));
    CHECK(mentions("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 4"));
    CHECK(mentions("0 * * * * *", "found 6"));
}

TEST_CASE("out of range values name the field") {
    CHECK(problem("60 * * * *") ==
          "invalid cron schedule \"60 * * * *\": minute field \"60\": 60 is above the maximum 59");
    CHECK(mentions("* 24 * * *", "hour field \"24\": 24 is above the maximum 23"));
    CHECK(mentions("* * 0 * *", "day-of-month field \"0\": 0 is below the minimum 1"));
    CHECK(mentions("* * 32 * *", "day-of-month field"));
    CHECK(mentions("* * * 0 *", "month field \"0\": 0 is below the minimum 1"));
    CHECK(mentions("* * * 13 *", "month field"));
    // Kubernetes (robfig/cron v3) allows 0-6 only: 7 is not Sunday there.
    CHECK(mentions("* * * * 7", "day-of-week field \"7\": 7 is above the maximum 6"));
    CHECK(mentions("* * * * 1-7", "day-of-week field"));
    CHECK(mentions("99999999999 * * * *", "minute field"));
    CHECK(mentions("0,5,60 * * * *", "60 is above the maximum 59"));
}

TEST_CASE("malformed fields") {
    CHECK(mentions("5-1 * * * *", "minute field \"5-1\": range start 5 is after its end 1"));
    CHECK(mentions("*/0 * * * *", "step \"0\" is not a positive number"));
    CHECK(mentions("*/ * * * *", "step \"\" is not a positive number"));
    CHECK(mentions("*/-1 * * * *", "is not a positive number"));
    CHECK(mentions("*/5/2 * * * *", "minute field"));
    CHECK(mentions("-1 * * * *", "\"\" is not a number"));
    CHECK(mentions("1-2-3 * * * *", "minute field"));
    CHECK(mentions("a * * * *", "minute field \"a\": \"a\" is not a number"));
    CHECK(mentions("1,,2 * * * *", "empty list element"));
    CHECK(mentions(",1 * * * *", "empty list element"));
    CHECK(mentions("*-5 * * * *", "minute field"));
    CHECK(mentions("+5 * * * *", "minute field"));
    CHECK(mentions("* * * foo *", "month field \"foo\": \"foo\" is not a number or a name"));
    CHECK(mentions("* * * * MONDAY", "day-of-week field"));
    CHECK(mentions("* * * * jan", "day-of-week field"));
    CHECK(mentions("* * mon * *", "day-of-month field \"mon\": \"mon\" is not a number"));
    CHECK(mentions("* * * * FRI-MON", "range start 5 is after its end 1"));
}

TEST_CASE("macros") {
    CHECK(mentions("@reboot", "unknown macro"));
    CHECK(mentions("@Daily", "unknown macro"));
    CHECK(mentions("@daily ", "unknown macro"));
    CHECK(mentions("@every", "unknown macro"));
    CHECK(mentions("@every ", "@every needs a duration"));
    CHECK(mentions("@every 1x", "@every needs a duration"));
    CHECK(mentions("@every h", "@every needs a duration"));
    CHECK(mentions("@every 10", "@every needs a duration"));
    CHECK(mentions("@every 1h 30m", "@every needs a duration"));
    CHECK(mentions("@every 3000000h", "@every needs a duration"));
    CHECK(mentions(" @daily", "found 1"));
}

TEST_CASE("time zones belong in the timeZone field") {
    CHECK(mentions("TZ=UTC 0 0 * * *", "use the timeZone field"));
    CHECK(mentions("CRON_TZ=Europe/Berlin 0 0 * * *", "use the timeZone field"));
}
