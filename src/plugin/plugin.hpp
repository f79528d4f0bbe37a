// `kubectl kubecoro`: the binary as a kubectl plugin (installed, or linked, as kubectl-kubecoro on
// the PATH), for Databases: status, connect, backup, restore and report. It reads the cluster
// with the user's kubeconfig, as kubectl does.
#pragma once

#include <string>
#include <vector>

namespace kubecoro::plugin {

// True when the binary was started as kubectl-kubecoro (argv[0]'s file name).
bool invoked_as_plugin(const std::string& argv0);

// Runs a plugin command (args without the program name); the process exit code.
int run(const std::vector<std::string>& args);

std::string usage();

} // namespace kubecoro::plugin
