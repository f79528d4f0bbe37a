// Any string as a CronJob schedule: no crash; failures explain themselves; a valid five-field
// schedule stops being valid with a sixth field.
#include "fuzz_support.hpp"
#include <kubecoro/api/cron.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto in = fuzz::as_view(data, size);
    auto r = kubecoro::api::validate_cron(in);
    if (!r) {
        fuzz::check(r.error().message.rfind("invalid cron schedule \"", 0) == 0);
        return 0;
    }
    if (in.front() != '@')
        fuzz::check(!kubecoro::api::validate_cron(std::string(in) + " *"));
    return 0;
}
