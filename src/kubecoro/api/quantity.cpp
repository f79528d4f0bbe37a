#include <kubecoro/api/quantity.hpp>
#include <kubecoro/core/errc.hpp>

#include <algorithm>
#include <limits>
#include <optional>
#include <string>

namespace kubecoro::api {

namespace {

using u128 = unsigned __int128;
constexpr u128 max_magnitude = static_cast<u128>(std::numeric_limits<__int128>::max());

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

struct suffix {
    int exp10 = 0;
    int exp2 = 0;
};

// Exponents past this are out of range anyway; clamping keeps the arithmetic below small.
constexpr long max_exponent = 100000;

std::optional<suffix> parse_suffix(std::string_view s) {
    if (s.empty())
        return suffix{};
    if (s.size() == 1) {
        switch (s[0]) {
        case 'n':
            return suffix{-9, 0};
        case 'u':
            return suffix{-6, 0};
        case 'm':
            return suffix{-3, 0};
        case 'k':
            return suffix{3, 0};
        case 'M':
            return suffix{6, 0};
        case 'G':
            return suffix{9, 0};
        case 'T':
            return suffix{12, 0};
        case 'P':
            return suffix{15, 0};
        case 'E':
            return suffix{18, 0};
        default:
            return std::nullopt;
        }
    }
    if (s.size() == 2 && s[1] == 'i') {
        constexpr std::string_view binary = "KMGTPE";
        auto i = binary.find(s[0]);
        if (i == std::string_view::npos)
            return std::nullopt;
        return suffix{0, 10 * static_cast<int>(i + 1)};
    }
    if (s[0] != 'e' && s[0] != 'E')
        return std::nullopt;
    s.remove_prefix(1);
    bool negative = s.front() == '-';
    if (s.front() == '-' || s.front() == '+')
        s.remove_prefix(1);
    if (s.empty() || !std::all_of(s.begin(), s.end(), is_digit))
        return std::nullopt;
    long e = 0;
    for (char c : s)
        e = std::min(max_exponent, e * 10 + (c - '0'));
    return suffix{static_cast<int>(negative ? -e : e), 0};
}

// Little-endian decimal digits times two.
void double_digits(std::string& rev) {
    int carry = 0;
    for (auto& d : rev) {
        int v = (d - '0') * 2 + carry;
        d = static_cast<char>('0' + v % 10);
        carry = v / 10;
    }
    if (carry)
        rev.push_back(static_cast<char>('0' + carry));
}

std::int64_t scaled_up(__int128 nano, __int128 unit) {
    __int128 q = nano / unit;
    if (nano % unit != 0)
        q += nano > 0 ? 1 : -1;
    constexpr auto lo = std::numeric_limits<std::int64_t>::min();
    constexpr auto hi = std::numeric_limits<std::int64_t>::max();
    return static_cast<std::int64_t>(std::clamp<__int128>(q, lo, hi));
}
} // namespace

std::int64_t quantity::value() const noexcept {
    return scaled_up(nano, 1'000'000'000);
}
std::int64_t quantity::milli_value() const noexcept {
    return scaled_up(nano, 1'000'000);
}

core::result<quantity> parse_quantity(std::string_view s, sign_policy sign) {
    auto bad = [s](std::string_view why) {
        constexpr std::size_t shown = 64;
        std::string in(s.substr(0, shown));
        if (s.size() > shown)
            in += "...";
        return core::fail(core::errc::invalid_argument,
                          "invalid quantity \"" + in + "\": " + std::string(why));
    };

    std::size_t i = 0;
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-'))
        negative = s[i++] == '-';
    auto int_begin = i;
    while (i < s.size() && is_digit(s[i]))
        ++i;
    auto int_digits = s.substr(int_begin, i - int_begin);
    std::string_view frac_digits;
    if (i < s.size() && s[i] == '.') {
        auto frac_begin = ++i;
        while (i < s.size() && is_digit(s[i]))
            ++i;
        frac_digits = s.substr(frac_begin, i - frac_begin);
    }
    if (int_digits.empty() && frac_digits.empty())
        return bad("expected a number");
    auto suf = parse_suffix(s.substr(i));
    if (!suf)
        return bad("unknown suffix");

    // value = D * 2^exp2 * 10^point, D the digits without the decimal point, in nano-units.
    std::string digits = std::string(int_digits) + std::string(frac_digits);
    digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
    long point = long{suf->exp10} - static_cast<long>(frac_digits.size()) + 9;
    quantity q;
    if (!digits.empty()) {
        std::string rev(digits.rbegin(), digits.rend());
        for (int k = 0; k < suf->exp2; ++k)
            double_digits(rev);
        auto len = static_cast<long>(rev.size());
        long int_len = len + point; // digits left of the nano point
        if (int_len > 39)
            return bad("out of range");
        u128 magnitude = 0;
        bool overflow = false;
        auto push = [&](unsigned d) {
            overflow = overflow || __builtin_mul_overflow(magnitude, 10u, &magnitude) ||
                       __builtin_add_overflow(magnitude, d, &magnitude);
        };
        bool fraction = false;
        for (long pos = 0; pos < len; ++pos) {
            unsigned d = static_cast<unsigned>(rev[static_cast<std::size_t>(len - 1 - pos)] - '0');
            if (pos < int_len)
                push(d);
            else
                fraction = fraction || d != 0;
        }
        for (long pos = len; pos < int_len; ++pos)
            push(0);
        // Kubernetes rounds precision finer than 1n up.
        if (fraction)
            overflow = overflow || __builtin_add_overflow(magnitude, 1u, &magnitude);
        if (overflow || magnitude > max_magnitude)
            return bad("out of range");
        q.nano = negative ? -static_cast<__int128>(magnitude) : static_cast<__int128>(magnitude);
    }
    if (sign == sign_policy::non_negative && q.nano < 0)
        return bad("must not be negative");
    return q;
}

} // namespace kubecoro::api
