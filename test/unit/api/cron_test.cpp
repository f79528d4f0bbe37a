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

namespace {
std::chrono::system_clock::time_point at(int y, unsigned mo, unsigned d, int h, int mi, int s = 0) {
    using namespace std::chrono;
    return sys_days{year{y} / month{mo} / day{d}} + hours(h) + minutes(mi) + seconds(s);
}
std::optional<std::chrono::system_clock::time_point> next(std::string_view schedule,
                                                          std::chrono::system_clock::time_point after) {
    return api::next_run(schedule, after);
}
} // namespace

TEST_CASE("next_run: the first activation strictly after a time, in UTC") {
    CHECK(next("0 2 * * *", at(2026, 12, 6, 1, 59, 59)) == at(2026, 12, 6, 2, 0));
    CHECK(next("0 2 * * *", at(2026, 12, 6, 2, 0)) == at(2026, 12, 7, 2, 0)); // strictly after
    CHECK(next("*/15 * * * *", at(2026, 12, 6, 10, 7)) == at(2026, 12, 6, 10, 15));
    CHECK(next("* * * * *", at(2026, 12, 6, 10, 7, 30)) == at(2026, 12, 6, 10, 8));
    CHECK(next("0 */6 * * *", at(2026, 12, 6, 19, 0)) == at(2026, 12, 7, 0, 0));
    CHECK(next("30 4 1 * *", at(2026, 12, 6, 0, 0)) == at(2027, 1, 1, 4, 30));   // across a year
    CHECK(next("0 0 29 2 *", at(2026, 3, 1, 0, 0)) == at(2028, 2, 29, 0, 0));    // leap day
    CHECK(next("0 0 * * SUN", at(2026, 12, 6, 0, 0)) == at(2026, 12, 13, 0, 0)); // 6 Dec 2026 is a Sunday
    CHECK(next("0 0 * * 1-5", at(2026, 12, 5, 12, 0)) == at(2026, 12, 7, 0, 0)); // Saturday -> Monday
    // Both day fields restricted: either matches (the 13th, or a Friday).
    CHECK(next("0 0 13 * 5", at(2026, 12, 6, 0, 0)) == at(2026, 12, 11, 0, 0));
    CHECK(next("0 0 1-31/2 JAN-MAR *", at(2026, 12, 6, 0, 0)) == at(2027, 1, 1, 0, 0));
    CHECK(next("@daily", at(2026, 12, 6, 10, 0)) == at(2026, 12, 7, 0, 0));
    CHECK(next("@hourly", at(2026, 12, 6, 10, 0)) == at(2026, 12, 6, 11, 0));
    CHECK(next("@weekly", at(2026, 12, 6, 10, 0)) == at(2026, 12, 13, 0, 0));
    CHECK(next("@yearly", at(2026, 12, 6, 10, 0)) == at(2027, 1, 1, 0, 0));
    CHECK(next("@every 1h30m", at(2026, 12, 6, 10, 0)) == at(2026, 12, 6, 11, 30));
    CHECK_FALSE(next("0 0 30 2 *", at(2026, 12, 6, 0, 0)).has_value()); // never
    CHECK_FALSE(next("not a schedule", at(2026, 12, 6, 0, 0)).has_value());
}
