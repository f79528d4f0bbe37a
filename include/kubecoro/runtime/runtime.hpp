// Everything a controller author needs from the runtime.
#pragma once

#include <kubecoro/runtime/apply.hpp>
#include <kubecoro/runtime/conditions.hpp>
#include <kubecoro/runtime/controller.hpp>
#include <kubecoro/runtime/event_recorder.hpp>
#include <kubecoro/runtime/finalizer.hpp>
#include <kubecoro/runtime/object.hpp>
#include <kubecoro/runtime/predicates.hpp>
#include <kubecoro/runtime/store.hpp>
#include <kubecoro/runtime/watcher.hpp>
