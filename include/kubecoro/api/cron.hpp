// CronJob schedules, checked the way the API server checks them (robfig/cron's ParseStandard).
#pragma once

#include <kubecoro/core/result.hpp>

#include <chrono>
#include <optional>
#include <string_view>

namespace kubecoro::api {

// Accepts five whitespace-separated fields (minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or
// JAN-DEC, day-of-week 0-6 or SUN-SAT) each a comma list of `*`, `?`, values, ranges `a-b` and steps
// `*/n`, `a-b/n`, `a/n` (a to the maximum); or one of @yearly @annually @monthly @weekly @daily
// @midnight @hourly, or "@every <Go duration>". Rejects TZ= / CRON_TZ= (Kubernetes wants the timeZone
// field). Fails with core::errc::invalid_argument and a message naming the offending field.
core::result<void> validate_cron(std::string_view schedule);

// The first time strictly after `after` at which a valid schedule fires, read in UTC (the
// controller manager's time zone on the clusters kubecoro targets): whole minutes, day-of-month
// and day-of-week OR-ed when both are restricted (robfig/cron); "@every d" fires d after `after`.
// nullopt for an invalid schedule, or one that never fires within eight years (30 February).
std::optional<std::chrono::system_clock::time_point> next_run(std::string_view schedule,
                                                              std::chrono::system_clock::time_point after);

} // namespace kubecoro::api
