#pragma once
// A line-oriented TCP connection with a deadline on every read and write, over Boost.Asio.
//
// Blocking Asio calls cannot time out, so each operation is started asynchronously and the
// connection's own io_context is run for at most the timeout; an operation still pending then is
// cancelled and reported as a timeout. One channel belongs to one thread.
// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace sync_net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// The connection broke, timed out or the peer closed it: the current exchange is lost (whatever
/// was committed before stays), and a new connection starts over.
class connection_lost : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class line_channel {
 public:
  /// Takes a connected socket whose executor is `io`'s.
  line_channel(asio::io_context& io, tcp::socket socket, std::chrono::milliseconds timeout)
      : io_(io), socket_(std::move(socket)), timeout_(timeout) {}

  /// Connects to 127.0.0.1:port. Throws connection_lost.
  line_channel(asio::io_context& io, unsigned short port, std::chrono::milliseconds timeout)
      : io_(io), socket_(io), timeout_(timeout) {
    const tcp::endpoint server(asio::ip::address_v4::loopback(), port);
    run([&](auto handler) { socket_.async_connect(server, std::move(handler)); }, "connect");
  }
  line_channel(const line_channel&) = delete;
  line_channel& operator=(const line_channel&) = delete;

  /// The next line without its '\n'; nullopt when the peer closed the connection at a line
  /// boundary. Throws connection_lost on a timeout, an error, or a close in the middle of a line.
  std::optional<std::string> read_line() {
    std::size_t n = 0;
    const boost::system::error_code ec = run_quiet(
        [&](auto handler) {
          asio::async_read_until(socket_, buffer_, '\n',
                                 [handler = std::move(handler), &n](auto e, std::size_t got) mutable {
                                   n = got;
                                   handler(e);
                                 });
        },
        "read");
    if (ec == asio::error::eof) {
      if (buffer_.size() == 0) return std::nullopt;
      throw connection_lost("the peer closed the connection in the middle of a line");
    }
    if (ec) throw connection_lost("read: " + ec.message());
    std::string line(asio::buffers_begin(buffer_.data()),
                     asio::buffers_begin(buffer_.data()) + static_cast<std::ptrdiff_t>(n - 1));
    buffer_.consume(n);
    return line;
  }

  /// Writes `text` whole (the caller ends lines with '\n').
  void write(std::string_view text) {
    run(
        [&](auto handler) {
          asio::async_write(socket_, asio::buffer(text.data(), text.size()),
                            [handler = std::move(handler)](auto e, std::size_t) mutable { handler(e); });
        },
        "write");
  }

  /// Closes at once, whatever is in flight (the peer sees the connection end where it is).
  void close() noexcept {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  template <class Start>
  boost::system::error_code run_quiet(Start&& start, const char* what) {
    std::optional<boost::system::error_code> result;
    io_.restart();
    start([&](boost::system::error_code ec) { result = ec; });
    io_.run_for(timeout_);
    if (!result) {
      boost::system::error_code ignored;
      socket_.cancel(ignored);
      io_.restart();
      io_.run();  // lets the cancelled handler run
      throw connection_lost(std::string(what) + ": timed out after " + std::to_string(timeout_.count()) + " ms");
    }
    return *result;
  }
  template <class Start>
  void run(Start&& start, const char* what) {
    const boost::system::error_code ec = run_quiet(std::forward<Start>(start), what);
    if (ec) throw connection_lost(std::string(what) + ": " + ec.message());
  }

  asio::io_context& io_;
  tcp::socket socket_;
  asio::streambuf buffer_;
  std::chrono::milliseconds timeout_;
};

}  // namespace sync_net
