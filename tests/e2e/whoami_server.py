"""Answers each HTTP request and UDP datagram with the peer address it saw.

Runs inside a test namespace on node-b: the tests compare that address with
the client's own address (Preserve) or node-a's (Masquerade). One dual-stack
socket per protocol serves IPv4 (as v4-mapped) and IPv6.
"""
import argparse
import http.server
import socket
import socketserver
import threading


def plain(addr):
    return addr[7:] if addr.startswith("::ffff:") else addr


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (plain(self.client_address[0]) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        # Which server answered, for tests that move a forward between ports.
        self.send_header("X-Backend-Port", str(self.server.server_address[1]))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def udp_echo(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    while True:
        _, peer = s.recvfrom(2048)
        s.sendto(plain(peer[0]).encode(), peer)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=8080)
    args = p.parse_args()
    threading.Thread(target=udp_echo, args=(args.port,), daemon=True).start()
    Server(("::", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
