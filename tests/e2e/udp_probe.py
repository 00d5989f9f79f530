"""Sends one UDP datagram and prints the reply (the address the server saw)."""
import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.settimeout(2)
for _ in range(3):  # bounded: UDP may drop the first packet while ARP resolves
    s.sendto(b"who", (host, port))
    try:
        print(s.recvfrom(2048)[0].decode())
        sys.exit(0)
    except socket.timeout:
        continue
sys.exit(1)
