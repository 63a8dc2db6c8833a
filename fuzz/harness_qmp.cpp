// QMP harness: what the daemon does with bytes from a QEMU monitor socket.
// A compromised or broken guest's QEMU is not trusted, so framing, decoding and
// the reply decoders must cope with anything.
//
// Input: the byte stream QEMU would send. The first byte (when present) picks
// the size of the pieces the stream is fed in, so that split lines and "\r\n"
// across reads are covered; the line limit is small so that it is reached.
#include "harness_check.hpp"
#include "harnesses.hpp"

#include "qmp/qmp_commands.hpp"
#include "qmp/qmp_message.hpp"

#include <boost/json/serialize.hpp>

#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace vnumad::fuzz {

namespace {

constexpr std::size_t fuzz_max_line = 4096;

struct framed {
  std::vector<std::string> lines;
  bool failed = false;
};

// Feeds `stream` in pieces of `piece` bytes (all at once when 0), draining
// complete lines after each piece as the client does.
framed frame(std::string_view stream, std::size_t piece) {
  qmp::line_framer framer(fuzz_max_line);
  framed out;
  std::size_t fed = 0;
  while (!out.failed) {
    const std::size_t n = piece == 0 ? stream.size() - fed : std::min(piece, stream.size() - fed);
    framer.feed(stream.substr(fed, n));
    fed += n;
    for (;;) {
      auto line = framer.next_line();
      if (!line) {
        out.failed = true;
        break;
      }
      if (!*line) break;
      fuzz_check(!(*line)->empty(), "the framer skips empty lines");
      fuzz_check((*line)->size() <= fuzz_max_line, "a framed line is within the limit");
      fuzz_check((*line)->find('\n') == std::string::npos, "a framed line holds no line end");
      out.lines.push_back(std::move(**line));
    }
    fuzz_check(framer.pending() <= fed, "pending bytes were all received");
    if (fed == stream.size()) break;
  }
  return out;
}

void decode_return_value(const boost::json::value& value) {
  if (auto cpus = qmp::decode_hotpluggable_cpus(value)) {
    for (const auto& cpu : *cpus) {
      // device_add for a slot sends its props back: they must survive encoding.
      (void)qmp::device_add_cpu(cpu.type, "vcpu-fuzz", cpu.props);
      (void)boost::json::serialize(qmp::encode_cpu_props(cpu.props));
    }
  }
  (void)qmp::decode_cpus_fast(value);
  (void)qmp::decode_memory_devices(value);
  (void)qmp::decode_status(value);
}

void decode_line(const std::string& line) {
  auto message = qmp::decode_message(line);
  if (!message) return;
  std::visit(
      [](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, qmp::qmp_return>) {
          decode_return_value(m.value);
        } else if constexpr (std::is_same_v<T, qmp::qmp_event>) {
          const std::string id = qmp::deleted_device_id(m.data);
          // Only a "path" under /machine/peripheral/ yields an id without "device".
          if (!m.data.contains("device")) fuzz_check(id.find('/') == std::string::npos, "an id from a path is one component");
        }
      },
      *message);
}

}  // namespace

int fuzz_qmp(const std::uint8_t* data, std::size_t size) {
  std::size_t piece = 0;
  if (size > 0) {
    piece = data[0] % 17;  // 0: all at once; 1..16 bytes per read
    ++data;
    --size;
  }
  const std::string_view stream = as_text(data, size);
  const framed whole = frame(stream, 0);
  const framed pieces = frame(stream, piece);
  // How the bytes arrive must not change what the lines are.
  fuzz_check(whole.failed == pieces.failed, "framing fails alike whole and in pieces");
  if (!whole.failed) fuzz_check(whole.lines == pieces.lines, "framing gives the same lines whole and in pieces");
  for (const auto& line : pieces.lines) decode_line(line);
  return 0;
}

}  // namespace vnumad::fuzz
