#include "redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace zproxy::test {
namespace {

// A port the kernel just handed out and released (the usual small race is acceptable here).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

int connect_local(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a shell command quietly; true on exit status 0.
bool shell(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace

RedisServer::RedisServer(RedisServerOptions options) {
  char tmpl[] = "/tmp/zproxy-redis-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    error_ = "mkdtemp failed";
    return;
  }
  dir_ = tmpl;
  if (options.tls && !make_certificates()) return;
  port_ = free_port();
  const std::string port = std::to_string(port_);
  std::vector<std::string> args = {
      "redis-server",      "--bind",      "127.0.0.1", "--save", "",
      "--appendonly",      "no",          "--dir",     dir_,     "--logfile",
      dir_ + "/redis.log", "--daemonize", "no"};
  if (options.tls) {
    args.insert(args.end(), {"--port", "0", "--tls-port", port, "--tls-cert-file",
                             dir_ + "/server.crt", "--tls-key-file", dir_ + "/server.key",
                             "--tls-ca-cert-file", ca_file_, "--tls-auth-clients", "no"});
  } else {
    args.insert(args.end(), {"--port", port});
  }
  if (!options.password.empty()) args.insert(args.end(), {"--requirepass", options.password});
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = ::posix_spawnp(&pid_, "redis-server", nullptr, nullptr, argv.data(), environ);
  if (rc != 0) {
    pid_ = -1;
    error_ = std::string("cannot start redis-server (apt-get install redis-server): ") +
             std::strerror(rc);
    return;
  }
  if (!wait_ready()) {
    error_ = "redis-server did not come up; its log:\n" + read_file(dir_ + "/redis.log");
  }
}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

bool RedisServer::make_certificates() {
  const std::string cd = "cd '" + dir_ + "' && ";
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const bool ok =
      shell(cd + "openssl req -x509" + ec +
            " -keyout ca.key -out ca.crt -days 2 -subj /CN=zproxy-test-ca") &&
      shell(cd + "openssl req" + ec + " -keyout server.key -out server.csr -subj /CN=localhost") &&
      shell(cd + "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf") &&
      shell(cd +
            "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
            " -out server.crt -days 2 -extfile ext.cnf");
  if (!ok) error_ = "openssl could not make the test certificates";
  ca_file_ = dir_ + "/ca.crt";
  return ok;
}

bool RedisServer::wait_ready() {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;  // it exited
      return false;
    }
    const int fd = connect_local(port_);
    if (fd >= 0) {
      ::close(fd);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

BlockingRedis::BlockingRedis(int port) : fd_(connect_local(port)) {}

BlockingRedis::~BlockingRedis() {
  if (fd_ >= 0) ::close(fd_);
}

RespValue BlockingRedis::call(const std::vector<std::string_view>& argv) {
  RespValue failed;
  failed.type = RespValue::Type::kError;
  failed.text = "io";
  if (fd_ < 0) return failed;
  std::string out;
  native::append_command(out, argv);
  for (size_t sent = 0; sent < out.size();) {
    const ssize_t n = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0 && errno != EINTR) return failed;
    if (n > 0) sent += static_cast<size_t>(n);
  }
  char buf[16384];
  for (;;) {
    RespValue v;
    const native::RespReader::Next next = reader_.next(v);
    if (next == native::RespReader::Next::kReply) return v;
    if (next == native::RespReader::Next::kError) return failed;
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return failed;
    reader_.feed(buf, static_cast<size_t>(n));
  }
}

}  // namespace zproxy::test
