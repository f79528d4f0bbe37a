// result<T>: a value or a core::error. Errors are values at module boundaries.
#pragma once

#include <chrono>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace kubecoro::core {

// A failure: what kind (code), and what happened where (message, for logs and conditions).
struct error {
    std::error_code code;
    std::string message;
    int http_status = 0;                      // HTTP status when the API server answered, else 0
    std::chrono::milliseconds retry_after{0}; // from Retry-After (429/503), else 0
};

struct failure {
    error err;
};

inline failure fail(std::error_code code, std::string message) {
    return failure{error{code, std::move(message)}};
}
inline failure fail(error e) {
    return failure{std::move(e)};
}

template <class T>
class [[nodiscard]] result {
public:
    result(T value)
        : v_(std::in_place_index<0>, std::move(value)) {}
    result(failure f)
        : v_(std::in_place_index<1>, std::move(f.err)) {}

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const core::error& error() const& { return std::get<1>(v_); }
    core::error&& error() && { return std::get<1>(std::move(v_)); }

private:
    std::variant<T, core::error> v_;
};

template <>
class [[nodiscard]] result<void> {
public:
    result() = default;
    result(failure f)
        : err_(std::move(f.err))
        , ok_(false) {}

    bool has_value() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    void value() const {}
    const core::error& error() const& { return err_; }
    core::error&& error() && { return std::move(err_); }

private:
    core::error err_;
    bool ok_ = true;
};

} // namespace kubecoro::core
