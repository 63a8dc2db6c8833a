// What a stream verb (console) opened: after the OK reply carrying `reply`,
// the control connection is a raw byte stream to `far` both ways
// (control_stream.cpp) until either side closes. Closing `far` from outside
// (a takeover) ends it too. Its own header: the verb table (verbs.hpp, linked
// into vnumactl) and the control server both name it.
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/json/value.hpp>

#include <memory>

namespace vnumad::reactor {

struct byte_stream {
  std::shared_ptr<boost::asio::local::stream_protocol::socket> far;
  boost::json::value reply;
};

}  // namespace vnumad::reactor
