// The spare link of a guest's QMP socket (state_store.hpp), with a real
// listening unix socket: the state dir deleted, the socket is linked back
// from the spare and still reaches the listener; a lost spare is made again.
#define BOOST_TEST_MODULE state_store_qmp_spare
#include <boost/test/unit_test.hpp>

#include "reactor/state_store.hpp"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

using namespace vnumad::reactor;
namespace fs = std::filesystem;

namespace {

int listen_at(const fs::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  BOOST_TEST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  BOOST_TEST_REQUIRE(::listen(fd, 4) == 0);
  return fd;
}

bool connects(const fs::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

struct fixture {
  fs::path dir;
  fixture() {
    std::string tmpl = (fs::temp_directory_path() / "vnumad-spare-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
  }
  ~fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(the_spare_sits_beside_the_state_dir) {
  state_store store("/run/vnumad");
  BOOST_TEST(store.qmp_socket_spare("web") == fs::path("/run/.vnumad-qmp/web.sock"));
  state_store trailing("/run/vnumad/");
  BOOST_TEST(trailing.qmp_socket_spare("web") == fs::path("/run/.vnumad-qmp/web.sock"));
}

BOOST_AUTO_TEST_CASE(a_deleted_state_dir_gets_a_socket_that_reaches_the_same_listener) {
  fixture f;
  state_store store(f.dir / "state");
  BOOST_TEST_REQUIRE(store.prepare("g").has_value());
  fs::create_directories(store.qemu_dir("g"));  // QEMU's folder, made at start
  int listener = listen_at(store.qmp_socket("g"));
  BOOST_TEST_REQUIRE(store.keep_qmp_socket("g").has_value());
  BOOST_TEST(fs::is_socket(store.qmp_socket_spare("g")));

  fs::remove_all(f.dir / "state");
  BOOST_TEST(!connects(store.qmp_socket("g")));
  auto restored = store.restore_qmp_socket("g");
  BOOST_TEST_REQUIRE(restored.has_value());
  BOOST_TEST(restored->find(store.qmp_socket("g").string()) == 0u, *restored);
  BOOST_TEST(connects(store.qmp_socket("g")));
  // Nothing missing: nothing done.
  auto again = store.restore_qmp_socket("g");
  BOOST_TEST_REQUIRE(again.has_value());
  BOOST_TEST(again->empty());
  ::close(listener);
}

BOOST_AUTO_TEST_CASE(a_lost_spare_is_made_again_and_remove_takes_both) {
  fixture f;
  state_store store(f.dir / "state");
  BOOST_TEST_REQUIRE(store.prepare("g").has_value());
  fs::create_directories(store.qemu_dir("g"));  // QEMU's folder, made at start
  int listener = listen_at(store.qmp_socket("g"));
  BOOST_TEST_REQUIRE(store.keep_qmp_socket("g").has_value());
  fs::remove(store.qmp_socket_spare("g"));
  auto restored = store.restore_qmp_socket("g");
  BOOST_TEST_REQUIRE(restored.has_value());
  BOOST_TEST(*restored == store.qmp_socket_spare("g").string());
  BOOST_TEST(connects(store.qmp_socket_spare("g")));
  BOOST_TEST_REQUIRE(store.remove("g").has_value());
  BOOST_TEST(!fs::exists(store.guest_dir("g")));
  BOOST_TEST(!fs::exists(store.qmp_socket_spare("g")));
  ::close(listener);
}
