// ferryctl: the command-line client of ferry-controller.

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "controller/cli/runner.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const char* env_server = std::getenv("FERRY_SERVER");
  return ferry::cli::FerryctlMain(args, env_server == nullptr ? "" : env_server,
                                  {std::cin, std::cout, std::cerr});
}
