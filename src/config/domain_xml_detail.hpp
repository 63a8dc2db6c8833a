// Pieces of the domain XML reader and writer, split by part of the document so
// each file keeps one concern. Internal to src/config.
#pragma once

#include "config/domain.hpp"
#include "config/xml_util.hpp"

#include <algorithm>
#include <iterator>
#include <vector>

namespace vnumad::config::detail {

using xml::ptree;

// Reader: each fills its part of `d` from the <domain> element. Messages do not
// carry the file name; parse_domain_* prefix it.
result<void> read_cpus(const ptree& dom, domain& d);       // vcpu, vcpus, cputune, cpu
result<void> read_memory(const ptree& dom, domain& d);     // memory*, numatune, memoryBacking
result<void> read_vnuma(const ptree& dom, domain& d);
result<void> read_devices(const ptree& devices, devices_def& out);
result<void> read_qemu_commandline(const ptree& dom, domain& d);  // <qemu:commandline>

// Shared reader helpers.
result<std::uint64_t> read_scaled(const ptree& node, std::string_view elem);  // text + unit attribute
result<std::optional<id_set>> read_set_attr(const ptree& node, std::string_view elem, std::string_view name);

// Writer: each syncs one element of the tree with the model, keeping what the
// model does not describe.
void write_cpus(ptree& dom, const domain& d);
void write_memory(ptree& dom, const domain& d);
void write_vnuma(ptree& dom, const domain& d);
void write_owned_devices(ptree& devices, const devices_def& dev);
void write_all_devices(ptree& devices, const devices_def& dev);
void write_qemu_commandline(ptree& dom, const domain& d);  // with its xmlns:qemu

// The element `name` directly under <domain>, created at libvirt's usual place
// when absent.
ptree& domain_child(ptree& dom, std::string_view name);

// Replaces all `name` children of `parent` by `items`, at the position of the
// first old one (else at the end). write(item, node) fills a node that starts
// as the old element at the same index, so unknown attributes survive.
template <class T, class F>
void sync_list(ptree& parent, std::string_view name, const std::vector<T>& items, F&& write) {
  std::vector<ptree> old;
  std::size_t index = parent.size();
  std::size_t i = 0;
  for (auto it = parent.begin(); it != parent.end(); ++i) {
    if (it->first == name) {
      if (old.empty()) index = i;
      old.push_back(it->second);
      it = parent.erase(it);
      --i;
    } else {
      ++it;
    }
  }
  if (old.empty()) index = parent.size();
  for (std::size_t i = 0; i < items.size(); ++i) {
    ptree node = i < old.size() ? old[i] : ptree();
    write(items[i], node);
    auto at = parent.begin();
    std::advance(at, static_cast<std::ptrdiff_t>(std::min(index + i, parent.size())));
    parent.insert(at, {std::string(name), std::move(node)});
  }
}

}  // namespace vnumad::config::detail
