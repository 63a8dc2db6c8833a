#include "cli/commands.hpp"

#include <iostream>

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  try {
    return vnumad::cli::run_vnumactl(args, {std::cout, std::cerr});
  } catch (const std::exception& e) {
    std::cerr << "vnumactl: " << e.what() << "\n";
    return vnumad::cli::exit_failure;
  }
}
