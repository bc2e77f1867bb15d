"""I/O-shaped work: waits on a simulated network and transforms text."""
import json
import socket
import threading
import time

WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta")


def _server(sock, stop):
    while not stop.is_set():
        try:
            data = sock.recv(4096)
        except OSError:
            return
        if not data:
            return
        time.sleep(0.02)  # the "remote side" takes its time
        sock.sendall(data.upper())


def fetch_loop(deadline, results):
    """Sends requests over a socket pair and waits for each answer (I/O wait)."""
    client, server = socket.socketpair()
    stop = threading.Event()
    peer = threading.Thread(target=_server, args=(server, stop), name="remote")
    peer.daemon = True
    peer.start()
    fetches = 0
    try:
        while time.time() < deadline:
            client.sendall(json.dumps({"request": fetches}).encode())
            wait_for_reply(client)
            fetches += 1
    finally:
        stop.set()
        client.close()
    results["fetches"] = fetches


def wait_for_reply(sock):
    return sock.recv(4096)


def transform_batch(seed):
    """Moderately hot: builds and serialises a batch of records."""
    records = [{"id": i, "word": WORDS[(seed + i) % len(WORDS)] * 3} for i in range(300)]
    text = json.dumps(records)
    return len(json.loads(text))
