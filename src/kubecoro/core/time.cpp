#include <kubecoro/core/time.hpp>

#include <cstdio>

namespace kubecoro::core {

std::string format_rfc3339(std::chrono::system_clock::time_point t, time_precision p) {
    using namespace std::chrono;
    auto us = floor<microseconds>(t);
    auto day = floor<days>(us);
    year_month_day ymd{day};
    hh_mm_ss<microseconds> hms{us - day};
    char buf[48];
    int n = std::snprintf(buf,
                          sizeof buf,
                          "%04d-%02u-%02uT%02d:%02d:%02d",
                          static_cast<int>(ymd.year()),
                          static_cast<unsigned>(ymd.month()),
                          static_cast<unsigned>(ymd.day()),
                          static_cast<int>(hms.hours().count()),
                          static_cast<int>(hms.minutes().count()),
                          static_cast<int>(hms.seconds().count()));
    const long long fraction = hms.subseconds().count();
    if (p == time_precision::milliseconds)
        n += std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), ".%03lld", fraction / 1000);
    else if (p == time_precision::microseconds)
        n += std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), ".%06lld", fraction);
    std::string out(buf, static_cast<std::size_t>(n));
    out += 'Z';
    return out;
}

} // namespace kubecoro::core
