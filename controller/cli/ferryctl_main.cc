// ferryctl: the command-line client of ferry-controller.

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "controller/cli/runner.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value == nullptr ? "" : value);
  };
  const std::string editor = env("FERRY_EDITOR").empty() ? env("EDITOR") : env("FERRY_EDITOR");
  return ferry::cli::FerryctlMain(args,
                                  {env("FERRY_SERVER"), env("FERRY_CONFIG"), env("HOME"), editor},
                                  {std::cin, std::cout, std::cerr});
}
