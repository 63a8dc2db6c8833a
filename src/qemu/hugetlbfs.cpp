#include "qemu/hugetlbfs.hpp"

#include "config/units.hpp"

#include <fstream>
#include <sstream>

namespace vnumad::qemu {

std::map<std::uint64_t, std::string> parse_hugetlbfs_mounts(std::string_view proc_mounts,
                                                            std::uint64_t default_page_bytes) {
  std::map<std::uint64_t, std::string> mounts;
  std::istringstream in{std::string(proc_mounts)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string source, target, type, options;
    if (!(fields >> source >> target >> type >> options) || type != "hugetlbfs") continue;
    std::uint64_t size = default_page_bytes;
    std::istringstream opts(options);
    std::string opt;
    while (std::getline(opts, opt, ',')) {
      if (opt.rfind("pagesize=", 0) != 0) continue;
      if (auto parsed = config::parse_size_with_unit(opt.substr(9))) {
        // /proc/mounts prints "pagesize=2M": M and G there are binary units.
        size = *parsed;
      }
    }
    mounts.emplace(size, target);
  }
  return mounts;
}

std::map<std::uint64_t, std::string> hugetlbfs_mounts_with_defaults(const std::set<std::uint64_t>& page_sizes,
                                                                    std::uint64_t default_page_bytes) {
  std::ifstream in("/proc/mounts");
  std::stringstream text;
  text << in.rdbuf();
  auto mounts = parse_hugetlbfs_mounts(text.str(), default_page_bytes);
  for (std::uint64_t size : page_sizes) {
    if (mounts.contains(size)) continue;
    if (size == default_page_bytes) {
      mounts[size] = "/dev/hugepages";
    } else {
      std::string human = config::format_size(size);  // "1 GiB"
      std::string number = human.substr(0, human.find(' '));
      mounts[size] = "/dev/hugepages" + number + human.substr(human.find(' ') + 1, 1);
    }
  }
  return mounts;
}

}  // namespace vnumad::qemu
