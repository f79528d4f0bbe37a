// The std::error_category behind each module's `enum class errc`: a name and a function that
// describes each enumerator, so a module's errc.cpp holds only its messages.
#pragma once

#include <string>
#include <system_error>

namespace kubecoro::core {

template <class E>
class enum_category final : public std::error_category {
public:
    // `describe` returns nullptr for a value that is no enumerator ("unknown error").
    using describe_fn = const char* (*)(E) noexcept;

    constexpr enum_category(const char* name, describe_fn describe) noexcept
        : name_(name)
        , describe_(describe) {}

    const char* name() const noexcept override { return name_; }
    std::string message(int ev) const override {
        const char* text = describe_(static_cast<E>(ev));
        return text ? text : "unknown error";
    }

private:
    const char* name_;
    describe_fn describe_;
};

} // namespace kubecoro::core
