// wspp_echo.cpp - websocketpp 0.8 (asio, no TLS) echo server for the benchmarks, as in
// websocketpp's examples/echo_server: send the payload back with the same opcode.
//   wspp_echo PORT
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>

typedef websocketpp::server<websocketpp::config::asio> server;
static server *g_srv;

int main(int argc, char **argv) {
    server s;
    g_srv = &s;
    s.clear_access_channels(websocketpp::log::alevel::all);
    s.clear_error_channels(websocketpp::log::elevel::all);
    s.init_asio();
    s.set_reuse_addr(true);
    s.set_listen_backlog(1024);
    s.set_tcp_post_init_handler([&s](websocketpp::connection_hdl h) {
        asio::error_code ec;   // Nagle off, as in the other servers
        s.get_con_from_hdl(h)->get_socket().set_option(asio::ip::tcp::no_delay(true), ec);
    });
    s.set_message_handler([&s](websocketpp::connection_hdl h, server::message_ptr m) {
        websocketpp::lib::error_code ec;
        s.send(h, m->get_payload(), m->get_opcode(), ec);
    });
    asio::ip::tcp::endpoint ep(asio::ip::address::from_string("127.0.0.1"),
                               (unsigned short)(argc > 1 ? std::atoi(argv[1]) : 9001));
    s.listen(ep);
    s.start_accept();
    asio::signal_set sig(s.get_io_service(), SIGTERM, SIGINT);
    sig.async_wait([&s](const asio::error_code &, int) { s.stop(); });
    std::printf("ready\n"); std::fflush(stdout);
    s.run();
    return 0;
}
