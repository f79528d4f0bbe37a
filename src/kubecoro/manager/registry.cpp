#include <kubecoro/manager/registry.hpp>

namespace kubecoro::manager {
namespace {

// A function-local static: initialised before the first registration whatever the link order.
std::map<std::string, controller_factory>& registry() {
    static std::map<std::string, controller_factory> r;
    return r;
}

std::map<std::string, admission_factory>& admissions() {
    static std::map<std::string, admission_factory> r;
    return r;
}

} // namespace

bool register_admission(std::string name, admission_factory factory) {
    admissions().insert_or_assign(std::move(name), std::move(factory));
    return true;
}

const std::map<std::string, admission_factory>& registered_admissions() {
    return admissions();
}

bool register_controller(std::string name, controller_factory factory) {
    registry().insert_or_assign(std::move(name), std::move(factory));
    return true;
}

const std::map<std::string, controller_factory>& registered_controllers() {
    return registry();
}

} // namespace kubecoro::manager
